"""Run one approach in a fresh process and measure its time and peak memory.

Each measurement is a child process (`python benchmarks/harness.py APPROACH FILE...`) so that the
peak resident memory it reports belongs to that approach alone (workers included) and imports or
caches of one approach do not help another. Figures are the median of `repeat` runs.
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
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
Setup = Callable[[list[str]], Callable[[], Any]]
APPROACHES: dict[str, Setup] = {}


def approach(name: str) -> Callable[[Setup], Setup]:
    """Register `setup(args) -> work` as a named approach: setup (imports) is not timed, work is."""

    def register(func: Setup) -> Setup:
        APPROACHES[name] = func
        return func

    return register


def measure(module: str, name: str, args: list[str], repeat: int = 3) -> dict[str, float]:
    """Median wall time (s) and largest peak RSS (MiB) of `repeat` child runs of an approach."""
    times, peaks = [], []
    for _ in range(repeat):
        out = subprocess.run(
            [sys.executable, str(HERE / "harness.py"), module, name, *args],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"},
        )
        data = json.loads(out.stdout.strip().splitlines()[-1])
        times.append(data["seconds"])
        peaks.append(data["peak_mib"])
    return {"seconds": statistics.median(times), "peak_mib": max(peaks)}


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
        start = time.perf_counter()
        work()
        seconds = time.perf_counter() - start
    rss = max(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
    )
    print(json.dumps({"seconds": seconds, "peak_mib": rss / 1024}))


if __name__ == "__main__":
    _child(sys.argv[1], sys.argv[2], sys.argv[3:])
