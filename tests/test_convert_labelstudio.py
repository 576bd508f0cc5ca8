"""Label Studio: import of a real-shaped JSON export, and export -> import round trips."""

import json

import orjson

from corpus_tools.convert import export_config, export_records, import_records

from convert_helpers import DATA, assert_records_validate, by_key, codes, only, tricky_records
from factory import record, write_jsonl

EXPORT = DATA / "labelstudio" / "export.json"


def _map(tmp_path):
    path = tmp_path / "map.json"
    path.write_text(json.dumps({"annotators": {"1": "alice", "2": "bob"}}))
    return path


def test_import_converts_spans_after_crlf_and_emoji_and_joins_relations(tmp_path):
    result = import_records("labelstudio", [EXPORT], label_map=_map(tmp_path))
    recs = by_key(result.records)
    rec = recs[("task-17", "alice")]
    text = rec["text"]
    assert "\r\n" in text
    stance = rec["stances"][0]
    assert stance["text"] == "the bill 💸 keeps growing" == text[stance["start"] : stance["end"]]
    assert stance["target"] == "the bill"
    assert stance["holder"] == "cnt1"  # `holds` drawn right-to-left (direction "left")
    att = rec["attributions"][0]
    assert (att["source"]["text"], att["cue"]["text"]) == ("Ministers", "say")
    assert att["content"]["text"] == "nobody — yet the bill 💸 keeps growing"
    assert att["source_name"] == "the government"
    assert_records_validate(result.records, tmp_path)


def test_an_old_utf16_export_is_detected_converted_and_reported(tmp_path):
    result = import_records("labelstudio", [EXPORT], label_map=_map(tmp_path))
    rec = by_key(result.records)[("task-18", "alice")]
    q = rec["rhetorical_questions"][0]
    assert q["text"] == "Is it fair?" and q["answer"]["text"] == "No."
    assert only(result, "import-offset-unit").severity == "warning"
    conv = [c for c in result.conversions if c.doc_id == "task-18"]
    assert [(c.unit, c.before, c.after) for c in conv] == [
        ("utf16", (9, 20), (8, 19)),
        ("utf16", (21, 24), (20, 23)),
    ]


def test_the_broken_span_is_reported_with_file_record_and_span(tmp_path):
    result = import_records("labelstudio", [EXPORT], label_map=_map(tmp_path))
    p = only(result, "import-span-mismatch")
    assert p.file == str(EXPORT)
    assert p.path.startswith("[0].annotations[1].result[3]")
    assert "doc 'task-17' (bob)" in p.message and "span broken" in p.message
    assert "'keeps growing'" in p.message and "'Who p'" in p.message
    assert ("task-17", "bob") not in by_key(result.records)
    assert not result.valid
    assert any("task 17" in w for w in result.withheld)


def test_cancelled_annotations_and_predictions_are_skipped_with_a_warning(tmp_path):
    result = import_records("labelstudio", [EXPORT], label_map=_map(tmp_path))
    skipped = [p for p in result.problems if p.code == "import-skipped"]
    assert len(skipped) == 1 and "cancelled" in skipped[0].message
    assert "import-unknown-label" not in codes(result)


def test_export_then_import_gives_back_the_same_records(tmp_path):
    records = tricky_records()
    src = write_jsonl(tmp_path / "in.jsonl", records)
    result = export_records("labelstudio", [src], output=tmp_path / "ls")
    assert result.documents == 2 and result.records == 3
    tasks = orjson.loads((tmp_path / "ls" / "tasks.json").read_bytes())
    assert [len(t["predictions"]) for t in tasks] == [1, 2]
    back = import_records("labelstudio", [tmp_path / "ls" / "tasks.json"], predictions=True)
    assert back.valid, [str(p) for p in back.problems]
    assert back.problems == [] and back.conversions == []
    assert by_key(back.records) == by_key(records)


def test_without_predictions_flag_the_exported_predictions_are_not_imported(tmp_path):
    src = write_jsonl(tmp_path / "in.jsonl", [record()])
    export_records("labelstudio", [src], output=tmp_path / "ls")
    back = import_records("labelstudio", [tmp_path / "ls"])
    assert back.records == [] and codes(back) == ["import-skipped"]


def test_the_config_lists_every_label_relation_and_text_area(tmp_path):
    result = export_config("labelstudio-config", tmp_path)
    xml = result.files[0].read_text()
    for name in ("RQ-echo", "ATTR-content-mixed", "STANCE-against", "STANCE-target", "RQ-answer"):
        assert f'value="{name}"' in xml
    for rel in ("source-of", "cue-of", "nested-in", "answers", "holds", "target-of"):
        assert f'<Relation value="{rel}"/>' in xml
    assert 'name="target"' in xml and 'perRegion="true"' in xml


QUOTES = DATA / "labelstudio" / "quotes.json"
QUOTES_MAP = DATA / "labelstudio" / "quotes-map.toml"


def test_a_label_map_reverses_a_relation_the_tool_draws_backwards(tmp_path):
    """Issue 15, item 7: the project's "quotee" runs from the quote to its speaker."""
    result = import_records("labelstudio", [QUOTES], label_map=QUOTES_MAP)
    assert result.valid, [str(p) for p in result.problems]
    rec = by_key(result.records)[("task-31", "greta")]
    (att,) = rec["attributions"]
    assert (att["source"]["text"], att["cue"]["text"], att["content"]["text"]) == (
        "Die Ministerin",
        "sagte",
        "Wir sind fertig.",
    )
    assert_records_validate(result.records, tmp_path)
    forwards = tmp_path / "map.toml"
    forwards.write_text(
        QUOTES_MAP.read_text(encoding="utf-8").replace(
            'quotee = { relation = "source-of", reverse = true }', 'quotee = "source-of"'
        ),
        encoding="utf-8",
    )
    wrong = import_records("labelstudio", [QUOTES], label_map=forwards)
    assert "source-of goes from ATTR-source" in only(wrong, "import-bad-relation").message


def test_predictions_exported_as_ids_are_warned_about_and_counted(tmp_path):
    """Item 8: current exports write `predictions: [11]`; nothing of them can be imported."""
    for predictions in (False, True):
        result = import_records("labelstudio", [QUOTES], label_map=QUOTES_MAP, predictions=predictions)
        warnings = [p for p in result.problems if p.code == "import-skipped"]
        assert [p.path for p in warnings] == ["[0].predictions[0]", "[0].predictions[1]"]
        assert "exported as its id only" in warnings[0].message
        assert result.record_tally.left_out == {"predictions exported as ids only": 2}


def test_the_language_comes_from_the_export_else_the_option_else_undetermined(tmp_path):
    """Item 9: no record claims English by default."""
    langs = {
        k[0]: r["meta"]["language"]
        for k, r in by_key(import_records("labelstudio", [QUOTES], label_map=QUOTES_MAP).records).items()
    }
    assert langs == {"task-31": "de", "task-32": "und"}
    langs = {
        k[0]: r["meta"]["language"]
        for k, r in by_key(
            import_records("labelstudio", [QUOTES], label_map=QUOTES_MAP, language="nb").records
        ).items()
    }
    assert langs == {"task-31": "de", "task-32": "nb"}  # the export's own language wins
    tasks = json.loads(QUOTES.read_text(encoding="utf-8"))
    tasks[0]["data"]["meta"]["language"] = "German"
    path = tmp_path / "export.json"
    path.write_text(json.dumps(tasks, ensure_ascii=False), encoding="utf-8")
    result = import_records("labelstudio", [path], label_map=QUOTES_MAP)
    assert by_key(result.records)[("task-31", "greta")]["meta"]["language"] == "und"
    assert any("'German' is not a BCP 47 language tag" in p.message for p in result.problems)


def test_a_file_that_is_not_a_task_array_says_what_it_holds(tmp_path):
    """Item 12: a wrapper object is described, with what was expected."""
    path = tmp_path / "export.json"
    path.write_text(json.dumps({"tasks": json.loads(QUOTES.read_text(encoding="utf-8")), "version": 2}))
    result = import_records("labelstudio", [path])
    p = only(result, "import-bad-format")
    assert "a JSON object with the keys 'tasks', 'version'" in p.message
    assert "expected Label Studio's JSON export (a JSON array of tasks" in p.message
    assert result.record_tally.refused == 1 and result.withheld


def test_a_key_given_twice_refuses_its_task_and_the_others_import(tmp_path):
    """A task's `data.text` given twice: which text counts is anyone's guess (JSON readers
    disagree), so the task is refused with the key named; the next task imports as usual."""
    raw = EXPORT.read_text(encoding="utf-8")
    twice = raw.replace('"data": {\n   "text": ', '"data": {\n   "text": "Another text.",\n   "text": ', 1)
    assert twice != raw
    path = tmp_path / "export.json"
    path.write_text(twice, encoding="utf-8")
    result = import_records("labelstudio", [path], label_map=_map(tmp_path))
    p = only(result, "duplicate-key")
    assert (p.line, p.path) == (None, "[0].data.text") and "'text' is given twice" in p.message
    assert not any(doc == "task-17" for doc, _ in by_key(result.records))
    assert ("task-18", "alice") in by_key(result.records)


def test_numeric_user_ids_become_names_with_one_warning_that_says_how_to_map_them(tmp_path):
    result = import_records("labelstudio", [EXPORT])
    p = only(result, "import-user-id")
    assert p.path == "[0].annotations[0].completed_by"
    assert "('1', '2')" in p.message and "[annotators]" in p.message
    assert {annotator for _, annotator in by_key(result.records)} == {"1"}
    mapped = import_records("labelstudio", [EXPORT], label_map=_map(tmp_path))
    assert "import-user-id" not in codes(mapped)
    assert "import-user-id" not in codes(import_records("labelstudio", [EXPORT], annotator="alice"))
