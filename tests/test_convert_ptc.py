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
        f"1\tDoubt\t1\t10\n1\tLoaded_Language\t{start}\t{start + 13}\n", encoding="utf-8"
    )
    result = import_records("ptc", [tmp_path], label_map=MAP)
    assert result.valid, [str(p) for p in result.problems]
    (rec,) = result.records
    assert rec["text"].startswith("\ufeff")  # the BOM counts, as in the PTC
    assert rec["rhetorical_questions"][0]["text"] == "Who pays?"
    assert rec["stances"][0]["text"] == "keeps growing" and rec["stances"][0]["target"] == "the policy"
    assert_records_validate(result.records, tmp_path)


SCORER = DATA / "ptc-scorer"


def test_an_articles_si_and_tc_files_and_a_second_tc_file_keep_every_span(tmp_path):
    """Issue 15, item 1: spans of several labels files of one article never overwrite each other."""
    result = import_records("ptc", [SCORER], label_map=MAP)
    assert result.valid, [str(p) for p in result.problems]
    (rec,) = result.records
    questions = [q["text"] for q in rec["rhetorical_questions"]]
    assert questions == ["Who pays for this?", "Will it ever stop?"]  # the second from train-task2-TC.labels
    assert [s["text"] for s in rec["stances"]] == ["the bill keeps growing"]
    # The two SI lines are read and left out by the map (SI = "ignore"), not lost.
    assert (result.spans.read, result.spans.converted, result.spans.left_out) == (
        5,
        3,
        {"label mapped to ignore": 2},
    )
    assert_records_validate(result.records, tmp_path)


def test_without_a_mapping_the_si_spans_are_errors_naming_their_own_file_and_line(tmp_path):
    lmap = tmp_path / "map.toml"
    lmap.write_text(MAP.read_text(encoding="utf-8").replace('SI = "ignore"\n', ""), encoding="utf-8")
    result = import_records("ptc", [SCORER], label_map=lmap)
    unknown = [p for p in result.problems if p.code == "import-unknown-label"]
    assert [(p.file.rsplit("/", 1)[-1], p.line) for p in unknown] == [
        ("article700000002.task-SI.labels", 1),
        ("article700000002.task-SI.labels", 2),
    ]
    assert result.spans.refused == 5 and result.records == []


def test_the_scorers_file_names_are_read_and_other_files_reported():
    """Item 2: `.labels-task-TC` and `.task-SI.labels` are labels files; a technique list is not read."""
    result = import_records("ptc", [SCORER], label_map=MAP)
    (skipped,) = [p for p in result.problems if p.code == "import-skipped"]
    assert skipped.file.endswith("propaganda-techniques-names-semeval2020task11.txt")
    assert "not read" in skipped.message
    direct = import_records(
        "ptc", [SCORER / "article700000002.labels-task-TC", SCORER / "article700000002.txt"], label_map=MAP
    )
    assert direct.valid and direct.spans.converted == 2, [str(p) for p in direct.problems]
