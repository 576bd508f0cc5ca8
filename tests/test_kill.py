"""Killed at any moment, a command leaves either its old outputs or the complete new set.

merge, split and publish run as real processes and are stopped with SIGKILL (no cleanup
possible) or SIGTERM (as a CI cancel sends; the command cleans up as on Ctrl-C) at random
points. After each kill the outputs are read as the next command reads them (a half-moved set
is completed from its journal first) and must be exactly the old set or exactly the new one.
Finally a run to completion must succeed and leave no temporary file behind.

`make test` kills each command a few times; `make fuzz` (KILL_RUNS=40) many more.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from corpus_tools import files

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from generate import generate

RUNS = int(os.environ.get("KILL_RUNS", "0")) or None
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "SOURCE_DATE_EPOCH": "1700000000"}


def snapshot(paths: list[Path]) -> dict[str, bytes]:
    """Every file of the outputs (folders walked, hidden files included), by path."""
    out: dict[str, bytes] = {}
    for p in paths:
        for rel, full in _files(p):
            out[rel] = full.read_bytes()
    return out


def _files(path: Path) -> list[tuple[str, Path]]:
    if path.is_file():
        return [(path.name, path)]
    if not path.is_dir():
        return []
    return [
        (f"{path.name}/{q.relative_to(path).as_posix()}", q) for q in sorted(path.rglob("*")) if q.is_file()
    ]


def leftovers(folder: Path, pid: int | None = None) -> list[str]:
    """Temporary files and journals in `folder` (of the process `pid` only, if given)."""
    return sorted(
        p.name
        for p in folder.iterdir()
        if p.name.startswith(".")
        and (p.name.endswith((".tmp", ".old")) or p.name.endswith(files.JOURNAL_SUFFIX))
        and (pid is None or f".{pid}." in p.name)
    )


def corpus(args: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "corpus_tools", *args],
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def setup(tmp_path: Path, command: str) -> tuple[list[list[str]], list[Path]]:
    """Two input sets (a small old one and a larger new one), the command line for each, and
    the outputs they write."""
    out = tmp_path / "out"
    out.mkdir()
    inputs = []
    for name, docs, seed in (("old", 30, 1), ("new", 300, 2)):
        src = tmp_path / name
        generate(src / "ann.jsonl", docs, annotators=3 if command == "merge" else 1, seed=seed, size=1500)
        if command == "publish":
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "corpus_tools",
                    "split",
                    str(src / "ann.jsonl"),
                    "-o",
                    str(tmp_path / f"{name}-splits"),
                ],
                env=ENV,
                check=True,
                capture_output=True,
            )
        inputs.append(src)
    if command == "merge":
        targets = [out / "gold.jsonl", out / "conflicts.jsonl"]
        lines = [["merge", str(src), "-o", str(targets[0]), "-c", str(targets[1])] for src in inputs]
    elif command == "split":
        targets = [out / "splits"]
        lines = [["split", str(src / "ann.jsonl"), "-o", str(targets[0])] for src in inputs]
    else:
        targets = [out / "dataset"]
        lines = [
            ["publish", str(tmp_path / f"{name}-splits"), "-o", str(targets[0])] for name in ("old", "new")
        ]
    return lines, targets


@pytest.mark.parametrize(("command", "runs"), [("merge", 6), ("split", 6), ("publish", 4)])
def test_a_killed_command_leaves_the_old_or_the_new_outputs(tmp_path, command, runs):
    lines, targets = setup(tmp_path, command)
    states = []
    durations = []
    for args in lines:  # reference runs: the complete old and new sets, and how long a run takes
        for target in targets:
            files._remove(target)
        started = time.monotonic()
        proc = corpus(args)
        assert proc.wait() == 0, proc.stderr.read().decode() if proc.stderr else ""
        durations.append(time.monotonic() - started)
        states.append(snapshot(targets))
    assert states[0] != states[1]
    rng = random.Random(f"{command}-kill")
    current = 1  # the folder now holds the new set; each run writes the other one
    for i in range(RUNS or runs):
        want = 1 - current
        before = snapshot(targets)
        # Split extends the manifest it finds, so what a run writes depends on what is there:
        # the complete result is computed first on a copy.
        expected = _result_on_a_copy(tmp_path, lines[want], targets) if command == "split" else states[want]
        sig = signal.SIGKILL if i % 2 == 0 else signal.SIGTERM
        proc = corpus(lines[want])
        time.sleep(rng.uniform(0.2, 1.05) * durations[want])
        proc.send_signal(sig)
        code = proc.wait()
        for target in targets:  # what the next command does first
            files.recover(target)
        state = snapshot(targets)
        assert state in (before, expected), f"run {i} ({sig.name}): a mix of old and new"
        if sig == signal.SIGTERM and code == 128 + signal.SIGTERM:
            # Cleaned up as on Ctrl-C: none of its temporary files remains (an earlier SIGKILL's
            # may, until a run gets far enough to remove them).
            assert leftovers(targets[0].parent, proc.pid) == [], f"run {i}: SIGTERM left temporary files"
        if state == expected:
            current = want
        if command == "split":
            states[current] = state
    # The next run succeeds, completes the set and removes what SIGKILL left behind.
    final = 1 - current
    expected = _result_on_a_copy(tmp_path, lines[final], targets) if command == "split" else states[final]
    proc = corpus(lines[final])
    assert proc.wait() == 0, proc.stderr.read().decode() if proc.stderr else ""
    assert snapshot(targets) == expected
    assert leftovers(targets[0].parent) == []


def _result_on_a_copy(tmp_path: Path, args: list[str], targets: list[Path]) -> dict[str, bytes]:
    scratch = tmp_path / "scratch" / "out"
    files._remove(scratch.parent)
    scratch.mkdir(parents=True)
    for target in targets:
        if target.is_dir():
            shutil.copytree(target, scratch / target.name)
        elif target.exists():
            shutil.copy2(target, scratch / target.name)
    moved = [str(scratch / Path(a).name) if any(a == str(t) for t in targets) else a for a in args]
    proc = corpus(moved)
    assert proc.wait() == 0, proc.stderr.read().decode() if proc.stderr else ""
    return snapshot([scratch / t.name for t in targets])
