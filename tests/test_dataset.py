"""The published dataset, complete (issue 14): every config loads offline and is split like gold,
the adjudication log and a flat table are published, rows say how well their document is
annotated, the card is Hub-grade, parquet is written as `datasets` writes it, and the toolkit
reads what it publishes with the same figures as the JSONL it came from."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import datasets
import pyarrow.parquet as pq
import pytest
from huggingface_hub import DatasetCard
from typer.testing import CliRunner

from corpus_tools.agreement import agreement
from corpus_tools.build import BuildConfig, build, load_config
from corpus_tools.cli import app
from corpus_tools.dataset import iter_rows, open_dataset, record_inputs
from corpus_tools.errors import CorpusToolsError
from corpus_tools.layers import LAYERS
from corpus_tools.merge import merge
from corpus_tools.publish import CardMetadata, publish
from corpus_tools.publish import parquet as publish_parquet
from corpus_tools.split import split as split_corpus
from corpus_tools.validate import validate

from factory import record, span, write_jsonl
from publish_helpers import SETTINGS, as_model, decode, make_split_dir, project

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()


def _read(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> BuildConfig:
    """A corpus built twice, as a project adjudicates it: eight documents with two passes that
    disagree on two of them, a ninth with a single pass, a target both passes write outside the
    text (a warning); then one conflict decided with its reason, one left open, and a correction."""
    root = tmp_path_factory.mktemp("built") / "p"
    path = project(root, SETTINGS + 'guidelines = "GUIDELINES-SRC.md"\nversion = "1.2.3"\n')
    (root / "GUIDELINES-SRC.md").write_text(
        "# Project\n\n## Annotation guidelines\n\nGuidelines version: 4.0\n\nS1. Mark evaluations.\n\n"
        "## Workflow\n\nNot guidelines.\n",
        encoding="utf-8",
    )
    for name in ("ann-a", "ann-b"):
        file = root / "annotations" / f"{name}.jsonl"
        rows = _read(file)
        rows[6]["stances"][0]["target"] = "Moscow officials"  # not in the text: a warning, twice
        if name == "ann-b":
            rows[2]["stances"][0]["polarity"] = "favor"  # an attribute conflict
            text = rows[4]["text"]
            rows[4]["stances"].append(
                {
                    "id": "s2",
                    **span(text, "no plan"),
                    "target": "officials",
                    "polarity": "against",
                    "holder": "author",
                }
            )  # an item conflict
        else:
            single = record("d8", "ann-a")
            single["text"] += " (8)"
            single["meta"]["source"] = "source-8"
            rows.append(single)
        write_jsonl(file, rows)
    config = load_config(path)
    build(config)
    log = _read(config.conflicts)
    for line in log:
        if line["doc_id"] == "d2":
            line.update(decision={"accept": "ann-a"}, adjudicator="adj-x", reason="S8: against")
    d0 = _read(config.gold)[0]
    stance = d0["stances"][0]
    log.append(
        {
            "kind": "correction",
            "doc_id": "d0",
            "layer": "stances",
            "match": {"start": stance["start"], "end": stance["end"]},
            "decision": {"remove": True},
            "adjudicator": "adj-x",
            "reason": "S2: no stance",
        }
    )
    write_jsonl(config.decisions, log)
    build(config)
    return config


def load(config: BuildConfig, name: str | None = None) -> Any:
    return datasets.load_dataset(str(config.output), name, cache_dir=str(config.output.parent / "cache"))


def gold_splits(config: BuildConfig) -> dict[str, str]:
    return json.loads((config.output / "splits.json").read_text("utf-8"))["documents"]


# -- every config, split like gold -------------------------------------------------------------


def test_every_config_loads_offline_and_is_split_exactly_like_gold(built):
    names = datasets.get_dataset_config_names(str(built.output))
    assert names == ["default", "annotators", "conflicts", "spans"]
    where = gold_splits(built)
    gold = load(built)
    members = {split: set(gold[split]["doc_id"]) for split in gold}
    assert {d: s for s, docs in members.items() for d in docs} == where
    for name in names[1:]:
        ds = load(built, name)
        assert set(ds) <= set(gold)
        for split in ds:
            docs = set(ds[split]["doc_id"])
            assert docs <= members[split], (name, split)  # no document of another split
            if name == "annotators":
                assert docs == members[split]  # every gold document's passes, in its split
    spans = load(built, "spans")
    for split in spans:
        assert set(spans[split]["split"]) == {split}


def test_gold_rows_say_how_well_their_document_is_annotated(built):
    gold = load(built)
    rows = {row["doc_id"]: row for split in gold for row in gold[split]}
    assert {d: r["passes"] for d, r in rows.items()} == {**{f"d{i}": 2 for i in range(8)}, "d8": 1}
    # d4's item conflict is still open; d8 has one pass, so nothing to decide.
    assert [d for d, r in rows.items() if not r["adjudicated"]] == ["d4"]


def test_the_conflicts_config_is_the_whole_adjudication_log(built):
    log = _read(built.conflicts)
    ds = load(built, "conflicts")
    rows = sorted((row for split in ds for row in ds[split]), key=lambda r: r["line"])
    assert [r["line"] for r in rows] == list(range(1, len(log) + 1))
    for row, line in zip(rows, log, strict=True):
        assert (row["doc_id"], row["layer"], row["kind"], row["status"]) == (
            line["doc_id"],
            line["layer"],
            line["kind"],
            line["status"],
        )
        assert row["reason"] == line.get("reason")
    decided = next(r for r in rows if r["doc_id"] == "d2")
    assert decided["status"] == "decided" and decided["decision"]["accept"] == "ann-a"
    versions = {v["annotator"]: v["item"] for v in decided["versions"]}
    assert (versions["ann-a"]["polarity"], versions["ann-b"]["polarity"]) == ("against", "favor")
    assert versions["ann-a"]["kind"] is None  # a stance has no `kind`: null in the item struct
    open_one = next(r for r in rows if r["doc_id"] == "d4")
    assert open_one["status"] == "open" and open_one["decision"] is None
    assert {v["annotator"]: v["item"] is None for v in open_one["versions"]} == {
        "ann-a": True,
        "ann-b": False,
    }
    correction = next(r for r in rows if r["kind"] == "correction")
    assert correction["status"] == "applied" and correction["decision"]["remove"] is True
    assert correction["match"] is not None and correction["versions"] is None


def test_the_spans_config_is_gold_flattened(built):
    gold = load(built)
    spans = load(built, "spans")
    for split in gold:
        expected = []
        for row in gold[split]:
            for name, layer in LAYERS.items():
                names = gold[split].features[name].feature[layer.label].names
                for item in row[name]:
                    for part in layer.parts:
                        sp = part.of(item)
                        if sp is not None:
                            expected.append(
                                (
                                    row["doc_id"],
                                    name,
                                    item["id"],
                                    part.name,
                                    sp["start"],
                                    sp["end"],
                                    sp["text"],
                                    names[item[layer.label]],
                                )
                            )
                            assert row["text"][sp["start"] : sp["end"]] == sp["text"]
        got = [
            (r["doc_id"], r["layer"], r["id"], r["part"], r["start"], r["end"], r["text"], r["label"])
            for r in spans[split]
        ]
        assert got == expected
    row = next(r for r in spans["train"] if r["layer"] == "stances")
    assert row["holder"] == "author" and row["target"] and row["passes"] in (1, 2)


# -- the card -------------------------------------------------------------------------------


def test_the_card_parses_and_names_every_config_and_split(built):
    card = DatasetCard.load(built.output / "README.md")
    data = card.data.to_dict()
    configs = {c["config_name"]: [f["split"] for f in c["data_files"]] for c in data["configs"]}
    infos = {i["config_name"]: [s["name"] for s in i["splits"]] for i in data["dataset_info"]}
    assert configs == infos
    for name, splits in configs.items():
        assert splits == list(load(built, name)), name
    assert data["task_ids"] and data["task_categories"]
    assert "original" not in data["source_datasets"]
    assert sorted(data["source_datasets"]) == sorted({f"source-{i // 2}" for i in range(8)} | {"source-8"})
    body = card.text
    for heading in (
        "## Uses",
        "### Out-of-scope use",
        "## Bias, risks and limitations",
        "### Personal and sensitive information",
        "### Curation rationale",
        "### Example instance",
        "## Citation",
    ):
        assert f"\n{heading}\n" in body, heading
    assert "version 4.0" in body and "[GUIDELINES.md](GUIDELINES.md)" in body
    shipped = (built.output / "GUIDELINES.md").read_text("utf-8")
    assert shipped.startswith("# Annotation guidelines\n") and "S1. Mark evaluations." in shipped
    assert "Not guidelines" not in shipped
    example = re.search(r"### Example instance\n\n.*?```json\n(.*?)\n```", body, re.S)
    assert example is not None and json.loads(example.group(1))["annotator"] == "gold"


def test_load_dataset_builder_reports_description_citation_homepage_and_licence(built):
    for name in datasets.get_dataset_config_names(str(built.output)):
        info = datasets.load_dataset_builder(str(built.output), name).info
        assert info.description and info.license and info.citation, name
        assert "version = {1.2.3}" in info.citation  # the project's version, not a build year alone
    out = built.output.parent / "with-url"
    publish(built.split_dir, output=out, metadata=CardMetadata(homepage="https://example.org/corpus"))
    info = datasets.load_dataset_builder(str(out)).info
    assert (
        info.homepage == "https://example.org/corpus"
        and "url = {https://example.org/corpus}" in info.citation
    )


# -- parquet --------------------------------------------------------------------------------


def _arrow_bytes(path: Path, group: int | None = None) -> int:
    file = pq.ParquetFile(path)
    table = file.read() if group is None else file.read_row_group(group)
    return int(table.nbytes)


def test_no_parquet_file_has_more_row_groups_than_its_bytes_justify(built):
    files = sorted((built.output / "data").rglob("*.parquet"))
    assert {f.parent.name for f in files} == {"default", "annotators", "conflicts", "spans"}
    for path in files:
        meta = pq.ParquetFile(path).metadata
        # The rule: a row group is cut at ROW_GROUP_BYTES of Arrow data; a small file has one.
        limit = max(1, math.ceil(_arrow_bytes(path) / publish_parquet.ROW_GROUP_BYTES))
        assert meta.num_row_groups <= limit, path
        assert meta.num_row_groups == 1  # every file of this corpus is far below 100 MB
        # Written as `datasets` writes: a page index, content-defined chunking recorded.
        assert meta.row_group(0).column(0).has_offset_index
        assert json.loads(meta.metadata[b"content_defined_chunking"]) == publish_parquet.CDC_OPTIONS


def test_row_groups_are_cut_by_bytes_not_by_input_chunks(tmp_path, monkeypatch):
    monkeypatch.setattr(publish_parquet, "CHUNK_SIZE", 2_000)  # many small input chunks
    monkeypatch.setattr(publish_parquet, "ROW_GROUP_BYTES", 20_000)
    docs = {"train": [record(f"x{i:03d}", "gold") for i in range(120)], "validation": [record("v", "gold")]}
    out = tmp_path / "dataset"
    publish(make_split_dir(tmp_path / "splits", docs), output=out)
    path = out / "data" / "default" / "train-00000-of-00001.parquet"
    file = pq.ParquetFile(path)
    groups = file.metadata.num_row_groups
    total = _arrow_bytes(path)
    assert 1 < groups <= math.ceil(total / 20_000)
    for g in range(groups - 1):  # every row group but the last holds at least the limit
        assert _arrow_bytes(path, g) >= 20_000
    assert file.read().num_rows == 120


# -- reading what was published ----------------------------------------------------------------


def test_validate_gives_the_same_figures_on_the_dataset_as_on_its_jsonl(built):
    from_jsonl = validate(
        [*(built.split_dir / f"{s}.jsonl" for s in ("train", "validation", "test")), *built.annotations]
    )
    from_dataset = validate([built.output])
    for key in ("records", "errors", "warnings", "by_code"):
        assert getattr(from_dataset.summary, key) == getattr(from_jsonl.summary, key), key
    assert from_dataset.summary.warnings == 3  # the target outside the text: two passes and gold
    assert sorted((p.code, p.path, p.message) for p in from_dataset.problems) == sorted(
        (p.code, p.path, p.message) for p in from_jsonl.problems
    )
    for problem in from_dataset.problems:  # file and row instead of line
        assert problem.file.endswith(".parquet") and problem.line is None and problem.row is not None
        rows = dict(iter_rows(problem.file))
        assert rows[problem.row]["doc_id"] == "d6"


def test_agreement_gives_the_same_figures_on_the_dataset_as_on_its_jsonl(built):
    assert agreement([built.output]).to_json() == agreement(built.annotations).to_json()
    after = agreement(built.annotations, gold=[built.gold]).to_json()
    assert agreement([built.output], gold=[built.output]).to_json() == after


def test_merge_and_split_read_the_dataset_as_its_jsonl(built, tmp_path):
    a = merge(
        built.annotations,
        output=tmp_path / "a.jsonl",
        conflicts=tmp_path / "ca.jsonl",
        decisions=built.decisions,
    )
    b = merge(
        [built.output],
        output=tmp_path / "b.jsonl",
        conflicts=tmp_path / "cb.jsonl",
        decisions=built.decisions,
    )
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()
    assert (tmp_path / "ca.jsonl").read_bytes() == (tmp_path / "cb.jsonl").read_bytes()
    assert a.documents == b.documents == 9
    result = split_corpus(
        [built.output], output=tmp_path / "splits", seed=13, ratios=(0.5, 0.25, 0.25), group_by="meta.source"
    )
    assert result.documents == gold_splits(built)
    written = [
        as_model(r)
        for s in ("train", "validation", "test")
        for r in _read(tmp_path / "splits" / f"{s}.jsonl")
    ]
    assert sorted(written, key=lambda r: r["doc_id"]) == sorted(
        (as_model(r) for r in _read(built.gold)), key=lambda r: r["doc_id"]
    )


def test_a_problem_in_a_parquet_file_names_the_file_row_and_field(built, tmp_path):
    source = built.output / "data" / "annotators" / "train-00000-of-00001.parquet"
    table = pq.read_table(source)
    rows = table.to_pylist()
    rows[1]["stances"][0]["text"] = "not the text"
    broken = tmp_path / "broken.parquet"
    pq.write_table(type(table).from_pylist(rows, schema=table.schema), broken)
    report = validate([broken])
    (problem,) = [p for p in report.problems if p.code == "span-text-mismatch"]
    assert (problem.file, problem.line, problem.row, problem.path) == (
        str(broken),
        None,
        1,
        "stances[0].text",
    )
    result = runner.invoke(app, ["validate", str(broken)])
    assert result.exit_code == 1
    assert f"{broken}, row 1: error [span-text-mismatch] stances[0].text:" in result.output
    github = runner.invoke(app, ["validate", "--format", "github", str(broken)])
    assert f"::error file={broken},title=span-text-mismatch::row 1: stances[0].text:" in github.output


def test_what_a_dataset_cannot_give_is_a_clear_error(built, tmp_path):
    spans_file = next((built.output / "data" / "spans").glob("*.parquet"))
    with pytest.raises(CorpusToolsError, match=r"not a file of records \(no annotator column"):
        record_inputs([spans_file])
    result = runner.invoke(app, ["validate", str(spans_file)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    garbage = tmp_path / "garbage.parquet"
    garbage.write_bytes(b"PAR1 not really")
    result = runner.invoke(app, ["agreement", str(garbage)])
    assert result.exit_code == 2 and "not a readable parquet file" in result.output
    gold_only = tmp_path / "gold-only"
    publish(built.split_dir, output=gold_only)
    result = runner.invoke(app, ["agreement", str(gold_only)])
    assert result.exit_code == 2 and "has no 'annotators' config" in result.output
    assert set(open_dataset(gold_only).configs) == {"default", "spans"}


def test_the_readme_loading_one_liners_run(built, monkeypatch):
    readme = (ROOT / "README.md").read_text("utf-8")
    section = readme.split("## Loading the dataset", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 2
    monkeypatch.chdir(built.output.parent.parent)  # the README's `out/dataset`
    namespace: dict[str, Any] = {}
    for code in blocks:  # in order, as a reader pastes them
        exec(code, namespace)
    assert namespace["row"]["rhetorical_questions"]
    spans = namespace["spans"]
    assert set(spans.columns) >= {"doc_id", "split", "layer", "id", "part", "start", "end", "text", "label"}
    counts = namespace["counts"]
    assert int(counts["spans"].sum()) == len(spans)
    items = spans.drop_duplicates(["doc_id", "id"]).groupby(["layer", "label"]).size()
    by_label = {(r.layer, r.label): r.items for r in counts.itertuples()}
    assert by_label == items.to_dict()


def test_decode_leaves_out_the_document_columns(built):
    gold = load(built)
    row = gold["train"][0]
    assert {"passes", "adjudicated"} <= set(row) and not {"passes", "adjudicated"} & set(decode(row))
