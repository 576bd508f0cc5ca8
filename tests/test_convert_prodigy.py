"""Prodigy: token_end inclusive, token-indexed relations, rejected answers, tokens vs offsets."""

from corpus_tools.convert import import_records

from convert_helpers import DATA, assert_records_validate, by_key, only

FILE = DATA / "prodigy" / "stance.jsonl"


def test_accepted_line_imports_with_relations(tmp_path):
    result = import_records("prodigy", [FILE])
    rec = by_key(result.records)[("doc-p1", "stance-alice")]
    assert "—" in rec["text"] and "\r\n" in rec["text"]
    (att,) = rec["attributions"]
    assert att["source"]["text"] == "Ministers" and att["content"]["text"] == "nobody"
    (stance,) = rec["stances"]
    assert (stance["text"], stance["target"], stance["polarity"]) == ("the bill keeps growing", "the bill", "neutral")
    assert result.conversions == []
    assert_records_validate(result.records, tmp_path)


def test_rejected_answers_are_skipped_and_spans_disagreeing_with_tokens_reported():
    result = import_records("prodigy", [FILE])
    assert only(result, "import-skipped").line == 2
    p = only(result, "import-span-mismatch")
    assert (p.line, p.path) == (3, "spans[1]")
    assert "'say'" in p.message and "'nobody'" in p.message and "(stance-bob)" in p.message
    assert set(by_key(result.records)) == {("doc-p1", "stance-alice")}
