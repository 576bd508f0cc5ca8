"""SemEval-2020 Task 11 (PTC): techniques mapped through a TOML label map; a span past the end."""

from corpus_tools.convert import import_records

from convert_helpers import DATA, assert_records_validate, codes, only

MAP = DATA / "ptc-label-map.toml"


def test_without_a_label_map_techniques_are_unknown_labels():
    result = import_records("ptc", [DATA / "ptc"])
    assert codes(result).count("import-unknown-label") == 3
    assert result.records == []


def test_with_a_label_map_the_techniques_become_layers_but_the_broken_span_is_reported(tmp_path):
    result = import_records("ptc", [DATA / "ptc"], label_map=MAP)
    p = only(result, "import-span-mismatch")
    assert p.line == 4 and "outside the text" in p.message
    clean = import_records("ptc", [DATA / "ptc"], label_map=MAP, annotator="ptc-v1")
    assert clean.records == []  # the record holds the broken span, so it is withheld


def test_a_clean_article_imports_with_the_em_dash_and_a_bom(tmp_path):
    text = "\ufeffWho pays? Ministers say nobody — yet the bill keeps growing.\n"
    (tmp_path / "article1.txt").write_text(text, encoding="utf-8")
    start = text.index("keeps growing")
    (tmp_path / "article1.task2-TC.labels").write_text(
        f"1\tDoubt\t1\t10\n1\tLoaded_Language\t{start}\t{start + 13}\n", encoding="utf-8")
    result = import_records("ptc", [tmp_path], label_map=MAP)
    assert result.valid, [str(p) for p in result.problems]
    (rec,) = result.records
    assert rec["text"].startswith("\ufeff")  # the BOM counts, as in the PTC
    assert rec["rhetorical_questions"][0]["text"] == "Who pays?"
    assert rec["stances"][0]["text"] == "keeps growing" and rec["stances"][0]["target"] == "the policy"
    assert_records_validate(result.records, tmp_path)
