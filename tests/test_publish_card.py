"""The dataset card says what is true of the published data, in the Hub's terms, and nothing a
contributor's value can forge: real publishes into tmp_path, loaded back with `datasets` offline."""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from markdown_it import MarkdownIt
from typer.testing import CliRunner

from corpus_tools.baseline import BaselineResults, BaselineRow, fingerprint
from corpus_tools.build import build, load_config
from corpus_tools.cli import app
from corpus_tools.errors import CorpusToolsError, InvalidInputError
from corpus_tools.publish import CardMetadata, publish

from factory import TEXT, record, write_jsonl
from publish_helpers import (
    ISIS_RIGHTS,
    SETTINGS,
    annotator_files,
    card_yaml,
    gold_corpus,
    make_split_dir,
    project,
)

runner = CliRunner()


def body(folder: Path) -> str:
    return (folder / "README.md").read_text("utf-8").split("---\n", 2)[2]


def python_blocks(card: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```$", card, re.S | re.M)


# -- 1. nothing from the data or the settings can forge the card ----------------------------------


def hostile(field: str) -> str:
    """A value that would be a live link, raw HTML, an image, a heading and an open code fence."""
    return (
        f"{field}](javascript:alert(1)) <img src=x onerror=alert(1)> [x](javascript:alert(2)) "
        f"![i](https://evil.example/t.png) <script>alert(3)</script>\n\n# FORGED {field}\n"
        f"[r]: javascript:alert(4)\n```\nopen fence"
    )


META = ("title", "author", "source", "url", "license", "license_url", "rights", "genre", "work")
SETTING = (
    "annotation_process",
    "split_note",
    "curation_rationale",
    "uses",
    "out_of_scope_uses",
    "personal_information",
    "limitations",
    "headline_exclude_reason",
    "authors",
    "version",
)


def structure(text: str) -> tuple[list[tuple[str, str]], list[Any]]:
    """The card's headings (level, text) and every token, inline children included."""
    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    flat = [t for tok in tokens for t in [tok, *(tok.children or [])]]
    headings = [
        (tok.tag, tokens[i + 1].content) for i, tok in enumerate(tokens) if tok.type == "heading_open"
    ]
    return headings, flat


def test_no_value_from_the_data_or_the_settings_can_forge_the_card(tmp_path):
    def card_of(name: str, evil: bool) -> str:
        value = hostile if evil else (lambda field: f"plain {field}")
        docs = gold_corpus()
        for rows in docs.values():
            for rec in rows:
                rec["meta"].update({k: value(k) for k in META})
        if evil:
            docs["test"][0]["meta"]["language"] = "en](javascript:alert(5)) <img src=x onerror=alert(6)>"
        split_dir = make_split_dir(tmp_path / name / "splits", docs)
        guidelines = tmp_path / name / "RULES.md"
        guidelines.write_text(
            "# Rules\n\nGuidelines version: " + ("2<img/src=x/onerror=alert(7)>" if evil else "2") + "\n",
            encoding="utf-8",
        )
        results = tmp_path / name / "results.json"
        row = BaselineRow(
            baseline=value("baseline"),
            layer=value("layer"),
            predicts=value("predicts"),
            setting={value("key"): value("setting")},
            validation={"span_f1": 0.5},
            test={"span_f1": 0.25},
        )
        results.write_text(
            BaselineResults(
                fingerprint=fingerprint(split_dir, validate=False),
                command=value("command"),
                tokenizer=value("tokenizer"),
                versions={value("package"): value("version")},
                documents={value("split"): 1},
                rows=[row],
            ).model_dump_json(),
            encoding="utf-8",
        )
        metadata = CardMetadata(
            pretty_name=value("pretty_name"),
            license_name=value("license_name"),
            homepage=value("homepage"),
            citation="@misc{x, title = {" + value("citation") + "}}",
            headline_exclude=("d1",),
            **{k: value(k) for k in SETTING},
        )
        out = tmp_path / name / "dataset"
        publish(
            split_dir,
            output=out,
            annotators=annotator_files(tmp_path / name / "annotations"),
            guidelines=guidelines,
            results=results,
            metadata=metadata,
            validate=False,  # so that even a language tag validation would refuse gets through
        )
        return body(out), (out / "LICENSE.md").read_text("utf-8")

    (plain_card, plain_rights), (evil_card, evil_rights) = card_of("plain", False), card_of("evil", True)
    for plain, evil in ((plain_card, evil_card), (plain_rights, evil_rights)):
        assert structure(plain)[0][-1] == structure(evil)[0][-1]  # no fence left open swallows the end
    plain, evil = plain_card + "\n" + plain_rights, evil_card + "\n" + evil_rights
    (plain_headings, _), (evil_headings, tokens) = structure(plain), structure(evil)
    assert [level for level, _ in evil_headings] == [level for level, _ in plain_headings]
    assert structure(evil_card)[0][-1] == ("h2", "Citation")
    assert not [t for t in tokens if t.type in ("html_block", "html_inline", "image")]
    hrefs = [t.attrs["href"] for t in tokens if t.type == "link_open"]
    assert hrefs and all(re.match(r"https?://|#|[\w.-]+\.md$|aliases\.jsonl$", str(h)) for h in hrefs), hrefs
    # The code blocks are the card's own (the fences of the values did not open any).
    fences = [[t.info for t in structure(text)[1] if t.type == "fence"] for text in (plain, evil)]
    assert fences[0] == fences[1] == ["python", "python", "json", "sh", "sh", "bibtex"]
    html = MarkdownIt("commonmark").enable("table").render(evil)
    for field in (*META, *SETTING, "pretty_name", "baseline", "predicts", "tokenizer", "command"):
        assert f"FORGED {field}" in html, field  # shown, as text


def test_the_genre_is_shown_as_text_in_every_section(tmp_path):
    # The reviewer's case: `_uses` joined the genres raw.
    genre = "speech](javascript:alert(1)) <img src=x onerror=alert(1)>\n\n# FORGED HEADING"
    docs = gold_corpus()
    docs["train"][0]["meta"]["genre"] = genre
    out = tmp_path / "ds"
    publish(make_split_dir(tmp_path / "splits", docs), output=out)
    html = MarkdownIt("commonmark").enable("table").render(body(out))
    assert "<img" not in html and 'href="javascript:' not in html and "<h1>FORGED" not in html
    assert html.count("speech](javascript:alert(1)) &lt;img src=x onerror=alert(1)&gt; # FORGED HEADING") == 3


# -- 2. headline_exclude names documents of the dataset --------------------------------------------


def test_an_unknown_headline_exclude_document_is_refused_with_the_closest(tmp_path):
    split_dir = make_split_dir(tmp_path / "splits", gold_corpus())
    anns = annotator_files(tmp_path / "ann")
    args = ["publish", str(split_dir), "-o", str(tmp_path / "ds"), "--annotators", str(anns[0].parent)]
    result = runner.invoke(app, [*args, "--headline-exclude", "d9x"])
    assert result.exit_code == 2, result.output
    assert "--headline-exclude: 'd9x' is not a document of the dataset" in result.output
    assert not (tmp_path / "ds").exists()
    result = runner.invoke(app, [*args, "--headline-exclude", "dd2"])
    assert result.exit_code == 2 and "did you mean 'd2'?" in result.output
    result = runner.invoke(app, [*args, "--headline-exclude", "d2"])
    assert result.exit_code == 0, result.output
    assert "The headline figures leave out `d2`" in body(tmp_path / "ds")


def test_an_unknown_headline_exclude_setting_stops_the_build_before_merge(tmp_path):
    config = load_config(project(tmp_path / "p", SETTINGS + 'headline_exclude = ["d7 "]\n'))
    with pytest.raises(
        CorpusToolsError, match=r"\[tool.corpus\] headline_exclude: 'd7 ' .*did you mean 'd7'\?"
    ):
        build(config)
    assert not config.gold.exists()


# -- 3. passes: what gold was merged from ----------------------------------------------------------


def voted_gold(root: Path) -> tuple[Path, list[Path]]:
    """Two annotators' passes of d1 and d2 and the gold merged from them (items list both)."""
    anns = annotator_files(root / "ann")
    gold = [record("d1", "gold"), record("d2", "gold", text=TEXT + " (2)")]
    for rec in gold:
        for layer in ("rhetorical_questions", "attributions", "stances"):
            for item in rec[layer]:
                item["annotators"] = ["ann-a", "ann-b"]
    rows = [json.loads(line) for line in anns[1].read_text("utf-8").splitlines()]
    rows[1] = record("d2", "ann-b", text=TEXT + " (2)")
    write_jsonl(anns[1], rows)
    rows = [json.loads(line) for line in anns[0].read_text("utf-8").splitlines()]
    rows[1] = record("d2", "ann-a", text=TEXT + " (2)")
    write_jsonl(anns[0], rows)
    return make_split_dir(root / "splits", {"train": gold[:1], "validation": gold[1:], "test": []}), anns


def test_passes_given_that_leave_out_an_annotator_of_gold_are_refused(tmp_path):
    split_dir, anns = voted_gold(tmp_path)
    out = tmp_path / "ds"
    result = runner.invoke(app, ["publish", str(split_dir), "-o", str(out), "--annotators", str(anns[0])])
    assert result.exit_code == 2, result.output
    assert (
        "gold's items of 'd1' name 'ann-b', whose pass of it is not in the annotators' files" in result.output
    )
    assert not out.exists()
    result = runner.invoke(
        app, ["publish", str(split_dir), "-o", str(out), "--annotators", str(anns[0].parent)]
    )
    assert result.exit_code == 0, result.output
    assert "by their number of annotation passes (`passes`): 2 passes: 2" in body(out)


def test_an_adjudicators_item_is_no_missing_pass_when_the_log_names_the_adjudicator(tmp_path):
    split_dir, anns = voted_gold(tmp_path)
    gold = json.loads((split_dir / "train.jsonl").read_text("utf-8"))
    gold["stances"][0]["annotators"] = ["adj-1"]  # an item the adjudicator added
    write_jsonl(split_dir / "train.jsonl", [gold])
    log = tmp_path / "conflicts.jsonl"
    stance = gold["stances"][0]
    correction = {
        "kind": "correction",
        "doc_id": "d1",
        "layer": "stances",
        "status": "applied",
        "match": None,
        "decision": {"add": {k: stance[k] for k in ("start", "end", "text", "target", "polarity", "holder")}},
        "adjudicator": "adj-1",
        "reason": "S1",
    }
    write_jsonl(log, [correction])
    out = tmp_path / "ds"
    with pytest.raises(CorpusToolsError, match=r"'adj-1'.*give --conflicts to tell them apart"):
        publish(split_dir, output=out, annotators=anns)
    result = publish(split_dir, output=out, annotators=anns, conflicts=log)
    assert result.passes == {"2": 2}


# -- 4. a pass may not be called gold ---------------------------------------------------------------


def test_publish_refuses_a_pass_named_gold_with_its_file_and_line(tmp_path):
    split_dir = make_split_dir(tmp_path / "splits", gold_corpus())
    anns = annotator_files(tmp_path / "ann")
    rows = [json.loads(line) for line in anns[1].read_text("utf-8").splitlines()]
    rows[1]["annotator"] = "gold"
    write_jsonl(anns[1], rows)
    result = runner.invoke(
        app, ["publish", str(split_dir), "-o", str(tmp_path / "ds"), "--annotators", str(anns[1])]
    )
    assert result.exit_code == 1, result.output
    assert f"{anns[1]}:2: error [reserved-annotator] annotator:" in result.output
    assert not (tmp_path / "ds").exists()
    with pytest.raises(InvalidInputError) as info:  # trusted files are checked too
        publish(split_dir, output=tmp_path / "ds", annotators=anns, validate=False)
    [problem] = info.value.report.problems
    assert (problem.code, problem.file, problem.line) == ("reserved-annotator", str(anns[1]), 2)


# -- 5. the Hub's vocabularies ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--license", "not a licence", "license: 'not a licence' is not a licence id of the Hub"),
        ("--license", "CC-BY-4.0", "did you mean 'cc-by-4.0'?"),
        ("--license", "mit\n---", "did you mean 'mit'?"),
        ("--push", "../../etc", "--push: '../../etc' is not a Hub repository id"),
    ],
)
def test_card_settings_outside_the_hubs_vocabulary_are_refused(tmp_path, option, value, message):
    split_dir = make_split_dir(tmp_path / "splits", gold_corpus())
    result = runner.invoke(app, ["publish", str(split_dir), "-o", str(tmp_path / "ds"), option, value])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not (tmp_path / "ds").exists()


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ('license = "CC-BY-4.0"', r"\[tool.corpus\] license: 'CC-BY-4.0' .*did you mean 'cc-by-4.0'\?"),
        ('repo_id = "../../etc"', r"\[tool.corpus\] repo_id: '../../etc' is not a Hub repository id"),
        ('annotations_creators = ["made-up"]', r"\[tool.corpus\] annotations_creators: 'made-up' is not one"),
        ('annotations_creators = ["machine generated"]', "did you mean 'machine-generated'"),
    ],
)
def test_build_settings_outside_the_hubs_vocabulary_are_refused_before_anything_runs(
    tmp_path, setting, message
):
    path = project(tmp_path / "p", SETTINGS + setting + "\n")
    with pytest.raises(CorpusToolsError, match=message):
        load_config(path)


def test_a_valid_repo_id_makes_the_card_load_from_the_hub(tmp_path):
    out = tmp_path / "ds"
    publish(
        make_split_dir(tmp_path / "splits", gold_corpus()),
        output=out,
        metadata=CardMetadata(repo_id="me/corpus"),
    )
    text = body(out)
    assert 'load_dataset("me/corpus")' in text and "hf://datasets/me/corpus/data/spans" in text
    assert "<https://huggingface.co/datasets/me/corpus>" in text


# -- 6. the summary keeps the case of what it quotes -------------------------------------------------


def test_the_summary_sentence_keeps_genres_and_language_tags_as_written(tmp_path):
    docs = gold_corpus()
    for rows in docs.values():
        for rec in rows:
            rec["meta"].update(genre="Speech", language="en-US")
    out = tmp_path / "ds"
    publish(make_split_dir(tmp_path / "splits", docs), output=out)
    summary = body(out).split("Offsets are Unicode code points")[1].split("\n")[0]
    assert "Genres: Speech (5); language: `en-US`." in summary
    assert card_yaml(out)["language"] == ["en-US"]


# -- 7. the card's code runs, on the rows it names ---------------------------------------------------


def test_every_python_block_of_the_card_runs_on_the_published_dataset(tmp_path, monkeypatch):
    docs = gold_corpus()
    bare = record("a0", "gold", rhetorical_questions=[])  # train row 0 has no question
    bare["meta"]["license"] = "public-domain"
    docs["train"].insert(0, bare)
    monkeypatch.chdir(tmp_path)
    out = Path("it's a folder")  # a quote in the path, relative as a user gives it
    result = publish(make_split_dir(tmp_path / "splits", docs), output=out)
    assert result.example_at == ("train", 1)
    card = (tmp_path / out / "README.md").read_text("utf-8")
    blocks = python_blocks(card)
    assert len(blocks) == 2
    namespace: dict[str, Any] = {}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        for block in blocks:  # in order, as a reader pastes them
            exec(block, namespace)
    row = namespace["row"]
    assert row["doc_id"] == result.example["doc_id"] == "d1"
    assert printed.getvalue().split() == ["hypophora"]
    assert len(namespace["spans"]) == sum(s.rows for s in result.configs["spans"].values())
    counts = namespace["counts"]
    assert int(counts["spans"].sum()) == len(namespace["spans"])
    assert int(counts["items"].sum()) == sum(
        sum(s.items.values()) for s in result.configs["default"].values()
    )
    # The example instance is the row the text says it is.
    example = card.split("### Example instance\n\n")[1]
    assert example.startswith(
        "Row 1 of the `train` split, `d1`: the first gold row with an item in every layer"
    )
    shown = json.loads(example.split("```json\n")[1].split("\n```")[0])
    assert shown["doc_id"] == row["doc_id"] and shown["text"] == row["text"]


def test_without_a_row_that_has_every_layer_the_example_is_the_first_row(tmp_path):
    docs = gold_corpus()
    for rows in docs.values():
        for rec in rows:
            rec["attributions"] = []
    out = tmp_path / "ds"
    result = publish(make_split_dir(tmp_path / "splits", docs), output=out)
    assert result.example_at == ("train", 0) and not result.example_complete
    assert "Row 0 of the `train` split, `d1`: the first gold row (no row has an item in every layer)" in body(
        out
    )


# -- 8. a config without rows in a split says so -------------------------------------------------------


def test_a_config_without_rows_in_a_split_says_so(tmp_path):
    docs = gold_corpus()
    docs["test"][0].update(rhetorical_questions=[], attributions=[], stances=[])  # no span in test
    split_dir = make_split_dir(tmp_path / "splits", docs)
    log = tmp_path / "conflicts.jsonl"  # a conflict of a train document only
    write_jsonl(
        log,
        [
            {
                "kind": "correction",
                "doc_id": "d1",
                "layer": "stances",
                "status": "applied",
                "match": {"start": 0, "end": 2},
                "decision": {"remove": True},
                "adjudicator": "adj-1",
                "reason": "S2",
            }
        ],
    )
    out = tmp_path / "ds"
    result = runner.invoke(app, ["publish", str(split_dir), "-o", str(out), "--conflicts", str(log)])
    assert result.exit_code == 0, result.output
    assert "spans: no rows in test, so no such split" in result.output
    assert "conflicts: no rows in validation, test, so no such split" in result.output
    text = body(out)
    assert "`spans` has no test split: gold has no item in any document of that split" in text
    assert "`conflicts` has no validation or test split: the adjudication log has no line" in text


# -- 10. the alias file of stance targets ships with the data ----------------------------------------


def test_the_alias_file_ships_with_the_lines_of_the_datasets_documents(tmp_path):
    docs = gold_corpus()
    docs["train"][0]["stances"][0]["target"] = "Abraham Lincoln"  # not in the text: an alias
    aliases = tmp_path / "aliases.jsonl"
    aliases.write_text(
        '{"doc_id": "zz-elsewhere", "aliases": {"Someone": ["I"]}}\n'
        '{"doc_id": "d1", "aliases": {"Abraham Lincoln": ["lunacy"]}}\n',
        encoding="utf-8",
    )
    out = tmp_path / "ds"
    result = runner.invoke(
        app,
        [
            "publish",
            str(make_split_dir(tmp_path / "splits", docs)),
            "-o",
            str(out),
            "--aliases",
            str(aliases),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "target-not-in-text" not in result.output  # validated against it
    assert (out / "aliases.jsonl").read_text(
        "utf-8"
    ) == '{"doc_id": "d1", "aliases": {"Abraham Lincoln": ["lunacy"]}}\n'
    text = body(out)
    assert "[aliases.jsonl](aliases.jsonl)" in text and "guideline S7" in text
    assert '{"doc_id": "d1", "aliases": {"Abraham Lincoln": ["lunacy"]}}' in text


def test_build_ships_the_alias_file_of_its_settings(tmp_path):
    path = project(tmp_path / "p", SETTINGS + 'aliases = "aliases.jsonl"\n')
    (path.parent / "aliases.jsonl").write_text('{"doc_id": "d3", "aliases": {"Marie": ["Marie Curie"]}}\n')
    config = load_config(path)
    result = build(config).publish
    assert result.aliases == "aliases.jsonl" and result.aliases_documents == 1
    assert (config.output / "aliases.jsonl").is_file()


# -- 11. texts not under the dataset's licence -------------------------------------------------------


def test_uses_name_the_documents_not_under_the_dataset_licence_and_their_terms(tmp_path):
    out = tmp_path / "ds"
    publish(make_split_dir(tmp_path / "splits", gold_corpus()), output=out)  # d3: `other`, ISIS_RIGHTS
    text = body(out)
    direct = text.split("### Direct use")[1].split("### Out-of-scope use")[0]
    out_of_scope = text.split("### Out-of-scope use")[1].split("## Dataset structure")[0]
    assert "**Not every text is under the dataset's licence.**" in direct
    assert "- `d3`, A test document (licence `other`); its terms (`meta.rights`):" in direct
    assert ISIS_RIGHTS.replace("(", "\\(") in direct or ISIS_RIGHTS in direct
    assert "training a commercial model on it" in direct
    assert "`d1`" not in direct  # public domain: free to use
    assert "beyond its own terms: `d3` (`other`)" in out_of_scope
    assert (
        "training a commercial model on it included, without the permission of its rights holder"
        in out_of_scope
    )


def test_uses_say_nothing_of_licences_when_every_text_is_free(tmp_path):
    docs = gold_corpus()
    docs["train"][2]["meta"].update(license="public-domain", rights=None)
    out = tmp_path / "ds"
    publish(make_split_dir(tmp_path / "splits", docs), output=out)
    assert "Not every text" not in body(out) and "beyond its own terms" not in body(out)


def test_a_document_under_an_open_licence_other_than_the_datasets_is_named_with_it(tmp_path):
    docs = gold_corpus()
    docs["test"][0]["meta"].update(license="CC-BY-2.5", rights="Source: Wikinews, CC BY 2.5.")
    out = tmp_path / "ds"
    publish(make_split_dir(tmp_path / "splits", docs), output=out)
    direct = body(out).split("### Direct use")[1].split("### Out-of-scope use")[0]
    assert "- Under `CC-BY-2.5` (1 document): `d5`" in direct
    assert "beyond its own terms: `d3` (`other`) and `d5` (`CC-BY-2.5`)" in body(out)


# -- the Markdown helpers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "a [link](javascript&#58;alert(1)) and [x](  javascript:alert(1))",
        "`a\n- <img src=x onerror=alert(1)>`",
        "\\```<img src=x onerror=alert(1)>```",
        "[r]: javascript:alert(1)\n[y][r]",
        "text\n-",
        "<!-- <script>alert(1)</script> -->",
    ],
)
def test_prose_keeps_nothing_that_could_act(text):
    from corpus_tools.markdown import prose

    tokens = MarkdownIt("commonmark").enable("table").parse(prose(text))
    flat = [t for tok in tokens for t in [tok, *(tok.children or [])]]
    assert not [t for t in flat if t.type in ("html_block", "html_inline", "image", "heading_open", "fence")]
    assert all(str(t.attrs["href"]).startswith(("http", "#")) for t in flat if t.type == "link_open")


def test_prose_keeps_the_projects_markdown():
    from corpus_tools.markdown import prose

    html = MarkdownIt("commonmark").render(
        prose(
            "Some *emphasis*, `code <b>`, a [link](https://example.org) and [a section](#uses).\n\n- a list"
        )
    )
    assert "<em>emphasis</em>" in html and "<code>code &lt;b&gt;</code>" in html
    assert (
        '<a href="https://example.org">link</a>' in html
        and '<a href="#uses">' in html
        and "<li>a list</li>" in html
    )
