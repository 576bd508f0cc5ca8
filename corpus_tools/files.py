"""Reading inputs and writing outputs: the one module where the toolkit touches the file system.

**Inputs.** `input_files` turns the files and folders a user names into the files to read:
regular files only (a FIFO would block forever, a device is not data), folders searched
recursively for a pattern with hidden entries skipped (`.git`, editors' swap files, and our own
temporary files), every file once. `read_input` reads a small input (a settings or decisions
file) with messages that name the file.

**Outputs.** A command stages every file and folder it writes in an `Outputs` set: each output is
written to a temporary sibling of its target and nothing replaces a target until the whole set is
complete. `commit` then moves the set into place:

- one file: a single `os.replace`, which is atomic;
- several outputs (merge's gold and conflicts, split's files and manifest, a folder swapped for an
  older one): a *commit journal* is written beside every target first, naming every move, then
  the moves are made and the journals removed. If the process dies between two moves, the next
  corpus command that reads or writes any of those paths finds the journal and completes the
  moves first ("rolls forward"), so no command ever reads a half-replaced set.

A reader that looks at the files directly after a crash finds, for each set, either the old
outputs, or the new ones, or a `.<name>.corpus-commit` journal beside them meaning the new set is
complete in hidden temporary files and will be moved into place by the next command.

Targets are checked before anything is written:

- a file target must be absent or a regular file; a folder, device, FIFO or socket is refused;
- a symlink is written *through*: the file or folder it points to gets the new content and the
  link stays (so a link into a shared data folder keeps working);
- a folder target must be absent, empty, or a folder this toolkit wrote: every file in it must be
  listed, unchanged, in its record of written files (`.corpus-tools.json`), so a command never
  deletes a file it did not write.

Targets must also be writable as the user runs the command (a read-only file or folder is
refused naming the option and the path, never our hidden files). A replaced file's permissions
are given to the new one once it is written.

Standard output (`-`, `/dev/stdout`, `/dev/fd/1`) may take a command's one file output: the
content is staged in a private temporary file (in the system's temporary folder) and copied to
standard output only when the command commits, so a failed command writes nothing there. A
command with several outputs cannot send one of them there (they are committed as a set), and
other streams (`/dev/stderr`, `/dev/fd/N`, `/proc/...`) are refused: an atomic write there would
replace the file the stream happens to be redirected to.

Temporary names carry the writer's process id, so the leftovers of a killed run (SIGKILL leaves
them and the lock file; SIGTERM and Ctrl-C clean up) are removed once that process is gone: by
the next write to that output, and by any command that reads the folder they lie in
(`sweep_leftovers`, which takes the output's lock first and leaves alone what a commit journal
still needs). Work folders in the system's temporary folder (`scratch_folder`: the JSONL a
published dataset's parquet is converted into) carry the process id the same way, and the next
one made removes those of killed runs.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import fnmatch
import hashlib
import json
import os
import re
import secrets
import shutil
import stat
import sys
import tempfile
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal

import msgspec
import orjson

from corpus_tools.errors import CorpusToolsError

if TYPE_CHECKING:
    from corpus_tools.schema import RecordBase

RECORD_NAME = ".corpus-tools.json"
"""The record of the files a command wrote into an output folder (checked before replacing it)."""
JOURNAL_SUFFIX = ".corpus-commit"
LOCK_SUFFIX = ".corpus-lock"
_TMP_SUFFIX = ".tmp"
_OLD_SUFFIX = ".old"
_JOURNAL_TEMP_SUFFIX = ".journal.tmp"
_SCRATCH_SUFFIX = ".scratch.tmp"
JSON_WHITESPACE = b" \t\r\n"
"""The only characters JSON allows between tokens; a line of nothing else is blank."""


# -- names -----------------------------------------------------------------------------------


def collision_key(name: str) -> str:
    """The form in which two file names are the same file on a case-insensitive file system
    (macOS, Windows): `Doc1` and `doc1` have one key. Exports and the site compare names by it."""
    return name.casefold()


_WINDOWS_DEVICES = frozenset(
    ["con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)), *(f"lpt{i}" for i in range(1, 10))]
)


def portable_names(names: Iterable[str]) -> dict[str, str]:
    """A file name for each of `names` (toolkit names: `A-Z a-z 0-9 . _ -`) that no other one
    equals by `collision_key`, and that Windows accepts. Windows refuses a device name before
    any extension (`CON`, `nul.x`, `COM1.a.b`) and drops a final `.`, so those names get a `~`
    (`CON~`, `nul~.x`, `a.~`); the later of two colliding names (in sorted order) gets `~2`,
    `~3`, ... in the same place (`doc1~2`). `~` is not allowed in names, so no given name is
    ever taken; the same set of names always gives the same file names."""
    out: dict[str, str] = {}
    taken: set[str] = set()
    for name in sorted(set(names)):
        device = name.split(".", 1)[0].lower() in _WINDOWS_DEVICES
        candidate = _marked(name, "~") if device or name.endswith(".") else name
        number = 1
        while collision_key(candidate) in taken:
            number += 1
            candidate = _marked(name, f"~{number}")
        taken.add(collision_key(candidate))
        out[name] = candidate
    return out


def _marked(name: str, mark: str) -> str:
    """`name` with `mark` after a device name (before its extension), else at the end."""
    head, dot, rest = name.partition(".")
    marked = f"{head}{mark}{dot}{rest}" if head.lower() in _WINDOWS_DEVICES else f"{name}{mark}"
    return f"{marked}~" if marked.endswith(".") else marked


def display(path: Path | str | bytes) -> str:
    """A path as text for messages and reports: file names that are not valid UTF-8 (stored by
    Python as lone surrogates) are shown with `\\xNN` escapes, so every report can be printed
    and serialised as JSON; control characters (a newline in a file name) are escaped too, so a
    name can never start a line of its own (GitHub Actions reads `::error` lines as commands)."""
    text = printable(os.fsdecode(path))
    if any(c < " " or c == "\x7f" for c in text):
        text = "".join(
            c.encode("unicode_escape").decode("ascii") if c < " " or c == "\x7f" else c for c in text
        )
    return text


def printable(text: str) -> str:
    """`text` with the bytes of a non-UTF-8 file name (lone surrogates U+DC80 to U+DCFF)
    shown as `\\xNN` and any other lone surrogate escaped too: always encodable as UTF-8."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        try:
            text = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        except UnicodeEncodeError:
            text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def is_blank(line: bytes) -> bool:
    """Whether a raw line holds only JSON whitespace: the one definition of a blank line, so
    every command skips exactly the lines `corpus validate` calls blank (`\\x0b` is not JSON
    whitespace, and Arrow's reader rejects it)."""
    return not line.strip(JSON_WHITESPACE)


def dumps(obj: Any) -> bytes:
    """One compact JSON line (UTF-8, non-ASCII kept as is), newline included."""
    return orjson.dumps(obj, option=orjson.OPT_APPEND_NEWLINE)


# -- inputs ----------------------------------------------------------------------------------


def require_file(path: Path | str, what: str = "input file") -> Path:
    """`path`, checked to name a regular file (symlinks followed).

    Raises:
        CorpusToolsError: when it does not exist, is a folder, or is a FIFO, device or socket.
    """
    path = Path(path)
    recover(path)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise CorpusToolsError(f"{display(path)}: no such {what}") from None
    except OSError as e:
        raise CorpusToolsError(f"{display(path)}: cannot read the {what}: {_why(e)}") from None
    if stat.S_ISDIR(mode):
        raise CorpusToolsError(f"{display(path)}: is a folder; give the {what} itself")
    if not stat.S_ISREG(mode):
        raise CorpusToolsError(
            f"{display(path)}: is {_kind(mode)}, not a regular file; give a file as the {what}"
        )
    return path


def read_input(path: Path | str, what: str) -> bytes:
    """The bytes of a small input file (settings, decisions, a manifest, a label map).

    Raises:
        CorpusToolsError: naming the file, when it is missing, not a regular file or unreadable.
    """
    path = require_file(path, what)
    try:
        return path.read_bytes()
    except OSError as e:
        raise CorpusToolsError(f"{display(path)}: cannot read the {what}: {_why(e)}") from None


def read_text(path: Path | str, what: str) -> str:
    """`read_input` decoded as UTF-8 (a BOM is allowed), with a message in the user's terms for
    another encoding.

    Raises:
        CorpusToolsError: as `read_input`, or when the file is not UTF-8.
    """
    data = read_input(path, what)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise CorpusToolsError(
            f"{display(path)}: the {what} is not UTF-8: "
            f"{utf8_error(data, e, f' of the file (line {line})')}; save it as UTF-8"
        ) from None


def input_files(paths: Iterable[Path | str], pattern: str | None = "*.jsonl") -> list[Path]:
    """The files named by `paths`, folders searched recursively for `pattern`, in a stable order.

    - A file named directly is taken whatever its name, and must be a regular file.
    - In a folder, hidden files and folders (a name starting with `.`) are skipped: version
      control, editors' swap files and the temporary files of an interrupted command are not
      data. Symlinked folders are not followed (no loops); symlinked files are read.
    - A file named twice (directly, or also through its folder) is listed once.
    - `pattern` None takes every (visible, regular) file of a folder.

    Raises:
        CorpusToolsError: when a path does not exist, or a file is not a regular file.
    """
    out: list[Path] = []
    seen: set[Path] = set()
    for p in map(Path, paths):
        recover(p)  # a folder swapped by an interrupted command is completed first
        if p.is_dir():
            found = sorted(_walk(p, pattern))
        else:
            found = [require_file(p, "file or folder")]
            sweep_leftovers(p.parent, stem=_stem(p.name))
        for q in found:
            key = q.resolve()
            if key not in seen:
                seen.add(key)
                out.append(q)
    return out


def _walk(folder: Path, pattern: str | None) -> Iterator[Path]:
    recover(folder)
    for root, dirs, names in os.walk(folder, onerror=_walk_error):
        sweep_leftovers(Path(root), [*dirs, *names])
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in names:
            if name.startswith(".") or (pattern is not None and not fnmatch.fnmatch(name, pattern)):
                continue
            path = Path(root, name)
            recover(path)
            try:
                mode = os.stat(path).st_mode
            except FileNotFoundError:
                continue  # a dangling symlink: nothing to read
            if not stat.S_ISREG(mode):
                raise CorpusToolsError(
                    f"{display(path)}: is {_kind(mode)}, not a regular file; "
                    "remove it from the folder or name the files to read"
                )
            yield path


def _walk_error(error: OSError) -> None:
    raise CorpusToolsError(f"{display(error.filename or '')}: cannot read the folder: {_why(error)}")


class JsonObject(dict[str, Any]):
    """A JSON object as the validator and `load_json` parse it when they look at every pair: a
    dict that remembers the keys it was given more than once (`repeated`, empty for almost every
    object)."""

    repeated: tuple[str, ...] = ()


def json_object(pairs: list[tuple[str, Any]]) -> JsonObject:
    """The `object_pairs_hook` that builds a `JsonObject`: the last value of a repeated key is
    kept (as every JSON reader but Arrow does), and the key is remembered."""
    obj = JsonObject(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        repeated: dict[str, None] = {}
        for key, _value in pairs:
            if key in seen:
                repeated[key] = None
            seen.add(key)
        obj.repeated = tuple(repeated)
    return obj


def repeated_keys(value: Any, loc: tuple[int | str, ...] = ()) -> Iterator[tuple[tuple[int | str, ...], str]]:
    """Every key given twice in one object of a value parsed with `json_object`: the place of
    the object (`(3, "data")`) and the key (`"text"`), in document order."""
    if isinstance(value, JsonObject):
        for key in value.repeated:
            yield loc, key
        for key, item in value.items():
            yield from repeated_keys(item, (*loc, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from repeated_keys(item, (*loc, i))


def json_path(loc: Sequence[int | str], prefix: str = "") -> str:
    """A place in a JSON value: `("attributions", 1, "content", "end")` ->
    `attributions[1].content.end`; `json_path(("data", "text"), "[3]")` -> `[3].data.text`."""
    out = prefix
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def utf8_error(data: bytes, error: UnicodeDecodeError, scope: str = "") -> str:
    """Where `data` stops being UTF-8, for a message: `at byte 117: 0x80 is not valid UTF-8`
    (`scope`, such as ` of the file`, follows the position), with a hint for UTF-16."""
    utf16 = data[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in data[:64]
    hint = " (it looks UTF-16 encoded, as some Windows tools save)" if utf16 else ""
    return f"at byte {error.start}{scope}: 0x{data[error.start]:02x} is not valid UTF-8{hint}"


class JsonInputError(CorpusToolsError):
    """A JSON input that `parse_json` refuses, with the parts a reader reporting problems needs:
    `code` (`invalid-utf8`, `invalid-json`, `duplicate-key`, `too-deep`), the JSON `path` of a
    repeated key (`[3].data.text`), and the `reason` without the file's name."""

    def __init__(self, where: str, code: str, reason: str, path: str | None = None, line: int | None = None):
        super().__init__(f"{where}: {reason}")
        self.code = code
        self.reason = reason
        self.path = path
        self.line = line
        """1-based line of the first bad byte, for the whole-file errors of UTF-8."""


def parse_json(data: bytes | str, where: str) -> Any:
    """Parse a JSON input (a decisions line, a label map, a manifest, a tool's export) strictly:
    a key given twice in one object is an error, as in annotation lines (`duplicate-key`),
    rather than silently the last one; bytes that are not UTF-8 are an error at their position;
    absurdly deep nesting is an error rather than a crash.

    Raises:
        JsonInputError: naming `where` (and the place in the value of a repeated key), when it
            is not valid JSON or breaks those rules.
    """
    value, repeated = load_json(data, where)
    for loc, key in repeated:
        place = f"the object at {json_path(loc)}" if loc else "one object"
        raise JsonInputError(
            where,
            "duplicate-key",
            f"the key {key!r} is given twice in {place}; keep one (JSON readers disagree on which counts)",
            json_path((*loc, key)),
        )
    return value


def load_json(data: bytes | str, where: str) -> tuple[Any, list[tuple[tuple[int | str, ...], str]]]:
    """`parse_json` for a file of many records (a tool's export): the value, and every key given
    twice with the place of its object (`repeated_keys`), for the caller to refuse only the
    records that hold one.

    Raises:
        JsonInputError: as `parse_json`, except for keys given twice.
    """
    if isinstance(data, bytes):
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as e:
            line = data.count(b"\n", 0, e.start) + 1
            scope = "" if b"\n" not in data.rstrip(b"\r\n") else f" of the file (line {line})"
            raise JsonInputError(
                where, "invalid-utf8", f"not UTF-8: {utf8_error(data, e, scope)}; save it as UTF-8", line=line
            ) from None
    try:
        fast = orjson.loads(data)  # the strict parser decides what is JSON, and names the error
    except orjson.JSONDecodeError as e:
        raise JsonInputError(where, "invalid-json", f"not valid JSON: {e}") from None
    # Outside strings every `:` separates a key from its value, and orjson writes a colon inside
    # a string as itself: written back, the value has as many as the input unless a key was
    # given twice (its separator is gone). Only then is the slower parser that sees every pair
    # needed. An escaped colon (`\u003a`) would spoil the count, so it takes the slow way too.
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    if b"\\u003" not in raw:
        try:
            if raw.count(b":") == orjson.dumps(fast).count(b":"):
                return fast, []
        except TypeError:  # nested deeper than orjson writes: the slow way says how deep
            pass
    try:
        value = json.loads(data, object_pairs_hook=json_object)
    except RecursionError:
        raise JsonInputError(where, "too-deep", "objects and lists are nested too deeply") from None
    return value, list(repeated_keys(value))


def parse_toml(text: str, where: str) -> dict[str, Any]:
    """Parse a TOML input (settings, a label map).

    Raises:
        CorpusToolsError: naming `where`, when it is not valid TOML or is nested too deeply.
    """
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise CorpusToolsError(f"{where}: not valid TOML: {e}") from None
    except RecursionError:
        raise CorpusToolsError(f"{where}: tables and arrays are nested too deeply") from None


def iter_json_lines(path: Path | str, what: str) -> Iterator[tuple[int, Any]]:
    """Yield `(line_number, parsed value)` for each non-blank line of a small JSONL input
    (decisions, corrections), with errors in the user's terms.

    Raises:
        CorpusToolsError: naming the file and line, when the file cannot be read, a line is not
            UTF-8 (a UTF-16 file is recognised) or not JSON.
    """
    path = require_file(path, what)
    try:
        for number, raw in iter_lines(path):
            if is_blank(raw):
                continue
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise CorpusToolsError(
                    f"{display(path)}:{number}: the {what} is not UTF-8: {utf8_error(raw, e)}; save it as UTF-8"
                ) from None
            yield number, parse_json(raw, f"{display(path)}:{number}")
    except OSError as e:
        raise CorpusToolsError(f"{display(path)}: cannot read the {what}: {_why(e)}") from None


def chunk_ranges(path: Path, size: int) -> list[tuple[int, int]]:
    """Byte ranges `[start, end)` of about `size` bytes each that cut `path` at line ends: the one
    line chunker, for the validator's parallel chunks and publish's parquet row groups.

    A file whose size is unknown (empty, or not a regular file) is one range `(0, -1)`: read it
    whole.

    Raises:
        OSError: when the file cannot be read.
    """
    total = path.stat().st_size
    if total == 0:
        return [(0, -1)]
    ranges = []
    with open(path, "rb") as f:
        start = 0
        while start < total:
            f.seek(min(start + size, total))
            f.readline()  # move the cut to the end of the line it falls in
            end = min(f.tell(), total)
            ranges.append((start, end))
            start = end
    return ranges


def read_range(path: Path, start: int, end: int) -> bytes:
    """The bytes `[start, end)` of `path` (`end` -1: to the end of the file).

    Raises:
        OSError: when the file cannot be read.
    """
    with open(path, "rb") as f:
        f.seek(start)
        return f.read(end - start) if end >= 0 else f.read()


def line_numbers(path: Path, offsets: Iterable[int]) -> dict[int, int]:
    """The 1-based line number of each byte offset of `path` (a line's start), in one pass: to
    name the line of a record found through the document index, which keeps offsets only.

    Raises:
        OSError: when the file cannot be read.
    """
    wanted = sorted(set(offsets))
    out: dict[int, int] = {}
    line, position = 1, 0
    with open(path, "rb", buffering=1 << 16) as f:
        for offset in wanted:
            data = f.read(offset - position)
            line += data.count(b"\n")
            position = offset
            out[offset] = line
    return out


def iter_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """Yield `(line_number, raw_line)` for each line of `path`, 1-based, without the newline.

    Lines end at `\\n` only (a lone `\\r` does not end a line, as editors number them).

    Raises:
        OSError: when the file cannot be opened or read.
    """
    with open(path, "rb") as f:
        for number, line in enumerate(f, start=1):
            yield number, line.rstrip(b"\r\n")


# -- the document index ------------------------------------------------------------------------


class _DocId(msgspec.Struct):
    doc_id: str


_DOC_ID = msgspec.json.Decoder(_DocId)
"""Reads only the `doc_id` of a line: the other fields are skipped, not built."""


def _doc_id(line: bytes) -> str:
    try:
        return _DOC_ID.decode(line).doc_id
    except (msgspec.DecodeError, UnicodeDecodeError):  # valid, yet not for msgspec: ask orjson
        doc_id: str = orjson.loads(line)["doc_id"]  # the line is a valid record
        return doc_id


class DocIndex:
    """Where each document's records are: `doc_id -> [(file number, byte offset, length), ...]`,
    for commands that work document by document (merge, agreement, split) and seek to a
    document's lines, so that memory grows with the number of documents, not the corpus size.

    Use it as a context manager: it keeps a bounded number of files open while reading.
    The files must have passed validation (every non-blank line is a valid record). The
    validator builds the index while it reads (`validate.require_valid`); without one, the
    files are read once to build it.
    """

    def __init__(
        self,
        files: Sequence[Path],
        *,
        max_open: int = 32,
        locations: dict[str, list[tuple[int, int, int]]] | None = None,
    ) -> None:
        self.files = list(files)
        self.max_open = max_open
        self._handles: OrderedDict[int, _Reader] = OrderedDict()
        self._last = -1
        """The file of the last line read (the most recently used handle, `_reader`)."""
        self._reader: _Reader | None = None
        if locations is not None:
            self.index = locations
            return
        self.index = {}
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
        self._last, self._reader = -1, None

    def doc_ids(self) -> list[str]:
        """Every `doc_id`, sorted: the order in which commands process and write documents."""
        return sorted(self.index)

    def records(self, doc_id: str) -> list[RecordBase]:
        """The records of `doc_id`, one per annotator, sorted by annotator."""
        from corpus_tools.schema import Record

        out = [Record.model_validate_json(line) for line in self.lines(doc_id)]
        return sorted(out, key=lambda r: r.annotator)

    def lines(self, doc_id: str) -> list[bytes]:
        """The raw lines of `doc_id`, in file order: for callers that decode them faster."""
        return [self._line(f, o, n) for f, o, n in self.index[doc_id]]

    def line(self, number: int, offset: int, length: int) -> bytes:
        """One line, by where it is."""
        return self._line(number, offset, length)

    def __iter__(self) -> Iterator[tuple[str, list[RecordBase]]]:
        for doc_id in self.doc_ids():
            yield doc_id, self.records(doc_id)

    def __len__(self) -> int:
        return len(self.index)

    def _line(self, number: int, offset: int, length: int) -> bytes:
        reader = self._reader
        if number != self._last or reader is None:  # else the last line's file: no bookkeeping
            f = self._handles.get(number)
            if f is None:
                if len(self._handles) >= self.max_open:
                    self._handles.popitem(last=False)[1].close()
                f = self._handles[number] = _Reader(self.files[number])
            else:
                self._handles.move_to_end(number)
            self._last, self._reader = number, f
            reader = f
        return reader.read(offset, length)


class _Reader:
    """Lines of one file by offset: a line read where the last one ended (a file in document
    order, the usual case) comes from a block read ahead; any other is one `pread` of its own
    length, so reading in another order costs no more than the line."""

    BLOCK = 1 << 18

    def __init__(self, path: Path) -> None:
        self._f = open(path, "rb", buffering=0)  # noqa: SIM115  (closed in close())
        self._block = b""
        self._start = 0
        self._end = -1  # where the last line read ended

    def read(self, offset: int, length: int) -> bytes:
        at = offset - self._start
        if at >= 0 and at + length <= len(self._block):
            data = self._block[at : at + length]
        elif offset == self._end:
            self._block = os.pread(self._f.fileno(), max(length, self.BLOCK), offset)
            self._start = offset
            data = self._block[:length]
        else:
            data = os.pread(self._f.fileno(), length, offset)
        self._end = offset + length
        return data

    def close(self) -> None:
        self._block = b""
        self._f.close()


# -- outputs ---------------------------------------------------------------------------------

Kind = Literal["file", "folder"]

STDOUT_NAMES = ("/dev/stdout", "/dev/fd/1", "/proc/self/fd/1")
"""The paths that name this process's standard output, besides `-`."""


def is_stdout(path: Path | str) -> bool:
    """Whether an output path means standard output: `-`, `/dev/stdout`, `/dev/fd/1`."""
    given = str(path)
    return given == "-" or os.path.abspath(given) in (*STDOUT_NAMES, f"/proc/{os.getpid()}/fd/1")


def output_name(path: Path | str) -> str:
    """An output as messages name it: its path, or `standard output`."""
    return "standard output" if is_stdout(path) else display(path)


_WRITE_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS}
"""Errors that arise from writing: reported against the outputs being written."""

_pending: list[Path] = []
"""The journals of this process's commits that were interrupted after the journal was written:
their outputs are neither the old ones nor in place, until the next command completes them."""


def left_pending() -> list[Path]:
    """The commit journals this process left for the next command to complete (after a signal
    or an error in the middle of moving outputs into place)."""
    return list(_pending)


@dataclass
class _Staged:
    kind: Kind
    target: Path
    """The resolved target (symlinks followed)."""
    temp: Path
    shown: str
    """The target as the user gave it, for messages."""
    mode: int | None = None
    """The permissions of the target it replaces, given to the new output once it is written (a
    read-only mode given before would stop the command writing its own temporary file)."""
    stdout: bool = False
    """Standard output: the temporary file is copied there on commit (`target` is unused)."""


@dataclass
class Outputs:
    """The outputs of one command, staged beside their targets and committed together.

    Use it as a context manager: if the block raises (an error, Ctrl-C, SIGTERM), every
    temporary file and folder is removed and the targets are left as they were::

        with Outputs("corpus merge") as out:
            gold = out.file(output, option="--output")
            with open(gold, "wb") as f: ...
            out.commit()

    While the block runs, each target is locked (`flock` on a hidden `.<name>.corpus-lock` beside
    it, removed afterwards), so two commands never write the same output at once.
    """

    command: str
    """The command writing, e.g. `corpus publish`: recorded in output folders, and only the same
    command may replace a folder it wrote."""
    staged: list[_Staged] = field(default_factory=list)
    scratch_dirs: list[Path] = field(default_factory=list)
    locks: list[tuple[int, Path]] = field(default_factory=list)
    committed: bool = False

    def __enter__(self) -> Outputs:
        return self

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        targets = ", ".join(s.shown for s in self.staged)
        try:
            if not self.committed:
                self.abort()
            for scratch in self.scratch_dirs:
                _remove(scratch)
        finally:
            for fd, path in self.locks:  # removed while still held, so no one else holds it
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)
                os.close(fd)
            self.locks.clear()
        if isinstance(exc, OSError) and exc.errno in _WRITE_ERRORS and targets:
            # Raised while writing a temporary file: name what the user asked to write.
            raise CorpusToolsError(
                f"cannot write {targets}: {_why(exc)}; nothing was replaced and "
                "the temporary files were removed"
            ) from None

    def file(self, path: Path | str, *, option: str = "--output") -> Path:
        """Stage a file output; return the temporary path to write it to.

        Raises:
            CorpusToolsError: when the target is a folder, device, FIFO or socket, is staged
                twice, is being written by another command, or its folder cannot be created.
        """
        shown = display(path)
        if is_stdout(path):
            return self._stdout(option, shown)
        target = check_target(path, "file", self.command, option=option)
        self._check_twice(target, option, shown)
        _make_parent(target, option, shown)
        self._lock(target, option, shown)
        _clean_leftovers(target)
        temp = _temp_name(target, _TMP_SUFFIX)
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except OSError as e:
            raise _cannot_write(
                option, shown, f"cannot create a temporary file beside it: {_why(e)}"
            ) from None
        os.close(fd)
        self.staged.append(_Staged("file", target, temp, shown, _kept_mode(target)))
        return temp

    def _stdout(self, option: str, shown: str) -> Path:
        """Stage standard output: a private temporary file, copied there on commit."""
        if self.staged:
            other = self.staged[0]
            raise CorpusToolsError(
                f"{option} {shown}: standard output can take only a command's one output, and "
                f"this command also writes {other.shown}; give {option} a path"
            )
        folder = Path(tempfile.gettempdir())
        _clean_leftovers(folder / _STDOUT_STEM)  # those of killed runs
        temp = _temp_name(folder / _STDOUT_STEM, _TMP_SUFFIX)
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as e:
            raise _cannot_write(
                option, shown, f"cannot create a temporary file in {display(folder)}: {_why(e)}"
            ) from None
        os.close(fd)
        self.staged.append(_Staged("file", Path(shown), temp, f"{option} {shown}", stdout=True))
        return temp

    def folder(self, path: Path | str, *, option: str = "--output") -> Path:
        """Stage a folder output; return the temporary folder to fill.

        The target must be absent, an empty folder, or a folder this command wrote whose files
        are all listed, unchanged, in its record (see the module docstring).

        Raises:
            CorpusToolsError: when the target is not a folder, or holds a file the command did
                not write (the message names it), or is being written by another command.
        """
        shown = display(path)
        target = check_target(path, "folder", self.command, option=option)
        self._check_twice(target, option, shown)
        _make_parent(target, option, shown)
        self._lock(target, option, shown)
        _clean_leftovers(target)
        temp = _temp_name(target, _TMP_SUFFIX)
        try:
            os.mkdir(temp, 0o777)
        except OSError as e:
            raise _cannot_write(
                option, shown, f"cannot create a temporary folder beside it: {_why(e)}"
            ) from None
        self.staged.append(_Staged("folder", target, temp, shown, _kept_mode(target)))
        return temp

    def scratch(self, near: Path | str) -> Path:
        """A temporary folder beside `near` (a staged target), removed when the block ends: for
        work files that must not outlive the command, such as a cache."""
        target = Path(os.path.realpath(near))
        path = _temp_name(target, _SCRATCH_SUFFIX)
        os.mkdir(path, 0o700)
        self.scratch_dirs.append(path)
        return path

    def _check_twice(self, target: Path, option: str, shown: str) -> None:
        for s in self.staged:
            if s.stdout:
                raise CorpusToolsError(
                    f"{s.shown}: standard output can take only a command's one output, and this "
                    f"command also writes {option} {shown}; write both to files"
                )
            if s.target == target or target in s.target.parents or s.target in target.parents:
                raise CorpusToolsError(
                    f"{option} {shown}: is also {s.shown}, another output of "
                    "this command; write them to different places"
                )

    def _lock(self, target: Path, option: str, shown: str) -> None:
        path = _lock_path(target)
        while True:
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
            except OSError as e:
                # A lock file another user left in a shared folder, or a folder that became
                # read-only since it was checked: name the output, not our hidden file.
                raise _cannot_write(
                    option, shown, f"cannot create its lock file {display(path)}: {_why(e)}"
                ) from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise CorpusToolsError(
                    f"{option} {shown}: another corpus command is writing it right "
                    "now; wait for that one to finish"
                ) from None
            # The holder before us removes the lock file when it is done: if it did so between
            # our open and our lock, we hold a lock on a removed file, so take the new one.
            with contextlib.suppress(FileNotFoundError):
                if os.fstat(fd).st_ino == os.stat(path).st_ino:
                    break
            os.close(fd)
        self.locks.append((fd, path))

    def commit(self) -> None:
        """Move every staged output onto its target, as one set (see the module docstring).

        Raises:
            CorpusToolsError: when a move fails (the journal then completes it on the next run).
        """
        if self.staged and self.staged[0].stdout:  # then the only output
            _copy_to_stdout(self.staged[0].temp)
            self.abort()
            self.committed = True
            return
        for s in self.staged:
            if s.kind == "file":
                _fsync_file(s.temp)
            else:
                _write_record(s.temp, self.command)
            if s.mode is not None:  # the replaced output's permissions, read-only ones too
                os.chmod(s.temp, s.mode)
        moves = [
            _Move(
                s.kind,
                s.temp,
                s.target,
                _temp_name(s.target, _OLD_SUFFIX) if s.kind == "folder" else None,
                _state(s.target),
            )
            for s in self.staged
        ]
        try:
            if len(moves) == 1 and moves[0].kind == "file":
                os.replace(moves[0].temp, moves[0].target)
                self.committed = True
                _fsync_dir(moves[0].target.parent)
            elif moves:
                journal = _Journal(moves)
                journals = journal.write()
                # From here on the set is decided: if the moves are interrupted (a signal, a
                # crash), the temporary files stay for the journal to complete, never removed.
                self.committed = True
                try:
                    journal.finish(journals)
                except BaseException:
                    _pending.extend(j for j in journals if j.exists())
                    raise
        except OSError as e:
            raise CorpusToolsError(f"cannot move the outputs into place: {_why(e)}{_named(e)}") from None
        self.committed = True

    def abort(self) -> None:
        """Remove every temporary file and folder; leave the targets as they were."""
        for s in self.staged:
            _remove(s.temp)
        self.staged.clear()


_STDOUT_STEM = "corpus-stdout"
"""The name of the temporary files that hold an output for standard output until the commit."""


def _copy_to_stdout(temp: Path) -> None:
    stream: Any = sys.stdout
    buffer = getattr(stream, "buffer", None)
    try:
        stream.flush()
        with open(temp, "rb") as f:
            if buffer is not None:
                shutil.copyfileobj(f, buffer, 1 << 20)
                buffer.flush()
            else:  # a test runner's text stream
                stream.write(f.read().decode("utf-8"))
                stream.flush()
    except BrokenPipeError:
        # The reader went away (`| head`): stop writing, and keep the interpreter from
        # complaining about the unflushed rest at exit.
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise CorpusToolsError(
            "standard output was closed before the whole output was written "
            "(the command reading it stopped early)"
        ) from None


def check_target(path: Path | str, kind: Kind, command: str, *, option: str = "--output") -> Path:
    """Check that `command` may write `path` (a file or a folder output); return the resolved
    target. Commands call it through `Outputs`; `corpus build` calls it for every step's
    outputs before the first step writes anything.

    Raises:
        CorpusToolsError: for a folder, device, FIFO or socket where a file goes, a file where a
            folder goes, a folder holding files this command did not write, or a symlink loop.
    """
    shown = display(path)
    _refuse_streams(Path(path), kind, option, shown)
    target = _resolve(Path(path), option)
    recover(target)
    mode = _mode(target)
    if mode is None:
        _check_folder_writable(Path(path), target, option, shown)
        return target
    if kind == "file":
        if not stat.S_ISREG(mode):
            what = "a folder" if stat.S_ISDIR(mode) else _kind(mode)
            raise CorpusToolsError(
                f"{option} {shown}: is {what}; give the path of a file to write "
                "(an existing file is replaced)"
            )
        if not os.access(target, os.W_OK):
            raise _cannot_write(
                option,
                shown,
                "the file is read-only" + _read_only_fs(target) + "; make it writable (chmod u+w) "
                "if it may be replaced, or write elsewhere",
            )
        _check_folder_writable(Path(path), target, option, shown)
        return target
    if not stat.S_ISDIR(mode):
        what = "a file" if stat.S_ISREG(mode) else _kind(mode)
        raise CorpusToolsError(f"{option} {shown}: is {what}; give a folder")
    foreign = foreign_file(target, command)
    if foreign is not None:
        raise CorpusToolsError(
            f"{option} {shown}: {foreign}; the folder is replaced as a whole, "
            "so give a new or empty folder, or one this command wrote"
        )
    if not os.access(target, os.W_OK | os.X_OK):
        # The old folder is emptied after the new one takes its place.
        raise _cannot_write(
            option,
            shown,
            "the folder is read-only" + _read_only_fs(target) + "; make it writable if it may be "
            "replaced, or write elsewhere",
        )
    _check_folder_writable(Path(path), target, option, shown)
    return target


_STREAMS = ("/dev/stdin", "/dev/stdout", "/dev/stderr", "/dev/fd", "/dev/tty", "/proc")
"""Paths that name a process's open files or terminal, not a place for a file: an atomic write
there would replace whatever file stdout is redirected to, or fail on a device."""


def _refuse_streams(path: Path, kind: Kind, option: str, shown: str) -> None:
    if is_stdout(path):  # `Outputs.file` takes it before it gets here
        raise CorpusToolsError(
            f"{option} {shown}: standard output takes only the output of a command that writes "
            f"one file (`corpus import ... -o -`), not this {kind}; give a path"
        )
    given = os.path.abspath(path)
    real = os.path.realpath(path)
    for place in (given, real):
        stream = next((s for s in _STREAMS if place == s or place.startswith(s + "/")), None)
        if stream is not None:
            what = "a process file" if stream == "/proc" else "a stream or terminal"
            raise CorpusToolsError(
                f"{option} {shown}: is {what} ({stream}), not a place for a {kind}: an output "
                "replaces its target whole, which would replace the file the stream is "
                "redirected to; give a path (standard output is `-`)"
            )


def _cannot_write(option: str, shown: str, why: str) -> CorpusToolsError:
    return CorpusToolsError(f"cannot write {option} {shown}: {why}")


def _check_folder_writable(given: Path, target: Path, option: str, shown: str) -> None:
    """Refuse, in the user's terms, a target whose folder (or the nearest existing folder above
    it, where the missing ones would be made) does not let us create files."""
    folder = target.parent
    while not folder.exists() and folder.parent != folder:
        folder = folder.parent
    if not folder.is_dir() or os.access(folder, os.W_OK | os.X_OK):
        return  # a file in the way is reported when the folder is made
    # Name the folder as the user wrote it when that is the one (no symlink in between).
    parent = given.parent
    while not parent.exists() and parent.parent != parent:
        parent = parent.parent
    named = display(parent) if os.path.realpath(parent) == str(folder) else display(folder)
    raise _cannot_write(option, shown, f"the folder {named} is not writable{_read_only_fs(folder)}")


def _read_only_fs(path: Path) -> str:
    try:
        read_only = bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        return ""
    return " (the file system is mounted read-only)" if read_only else ""


def _kept_mode(target: Path) -> int | None:
    try:
        return stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        return None


def _lock_path(target: Path) -> Path:
    return target.parent / f".{_stem(target.name)}{LOCK_SUFFIX}"


@contextlib.contextmanager
def atomic_open(
    path: Path | str, mode: str = "wb", *, option: str = "--output", command: str = "corpus"
) -> Iterator[IO[Any]]:
    """Write one file atomically: a temporary sibling that replaces `path` when the block ends
    without an error (see `Outputs`)."""
    with Outputs(command) as out:
        temp = out.file(path, option=option)
        kwargs: dict[str, Any] = {} if "b" in mode else {"encoding": "utf-8", "newline": ""}
        with open(temp, mode, **kwargs) as f:
            yield f
        out.commit()


def write_jsonl(path: Path, rows: Iterable[Any], *, option: str = "--output") -> int:
    """Write `rows` (dicts or Pydantic models) as JSONL atomically; return how many were written."""
    n = 0
    with atomic_open(path, option=option) as f:
        for row in rows:
            if hasattr(row, "model_dump"):
                row = row.model_dump(mode="json", exclude_none=True)
            f.write(dumps(row))
            n += 1
    return n


def same_file(a: Path | str, b: Path | str) -> bool:
    """Whether two paths name the same file once symlinks are followed."""
    return os.path.realpath(a) == os.path.realpath(b)


# -- the record of written files ---------------------------------------------------------------


def foreign_file(folder: Path, command: str | None = None) -> str | None:
    """Why `folder` may not be replaced (by `command`, when given): the first file in it that
    its record of written files does not list unchanged (named relative to the folder), or a
    record written by another command; None when every file is that command's own."""
    entries = sorted(_tree(folder))
    if not entries:
        return None
    try:
        record = orjson.loads((folder / RECORD_NAME).read_bytes())
        files = record["files"]
        if not isinstance(files, dict):
            raise TypeError
    except (OSError, orjson.JSONDecodeError, KeyError, TypeError):
        return (
            f"it holds {display(entries[0][0])} and has no record of files written by "
            "corpus-tools, so it is not an earlier output"
        )
    if command is not None and record.get("written_by") != command:
        return (
            f"it was written by {record.get('written_by')!r}, not {command!r}: it holds "
            "another kind of output"
        )
    for rel, full in entries:
        entry = files.get(rel)
        if not isinstance(entry, dict) or not full.is_file() or full.is_symlink():
            return f"it holds {display(rel)}, which corpus-tools did not write there"
        if full.stat().st_size != entry.get("size") or _sha256(full) != entry.get("sha256"):
            return f"{display(rel)} was changed after corpus-tools wrote it"
    return None


def written_files(folder: Path | str) -> set[str]:
    """The files (relative POSIX paths) that the record of `folder` lists as written by
    corpus-tools; empty when there is no readable record (no earlier output there)."""
    try:
        record = orjson.loads((Path(folder) / RECORD_NAME).read_bytes())
        files = record["files"]
    except (OSError, orjson.JSONDecodeError, KeyError, TypeError):
        return set()
    return {name for name in files if isinstance(name, str)} if isinstance(files, dict) else set()


def _tree(folder: Path) -> Iterator[tuple[str, Path]]:
    """Every entry of `folder` that is not a folder, except the record itself."""
    for root, dirs, names in os.walk(folder):
        rel_root = Path(root).relative_to(folder)
        for d in list(dirs):
            if (Path(root) / d).is_symlink():
                yield (rel_root / d).as_posix(), Path(root) / d
        for name in names:
            rel = (rel_root / name).as_posix()
            if rel != RECORD_NAME:
                yield rel, Path(root) / name


def _write_record(folder: Path, command: str) -> None:
    files = {}
    for rel, full in sorted(_tree(folder)):
        _fsync_file(full)
        files[rel] = {"size": full.stat().st_size, "sha256": _sha256(full)}
    data = {"written_by": command, "files": files}
    (folder / RECORD_NAME).write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n")
    _fsync_file(folder / RECORD_NAME)
    _fsync_dir(folder)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


# -- committing several outputs: the journal ----------------------------------------------------

State = tuple[int, int, int, int] | None
"""`(device, inode, size, mtime_ns)` of a target before the commit (None: it did not exist)."""


def _state(path: Path) -> State:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


@dataclass
class _Move:
    kind: Kind
    temp: Path
    target: Path
    old: Path | None
    """For a folder: where the previous folder is moved before the new one takes its place."""
    before: State
    """The target's state when the journal was written: a target changed since (a person
    edited it) is never replaced by a later recovery."""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind,
            "temp": _fs(self.temp),
            "target": _fs(self.target),
            "before": list(self.before) if self.before is not None else None,
        }
        if self.old is not None:
            out["old"] = _fs(self.old)
        return out

    @classmethod
    def from_json(cls, data: Any) -> _Move:
        """A move read back from a journal, checked to be one corpus-tools writes: from a
        temporary name of the target, beside it, onto the target.

        Raises:
            ValueError: when it is not.
        """
        if not isinstance(data, dict) or data.get("kind") not in ("file", "folder"):
            raise ValueError("a move is not an object with kind file or folder")
        target = _unfs(data.get("target"))
        temp = _unfs(data.get("temp"))
        old = _unfs(data["old"]) if data.get("old") is not None else None
        before = data.get("before")
        stem = re.escape(f".{_stem(target.name)}.")
        if temp.parent != target.parent or not re.fullmatch(stem + r"\d+\.[0-9a-f]{8}\.tmp", temp.name):
            raise ValueError(f"{display(temp)} is not a temporary name of {display(target)}")
        if data["kind"] == "folder" and (
            old is None
            or old.parent != target.parent
            or not re.fullmatch(stem + r"\d+\.[0-9a-f]{8}\.old", old.name)
        ):
            raise ValueError(f"the old folder of {display(target)} is not named as corpus-tools names it")
        if data["kind"] == "file" and old is not None:
            raise ValueError("a file move has an old folder")
        if before is not None and not (
            isinstance(before, list) and len(before) == 4 and all(type(v) is int for v in before)
        ):
            raise ValueError("the recorded state of a target is not four integers")
        return cls(data["kind"], temp, target, old, tuple(before) if before is not None else None)

    def run(self) -> None:
        """Make the move, or finish it; safe to repeat after a crash at any point."""
        if self.kind == "file":
            if self.temp.exists():
                os.replace(self.temp, self.target)
            return
        if self.old is None:
            raise ValueError("a folder move without its old folder")
        if self.temp.exists():
            if self.target.exists() and not self.old.exists():
                os.replace(self.target, self.old)
            os.replace(self.temp, self.target)
        if self.old.exists():
            shutil.rmtree(self.old, ignore_errors=True)

    def changed(self) -> bool:
        """Whether the move is still to be made while its target is no longer as it was."""
        if not self.temp.exists():
            return False
        if self.kind == "folder" and self.old is not None and self.old.exists():
            return False  # half-way through: the target was moved aside by this very move
        return _state(self.target) != self.before


def _fs(path: Path) -> str:
    # Paths as Latin-1 of their bytes: lossless for any file name, and valid JSON.
    return os.fsencode(path).decode("latin-1")


def _unfs(text: Any) -> Path:
    if not isinstance(text, str) or not text:
        raise ValueError("a path is not a string")
    return Path(os.fsdecode(text.encode("latin-1")))


@dataclass
class _Journal:
    moves: list[_Move]

    def write(self) -> list[Path]:
        """Write the journal beside every target (each atomically); return their paths."""
        targets = {_journal_path(m.target): m.target for m in self.moves}
        journals = sorted(targets)
        data = orjson.dumps(
            {
                "pid": os.getpid(),
                "moves": [m.to_json() for m in self.moves],
                "journals": [_fs(j) for j in journals],
            }
        )
        written: list[Path] = []
        temp: Path | None = None
        try:
            for path in journals:
                # Named after the target, so that a run killed while writing it leaves a
                # temporary file the next run recognises and removes (`_clean_leftovers`).
                temp = _temp_name(targets[path], _JOURNAL_TEMP_SUFFIX)
                temp.write_bytes(data)
                _fsync_file(temp)
                os.replace(temp, path)
                temp = None
                written.append(path)
                _fsync_dir(path.parent)
        except BaseException:
            # Interrupted (SIGTERM, Ctrl-C) or failed before every journal was written: the set
            # is not decided yet, so nothing of the journal may stay (the caller then removes
            # the outputs' temporary files and the old outputs stand).
            for left in [*written, *([temp] if temp is not None else [])]:
                _remove(left)
            raise
        return journals

    def finish(self, journals: list[Path]) -> None:
        for move in self.moves:
            move.run()
        for folder in {m.target.parent for m in self.moves}:
            _fsync_dir(folder)
        for path in journals:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)


def _journal_path(target: Path) -> Path:
    return target.parent / f".{_stem(target.name)}{JOURNAL_SUFFIX}"


def recover(path: Path | str) -> bool:
    """Complete an interrupted commit that involves `path`, if its journal is there.

    Every command calls this for the paths it reads and writes, so a set of outputs that a
    crash left half-moved is completed before anyone reads it. The journal of an output folder
    lies beside the folder, so the path's parent folders are looked at too. Returns whether it
    did anything.

    Raises:
        CorpusToolsError: for a journal corpus-tools did not write (it is refused, never
            followed: it could name any file), or one whose target was changed since.
    """
    real = Path(os.path.realpath(path))
    done = False
    for candidate in (real, *real.parents):
        if candidate.parent != candidate:
            done = _recover_one(_journal_path(candidate)) or done
    return done


def _recover_one(journal: Path) -> bool:
    try:
        raw = journal.read_bytes()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return False
    except OSError as e:
        raise CorpusToolsError(f"{display(journal)}: cannot read the commit journal: {_why(e)}") from None
    try:
        data = orjson.loads(raw)
        if (
            not isinstance(data, dict)
            or not isinstance(data.get("moves"), list)
            or not data["moves"]
            or not isinstance(data.get("journals"), list)
        ):
            raise ValueError("not a journal of moves")
        moves = [_Move.from_json(m) for m in data["moves"]]
        journals = [_unfs(j) for j in data["journals"]]
        mine = {_journal_path(m.target) for m in moves}
        if journal not in mine or any(j not in mine for j in journals):
            raise ValueError("it names journals of other files")
    except (orjson.JSONDecodeError, ValueError, UnicodeError) as e:
        raise CorpusToolsError(
            f"{display(journal)}: not a commit journal corpus-tools wrote ({e}); it "
            "was not followed: check the files beside it and delete it"
        ) from None
    changed = [m for m in moves if m.changed()]
    if changed:
        raise CorpusToolsError(
            f"{display(changed[0].target)} was changed after an interrupted command began to replace it "
            f"({display(journal)} holds the new version in {display(changed[0].temp)}); keep the one you "
            "want, then delete the journal"
        )
    try:
        _Journal(moves).finish(journals)
    except OSError as e:
        raise CorpusToolsError(
            f"{display(journal)}: cannot complete the outputs of an interrupted command: {_why(e)}{_named(e)}"
        ) from None
    return True


# -- helpers ---------------------------------------------------------------------------------


def _resolve(path: Path, option: str) -> Path:
    """The target a write goes to: symlinks followed (written through), made absolute."""
    real = Path(os.path.realpath(path))
    if real.is_symlink():  # realpath gives up on a loop
        raise CorpusToolsError(f"{option} {display(path)}: is a symlink loop")
    return real


def _mode(path: Path) -> int | None:
    try:
        return os.lstat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):  # absent (a part of it may be a file)
        return None


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "not a regular file"


def _make_parent(target: Path, option: str, shown: str) -> None:
    parent = target.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        blocker = next((p for p in [parent, *parent.parents] if p.exists() and not p.is_dir()), parent)
        raise CorpusToolsError(
            f"{option} {shown}: cannot create the folder {display(parent)}: "
            f"{display(blocker)} is a file, not a folder"
        ) from None
    except OSError as e:
        raise CorpusToolsError(
            f"{option} {shown}: cannot create the folder {display(parent)}: {_why(e)}"
        ) from None


def _stem(name: str) -> str:
    """A file name short enough to carry the suffixes of temporary names (a name of up to 255
    bytes is legal; `.<name>.<pid>.<hex>.journal.tmp` would not be)."""
    if len(os.fsencode(name)) <= 160:
        return name
    digest = hashlib.blake2b(os.fsencode(name), digest_size=6).hexdigest()
    return f"{name[:100]}~{digest}"


def _temp_name(target: Path, suffix: str) -> Path:
    """A hidden sibling of `target`, unique, carrying this process's id (see `_clean_leftovers`)."""
    return target.parent / f".{_stem(target.name)}.{os.getpid()}.{secrets.token_hex(4)}{suffix}"


_LEFTOVER = re.compile(r"\.(.+)\.(\d+)\.[0-9a-f]{8}(?:\.tmp|\.old|\.journal\.tmp|\.scratch\.tmp)")
"""A temporary name (`_temp_name`): `.<stem>.<pid>.<8 hex digits><suffix>`, the stem and pid."""
_LOCK_NAME = re.compile(r"\.(.+)" + re.escape(LOCK_SUFFIX))


def _clean_leftovers(target: Path) -> None:
    """Remove the temporary files of earlier runs on `target` whose process is gone (a run
    killed with SIGKILL cannot clean up after itself). Only exact temporary names of this
    target count (`.<name>.<pid>.<8 hex digits><suffix>`). The caller holds the target's lock."""
    try:
        names = os.listdir(target.parent)
    except OSError:
        return
    stem = _stem(target.name)
    for name in names:
        m = _LEFTOVER.fullmatch(name)
        if m is not None and m[1] == stem and not _alive(int(m[2])):
            _remove(target.parent / name)


def scratch_folder(name: str) -> Path:
    """A new private folder for work files in the system's temporary folder (`$TMPDIR`), named
    `.<name>.<pid>.<8 hex digits>.scratch.tmp`. The folders of earlier runs whose process is gone
    (killed with SIGKILL, which no cleanup survives) are removed first, as `Outputs` removes a
    killed writer's temporary files. The caller removes its own with `remove_scratch`.

    Raises:
        CorpusToolsError: when the folder cannot be created.
    """
    target = Path(tempfile.gettempdir()) / name
    _clean_leftovers(target)
    path = _temp_name(target, _SCRATCH_SUFFIX)
    try:
        os.mkdir(path, 0o700)
    except OSError as e:
        raise CorpusToolsError(
            f"cannot create a temporary folder in {display(target.parent)}: {_why(e)}"
        ) from None
    return path


def remove_scratch(path: Path) -> None:
    """Remove a folder `scratch_folder` made (nothing if it is gone already)."""
    with contextlib.suppress(OSError):
        _remove(path)


def sweep_leftovers(folder: Path, names: Iterable[str] | None = None, *, stem: str | None = None) -> None:
    """Remove from `folder` what writers killed with SIGKILL left there: their temporary files
    (a whole output's size) and lock files. Commands call it for the folders they read, so a
    leftover does not wait for the next write to its own output.

    A leftover of an output goes only when its process is gone, no command holds the output's
    lock (taken here without waiting, as a writer takes it), and no commit journal names the
    output (`recover` completes those moves from the temporary files). Nothing else is ever
    touched, and a folder we may not write to is left as it is. `names` are the folder's
    entries when the caller has listed them already; `stem` limits the sweep to one output.
    """
    if names is None:
        try:
            names = os.listdir(folder)
        except OSError:
            return
    temps: dict[str, list[tuple[str, int]]] = {}
    locks: set[str] = set()
    for name in names:
        if not name.startswith("."):
            continue
        if m := _LEFTOVER.fullmatch(name):
            temps.setdefault(m[1], []).append((name, int(m[2])))
        elif m := _LOCK_NAME.fullmatch(name):
            locks.add(m[1])
    for own in sorted(set(temps) | locks):
        dead = [name for name, pid in temps.get(own, []) if not _alive(pid)]
        if (stem is not None and own != stem) or (own in temps and not dead):
            continue
        if (folder / f".{own}{JOURNAL_SUFFIX}").exists():
            continue  # an interrupted commit: its temporary files are the new outputs
        lock = folder / f".{own}{LOCK_SUFFIX}"
        fd = _try_lock(lock)
        if fd is None:
            continue  # a command is writing that output now (or the folder is not ours to change)
        try:
            for name in dead:
                with contextlib.suppress(OSError):
                    _remove(folder / name)
            with contextlib.suppress(OSError):  # removed while held, as `Outputs` does
                os.unlink(lock)
        finally:
            os.close(fd)


def _try_lock(path: Path) -> int | None:
    """An output's lock taken without waiting, or None when a command holds it or it cannot be
    opened."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CREAT, 0o666)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        if os.fstat(fd).st_ino == os.stat(path).st_ino:
            return fd
    except OSError:
        pass
    os.close(fd)
    return None


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            os.unlink(path)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):  # not every file system lets a folder be synced
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _why(error: OSError) -> str:
    if error.errno == errno.ENOSPC:
        return "the disk is full"
    if error.errno == errno.EDQUOT:
        return "the disk quota is exceeded"
    if error.errno == errno.EROFS:
        return "the file system is read-only"
    return error.strerror or str(error)


def _named(error: OSError) -> str:
    return f" ({display(error.filename)})" if error.filename else ""


def describe_os_error(error: OSError) -> str:
    """An `OSError` in the user's terms, with the file it concerns: for the CLI's last resort."""
    where = f"{display(error.filename)}: " if error.filename else ""
    if error.errno == errno.ENOSPC:
        return f"{where}the disk is full; free some space and run the command again (nothing was replaced)"
    if error.errno == errno.EEXIST:
        return f"{where}already exists"
    if error.errno in (errno.ENOTDIR,):
        return f"{where}a part of the path is a file, not a folder"
    return f"{where}{error.strerror or error}"
