"""`--engine dask`: validate, merge and publish on a Dask cluster give the local run's outputs.

One local cluster of two worker processes is shared by the module. The inputs are generated
documents spread over several shard files, each cut into several tasks (small `task_bytes`), with
broken lines, duplicate records, text drift between files and conflicts between annotators.
Every output is compared with the local run's: the validation report as JSON, gold and conflicts
byte for byte, the published dataset row for row through `datasets`.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from distributed import Client, LocalCluster
from typer.testing import CliRunner

from corpus_tools.cli.app import app
from corpus_tools.engines.dask import DaskEngine
from corpus_tools.errors import CorpusToolsError, InvalidInputError
from corpus_tools.merge import merge
from corpus_tools.publish import publish
from corpus_tools.split import split
from corpus_tools.validate import validate

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from generate import generate

TASK_BYTES = 48 << 10  # several tasks per shard file


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
        Client(cluster, set_as_default=False) as c,
    ):
        yield c


def engine(client: Client, **kwargs: Any) -> DaskEngine:
    return DaskEngine(client=client, task_bytes=TASK_BYTES, partitions=3, **kwargs)


def shard(lines: list[bytes], folder: Path, n: int) -> list[Path]:
    """Spread lines over `n` files, round robin (a document's lines land in different files)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"part-{i:03d}.jsonl" for i in range(n)]
    for i, path in enumerate(paths):
        path.write_bytes(b"".join(lines[i::n]))
    return paths


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Valid passes of 240 short documents by two annotators who disagree, in 4 shard files."""
    root = tmp_path_factory.mktemp("clean")
    source = generate(root / "all.jsonl", 240, annotators=2, seed=3, size=600)
    shard(source.read_bytes().splitlines(keepends=True), root / "shards", 4)
    source.unlink()
    return root / "shards"


@pytest.fixture(scope="module")
def dirty(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Broken lines, blank lines, duplicate records and text drift across 3 shard files."""
    root = tmp_path_factory.mktemp("dirty")
    source = generate(root / "all.jsonl", 200, annotators=2, broken=0.1, seed=5, size=500)
    lines = source.read_bytes().splitlines(keepends=True)
    source.unlink()
    extra = []
    for i, line in enumerate(lines[:60:3]):
        try:
            rec = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if i % 2:
            rec["text"] = rec["text"][:-3] + "xyz"  # drift: same doc_id, another text
            rec["annotator"] = "ann-late"
        extra.append(orjson.dumps(rec) + b"\n")  # even ones: a duplicate record
    paths = shard([*lines, b"\n", *extra], root / "shards", 3)
    return paths[0].parent


def as_json(report: Any) -> Any:
    return json.loads(report.model_dump_json())


@pytest.mark.parametrize("max_problems", [None, 2])
def test_validate_gives_the_local_report(client: Client, dirty: Path, max_problems: int | None):
    local = validate([dirty], max_problems=max_problems)
    with engine(client) as cluster:
        remote = validate([dirty], max_problems=max_problems, engine=cluster)
    codes = local.summary.by_code
    assert {"duplicate-record", "text-drift", "blank-line", "invalid-json"} <= codes.keys(), codes
    assert as_json(remote) == as_json(local)


def test_validate_with_ignored_codes_and_strict(client: Client, dirty: Path):
    options: dict[str, Any] = {"ignore": ["text-drift", "unknown-field"], "strict": True, "max_problems": 5}
    local = validate([dirty], **options)
    with engine(client) as cluster:
        remote = validate([dirty], engine=cluster, **options)
    assert "text-drift" not in local.summary.by_code
    assert as_json(remote) == as_json(local)


def test_validate_clean_shards_with_progress(client: Client, clean: Path):
    seen: list[tuple[str, int, int]] = []
    with engine(client, progress=lambda *step: seen.append(step)) as cluster:
        remote = validate([clean], engine=cluster)
    assert remote.valid
    assert ("validate lines", 0, seen[0][2]) in seen and seen[0][2] > 4  # several tasks
    assert [s for s in seen if s[0] == "validate lines"][-1][1:] == (seen[0][2], seen[0][2])
    assert as_json(remote) == as_json(validate([clean]))


def conflicts_with_decisions(conflicts: Path, out: Path) -> Path:
    """The conflicts file with every third conflict decided, and a decision that matches nothing."""
    lines = [json.loads(line) for line in conflicts.read_text(encoding="utf-8").splitlines()]
    for i, c in enumerate(lines):
        if i % 3 == 0 and c.get("versions"):
            c["decision"] = {"accept": c["versions"][0]["annotator"]}
            c["reason"] = "test"
    stale = dict(lines[0], id=lines[0]["id"] + "-gone", decision={"reject": True}, reason="test")
    out.write_text("".join(json.dumps(c) + "\n" for c in [*lines, stale]), encoding="utf-8")
    return out


def test_merge_gives_byte_identical_gold_and_conflicts(client: Client, clean: Path, tmp_path: Path):
    local = merge([clean], output=tmp_path / "gold.jsonl", conflicts=tmp_path / "conflicts.jsonl")
    assert local.open_conflicts > 0
    decisions = conflicts_with_decisions(tmp_path / "conflicts.jsonl", tmp_path / "decisions.jsonl")
    local = merge(
        [clean], output=tmp_path / "gold.jsonl", conflicts=tmp_path / "conflicts.jsonl", decisions=decisions
    )
    assert sum(c.decided for c in local.layers.values()) > 0 and local.stale
    with engine(client) as cluster:
        remote = merge(
            [clean],
            output=tmp_path / "d-gold.jsonl",
            conflicts=tmp_path / "d-conflicts.jsonl",
            decisions=decisions,
            engine=cluster,
        )
    assert (tmp_path / "d-gold.jsonl").read_bytes() == (tmp_path / "gold.jsonl").read_bytes()
    assert (tmp_path / "d-conflicts.jsonl").read_bytes() == (tmp_path / "conflicts.jsonl").read_bytes()
    fields = {"output", "conflicts_file"}
    assert remote.model_dump(exclude=fields) == local.model_dump(exclude=fields)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no part files left


def test_merge_of_invalid_input_writes_nothing(client: Client, dirty: Path, tmp_path: Path):
    with engine(client) as cluster, pytest.raises(InvalidInputError) as raised:
        merge([dirty], output=tmp_path / "gold.jsonl", conflicts=tmp_path / "c.jsonl", engine=cluster)
    assert as_json(raised.value.report) == as_json(validate([dirty], strict=False))
    assert list(tmp_path.iterdir()) == []


def test_a_worker_killed_mid_task_changes_nothing(client: Client, clean: Path, tmp_path: Path):
    """A task that kills its worker process the first time it runs: the cluster retries it on a
    live worker, and the outputs are the local run's."""
    marker = tmp_path / "killed-once"

    def install(marker: str) -> None:
        import corpus_tools.engines.dask as dask_engine

        original = dask_engine._merge_range

        def dies_once(*args: Any) -> Any:
            # The marker is made atomically: two workers starting a range at once must not both
            # see it missing and both die (the cluster would lose every worker, and the state
            # scattered to them).
            try:
                os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            except FileExistsError:
                return original(*args)
            os._exit(1)

        dask_engine._merge_range = dies_once
        dask_engine._merge_range_kept = original

    def restore() -> None:
        import corpus_tools.engines.dask as dask_engine

        kept = getattr(dask_engine, "_merge_range_kept", None)
        if kept is not None:
            dask_engine._merge_range = kept

    client.run(install, str(marker))
    try:
        merge([clean], output=tmp_path / "gold.jsonl", conflicts=tmp_path / "conflicts.jsonl")
        with engine(client) as cluster:
            merge(
                [clean], output=tmp_path / "d-gold.jsonl", conflicts=tmp_path / "d-conf.jsonl", engine=cluster
            )
    finally:
        client.run(restore)
    assert marker.exists()  # a worker did die
    assert (tmp_path / "d-gold.jsonl").read_bytes() == (tmp_path / "gold.jsonl").read_bytes()
    assert (tmp_path / "d-conf.jsonl").read_bytes() == (tmp_path / "conflicts.jsonl").read_bytes()
    client.wait_for_workers(2, timeout=60)


def rows(folder: Path) -> dict[str, dict[str, list[Any]]]:
    """Every config's rows per split, as `datasets` loads them."""
    import datasets

    out = {}
    for config in ("default", "spans", "annotators", "conflicts"):
        if (folder / "data" / config).is_dir():
            loaded = datasets.load_dataset(str(folder), config, cache_dir=str(folder.parent / ".cache"))
            out[config] = {s: loaded[s].to_list() for s in loaded}
    return out


def test_publish_gives_the_same_rows_and_card(client: Client, clean: Path, tmp_path: Path):
    merge([clean], output=tmp_path / "gold.jsonl", conflicts=tmp_path / "conflicts.jsonl")
    split([tmp_path / "gold.jsonl"], output=tmp_path / "splits", ratios=(0.6, 0.2, 0.2), seed=3)
    options: dict[str, Any] = {"annotators": [clean], "conflicts": tmp_path / "conflicts.jsonl"}
    publish(tmp_path / "splits", output=tmp_path / "local", **options)
    with engine(client, shard_input_bytes=96 << 10) as cluster:
        publish(tmp_path / "splits", output=tmp_path / "dask", engine=cluster, **options)
    shards = sorted(p.name for p in (tmp_path / "dask" / "data" / "default").iterdir())
    assert "train-00001-of-00003.parquet" in shards, shards  # written by three tasks
    assert rows(tmp_path / "dask") == rows(tmp_path / "local")
    card = (tmp_path / "local" / "README.md").read_text(encoding="utf-8")
    theirs = (tmp_path / "dask" / "README.md").read_text(encoding="utf-8")
    # The card's figures are the same; only the file lists and the sizes in bytes (Arrow's
    # buffers depend on how the rows were cut into tables) differ.
    assert _figures(theirs.replace("dask", "OUT")) == _figures(card.replace("local", "OUT"))
    assert not (tmp_path / "dask" / ".parts").exists()


def test_a_publish_that_fails_after_the_workers_wrote_leaves_nothing(
    client: Client, clean: Path, tmp_path: Path
):
    merge([clean], output=tmp_path / "gold.jsonl", conflicts=tmp_path / "conflicts.jsonl")
    split([tmp_path / "gold.jsonl"], output=tmp_path / "splits", ratios=(0.6, 0.2, 0.2), seed=3)
    train, test = tmp_path / "splits" / "train.jsonl", tmp_path / "splits" / "test.jsonl"
    moved = test.read_bytes().splitlines(keepends=True)
    train.write_bytes(train.read_bytes() + moved[0])  # a document in two splits: changed by hand
    test.write_bytes(b"".join(moved[1:]))
    with engine(client, shard_input_bytes=96 << 10) as cluster, pytest.raises(CorpusToolsError) as raised:
        publish(tmp_path / "splits", output=tmp_path / "dataset", engine=cluster)
    assert "changed by hand" in str(raised.value)
    assert not (tmp_path / "dataset").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["conflicts.jsonl", "gold.jsonl", "splits"]


def _figures(card: str) -> list[str]:
    return [
        line
        for line in card.splitlines()
        if not any(word in line for word in ("parquet", "download_size", "dataset_size", "num_bytes"))
    ]


def test_cli_joins_a_running_cluster_and_gives_the_same_report(client: Client, dirty: Path):
    runner = CliRunner()
    local = runner.invoke(app, ["validate", str(dirty), "--format", "json"])
    address = client.scheduler.address
    remote = runner.invoke(
        app, ["validate", str(dirty), "--format", "json", "--engine", "dask", "--scheduler", address]
    )
    assert remote.exit_code == local.exit_code == 1, remote.output
    assert json.loads(remote.stdout) == json.loads(local.stdout), remote.output
    assert "dashboard at" in remote.stderr
    assert len(client.scheduler_info()["workers"]) == 2  # the command left the cluster running


def test_relative_paths_are_read_by_workers_in_another_folder(
    client: Client, dirty: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """The workers run in the folder the cluster started in, not the driver's: a relative path
    must reach them as the file the driver named, and the report must still name it as given.
    A worker that sees another file under the same path refuses it instead of reporting on it."""
    monkeypatch.chdir(dirty.parent)
    relative = Path(dirty.name)
    local = validate([relative])
    with engine(client) as cluster:
        remote = validate([relative], engine=cluster)
    assert as_json(remote) == as_json(local)
    first = sorted(relative.glob("*.jsonl"))[0]
    with engine(client) as cluster:
        from corpus_tools.engines import dask as engine_module

        task = engine_module._tasks([first], TASK_BYTES)[0]
        moved = engine_module._Task(task.number, task.file, task.path, task.start, task.end, task.size + 1)
        with pytest.raises(CorpusToolsError, match="every worker must see the inputs at the same path"):
            client.submit(engine_module._check_lines, moved, frozenset(), None, [], 2, pure=False).result()
        assert cluster is not None


@pytest.mark.parametrize("address", ["foo bar", "http://127.0.0.1:8787", "tcp://127.0.0.1"])
def test_a_malformed_scheduler_address_is_a_usage_error(address: str, dirty: Path):
    result = CliRunner().invoke(app, ["validate", str(dirty), "--engine", "dask", "--scheduler", address])
    assert result.exit_code == 2, result.output
    assert "--scheduler" in result.output and "tcp://host:8786" in result.output
    assert "Traceback" not in result.output


def test_cli_without_a_cluster_starts_one(dirty: Path, tmp_path: Path):
    result = CliRunner().invoke(
        app,
        [
            "merge",
            str(dirty),
            "-o",
            str(tmp_path / "g.jsonl"),
            "-c",
            str(tmp_path / "c.jsonl"),
            "--engine",
            "dask",
        ],
    )
    assert result.exit_code == 1, result.output  # the dirty shards do not validate
    assert "dashboard at" in result.stderr and "nothing was written" in result.stderr
    assert list(tmp_path.iterdir()) == []
