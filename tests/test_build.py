"""`corpus_tools.build`: settings from TOML, and the whole pipeline on small files."""

from __future__ import annotations

import json
from pathlib import Path

import datasets
import pytest

from corpus_tools.build import BuildConfig, build, load_config
from corpus_tools.errors import CorpusToolsError, InvalidInputError

from factory import span, write_jsonl
from publish_helpers import SETTINGS, as_model, card_yaml, decode, project, spans


def test_load_config_resolves_paths_against_the_file(tmp_path):
    config = load_config(project(tmp_path / "p"))
    assert config.annotations == [tmp_path / "p" / "annotations"]
    assert config.output == tmp_path / "p" / "out" / "dataset"
    assert config.decisions == tmp_path / "p" / "adjudication" / "decisions.jsonl"
    assert (config.ratios, config.seed, config.group_by) == ((0.5, 0.25, 0.25), 13, "meta.source")


def test_load_config_reads_a_plain_settings_file(tmp_path):
    path = tmp_path / "corpus.toml"
    path.write_text(SETTINGS.replace("[tool.corpus]\n", ""), encoding="utf-8")
    assert load_config(path).split_dir == tmp_path / "out" / "splits"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (SETTINGS.replace("split_dir", "splitdir"), "unknown setting 'splitdir'; did you mean 'split_dir'"),
        (
            SETTINGS.replace("seed = 13", "seed = 'x'"),
            r"\[tool.corpus\] seed: Input should be a valid integer",
        ),
        (SETTINGS.replace("seed = 13", "seed = true"), r"\[tool.corpus\] seed: .*got a boolean true"),
        (
            SETTINGS.replace("seed = 13", "seed = -5"),
            r"\[tool.corpus\] seed: Input should be greater than or equal to 0",
        ),
        (
            SETTINGS.replace("seed = 13", "seed = 13\noverlap = 0"),
            r"\[tool.corpus\] overlap: .*greater than 0",
        ),
        (
            SETTINGS.replace("seed = 13", "seed = 13\nmatch = 'fuzzy'"),
            r"\[tool.corpus\] match: .*'exact' or 'overlap'",
        ),
        (SETTINGS.replace("ratios = [0.5, 0.25, 0.25]", 'ratios = "0.8"'), r"\[tool.corpus\] ratios"),
        (SETTINGS.replace('gold = "out/gold.jsonl"\n', ""), r"\[tool.corpus\] gold: Field required"),
        (
            SETTINGS.replace('output = "out/dataset"', 'output = "out/splits"'),
            r"split_dir = '\S*out/splits' is output = '\S*out/splits'",
        ),
        (
            SETTINGS.replace('output = "out/dataset"', 'output = "out/splits/ds"'),
            r"split_dir = '\S*out/splits' overlaps output",
        ),
        (
            SETTINGS.replace('conflicts = "out/conflicts.jsonl"', 'conflicts = "out/gold.jsonl"'),
            r"gold = '\S*out/gold.jsonl' is conflicts",
        ),
        (
            SETTINGS.replace('gold = "out/gold.jsonl"', 'gold = "adjudication/decisions.jsonl"'),
            "is decisions",
        ),
        (
            SETTINGS.replace('gold = "out/gold.jsonl"', 'gold = "annotations/gold.jsonl"'),
            "overlaps the annotations",
        ),
        ("[tool.other]\nx = 1\n", "no \\[tool.corpus\\] section"),
        ("[tool]\ncorpus = 5\n", r"\[tool.corpus\] must be one table of settings, not an integer"),
        ('tool = "x"\n', "`tool` must be a table"),
        ("[[tool.corpus]]\nseed = 1\n", r"not an array of tables"),
        ("[tool.corpus\n", "cannot read the settings"),
    ],
)
def test_bad_settings_say_what_is_wrong(tmp_path, settings, message):
    path = tmp_path / "pyproject.toml"
    path.write_text(settings, encoding="utf-8")
    with pytest.raises(CorpusToolsError, match=message):
        load_config(path)


def test_a_settings_file_that_is_not_utf8(tmp_path):
    path = tmp_path / "corpus.toml"
    path.write_bytes(SETTINGS.encode("utf-16"))
    with pytest.raises(CorpusToolsError, match=r"not UTF-8.*UTF-16"):
        load_config(path)


def test_missing_settings_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CorpusToolsError, match=r"pyproject\.toml: no such file"):
        load_config()


def test_build_runs_the_whole_pipeline(tmp_path):
    config = load_config(project(tmp_path / "p"))
    steps: list[tuple[str, int, int]] = []
    result = build(config, progress=lambda *a: steps.append(a))
    assert not result.decisions_applied  # no decisions file yet: fine
    assert result.merge.documents == 8
    assert sum(c.documents for c in result.split.counts.values()) == 8
    assert [s for s, done, total in steps if done == 0][:3] == ["validate", "merge", "split"]
    assert any(s.startswith("write default/") for s, _, _ in steps) and steps[-1][0] == "verify"

    out = config.output
    ds = datasets.load_dataset(str(out), cache_dir=str(tmp_path / "cache"))
    assert {s: ds[s].num_rows for s in ds} == {s: c.documents for s, c in result.split.counts.items()}
    gold = {r["doc_id"]: r for r in (as_model(rec) for rec in _read(config.gold))}
    for split in ds:
        for row in ds[split]:
            assert decode(row) == gold[row["doc_id"]]
            for sp in spans(row):
                assert row["text"][sp["start"] : sp["end"]] == sp["text"]
            assert result.split.documents[row["doc_id"]] == split
    raw = datasets.load_dataset(str(out), "annotators", cache_dir=str(tmp_path / "cache"))
    assert sum(raw[s].num_rows for s in raw) == 16
    for split in raw:  # the passes are split like gold
        assert {result.split.documents[d] for d in raw[split]["doc_id"]} == {split}
    assert {c["config_name"] for c in card_yaml(out)["configs"]} == {"default", "annotators", "spans"}


def test_build_with_a_single_annotator(tmp_path):
    config = load_config(project(tmp_path / "p", annotators=("ann-a",)))
    result = build(config)
    assert result.merge.annotators == ["ann-a"]
    assert result.merge.open_conflicts == 0  # a single annotator passes through
    assert sum(result.publish.rows().values()) == 8


def test_build_stops_on_invalid_annotations(tmp_path):
    path = project(tmp_path / "p")
    (tmp_path / "p" / "annotations" / "ann-a.jsonl").write_text('{"doc_id": 1}\n', encoding="utf-8")
    with pytest.raises(InvalidInputError) as info:
        build(load_config(path))
    assert not info.value.report.valid
    assert not (tmp_path / "p" / "out" / "dataset").exists()


def test_build_stops_on_a_pass_named_gold(tmp_path):
    config = load_config(project(tmp_path / "p", annotators=("ann-a", "gold")))
    with pytest.raises(InvalidInputError) as info:
        build(config)
    problems = info.value.report.problems
    assert {(p.code, p.line) for p in problems} == {("reserved-annotator", n) for n in range(1, 9)}
    assert {p.file for p in problems} == {str(config.annotations[0] / "gold.jsonl")}
    assert not config.gold.exists()


def test_build_config_needs_annotations():
    with pytest.raises(ValueError):
        BuildConfig(annotations=[], gold="g", conflicts="c", split_dir="s", output="o")


def _read(path: Path) -> list[dict]:
    import json

    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"gold": "annotations/gold.jsonl"}, "overlaps the annotations"),
        ({"manifest": "annotations/splits.json"}, "manifest = .* overlaps the annotations"),
        ({"manifest": "out/dataset/splits.json"}, "manifest = .* overlaps output"),
        ({"ratios": (0.5, 0.5, 0.5)}, r"\[tool.corpus\] ratios: .*sum"),
        ({"group_by": "meta.nope"}, r"\[tool.corpus\] group_by: .*meta.nope"),
    ],
)
def test_settings_are_checked_before_anything_is_written(tmp_path, change, message):
    config = load_config(project(tmp_path / "p"))
    updates = {k: (tmp_path / "p" / v if k in ("gold", "manifest") else v) for k, v in change.items()}
    with pytest.raises(CorpusToolsError, match=message):
        build(config.model_copy(update=updates))
    assert not (tmp_path / "p" / "out").exists()
    assert not (tmp_path / "p" / "annotations" / "gold.jsonl").exists()


def test_build_reads_each_input_once_to_validate_it(tmp_path, monkeypatch):
    from corpus_tools.validate import run as validate_run

    checked: list[Path] = []
    real = validate_run._check_chunk

    def counting(chunk):
        checked.append(chunk.path)
        return real(chunk)

    monkeypatch.setattr(validate_run, "_check_chunk", counting)
    config = load_config(project(tmp_path / "p"))
    build(config)
    annotation_files = sorted((tmp_path / "p" / "annotations").glob("*.jsonl"))
    # Each annotator file once (one chunk each: they are small); gold and the split files,
    # written by the toolkit from validated input, never.
    assert sorted(checked) == annotation_files


def test_strict_build_stops_on_a_warning_that_an_alias_file_answers(tmp_path):
    settings = SETTINGS + "strict = true\n"
    path = project(tmp_path / "p", settings)
    rows = _read(path.parent / "annotations" / "ann-b.jsonl")
    for row in rows:
        row["stances"][0]["target"] = "the bureaucracy"  # a name the text never uses
    write_jsonl(path.parent / "annotations" / "ann-b.jsonl", rows)
    with pytest.raises(InvalidInputError) as info:
        build(load_config(path))
    assert {p.code for p in info.value.report.problems} == {"target-not-in-text"}
    assert not (path.parent / "out").exists()
    aliases = [{"doc_id": r["doc_id"], "aliases": {"the bureaucracy": ["officials"]}} for r in rows]
    write_jsonl(path.parent / "documents" / "aliases.jsonl", aliases)
    path.write_text(settings + 'aliases = "documents/aliases.jsonl"\n', encoding="utf-8")
    result = build(load_config(path))
    assert result.validation.valid and not result.validation.problems


def test_the_card_reports_agreement_before_and_after_adjudication_and_a_held_out_document(tmp_path):
    settings = (
        SETTINGS + 'headline_exclude = ["d0"]\nheadline_exclude_reason = "The guidelines annotate it."\n'
    )
    path = project(tmp_path / "p", settings)
    rows = _read(path.parent / "annotations" / "ann-b.jsonl")
    for row in rows:
        row["stances"] = []  # ann-b gives no stance: before, stance F1 is 0; gold has none either
    write_jsonl(path.parent / "annotations" / "ann-b.jsonl", rows)
    config = load_config(path)
    build(config)
    card = (config.output / "README.md").read_text(encoding="utf-8")
    before = card.split("### Before adjudication")[1].split("###")[0]
    after = card.split("### After adjudication")[1].split("###")[0]
    assert "The headline figures leave out `d0`" in card and "The guidelines annotate it." in card
    assert "on the 7 document(s) annotated by two or more" in before  # d0 left out
    # Stances: ann-a has one per document, ann-b none, so no stance reaches gold (one vote of two).
    assert "| stances (polarity) | 0.000 |" in before
    assert "each paired with gold" in after and "| stances (polarity) | 0.000 |" in after
    assert "| rhetorical_questions (kind) | 1.000 |" in after
    assert "### `d0` alone" in card


def test_a_committed_manifest_keeps_the_split_as_the_corpus_grows(tmp_path):
    path = project(tmp_path / "p", SETTINGS + 'manifest = "splits/splits.json"\n')
    config = load_config(path)
    first = build(config)
    manifest = json.loads((tmp_path / "p" / "splits" / "splits.json").read_text("utf-8"))
    assert manifest["documents"] == first.split.documents
    assert (config.split_dir / "splits.json").read_bytes() == (
        tmp_path / "p" / "splits" / "splits.json"
    ).read_bytes()
    # A ninth document arrives: the eight keep their splits, the manifest lists the new one too.
    for name in ("ann-a", "ann-b"):
        rows = _read(path.parent / "annotations" / f"{name}.jsonl")
        extra = {**rows[0], "doc_id": "d8", "text": rows[0]["text"] + " (8)"}
        extra["meta"] = {**rows[0]["meta"], "source": "source-new"}
        write_jsonl(path.parent / "annotations" / f"{name}.jsonl", [*rows, extra])
    second = build(config)
    assert {d: s for d, s in second.split.documents.items() if d != "d8"} == first.split.documents
    grown = json.loads((tmp_path / "p" / "splits" / "splits.json").read_text("utf-8"))
    assert set(grown["documents"]) == {*first.split.documents, "d8"}


def test_the_card_carries_the_guidelines_version(tmp_path):
    path = project(tmp_path / "p", SETTINGS + 'guidelines = "CONTRIBUTING.md"\n')
    (path.parent / "CONTRIBUTING.md").write_text(
        "# Guidelines\n\nGuidelines version: 3.1\n\nS1. ...\n", encoding="utf-8"
    )
    config = load_config(path)
    build(config)
    card = (config.output / "README.md").read_text("utf-8")
    assert (
        "Gold follows version 3.1 of the annotation guidelines, shipped with the data as [GUIDELINES.md]"
        in card
    )
    shipped = (config.output / "GUIDELINES.md").read_text("utf-8")
    assert shipped.startswith("# Guidelines\n") and "Guidelines version: 3.1\n\nS1. ...\n" in shipped
    (path.parent / "CONTRIBUTING.md").write_text("# Guidelines without a version\n", encoding="utf-8")
    with pytest.raises(CorpusToolsError, match="Guidelines version: N"):
        build(load_config(path))


def test_build_writes_the_site_when_one_is_configured(tmp_path):
    settings = SETTINGS + 'site = "out/site"\n'
    path = project(tmp_path / "p", settings)
    ann_b = tmp_path / "p" / "annotations" / "ann-b.jsonl"
    rows = [json.loads(line) for line in _lines(ann_b)]
    rows[0]["stances"] = []  # one disagreement: a conflict for the adjudicator
    write_jsonl(ann_b, rows)
    merged = build(load_config(path))
    # Decide one conflict, then build again: the site shows the decision beside the items.
    assert merged.view is not None
    conflicts = [json.loads(line) for line in _lines(tmp_path / "p/out/conflicts.jsonl")]
    conflicts[0].update(decision={"reject": True}, adjudicator="adj-1", reason="not an item")
    decisions = tmp_path / "p" / "adjudication" / "decisions.jsonl"
    decisions.parent.mkdir()
    decisions.write_text("".join(json.dumps(c) + "\n" for c in conflicts), encoding="utf-8")
    steps: list[str] = []
    result = build(load_config(path), progress=lambda step, done, total: steps.append(step))
    site = tmp_path / "p" / "out" / "site"
    assert result.view is not None and result.view.index == str(site / "index.html")
    assert (result.view.documents, result.view.pages, result.view.comparisons) == (8, 24, 8)
    assert result.view.decisions == 1
    assert steps[-1] == "view"
    assert (site / "doc" / "d0" / "gold.html").is_file() and (site / "compare" / "d0.html").is_file()
    doc = conflicts[0]["doc_id"]
    assert "not an item" in (site / "compare" / f"{doc}.html").read_text(encoding="utf-8")


def test_the_site_joins_the_decisions_to_the_conflicts_of_the_configured_merge(tmp_path):
    """With `match = "overlap"`, a stance one word longer in ann-b is one conflict (not two, as
    exact matching makes it): decided, the site shows it decided, as the merge applied it."""
    path = project(tmp_path / "p", SETTINGS + 'site = "out/site"\nmatch = "overlap"\n')
    ann_b = tmp_path / "p" / "annotations" / "ann-b.jsonl"
    rows = [json.loads(line) for line in _lines(ann_b)]
    text = rows[1]["text"]
    rows[1]["stances"][0].update(span(text, "a farce"))
    write_jsonl(ann_b, rows)
    build(load_config(path))
    (conflict,) = [json.loads(line) for line in _lines(tmp_path / "p/out/conflicts.jsonl")]
    conflict.update(decision={"accept": "ann-a"}, adjudicator="adj-1", reason="S1: the evaluative word")
    decisions = tmp_path / "p" / "adjudication" / "decisions.jsonl"
    decisions.parent.mkdir()
    decisions.write_text(json.dumps(conflict) + "\n", encoding="utf-8")

    result = build(load_config(path))

    assert result.view is not None
    assert (result.view.decisions, result.view.stale, result.view.refused) == (1, 0, 0)
    page = (tmp_path / "p/out/site/compare/d1.html").read_text(encoding="utf-8")
    assert 'data-action="accept" data-status="decided"' in page and "S1: the evaluative word" in page


def test_without_a_site_setting_build_writes_no_site(tmp_path):
    result = build(load_config(project(tmp_path / "p")))
    assert result.view is None
    assert not (tmp_path / "p" / "out" / "site").exists()


@pytest.mark.parametrize(
    ("site", "message"),
    [
        ("out/dataset", r"output = '\S*out/dataset' is site = '\S*out/dataset'"),
        ("out/splits/site", r"split_dir = '\S*out/splits' overlaps site"),
        ("annotations/site", "site = .* overlaps the annotations"),
    ],
)
def test_the_site_needs_a_place_of_its_own(tmp_path, site, message):
    path = project(tmp_path / "p", SETTINGS + f'site = "{site}"\n')
    with pytest.raises(CorpusToolsError, match=message):
        load_config(path)
    assert not (tmp_path / "p" / "out").exists()


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def test_build_publishes_the_tokens_config_and_the_baseline_table_when_configured(tmp_path):
    settings = SETTINGS + 'tokens = true\nbaselines = "baselines/results.json"\n'
    config = load_config(project(tmp_path / "p", settings))
    assert config.baselines == tmp_path / "p" / "baselines" / "results.json"
    first = build(config)
    # No results file yet: the card has no baseline table, and the build says so.
    assert not first.baselines_applied and "## Baselines" not in (config.output / "README.md").read_text()
    assert "tokens" in first.publish.configs
    from corpus_tools.baseline import BaselineResults, fingerprint

    results = BaselineResults(
        fingerprint=fingerprint(config.split_dir),
        command="corpus baseline out/splits --output baselines/results.json",
        tokenizer="spaCy",
        versions={},
        documents={"train": 4, "validation": 2, "test": 2},
        rows=[],
    )
    config.baselines.parent.mkdir()
    config.baselines.write_text(results.model_dump_json(), encoding="utf-8")
    second = build(config)
    card = (config.output / "README.md").read_text(encoding="utf-8")
    assert second.baselines_applied and "## Baselines" in card and "other data" not in card
    # The tokens section is part of "Dataset structure"; the baselines follow it, before "Dataset creation".
    assert (
        card.index("## Dataset structure")
        < card.index("### The `tokens` configuration")
        < card.index("### How the splits")
        < card.index("## Baselines")
        < card.index("## Dataset creation")
    )
