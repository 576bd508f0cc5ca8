"""Run one approach in a fresh process and measure its time and peak memory.

Each measurement is a child process (`python benchmarks/harness.py MODULE APPROACH ARG...`) so
that the peak resident memory it reports belongs to that approach alone (workers included) and
imports or caches of one approach do not help another. Figures are medians of `repeat` runs,
and the runs of the approaches compared are interleaved (one run of each, then the next round),
so that a change in the machine's load touches all of them alike.

A measurement can run another version of the package (`tree`: a folder holding a
`corpus_tools/`, as `checkout` makes from a git revision), for before-and-after figures taken in
one run.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
Setup = Callable[[list[str]], Callable[[], Any]]
APPROACHES: dict[str, Setup] = {}


def approach(name: str) -> Callable[[Setup], Setup]:
    """Register `setup(args) -> work` as a named approach: setup (imports) is not timed, work is."""

    def register(func: Setup) -> Setup:
        APPROACHES[name] = func
        return func

    return register


def environment(tree: Path | None = None) -> dict[str, str]:
    """The children's environment: offline, bytecode cached as in a user's runs (compiling the
    package on every start would be measured otherwise), the package from `tree` if given."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if tree is not None:
        env["PYTHONPATH"] = str(tree)
    return env


def run_once(module: str, name: str, args: Sequence[str], tree: Path | None = None) -> dict[str, float]:
    """One child run of an approach: wall seconds, CPU seconds and peak RSS (MiB)."""
    out = subprocess.run(
        [sys.executable, str(HERE / "harness.py"), module, name, *args],
        capture_output=True,
        text=True,
        check=True,
        env=environment(tree),
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def measure(
    module: str, name: str, args: Sequence[str], repeat: int = 3, tree: Path | None = None
) -> dict[str, float]:
    """Median wall time (s) and largest peak RSS (MiB) of `repeat` child runs of an approach."""
    return measure_many({name: (module, name, args, tree)}, repeat)[name]


def measure_many(
    specs: dict[str, tuple[str, str, Sequence[str], Path | None]], repeat: int = 3
) -> dict[str, dict[str, float]]:
    """`measure` for several approaches, `label -> (module, approach, args, tree)`, their runs
    interleaved: medians of time and CPU time, largest peak memory."""
    runs: dict[str, list[dict[str, float]]] = {label: [] for label in specs}
    for _ in range(repeat):
        for label, (module, name, args, tree) in specs.items():
            runs[label].append(run_once(module, name, args, tree))
    return {
        label: {
            "seconds": statistics.median(r["seconds"] for r in rs),
            "cpu_seconds": statistics.median(r["cpu_seconds"] for r in rs),
            "peak_mib": max(r["peak_mib"] for r in rs),
        }
        for label, rs in runs.items()
    }


def checkout(rev: str, into: Path) -> Path:
    """The package as it was at git revision `rev`, extracted into `into` and its C modules built
    there when it has any (`setup.py`); returns `into`, the folder to import it from."""
    into.mkdir(parents=True, exist_ok=True)
    has_setup = (
        subprocess.run(["git", "cat-file", "-e", f"{rev}:setup.py"], cwd=ROOT, capture_output=True).returncode
        == 0
    )
    paths = ["corpus_tools", *(["setup.py"] if has_setup else [])]
    archive = subprocess.run(["git", "archive", rev, *paths], cwd=ROOT, check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    if has_setup:
        subprocess.run(
            [sys.executable, "setup.py", "--quiet", "build_ext", "--inplace"],
            cwd=into,
            check=True,
            capture_output=True,
        )
    return into


def mb(path: str | Path) -> float:
    """Size of a file or folder of files in MB (10^6 bytes)."""
    p = Path(path)
    size = sum(f.stat().st_size for f in p.rglob("*") if f.is_file()) if p.is_dir() else p.stat().st_size
    return size / 1e6


def _child(module: str, name: str, args: list[str]) -> None:
    sys.path.insert(0, str(HERE))
    __import__(module)
    import harness  # the registry the benchmark module filled (this file runs as __main__)

    # Whatever an approach writes under the temporary folder goes when the child ends.
    with tempfile.TemporaryDirectory(prefix="corpus-bench-") as scratch:
        tempfile.tempdir = scratch
        work = harness.APPROACHES[name](args)  # imports and setup, not timed
        before = resource.getrusage(resource.RUSAGE_SELF)
        start = time.perf_counter()
        work()
        seconds = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)  # pool workers, once joined
    cpu = (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) + (
        children.ru_utime + children.ru_stime
    )
    rss = max(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        children.ru_maxrss,
    )
    print(json.dumps({"seconds": seconds, "cpu_seconds": cpu, "peak_mib": rss / 1024}))


if __name__ == "__main__":
    _child(sys.argv[1], sys.argv[2], sys.argv[3:])
