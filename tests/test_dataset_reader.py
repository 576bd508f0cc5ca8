"""Reading a published dataset back (`corpus_tools/dataset/`) as `datasets` reads it: checked
against its card (configs, splits, shard names and counts, rows, each shard's columns and
metadata, the shipped `splits.json`), decoded with the card's features, values a record cannot
hold refused with file, row and column, its split kept by `corpus split`, its alias file used
by `corpus validate`, every file inside the folder, its temporary files cleaned after a
SIGKILL, and a folder whose README is not a dataset card read as the folder of JSONL it is.

Each test publishes a real dataset (with the real `corpus build`) and changes a copy of it as a
user would, with pyarrow, DuckDB or an editor."""

from __future__ import annotations

import decimal
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path
from typing import Any

import datasets
import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from typer.testing import CliRunner

from corpus_tools.agreement import agreement
from corpus_tools.build import BuildConfig, build, load_config
from corpus_tools.cli import app
from corpus_tools.dataset import features, is_dataset, open_dataset, record_inputs
from corpus_tools.errors import CorpusToolsError
from corpus_tools.evaluate import evaluate
from corpus_tools.split import split as split_corpus
from corpus_tools.validate import validate

from factory import record, write_jsonl
from publish_helpers import SETTINGS, gold_corpus, make_split_dir, project

runner = CliRunner()
SPLIT_OPTIONS = ["--seed", "13", "--ratios", "0.5,0.25,0.25", "--group-by", "meta.source"]
"""The options the dataset below was split with (`SETTINGS`)."""


def _read(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> BuildConfig:
    """A corpus of eight documents in two passes, published with gold, the passes, the
    conflicts and the spans; both passes write a stance target (of d6) that is not in the text."""
    root = tmp_path_factory.mktemp("reader") / "p"
    config = load_config(project(root, SETTINGS + "tokens = true\n"))
    for name in ("ann-a", "ann-b"):
        file = root / "annotations" / f"{name}.jsonl"
        rows = _read(file)
        rows[6]["stances"][0]["target"] = "Moscow officials"
        if name == "ann-b":
            rows[2]["stances"][0]["polarity"] = "favor"  # a conflict
        write_jsonl(file, rows)
    build(config)
    return config


@pytest.fixture
def copy(built: BuildConfig, tmp_path: Path) -> Path:
    """A copy of the published dataset to change."""
    out = tmp_path / "dataset"
    shutil.copytree(built.output, out)
    return out


def shards(dataset: Path, config: str, split: str | None = None) -> list[Path]:
    return sorted((dataset / "data" / config).glob(f"{split or '*'}-*.parquet"))


def rewrite(path: Path, change: Any) -> None:
    """Rewrite a parquet file with pyarrow after `change(table) -> table`."""
    table = change(pq.read_table(path))
    pq.write_table(table, path)


def edit_card(dataset: Path, change: Any) -> None:
    """Change the card's YAML header in place, as an editor would."""
    text = (dataset / "README.md").read_text("utf-8")
    _, header, body = text.split("---\n", 2)
    data = yaml.safe_load(header)
    change(data)
    (dataset / "README.md").write_text(f"---\n{yaml.safe_dump(data, sort_keys=False)}---\n{body}", "utf-8")


def figures(report: Any) -> tuple[Any, ...]:
    s = report.summary
    return s.records, s.errors, s.warnings, dict(s.by_code), report.valid


def fails_cleanly(args: list[str], *needles: str) -> str:
    """Run a command that must stop with exit status 2 and a one-line error naming `needles`."""
    result = runner.invoke(app, args)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in result.output, result.output
    return result.output


def test_the_features_are_read_from_the_card_as_datasets_reads_them(built):
    """The reader's own reading of the card's features (no `datasets` import) equals what
    `datasets` reads from the same YAML, and what it stores in each shard, for every config."""
    card = yaml.safe_load((built.output / "README.md").read_text("utf-8").split("---\n", 2)[1])
    infos = {info["config_name"]: info["features"] for info in card["dataset_info"]}
    assert set(infos) == {"default", "annotators", "conflicts", "spans", "tokens"}
    for name, fields in infos.items():
        ours = features.from_card(fields)
        assert ours == features.from_dict(datasets.Features._from_yaml_list(fields).to_dict()), name
        for path in shards(built.output, name):
            assert features.from_metadata(pq.read_schema(path)) == ours, path
    labels = dict(dict(features.from_card(infos["tokens"]).fields))
    assert labels["stances_tags"].inner == features.Feature(
        "label", names=("O", "B-favor", "I-favor", "B-against", "I-against")
    )


# -- 1. values a record cannot hold -------------------------------------------------------------


def test_a_binary_text_column_is_read_as_the_text_it_holds(built, copy, tmp_path):
    """Writers that do not mark text columns as UTF-8 write them as binary; `datasets` casts
    them to the card's string, and so does the reader: the same figures as the original."""
    for config in ("default", "annotators"):
        for path in shards(copy, config):

            def to_binary(table: pa.Table) -> pa.Table:
                i = table.schema.get_field_index("text")
                return table.set_column(i, pa.field("text", pa.binary()), table["text"].cast(pa.binary()))

            rewrite(path, to_binary)
            assert pq.read_schema(path).field("text").type == pa.binary()
    loaded = datasets.load_dataset(str(copy), cache_dir=str(tmp_path / "cache"))
    assert (
        loaded["train"]["text"][0]
        == pq.read_table(shards(built.output, "default", "train")[0])["text"][0].as_py()
    )
    assert figures(validate([copy])) == figures(validate([built.output]))
    assert agreement([copy]).to_json() == agreement([built.output]).to_json()
    result = runner.invoke(app, ["split", str(copy), "-o", str(tmp_path / "a"), *SPLIT_OPTIONS])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["split", str(built.output), "-o", str(tmp_path / "b"), *SPLIT_OPTIONS])
    assert result.exit_code == 0, result.output
    for name in ("train.jsonl", "validation.jsonl", "test.jsonl"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    result = runner.invoke(app, ["view", str(copy), "-o", str(tmp_path / "site")])
    assert result.exit_code == 0, result.output


def test_bytes_that_are_not_utf8_name_the_file_row_and_column(copy, tmp_path):
    path = shards(copy, "default", "train")[0]

    def broken(table: pa.Table) -> pa.Table:
        texts = [t.encode("utf-8") for t in table["text"].to_pylist()]
        texts[1] = texts[1][:5] + b"\xff" + texts[1][6:]
        i = table.schema.get_field_index("text")
        return table.set_column(i, pa.field("text", pa.binary()), pa.array(texts, pa.binary()))

    rewrite(path, broken)
    for command in (
        ["validate"],
        ["split", "-o", str(tmp_path / "s"), *SPLIT_OPTIONS],
        ["view", "-o", str(tmp_path / "v")],
    ):
        fails_cleanly(
            [command[0], str(copy), *command[1:]],
            f"{path}, row 1: column text:",
            "not UTF-8 text (byte 5 is 0xff)",
        )


@pytest.mark.parametrize(
    ("value", "arrow_type", "shown"),
    [
        (decimal.Decimal("1.50"), pa.decimal128(5, 2), "a Decimal value (Decimal('1.50'))"),
        (timedelta(seconds=3), pa.duration("s"), "a timedelta value"),
        (b"\xc3(", pa.binary(), "bytes that are not UTF-8 text (byte 0 is 0xc3)"),
    ],
)
def test_a_column_no_record_can_hold_in_a_parquet_file_is_an_error_not_a_traceback(
    built, tmp_path, value, arrow_type, shown
):
    table = pq.read_table(shards(built.output, "annotators", "train")[0])
    column = pa.array([None] * (table.num_rows - 1) + [value], arrow_type)
    named = tmp_path / "extra.parquet"
    pq.write_table(table.append_column("score", column), named)
    last = table.num_rows - 1
    fails_cleanly(["validate", str(named)], f"{named}, row {last}: column score: {shown}")
    fails_cleanly(["agreement", str(named)], f"{named}, row {last}: column score:")


def test_an_extra_binary_column_of_text_is_read_as_text_and_reported_as_an_unknown_field(built, tmp_path):
    table = pq.read_table(shards(built.output, "annotators", "train")[0])
    named = tmp_path / "extra.parquet"
    pq.write_table(table.append_column("score", pa.array([b"high"] * table.num_rows, pa.binary())), named)
    result = runner.invoke(app, ["validate", str(named), "--format", "json"])
    assert result.exit_code == 1, result.output
    codes = {p["code"] for p in json.loads(result.output)["problems"]}
    assert "unknown-field" in codes


# -- 2. the folder checked against its card -------------------------------------------------------


def test_a_split_whose_shards_are_gone_is_refused(copy, tmp_path):
    for path in (copy / "data").rglob("test-*.parquet"):
        path.unlink()
    with pytest.raises(Exception):  # noqa: B017 - `datasets` refuses the folder too
        datasets.load_dataset(str(copy), cache_dir=str(tmp_path / "cache"))
    fails_cleanly(["validate", str(copy)], "no data file found", "split 'test' with 2 row(s)")
    fails_cleanly(["agreement", str(copy)], "split 'test'")


def test_a_shard_renamed_into_another_split_is_refused(copy):
    test = shards(copy, "default", "test")[0]
    test.rename(test.with_name("train-00001-of-00002.parquet"))
    fails_cleanly(["validate", str(copy)], "disagree on how many there are (-of-00001 and -of-00002)")


def test_a_split_moved_into_train_with_its_card_edited_is_caught_by_the_manifest(copy):
    """The shards renamed consistently and the card's rows and splits edited to match: only
    `splits.json` still says the documents are test documents, and the reader checks each row."""
    for config in ("default", "annotators"):
        (train,) = shards(copy, config, "train")
        (test,) = shards(copy, config, "test")
        train.rename(train.with_name("train-00000-of-00002.parquet"))
        test.rename(test.with_name("train-00001-of-00002.parquet"))

    def merge_test_into_train(card: dict[str, Any]) -> None:
        for entry in card["configs"]:
            if entry["config_name"] in ("default", "annotators"):
                entry["data_files"] = [f for f in entry["data_files"] if f["split"] != "test"]
        for info in card["dataset_info"]:
            if info["config_name"] in ("default", "annotators"):
                sizes = {s["name"]: s for s in info["splits"]}
                sizes["train"]["num_examples"] += sizes.pop("test")["num_examples"]
                info["splits"] = list(sizes.values())

    edit_card(copy, merge_test_into_train)
    fails_cleanly(
        ["validate", str(copy)],
        "splits.json: places 2 document(s) in 'test', and the card declares 0 gold row(s) there",
    )


def test_a_row_of_a_document_of_another_split_is_refused(copy):
    """Two documents swapped between train and test in splits.json (counts unchanged): each
    row's document is checked against the manifest."""
    manifest = json.loads((copy / "splits.json").read_text("utf-8"))
    docs = manifest["documents"]
    a = next(d for d, s in sorted(docs.items()) if s == "train")
    b = next(d for d, s in sorted(docs.items()) if s == "test")
    docs[a], docs[b] = "test", "train"
    (copy / "splits.json").write_text(json.dumps(manifest), "utf-8")
    fails_cleanly(
        ["validate", str(copy)],
        f"doc_id '{a}' is in split 'train' here, and the dataset's splits.json puts it in 'test'",
    )


def test_a_shard_of_another_config_is_named_as_such(copy):
    target = shards(copy, "default", "train")[0]
    shutil.copyfile(shards(copy, "annotators", "train")[0], target)
    fails_cleanly(
        ["validate", str(copy)],
        f"{target}: not a shard of config 'default'",
        "no field passes, adjudicated",
        "its columns are those of config 'annotators'",
    )


def test_a_split_with_fewer_rows_than_the_card_declares_is_refused(copy):
    path = shards(copy, "annotators", "train")[0]
    rewrite(path, lambda table: table.slice(0, table.num_rows - 1))
    fails_cleanly(["agreement", str(copy)], "split 'train' holds 7 row(s)", "with 8 row(s)")


def test_a_dataset_without_its_manifest_is_refused(copy):
    (copy / "splits.json").unlink()
    fails_cleanly(["validate", str(copy)], "no splits.json")


# -- 3. labels decoded with the card's features ----------------------------------------------------


def _with_metadata(table: pa.Table, change: Any) -> pa.Table:
    meta = dict(table.schema.metadata)
    info = json.loads(meta[b"huggingface"])
    change(info["info"]["features"])
    meta[b"huggingface"] = json.dumps(info).encode()
    return table.replace_schema_metadata(meta)


def test_a_shard_whose_own_labels_disagree_with_the_card_is_refused(built, copy, tmp_path):
    path = shards(copy, "default", "train")[0]

    def reverse(features: dict[str, Any]) -> None:
        polarity = features["stances"]["feature"]["polarity"]
        polarity["names"] = polarity["names"][::-1]

    rewrite(path, lambda table: _with_metadata(table, reverse))
    # `datasets` decodes with the card's names, so its labels are unchanged ...
    original = datasets.load_dataset(str(built.output), cache_dir=str(tmp_path / "c1"))["train"]
    changed = datasets.load_dataset(str(copy), cache_dir=str(tmp_path / "c2"))["train"]
    names = changed.features["stances"].feature["polarity"].names
    assert names == ["favor", "against"]
    assert changed["stances"] == original["stances"]
    # ... and the reader refuses the file rather than read it either way.
    fails_cleanly(
        ["validate", str(copy)],
        f"{path}: its own `datasets` features",
        "stances[].polarity: ClassLabel names ['against', 'favor'] in the file, ['favor', 'against'] on the card",
    )


def test_shards_rewritten_by_duckdb_are_read_with_the_cards_labels(built, copy, tmp_path):
    """DuckDB drops the `datasets` metadata (labels stay indices); `datasets` loads such a
    folder with the card's features, and the reader gives the same figures as on the original."""
    for config in ("default", "annotators"):
        for path in shards(copy, config):
            rewritten = path.with_suffix(".duckdb.parquet")
            duckdb.sql(f"COPY (SELECT * FROM '{path}') TO '{rewritten}' (FORMAT parquet)")
            rewritten.replace(path)
            assert b"huggingface" not in (pq.read_schema(path).metadata or {})
    loaded = datasets.load_dataset(str(copy), "annotators", cache_dir=str(tmp_path / "cache"))
    assert loaded["train"].features["stances"].feature["polarity"].names == ["favor", "against"]
    assert figures(validate([copy])) == figures(validate([built.output]))
    assert validate([copy]).summary.by_code.get("invalid-label") is None
    assert agreement([copy]).to_json() == agreement([built.output]).to_json()
    test_gold = built.split_dir / "test.jsonl"
    on_copy = evaluate(copy, test_gold, split="test").model_dump()
    on_original = evaluate(built.output, test_gold, split="test").model_dump()
    assert on_copy.pop("gold") != on_original.pop("gold") and on_copy == on_original


# -- 4. re-splitting a published dataset ---------------------------------------------------------


def test_re_splitting_a_published_dataset_keeps_every_documents_split(tmp_path):
    """A dataset whose split was made by hand (a committed manifest): a fresh split with its
    options would place documents elsewhere, re-splitting the dataset keeps them."""
    docs = gold_corpus()
    by_hand = {r["doc_id"]: s for s, rows in docs.items() for r in rows}
    dataset = tmp_path / "dataset"
    from corpus_tools.publish import publish

    publish(make_split_dir(tmp_path / "splits", docs, seed=7), output=dataset)
    ratios = (0.6, 0.2, 0.2)
    kept = split_corpus([dataset], output=tmp_path / "kept", seed=7, ratios=ratios)
    assert kept.documents == by_hand and kept.kept == len(by_hand) and kept.placed == 0
    assert kept.shipped == dataset / "splits.json"
    written = json.loads((tmp_path / "kept" / "splits.json").read_text("utf-8"))
    assert written["documents"] == by_hand
    fresh = split_corpus([dataset], output=tmp_path / "fresh", seed=7, ratios=ratios, new_split=True)
    assert fresh.documents != by_hand  # what re-splitting did before: test documents moved
    with pytest.raises(CorpusToolsError, match=r"was made with --seed 7 \(not 0\).*--new-split"):
        split_corpus([dataset], output=tmp_path / "other", ratios=ratios)
    out = fails_cleanly(
        ["split", str(dataset), "-o", str(tmp_path / "cli")],
        "re-splitting a published dataset keeps every document in the split it ships in",
    )
    assert "--seed 7 (not 0)" in out
    result = runner.invoke(
        app, ["split", str(dataset), "-o", str(tmp_path / "cli"), "--seed", "7", "--ratios", "0.6,0.2,0.2"]
    )
    assert result.exit_code == 0, result.output
    assert f"5 document(s) kept where the dataset's {dataset / 'splits.json'} had them" in result.output
    result = runner.invoke(app, ["split", str(dataset), "-o", str(tmp_path / "new"), "--new-split"])
    assert result.exit_code == 0, result.output
    fails_cleanly(
        ["split", str(dataset), "-o", str(tmp_path / "x"), "--seed", "7", "--ratios", "0.6,0.2,0.2",
         "--manifest", str(dataset / "m.json")],
        "lies inside the published dataset",
    )  # fmt: skip


# -- 5. temporary files of a killed run ---------------------------------------------------------


def _reader(dataset: Path, tmp: Path, then: str) -> subprocess.Popen[str]:
    code = textwrap.dedent(
        f"""
        import os, signal, sys
        from corpus_tools.dataset import record_inputs
        inputs = record_inputs([{str(dataset)!r}])
        print(inputs.scratch, flush=True)
        {then}
        """
    )
    env = {**os.environ, "TMPDIR": str(tmp)}
    return subprocess.Popen(
        [sys.executable, "-c", code], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )


def test_the_converted_files_of_a_killed_run_are_removed_by_the_next_run(built, tmp_path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    killed = _reader(built.output, tmp, "os.kill(os.getpid(), signal.SIGKILL)")
    left = Path(killed.stdout.readline().strip())  # type: ignore[union-attr]
    assert killed.wait() == -signal.SIGKILL
    assert left.parent == tmp and any(left.glob("*.jsonl")), "a SIGKILL leaves the converted files"
    alive = _reader(built.output, tmp, "sys.stdin.read()")
    running = Path(alive.stdout.readline().strip())  # type: ignore[union-attr]
    try:
        env = {**os.environ, "TMPDIR": str(tmp)}
        done = subprocess.run(
            [sys.executable, "-m", "corpus_tools", "validate", str(built.output)],
            env=env,
            capture_output=True,
        )
        assert done.returncode == 0, done.stderr
        assert not left.exists(), "the next run removes the killed run's files"
        assert running.exists(), "a running reader's files are left alone"
        assert sorted(tmp.iterdir()) == [running]  # and the run left nothing of its own
    finally:
        alive.communicate("")
    assert alive.returncode == 0
    assert list(tmp.iterdir()) == []  # a run that ends removes its own


# -- 6. a README that is no dataset card ----------------------------------------------------------


@pytest.mark.parametrize(
    "readme",
    [
        b"\xff\xfe not UTF-8 at all",
        b"---\nconfigs: [unclosed\n---\n# notes\n",
        b"---\nconfigs: 5\n---\n",
        b"---\nconfigs:\n- config_name: default\n  data_files: '*.jsonl'\n---\n# our JSONL on the Hub\n",
    ],
    ids=["not-utf8", "bad-yaml", "configs-5", "another-card"],
)
def test_a_folder_of_jsonl_with_a_readme_that_is_no_dataset_card_is_read_as_jsonl(tmp_path, readme):
    folder = tmp_path / "annotations"
    write_jsonl(folder / "ann-a.jsonl", [record("d1", "ann-a")])
    (folder / "README.md").write_bytes(readme)
    assert not is_dataset(folder)
    result = runner.invoke(app, ["validate", str(folder)])
    assert result.exit_code == 0, result.output
    assert "valid: 1 file(s), 1 record(s)" in result.output


# -- 7. files outside the dataset folder ----------------------------------------------------------


def test_files_that_resolve_outside_the_dataset_folder_are_refused(copy, tmp_path):
    outside = tmp_path / "elsewhere"
    shutil.move(copy / "data" / "default", outside)
    (copy / "data" / "default").symlink_to(outside, target_is_directory=True)
    fails_cleanly(["validate", str(copy)], "outside the dataset folder")
    with pytest.raises(CorpusToolsError, match="outside the dataset folder"):
        open_dataset(copy)
    (copy / "data" / "default").unlink()
    shutil.move(outside, copy / "data" / "default")
    assert open_dataset(copy).configs  # back inside: read
    manifest = tmp_path / "splits.json"
    shutil.move(copy / "splits.json", manifest)
    (copy / "splits.json").symlink_to(manifest)
    fails_cleanly(
        ["validate", str(copy)], f"{copy / 'splits.json'}: resolves to", "outside the dataset folder"
    )


# -- 8. the dataset's alias file ------------------------------------------------------------------


def test_validate_uses_the_alias_file_a_dataset_ships(built, copy, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no pyproject.toml here: no project alias file
    strict = runner.invoke(app, ["validate", str(copy), "--strict"])
    assert strict.exit_code == 1 and "target-not-in-text" in strict.output, strict.output
    (copy / "aliases.jsonl").write_text(
        json.dumps({"doc_id": "d6", "aliases": {"Moscow officials": ["officials"]}}) + "\n", "utf-8"
    )
    assert open_dataset(copy).aliases == copy / "aliases.jsonl"
    assert record_inputs([copy]).aliases == [copy / "aliases.jsonl"]
    result = runner.invoke(app, ["validate", str(copy), "--strict"])
    assert result.exit_code == 0, result.output
    assert figures(validate([copy]))[2] == 0  # the library uses it too
    assert figures(validate([copy], dataset_aliases=False))[2] == 3
    empty = tmp_path / "none.jsonl"
    empty.write_text("", "utf-8")
    given = runner.invoke(app, ["validate", str(copy), "--strict", "--aliases", str(empty)])
    assert given.exit_code == 1 and "target-not-in-text" in given.output  # --aliases wins
