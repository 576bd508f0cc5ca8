"""INCEpTION UIMA CAS JSON: UTF-16 offsets, relation FS, a span inside a surrogate pair."""

import json

from corpus_tools.convert import import_records

from convert_helpers import DATA, assert_records_validate, only

FILE = DATA / "inception" / "annotation" / "doc1.txt" / "alice.json"


def test_the_span_inside_the_emoji_is_reported_and_nothing_is_guessed():
    result = import_records("inception", [DATA / "inception"])
    p = only(result, "import-span-mismatch")
    assert "inside a character" in p.message and "doc 'doc1' (alice)" in p.message
    assert result.records == []


def test_without_the_broken_span_the_document_imports_from_utf16(tmp_path):
    cas = json.loads(FILE.read_text(encoding="utf-8"))
    cas["%FEATURE_STRUCTURES"] = [fs for fs in cas["%FEATURE_STRUCTURES"] if fs["%ID"] != 7]
    path = tmp_path / "annotation" / "doc1.txt" / "alice.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(cas, ensure_ascii=False), encoding="utf-8")
    result = import_records("inception", [tmp_path])
    assert result.valid, [str(p) for p in result.problems]
    (rec,) = result.records
    assert (rec["doc_id"], rec["annotator"]) == ("doc1", "alice")
    att = rec["attributions"][0]
    assert att["cue"]["text"] == "say" and att["content"]["text"] == "nobody"
    assert {c.unit for c in result.conversions} == {"utf16"}


def test_a_span_with_a_broken_offset_is_reported_not_dropped(tmp_path):
    cas = json.loads(FILE.read_text(encoding="utf-8"))
    cas["%FEATURE_STRUCTURES"] = [fs for fs in cas["%FEATURE_STRUCTURES"] if fs["%ID"] != 7]
    spans = [
        fs
        for fs in cas["%FEATURE_STRUCTURES"]
        if "begin" in fs and "@Governor" not in fs and fs["%TYPE"].startswith("webanno.custom")
    ]
    spans[0]["begin"] = "x"
    path = tmp_path / "annotation" / "doc1.txt" / "alice.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(cas, ensure_ascii=False), encoding="utf-8")
    result = import_records("inception", [tmp_path])
    p = only(result, "import-bad-format")
    assert "'x'" in p.message and f"%ID {spans[0]['%ID']}" in str(p)
    assert not result.valid


SLOTS = DATA / "inception-slots"


def test_feature_structures_as_an_object_and_slot_features_are_read(tmp_path):
    """Issue 15, item 11: the serializer's "as object" mode; slots become relations (the map
    reverses them: the slot runs from the content to its source and cue)."""
    result = import_records("inception", [SLOTS / "annotation"], label_map=SLOTS / "slots-map.json")
    assert result.valid, [str(p) for p in result.problems]
    (rec,) = result.records
    (att,) = rec["attributions"]
    assert (att["source"]["text"], att["cue"]["text"], att["content"]["text"]) == (
        "Die Ministerin",
        "sagte",
        "Wir sind fertig.",
    )
    assert rec["meta"]["language"] == "de"  # item 9: DocumentMetaData's language
    assert (result.relations.read, result.relations.converted) == (2, 2)
    assert_records_validate(result.records, tmp_path)


def test_without_a_mapping_the_slots_are_reported_not_dropped():
    result = import_records("inception", [SLOTS / "annotation"])
    bad = [p for p in result.problems if p.code == "import-bad-relation"]
    assert len(bad) == 2 and "'source'" in bad[0].message
    assert result.relations.refused == 2


def test_a_key_given_twice_refuses_the_document(tmp_path):
    raw = FILE.read_text(encoding="utf-8")
    twice = raw.replace('"label": "RQ-assertive"', '"label": "RQ-echo",\n   "label": "RQ-assertive"', 1)
    path = tmp_path / "annotation" / "doc1.txt" / "alice.json"
    path.parent.mkdir(parents=True)
    path.write_text(twice, encoding="utf-8")
    result = import_records("inception", [tmp_path / "annotation"])
    p = only(result, "duplicate-key")
    assert p.path == "%FEATURE_STRUCTURES[2].label" and not result.records
