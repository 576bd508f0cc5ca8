"""Random access to the records of one document across annotator files, without loading them all.

`DocIndex` reads the files once and keeps, for each `doc_id`, where its lines are: the file and
the byte offset of the line. Commands that work document by document (merge, agreement) then
seek to those lines, so memory grows with the number of documents, not with the size of the
corpus.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

import msgspec
import orjson

from corpus_tools.files import is_blank
from corpus_tools.schema import Record


class _DocId(msgspec.Struct):
    doc_id: str


_DOC_ID = msgspec.json.Decoder(_DocId)
"""Reads only the `doc_id` of a line: the other fields are skipped, not built."""


def _doc_id(line: bytes) -> str:
    try:
        return _DOC_ID.decode(line).doc_id
    except (msgspec.DecodeError, UnicodeDecodeError):  # valid, yet not for msgspec: ask orjson
        return orjson.loads(line)["doc_id"]


class DocIndex:
    """Where each document's records are: `doc_id -> [(file number, byte offset, length), ...]`.

    Use it as a context manager: it keeps a bounded number of files open while reading.
    The files must have passed validation (every non-blank line is a valid record).
    """

    def __init__(self, files: Sequence[Path], *, max_open: int = 32) -> None:
        self.files = list(files)
        self.max_open = max_open
        self.index: dict[str, list[tuple[int, int, int]]] = {}
        self._handles: OrderedDict[int, BinaryIO] = OrderedDict()
        for number, path in enumerate(self.files):
            offset = 0
            # A buffer of several lines: records run to kilobytes, and the default buffer of
            # 8 KiB would cost a read per line or two.
            with open(path, "rb", buffering=1 << 16) as f:
                for line in f:
                    if not is_blank(line):
                        self.index.setdefault(_doc_id(line), []).append((number, offset, len(line)))
                    offset += len(line)

    def __enter__(self) -> DocIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the files kept open for reading."""
        while self._handles:
            self._handles.popitem()[1].close()

    def doc_ids(self) -> list[str]:
        """Every `doc_id`, sorted: the order in which commands process and write documents."""
        return sorted(self.index)

    def records(self, doc_id: str) -> list[Record]:
        """The records of `doc_id`, one per annotator, sorted by annotator."""
        out = [Record.model_validate_json(line) for line in self.lines(doc_id)]
        return sorted(out, key=lambda r: r.annotator)

    def lines(self, doc_id: str) -> list[bytes]:
        """The raw lines of `doc_id`, in file order: for callers that decode them faster."""
        return [self._line(f, o, n) for f, o, n in self.index[doc_id]]

    def __iter__(self) -> Iterator[tuple[str, list[Record]]]:
        for doc_id in self.doc_ids():
            yield doc_id, self.records(doc_id)

    def __len__(self) -> int:
        return len(self.index)

    def _line(self, number: int, offset: int, length: int) -> bytes:
        f = self._handles.get(number)
        if f is None:
            if len(self._handles) >= self.max_open:
                self._handles.popitem(last=False)[1].close()
            # Unbuffered: each line is one read of known length, where a buffer would read ahead.
            f = self._handles[number] = open(self.files[number], "rb", buffering=0)  # noqa: SIM115  (closed in close())
        else:
            self._handles.move_to_end(number)
        f.seek(offset)
        return f.read(length)
