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


CAROL = DATA / "doccano" / "carol.jsonl"


def test_grapheme_offsets_after_crlf_and_an_emoji_sequence_are_detected(tmp_path):
    """Issue 15, item 6: a project counting grapheme clusters (CR LF and 👩‍💻 count one each)."""
    result = import_records("doccano", [CAROL])
    rec = by_key(result.records)[("doccano-7", "carol")]
    (stance,) = rec["stances"]
    assert (stance["text"], stance["target"]) == ("prices rose", "2022")
    assert rec["rhetorical_questions"][0]["text"] == "Why?"
    warning = next(p for p in result.problems if p.code == "import-offset-unit")
    assert warning.line == 1 and "grapheme clusters" in warning.message
    assert {c.unit for c in result.conversions if c.doc_id == "doccano-7"} == {"grapheme"}
    assert_records_validate([rec], tmp_path)


def test_a_document_that_no_one_unit_fits_fails_loudly():
    result = import_records("doccano", [CAROL])
    p = next(p for p in result.problems if p.line == 2)
    assert p.code == "import-span-mismatch" and "no offset unit fits every span" in p.message
    assert "'Why?'" in p.message  # what the span covers in the unit it fits
    assert ("doccano-8", "carol") not in by_key(result.records)


def test_a_line_without_an_id_is_named_by_its_line():
    """Item 12: no "example None"."""
    result = import_records("doccano", [CAROL])
    assert any(
        "carol.jsonl: the example on line 3: doc 'doccano-carol-3' (carol)" in w for w in result.withheld
    )
    assert not any("None" in str(p) for p in result.problems)


def test_a_pretty_printed_export_is_read(tmp_path):
    """Item 11: doccano's own examples are pretty-printed JSON objects."""
    result = import_records("doccano", [DATA / "doccano" / "dave.jsonl"])
    assert result.valid, [str(p) for p in result.problems]
    (rec,) = result.records
    (att,) = rec["attributions"]
    assert (att["source"]["text"], att["cue"]["text"], att["content"]["text"]) == (
        "Ministerin Schäfer",
        "sagte",
        "Wir sind fertig.",
    )
    assert rec["rhetorical_questions"][0]["kind"] == "echo"
    assert "\r\n" in rec["text"] and result.problems == []  # the file's own CR LF line ends too
    assert_records_validate(result.records, tmp_path)


def test_a_key_given_twice_refuses_that_line_only(tmp_path):
    lines = FILE.read_text(encoding="utf-8").splitlines()
    lines[1] = lines[1].replace('"text": ', '"text": "Another text.", "text": ', 1)
    path = tmp_path / "alice.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = import_records("doccano", [path])
    p = only(result, "duplicate-key")
    assert (p.line, p.path) == (2, "text") and "'text' is given twice" in p.message
    assert [doc for doc, _ in by_key(result.records)] == ["doc-41"]
    assert result.spans.refused == 2  # the refused line's two spans are counted, not lost


def test_a_key_given_twice_in_a_pretty_printed_export_names_its_line(tmp_path):
    raw = (DATA / "doccano" / "dave.jsonl").read_text(encoding="utf-8")
    path = tmp_path / "dave.jsonl"
    path.write_text(raw.replace('"id": 601,', '"id": 601,\n            "id": 601,', 1), encoding="utf-8")
    p = only(import_records("doccano", [path]), "duplicate-key")
    assert (p.line, p.path) == (1, "entities[0].id")


def test_a_latin1_file_is_invalid_utf8_at_its_byte_not_a_parser_message(tmp_path):
    path = tmp_path / "bob.jsonl"
    path.write_bytes('{"id": 1, "text": "Très bien.", "label": []}\n'.encode("latin-1"))
    result = import_records("doccano", [path])
    p = only(result, "invalid-utf8")
    assert p.line == 1 and "at byte 21: 0xe8 is not valid UTF-8" in p.message
    assert "surrogates" not in p.message and not result.records
