"""`--engine dask` against `--engine local`: throughput against workers, the driver's peak memory
as the corpus grows, and the engine's overhead on one machine.

The corpora are short generated documents (`generate.make_document`, about 300 characters of
text and its items; two annotators per document, whose lines go to different shard files), in
`SHARDS` files per corpus under `benchmarks/data/scale-<N>/`. Each measurement is a fresh child
process (`python bench_scale.py --child ...`); the driver's peak is that process's own peak RSS
(the workers of the local cluster are other processes; their peak is reported apart). The time of
a dask run is the command's work; starting the local cluster is timed apart (`start`).

Runs are interleaved (every configuration once per round, in turn), so that a change in the load
of the machine falls on all of them alike.

Example:
    python benchmarks/bench_scale.py --docs 1000000 --memory 100000,300000,1000000 --rounds 1
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate import make_document  # noqa: E402  (benchmarks/ is not a package)

SHARDS = 8
SIZE = 300
"""Characters of text per document (short documents, as a model-labelled news corpus has)."""


def corpus(docs: int) -> Path:
    """The shard folder of `docs` documents by two annotators (generated once, then kept)."""
    folder = HERE / "data" / f"scale-{docs}"
    done = folder / ".complete"
    if done.exists():
        return folder / "shards"
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "shards").mkdir(parents=True)
    rng = random.Random(19)
    outs = [open(folder / "shards" / f"part-{i:03d}.jsonl", "wb") for i in range(SHARDS)]  # noqa: SIM115
    try:
        for d in range(docs):
            base = make_document(rng, f"doc{d:08d}", "ann-0", SIZE)
            # A short text seldom holds the generator's targets: take one it holds, so that the
            # lines are clean (as a model's output that passed its own checks would be).
            base["stances"] = [dict(s, target=s["text"]) for s in base["stances"]]
            second = dict(base, annotator="ann-1")
            second["stances"] = [s for s in base["stances"] if rng.random() > 0.2]
            for a, rec in enumerate((base, second)):
                outs[(2 * d + a) % SHARDS].write(orjson.dumps(rec) + b"\n")
    finally:
        for f in outs:
            f.close()
    done.touch()
    return folder / "shards"


def child(command: str, engine: str, workers: int, shards: str, out: str) -> None:
    """One measured run, in this (child) process."""
    from corpus_tools.merge import merge
    from corpus_tools.validate import validate

    cluster: Any = None
    idle: dict[str, tuple[float, float]] = {}
    start = 0.0
    if engine == "dask":
        from corpus_tools.engines.dask import DaskEngine

        began = time.perf_counter()
        cluster = DaskEngine(workers=workers).__enter__()
        start = time.perf_counter() - began
        idle = cluster.client.run(_usage)  # the workers' start-up is not the command's work
    began = time.perf_counter()
    if command == "validate":
        report = validate([shards], jobs=workers, engine=cluster)
        assert report.valid, report.summary
    else:
        merge(
            [shards], output=Path(out) / "gold.jsonl", conflicts=Path(out) / "conflicts.jsonl", engine=cluster
        )
    seconds = time.perf_counter() - began
    worker_peak = worker_cpu = 0.0
    # Before the cluster stops: its workers, once ended, would count among the children too.
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)  # --jobs' processes
    if cluster is not None:
        usage = cluster.client.run(_usage)
        worker_peak = max(u[0] for u in usage.values()) / 1024
        worker_cpu = sum(u[1] for u in usage.values()) - sum(u[1] for u in idle.values())
        cluster.__exit__(None, None, None)
    cpu = own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime + worker_cpu
    print(
        json.dumps(
            {
                "seconds": seconds,
                "start": start,
                "cpu": cpu,
                "driver_mib": _peak_kib() / 1024,
                "worker_mib": worker_peak,
            }
        )
    )


def _peak_kib() -> int:
    """This process's own peak RSS (VmHWM, which starts again at exec, unlike ru_maxrss)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _usage() -> tuple[float, float]:
    """A worker's peak RSS (KiB) and CPU seconds so far."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return _peak_kib(), r.ru_utime + r.ru_stime


def measure(command: str, engine: str, workers: int, shards: Path) -> dict[str, float]:
    out = HERE / "data" / "scale-out"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    result = subprocess.run(
        [sys.executable, __file__, "--child", command, engine, str(workers), str(shards), str(out)],
        capture_output=True,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"},
    )
    if result.returncode:
        raise SystemExit(f"{command} {engine} {workers}: {result.stderr[-2000:]}")
    data: dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
    if command == "merge":
        # Streamed: this process's peak would be inherited by the next child (Linux keeps the
        # peak RSS across fork and exec in ru_maxrss; the children read VmHWM instead).
        digest = hashlib.sha256()
        with open(out / "gold.jsonl", "rb") as f:
            while block := f.read(1 << 20):
                digest.update(block)
        data["gold_sha"] = digest.hexdigest()
    shutil.rmtree(out, ignore_errors=True)
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=1_000_000)
    parser.add_argument("--memory", default="100000,300000,1000000", help="sizes for the driver's peak")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--memory-only", action="store_true", help="only the driver's peak")
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        command, engine, workers, shards, out = args.child
        child(command, engine, int(workers), shards, out)
        return
    sizes = sorted({args.docs, *map(int, args.memory.split(","))})
    folders = {n: corpus(n) for n in sizes}
    mb = {n: sum(f.stat().st_size for f in folders[n].iterdir()) / 1e6 for n in sizes}
    print("corpora: " + ", ".join(f"{n} documents ({2 * n} lines, {mb[n]:.0f} MB)" for n in sizes))
    throughput = [
        ("validate", "local", 1),
        ("validate", "local", 2),
        ("validate", "dask", 1),
        ("validate", "dask", 2),
        ("merge", "local", 1),
        ("merge", "dask", 1),
        ("merge", "dask", 2),
    ]
    if args.memory_only:
        throughput = []
    memory = [
        (c, "dask", 2, n) for n in sizes for c in ("validate", "merge") if n != args.docs or not throughput
    ]
    runs: dict[tuple[str, str, int, int], list[dict[str, float]]] = {}
    for _round in range(args.rounds):
        for command, engine, workers, n in [*((*t, args.docs) for t in throughput), *memory]:
            key = (command, engine, workers, n)
            runs.setdefault(key, []).append(measure(command, engine, workers, folders[n]))
            print(key, runs[key][-1], flush=True)
    if not throughput:
        return
    golds = {
        r["gold_sha"] for (c, _e, _w, n), rs in runs.items() if c == "merge" and n == args.docs for r in rs
    }
    print(f"\nmerge outputs identical across engines and workers: {len(golds) == 1}")

    def med(key: tuple[str, str, int, int], field: str) -> float:
        return statistics.median(r[field] for r in runs[key])

    print(
        f"\n### Throughput, {args.docs} documents ({mb[args.docs]:.0f} MB), median of {args.rounds} round(s)\n"
    )
    print(
        "| command | engine | workers | seconds | MB/s | documents/s | CPU seconds (all processes) "
        "| MB per CPU second | cluster start (s) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for command, engine, workers in throughput:
        key = (command, engine, workers, args.docs)
        s, cpu = med(key, "seconds"), med(key, "cpu")
        start = f"{med(key, 'start'):.1f}" if engine == "dask" else "-"
        print(
            f"| {command} | {engine} | {workers} | {s:.1f} | {mb[args.docs] / s:.1f} | "
            f"{args.docs / s:,.0f} | {cpu:.0f} | {mb[args.docs] / cpu:.1f} | {start} |"
        )
    for command in ("validate", "merge"):
        local = med((command, "local", 1, args.docs), "seconds")
        one = med((command, "dask", 1, args.docs), "seconds")
        two = med((command, "dask", 2, args.docs), "seconds")
        print(
            f"\n{command}: dask with 1 worker takes {one / local:.2f}x the local time (overhead "
            f"{100 * (one / local - 1):+.0f}%); 2 workers are {one / two:.2f}x as fast as 1"
        )
    print("\n### The driver's peak memory (dask, 2 workers)\n")
    print("| documents | MB | validate: driver MiB | merge: driver MiB | merge: a worker's peak MiB |")
    print("|---|---|---|---|---|")
    for n in sizes:
        checked, merged = runs[("validate", "dask", 2, n)], runs[("merge", "dask", 2, n)]
        print(
            f"| {n:,} | {mb[n]:.0f} | {max(r['driver_mib'] for r in checked):.0f} | "
            f"{max(r['driver_mib'] for r in merged):.0f} | {max(r['worker_mib'] for r in merged):.0f} |"
        )


if __name__ == "__main__":
    main()
