"""The label convention and label map files."""

import json

import pytest

from corpus_tools.convert.mapping import (
    Role,
    format_note,
    load_label_map,
    parse_label,
    parse_note,
    span_labels,
)
from corpus_tools.errors import CorpusToolsError
from corpus_tools.layers import LAYERS


def test_every_label_of_the_models_has_a_tool_label():
    labels = span_labels()
    for kind in LAYERS["rhetorical_questions"].names:
        assert f"RQ-{kind}" in labels
    for kind in LAYERS["attributions"].names:
        assert f"ATTR-content-{kind}" in labels
    for kind in LAYERS["stances"].names:
        assert f"STANCE-{kind}" in labels
    assert all(parse_label(label) is not None for label in labels)


def test_a_bare_label_leaves_the_value_to_a_field():
    assert parse_label("STANCE") == Role("stance", None)
    assert parse_label("RQ-echo") == Role("question", "echo")
    assert parse_label("RQ-rhetorical") is None


def test_note_fields_round_trip_and_free_text_is_the_note():
    fields = {"id": "s7", "target": "the plan", "note": "unsure | see | thread"}
    assert parse_note(format_note(fields)) == fields
    assert parse_note("just a remark") == {"note": "just a remark"}


def test_label_maps_load_from_json_and_toml(tmp_path):
    j = tmp_path / "map.json"
    j.write_text(json.dumps({"labels": {"Question": "RQ-assertive"}, "annotators": {"1": "alice"}}))
    t = tmp_path / "map.toml"
    t.write_text('[labels]\nQuestion = "RQ-assertive"\n[annotators]\n"1" = "alice"\n')
    for path in (j, t):
        lmap = load_label_map(path)
        assert lmap.role("Question") == Role("question", "assertive")
        assert lmap.annotator(1) == "alice"
        assert lmap.annotator("bob@example.org") == "bob-example.org"


def test_a_label_map_naming_an_unknown_label_is_refused(tmp_path):
    bad = tmp_path / "map.json"
    bad.write_text(json.dumps({"labels": {"Question": "RQ-rhetorical"}}))
    with pytest.raises(CorpusToolsError, match="RQ-rhetorical"):
        load_label_map(bad)


def test_a_relation_is_reversed_with_a_table_in_json_and_toml(tmp_path):
    j = tmp_path / "map.json"
    j.write_text(json.dumps({"relations": {"quotee": {"relation": "source-of", "reverse": True}}}))
    t = tmp_path / "map.toml"
    t.write_text('[relations]\nquotee = { relation = "source-of", reverse = true }\nsays = "source-of"\n')
    for path in (j, t):
        lmap = load_label_map(path)
        assert lmap.relation("quotee") == "source-of" and lmap.is_reversed("quotee")
    assert not load_label_map(t).is_reversed("says")


@pytest.mark.parametrize(
    "content",
    [
        '[relations]\nquotee = { relation = "source-of", reverse = "yes" }\n',
        '[relations]\nquotee = { relation = "source-of", backwards = true }\n',
        "[labels]\nQuestion = 5\n",
        '[annotators]\n"1" = "alice smith"\n',
        'labels = "RQ-open"\n',
    ],
)
def test_a_label_map_of_the_wrong_shape_is_refused_with_its_name(tmp_path, content):
    path = tmp_path / "map.toml"
    path.write_text(content)
    with pytest.raises(CorpusToolsError, match=r"map\.toml"):
        load_label_map(path)


def test_a_misspelled_section_gets_a_did_you_mean(tmp_path):
    path = tmp_path / "map.toml"
    path.write_text('[lables]\nQuestion = "RQ-open"\n')
    with pytest.raises(CorpusToolsError, match=r"unknown section \[lables\]; did you mean \[labels\]\?"):
        load_label_map(path)
