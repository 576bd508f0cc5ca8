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
    assert (stance["text"], stance["target"], stance["polarity"]) == (
        "the bill keeps growing",
        "the bill",
        "against",
    )
    assert result.conversions == []
    assert_records_validate(result.records, tmp_path)


def test_rejected_answers_are_skipped_and_spans_disagreeing_with_tokens_reported():
    result = import_records("prodigy", [FILE])
    assert only(result, "import-skipped").line == 2
    p = only(result, "import-span-mismatch")
    assert (p.line, p.path) == (3, "spans[1]")
    assert "'say'" in p.message and "'nobody'" in p.message and "(stance-bob)" in p.message
    assert set(by_key(result.records)) == {("doc-p1", "stance-alice")}


def test_a_multi_token_span_without_text_or_ws_is_checked_by_its_token_offsets(tmp_path):
    """Issue 15, item 3: Prodigy's example data has tokens without `ws`; a span crossing them
    is not rebuilt as "SiliconValley" but checked against the offsets of its tokens."""
    result = import_records("prodigy", [DATA / "prodigy" / "no-ws.jsonl"])
    assert result.valid, [str(p) for p in result.problems]
    (rec,) = result.records
    (q,) = rec["rhetorical_questions"]
    assert q["text"] == "Why did Silicon Valley ignore it?" and q["answer"]["text"] == "Nobody knows."
    assert rec["text"].startswith("Straße in München?\r\n")
    assert_records_validate(result.records, tmp_path)


def test_rejected_spans_and_lines_are_left_out_and_binary_lines_of_one_input_combined(tmp_path):
    """Items 4 and 5: a `ner.teach` session writes one line per suggestion; accepted ones are
    combined into one record, rejected lines and spans are left out, each counted."""
    result = import_records("prodigy", [DATA / "prodigy" / "teach.jsonl"])
    assert result.valid, [str(p) for p in result.problems]
    recs = by_key(result.records)
    alice = recs[("input-1161042347", "teach-alice")]
    assert [q["text"] for q in alice["rhetorical_questions"]] == ["Wer zahlt das?", "Sie zahlen nie."]
    bob = recs[("input-1161042347", "teach-bob")]
    assert [q["text"] for q in bob["rhetorical_questions"]] == [
        "Wer zahlt das?"
    ]  # its 'Tempo' span is rejected
    assert result.spans.read == 6 and result.spans.converted == 3
    assert result.spans.left_out == {
        "answered reject in Prodigy": 1,
        "the same span accepted twice": 1,
        "spans answered reject in Prodigy": 1,
    }
    assert result.record_tally.left_out == {"answered reject in Prodigy": 1}
    assert_records_validate(result.records, tmp_path)


def test_the_same_task_answered_twice_is_one_duplicate_with_advice_for_prodigy(tmp_path):
    line = (DATA / "prodigy" / "teach.jsonl").read_text(encoding="utf-8").splitlines()[0]
    path = tmp_path / "teach.jsonl"
    path.write_text(f"{line}\n{line}\n", encoding="utf-8")
    result = import_records("prodigy", [path])
    (dup,) = [p for p in result.problems if p.code == "duplicate-record"]
    assert dup.line == 2 and "line 1 already answers this task" in dup.message and "db-out" in dup.message


def test_a_key_given_twice_refuses_that_line(tmp_path):
    lines = FILE.read_text(encoding="utf-8").splitlines()
    assert '"answer": "accept"' in lines[0]
    lines[0] = lines[0].replace('"answer": "accept"', '"answer": "reject", "answer": "accept"', 1)
    path = tmp_path / "stance.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = import_records("prodigy", [path])
    p = only(result, "duplicate-key")
    assert (p.line, p.path) == (1, "answer")
    assert ("doc-p1", "stance-alice") not in by_key(result.records)
