"""Streaming JSONL reading with line numbers, and atomic writing.

Reading yields raw lines as bytes so that a bad line (invalid UTF-8, broken JSON) can be reported
with its number instead of stopping the whole file. Writing goes to a temporary file in the same
folder that replaces the target only once it is complete, so an interrupted command never leaves
a half-written output.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import orjson

from corpus_tools.errors import CorpusToolsError


def iter_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """Yield `(line_number, raw_line)` for each line of `path`, 1-based, without the newline.

    Raises:
        OSError: when the file cannot be opened or read.
    """
    with open(path, "rb") as f:
        for number, line in enumerate(f, start=1):
            yield number, line.rstrip(b"\r\n")


def expand_paths(paths: Iterable[Path], pattern: str = "*.jsonl") -> list[Path]:
    """Files named by `paths`, recursing into folders for `pattern`, in a stable order.

    A file named twice (directly, or also through its folder) is listed once, so that it is
    not reported as duplicating itself.

    Raises:
        CorpusToolsError: when a path does not exist (a usage error, not a data problem).
    """
    out: list[Path] = []
    seen: set[Path] = set()
    for p in paths:
        if p.is_dir():
            found = sorted(q for q in p.rglob(pattern) if q.is_file())
        elif p.exists():
            found = [p]
        else:
            raise CorpusToolsError(f"{p}: no such file or folder")
        for q in found:
            key = q.resolve()
            if key not in seen:
                seen.add(key)
                out.append(q)
    return out


def dumps(obj: Any) -> bytes:
    """One compact JSON line (UTF-8, non-ASCII kept as is), newline included."""
    return orjson.dumps(obj, option=orjson.OPT_APPEND_NEWLINE)


@contextlib.contextmanager
def atomic_open(path: Path, mode: str = "wb") -> Iterator[IO[Any]]:
    """Open a temporary file beside `path` and move it onto `path` when the block succeeds.

    If the block raises, the temporary file is removed and `path` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        shareable(tmp)
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def shareable(path: str | Path, directory: bool = False) -> None:
    """Give a file made by `mkstemp` (or a folder by `mkdtemp`), private by design, the
    permissions an ordinary `open` (or `mkdir`) would have given it under the current umask."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, (0o777 if directory else 0o666) & ~umask)


def write_jsonl(path: Path, rows: Iterable[Any]) -> int:
    """Write `rows` (dicts or Pydantic models) as JSONL atomically; return how many were written."""
    n = 0
    with atomic_open(path) as f:
        for row in rows:
            if hasattr(row, "model_dump"):
                row = row.model_dump(mode="json", exclude_none=True)
            f.write(dumps(row))
            n += 1
    return n
