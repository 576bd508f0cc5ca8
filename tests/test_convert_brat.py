"""brat: CR LF counted as one, discontinuous spans, attributes, notes; round trips."""

import pytest

from corpus_tools.convert import export_config, export_records, import_records
from corpus_tools.errors import CorpusToolsError

from convert_helpers import DATA, assert_records_validate, by_key, only, tricky_records
from factory import record, write_jsonl

BRAT = DATA / "brat"


def test_import_converts_brat_offsets_to_code_points_of_the_crlf_text(tmp_path):
    result = import_records("brat", [BRAT / "alice"])
    assert result.valid, [str(p) for p in result.problems]
    (rec,) = result.records
    assert rec["annotator"] == "alice" and rec["doc_id"] == "doc1"
    text = rec["text"]
    assert text.count("\r\n") == 2
    q2 = rec["rhetorical_questions"][1]
    assert q2["text"] == "Is that fair?" == text[q2["start"] : q2["end"]]
    assert q2["kind"] == "hypophora" and q2["answer"]["text"] == "No."
    att = rec["attributions"][0]
    assert att["source"]["text"] == "Ministers" and att["cue"]["text"] == "say"
    assert att["source_name"] == "the government"
    stance = rec["stances"][0]
    # bare STANCE label + `polarity` attribute; target and note from AnnotatorNotes
    assert (stance["polarity"], stance["target"], stance["note"]) == (
        "against",
        "the bill",
        "discontinuous on purpose",
    )
    assert stance["text"] == "the bill keeps growing"
    assert only(result, "import-discontinuous-span").line == 5
    assert all(c.unit == "codepoint+crlf" for c in result.conversions)
    assert_records_validate(result.records, tmp_path)


def test_the_broken_span_is_reported_as_a_wrong_unit_naming_file_line_and_span():
    result = import_records("brat", [BRAT])
    p = only(result, "import-span-mismatch")
    assert p.file.endswith("bob/doc1.ann") and p.line == 2 and p.path == "T2"
    assert "doc 'doc1' (bob)" in p.message and "wrong offset unit" in p.message
    assert "import-missing-relation" not in [q.code for q in result.problems]  # no cascade
    assert [r["annotator"] for r in result.records] == ["alice", "carol"]


def test_export_then_import_gives_back_the_same_records(tmp_path):
    records = tricky_records()
    records[0]["stances"][0]["id"] = "s9"  # an id that is not the position: kept in the note
    src = write_jsonl(tmp_path / "in.jsonl", records)
    result = export_records("brat", [src], output=tmp_path / "brat")
    assert (tmp_path / "brat" / "alice" / "annotation.conf").exists()  # one per annotator folder
    assert (tmp_path / "brat" / "alice" / "doc-x.txt").read_bytes().count(b"\r\n") == 2
    assert result.records == 3
    back = import_records("brat", [tmp_path / "brat"])
    assert back.valid, [str(p) for p in back.problems]
    assert by_key(back.records) == by_key(records)


def test_export_refuses_a_folder_that_is_not_empty(tmp_path):
    src = write_jsonl(tmp_path / "in.jsonl", [record()])
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine")
    with pytest.raises(CorpusToolsError, match=r"holds keep\.txt and has no record"):
        export_records("brat", [src], output=tmp_path / "out")
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["keep.txt"]


def test_the_config_declares_every_label_and_relation(tmp_path):
    files = export_config("brat-config", tmp_path).files
    conf = (tmp_path / "annotation.conf").read_text()
    assert [f.name for f in files] == ["annotation.conf", "visual.conf"]
    entities = conf.split("[entities]")[1].split("[relations]")[0].split()
    assert "RQ-hypophora" in entities and "STANCE-target" in entities
    assert (
        "source-of\tArg1:ATTR-source, Arg2:ATTR-content-direct|ATTR-content-indirect|ATTR-content-mixed"
        in conf
    )


def test_attributes_and_notes_on_relations_are_left_out_with_a_warning_per_line(tmp_path):
    """Issue 15, item 10: `A1 Negation R1` is not an error, and the summary agrees."""
    result = import_records("brat", [BRAT / "carol"])
    assert result.valid, [str(p) for p in result.problems]
    skipped = [p for p in result.problems if p.code == "import-skipped"]
    assert [(p.line, p.path) for p in skipped] == [(7, "A1"), (8, "#1")]
    assert "the relation R1" in skipped[0].message
    (rec,) = result.records
    assert rec["attributions"][0]["source"]["text"] == "Ministerin Schäfer"
    assert (result.relations.read, result.relations.converted) == (2, 2)
    assert_records_validate(result.records, tmp_path)


def test_a_key_given_twice_in_the_metadata_file_is_an_error_on_that_file(tmp_path):
    folder = tmp_path / "alice"
    folder.mkdir()
    for name in ("doc1.txt", "doc1.ann"):
        (folder / name).write_bytes((BRAT / "alice" / name).read_bytes())
    (folder / "doc1.meta.json").write_text('{"title": "One", "title": "Two"}', encoding="utf-8")
    result = import_records("brat", [folder])
    p = only(result, "duplicate-key")
    assert p.file.endswith("doc1.meta.json") and p.path == "title"
    assert not result.records
