"""Atomic writing: a failed write leaves the old file; a finished one is an ordinary file."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from corpus_tools.files import atomic_open, write_jsonl


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path):
    path = tmp_path / "out.jsonl"
    path.write_text("old\n")
    with pytest.raises(RuntimeError), atomic_open(path) as f:
        f.write(b"half")
        raise RuntimeError("interrupted")
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]


def test_written_files_get_the_usual_permissions(tmp_path: Path):
    umask = os.umask(0o022)
    try:
        path = tmp_path / "out.jsonl"
        assert write_jsonl(path, [{"a": "é"}, {"b": 1}]) == 2
    finally:
        os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert path.read_text(encoding="utf-8") == '{"a":"é"}\n{"b":1}\n'
