"""doccano: UTF-16 offsets, both line shapes, relations, a span past the end."""

from corpus_tools.convert import import_records

from convert_helpers import DATA, assert_records_validate, by_key, only

FILE = DATA / "doccano" / "alice.jsonl"


def test_relation_mode_line_is_converted_from_utf16_and_joined(tmp_path):
    result = import_records("doccano", [FILE])
    rec = by_key(result.records)[("doc-41", "alice")]
    assert "👍" in rec["text"] and "\r\n" in rec["text"]
    direct, indirect = rec["attributions"]
    assert direct["type"] == "direct" and direct["content"]["text"] == "“we are done”"
    assert direct["source"]["text"] == "the minister" and direct["cue"]["text"] == "said"
    (stance,) = rec["stances"]
    assert (stance["text"], stance["target"], stance["holder"]) == ("reckless", "the plan", indirect["id"])
    assert rec["rhetorical_questions"][0]["kind"] == "echo"
    assert all(c.unit == "utf16" for c in result.conversions)
    assert_records_validate(result.records, tmp_path)


def test_the_span_past_the_end_is_reported_and_its_record_withheld():
    result = import_records("doccano", [FILE])
    p = only(result, "import-span-mismatch")
    assert (p.line, p.path) == (2, "label[1]")
    assert "doc 'doccano-42' (alice)" in p.message and "outside the text" in p.message
    assert ("doccano-42", "alice") not in by_key(result.records)


def test_pooled_all_jsonl_is_flagged(tmp_path):
    pooled = tmp_path / "all.jsonl"
    pooled.write_text('{"id": 1, "text": "Is it? Yes.", "label": [[0, 6, "RQ-hypophora"]]}\n')
    result = import_records("doccano", [pooled])
    assert result.problems[0].code == "import-pooled-annotations"
    assert result.records[0]["annotator"] == "all"
