"""`corpus validate`: check annotator files line by line and across lines and files.

Files are streamed: each line is parsed and checked on its own (syntax, structure via the models,
offsets and references via `corpus_tools.rules`), and only what the cross-line checks need is
kept: for each document a hash of its text and where it was first seen, and the set of
(doc_id, annotator) pairs. Memory therefore grows with the number of documents, not with the size
of the files.
"""

from __future__ import annotations

import difflib
import io
import json
import multiprocessing
import os
import signal
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import orjson
from pydantic import BaseModel, ValidationError

from corpus_tools import fastpath
from corpus_tools.errors import CorpusToolsError
from corpus_tools.files import display, input_files, is_blank
from corpus_tools.problems import CATALOGUE, Report, ReportBuilder, make_problem
from corpus_tools.rules import Finding, check_record
from corpus_tools.schema import LABELS, Record, model_of

_LABEL_FIELDS = {field for field, _m, _n in LABELS.values()}


class LineKey(NamedTuple):
    """What the cross-line checks keep of a structurally readable line.

    A tuple rather than a dataclass: with `--jobs`, one is pickled per line from the workers.
    """

    doc_id: str
    annotator: str
    text_hash: int
    text_len: int


def check_line(raw: bytes) -> tuple[list[Finding], LineKey | None]:
    """Check one raw JSONL line on its own.

    Returns:
        The findings `(code, path, message)` and the key for cross-line checks (None when the
        line has no usable `doc_id`, `annotator` and `text`).
    """
    rec = fastpath.decode(raw)
    if rec is not None and fastpath.is_clean(rec) and not fastpath.may_repeat_a_key(raw, rec):
        return [], LineKey(rec.doc_id, rec.annotator, hash(rec.text), len(rec.text))
    return check_line_fully(raw)


def check_line_fully(raw: bytes) -> tuple[list[Finding], LineKey | None]:
    """`check_line` without the fast path: the reference checks, which produce the findings."""
    if is_blank(raw):
        return [("blank-line", "", "blank line; remove it")], None
    try:
        orjson.loads(raw)  # the strict parser decides what is JSON, and names the error
    except orjson.JSONDecodeError as e:
        return [_decode_finding(raw, e)], None
    # Parsed again by Python's parser, which keeps integers beyond 64 bits exact (orjson makes
    # 10**30 the float 1e+30) and lets the keys given twice be found.
    obj = json.loads(raw, object_pairs_hook=_pairs)
    if not isinstance(obj, dict):
        return [("not-an-object", "", f"the line is a JSON {_json_type(obj)}, "
                 "not an object; each line must be one record object")], None
    findings: list[Finding] = list(_duplicate_keys(obj))
    try:
        Record.model_validate(obj)
    except ValidationError as e:
        findings.extend(_structure_findings(e))
    findings.extend(check_record(obj))
    doc_id, annotator, text = obj.get("doc_id"), obj.get("annotator"), obj.get("text")
    key = None
    if isinstance(doc_id, str) and isinstance(annotator, str) and isinstance(text, str):
        key = LineKey(doc_id, annotator, hash(text), len(text))
    return findings, key


CHUNK_BYTES = 4 << 20
"""Files are checked in chunks of about this size (cut at line ends), in order; with `jobs` > 1
the chunks are checked in parallel and their results consumed in file order."""


@dataclass
class Chunk:
    """A run of whole lines of one file: bytes `[start, end)`, checked as a unit."""

    path: Path
    start: int
    end: int


@dataclass
class ChunkResult:
    """The per-line results of a chunk; `lines` holds only lines with findings or a key."""

    lines: list[tuple[int, int, list[Finding], LineKey | None]]
    """`(line index within the chunk, byte offset in the file, findings, key)`."""
    count: int
    """How many lines the chunk has."""
    error: str | None = None
    """Why the file could not be read, if it could not."""


def validate(paths: Iterable[Path | str], *, ignore: Iterable[str] = (),
             max_problems: int | None = None, strict: bool = False, jobs: int = 1) -> Report:
    """Validate annotator (or gold) JSONL files and folders of them.

    Args:
        paths: files, or folders searched recursively for `*.jsonl`.
        ignore: problem codes to skip.
        max_problems: keep at most this many problems of each code in the report (all are
            counted, and the summary says how many were left out); None keeps all.
        strict: make warnings fail the report.
        jobs: processes to check lines with (files and chunks of large files in parallel;
            the report is the same as with one).

    Returns:
        A `Report`; `report.valid` tells whether the files passed.

    Raises:
        CorpusToolsError: when a path does not exist, a code in `ignore` is unknown, or `jobs`
            is less than 1.
    """
    ignore = frozenset(ignore)
    unknown = sorted(ignore - CATALOGUE.keys())
    if unknown:
        raise CorpusToolsError(f"unknown problem code(s) for --ignore: {', '.join(unknown)}")
    jobs = usable_jobs(jobs)
    if max_problems is not None and max_problems < 0:
        raise CorpusToolsError(f"--max-problems must be 0 (no limit) or more, not {max_problems}")
    paths = [Path(p) for p in paths]
    files = input_files(paths)
    if not files:
        # A mistyped folder must not pass CI as "valid: 0 file(s)".
        raise CorpusToolsError(f"no *.jsonl file found in {', '.join(map(display, paths))}")
    builder = ReportBuilder(ignore=ignore, max_per_code=max_problems)
    builder.files = len(files)
    corpus = CorpusChecks(shown=builder.shown)
    chunks = _chunks(files)
    with _mapper(jobs) as mapper:
        line_base: dict[Path, int] = {}
        for chunk, result in zip(chunks, mapper(_check_chunk, chunks), strict=True):
            name, base = display(chunk.path), line_base.get(chunk.path, 0)
            line_base[chunk.path] = base + result.count
            for index, byte_offset, findings, key in result.lines:
                number = base + index + 1
                if key is not None:
                    builder.records += 1
                    findings = [*findings, *corpus.add(key, chunk.path, number, byte_offset)]
                for code, field, message in findings:
                    builder.add(make_problem(code, name, number, field or None, message))
            if result.error is not None:
                where = f" after line {base + result.count}" if base + result.count else ""
                builder.add(make_problem("unreadable-file", name,
                                         (base + result.count) or None, None,
                                         f"cannot read the file{where}: {result.error}"))
    return builder.build(strict=strict)


def _chunks(files: list[Path]) -> list[Chunk]:
    """Cut each file into chunks of whole lines of about `CHUNK_BYTES`."""
    chunks = []
    for path in files:
        try:
            size = path.stat().st_size
            with open(path, "rb") as f:
                start = 0
                while start < size:
                    f.seek(min(start + CHUNK_BYTES, size))
                    f.readline()  # move the cut to the end of the line it falls in
                    end = min(f.tell(), size)
                    chunks.append(Chunk(path, start, end))
                    start = end
        except OSError:
            chunks.append(Chunk(path, 0, -1))  # _check_chunk reports it
            continue
        if size == 0:  # empty, or a special file whose size is unknown: read it whole
            chunks.append(Chunk(path, 0, -1))
    return chunks


def _check_chunk(chunk: Chunk) -> ChunkResult:
    lines: list[tuple[int, int, list[Finding], LineKey | None]] = []
    index = -1
    try:
        with open(chunk.path, "rb") as f:
            f.seek(chunk.start)
            data = f.read(chunk.end - chunk.start) if chunk.end >= 0 else f.read()
    except OSError as e:
        return ChunkResult(lines, 0, e.strerror or str(e))
    offset = chunk.start
    # BytesIO splits at \n only, as editors number lines (a lone \r does not end a line).
    for index, line in enumerate(io.BytesIO(data)):
        findings, key = check_line(line.rstrip(b"\r\n"))
        if findings or key is not None:
            lines.append((index, offset, findings, key))
        offset += len(line)
    return ChunkResult(lines, index + 1)


def cpu_count() -> int:
    """The CPUs this process may run on (its affinity, not the machine's total)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def usable_jobs(jobs: int) -> int:
    """`jobs` capped at the CPU count: more processes than CPUs only cost memory (a typo such
    as `-j 100000` would fork until the machine ran out).

    Raises:
        CorpusToolsError: when `jobs` is less than 1.
    """
    if jobs < 1:
        raise CorpusToolsError(f"--jobs must be at least 1, not {jobs}")
    return min(jobs, cpu_count())


@contextmanager
def _mapper(jobs: int) -> Iterator[Callable[..., Iterator[Any]]]:
    """`map` for one job; an ordered, lazily consumed process pool map for several."""
    if jobs == 1 or "fork" not in multiprocessing.get_all_start_methods():
        yield map
        return
    # fork: workers share this process's str hash seed, so LineKey.text_hash agrees across them.
    with multiprocessing.get_context("fork").Pool(jobs, initializer=_worker_signals) as pool:
        yield lambda func, items: pool.imap(func, items, chunksize=1)


def _worker_signals() -> None:
    # The parent handles Ctrl-C and SIGTERM and stops the pool; a worker just ends.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


class CorpusChecks:
    """The checks across lines and files: one line per (doc_id, annotator), no text drift."""

    def __init__(self, shown: Callable[[str], bool] = lambda code: True) -> None:
        self.pairs: dict[tuple[str, str], tuple[Path, int]] = {}
        self.texts: dict[str, tuple[LineKey, Path, int, int]] = {}
        # Whether a problem of a code will be listed; if not, its message is not worth the
        # disk reads that text drift's first-difference detail costs.
        self.shown = shown

    def add(self, key: LineKey, file: Path, line: int, byte_offset: int) -> list[Finding]:
        findings: list[Finding] = []
        pair = (key.doc_id, key.annotator)
        if pair in self.pairs:
            f0, l0 = self.pairs[pair]
            findings.append(("duplicate-record", "annotator",
                             f"doc_id {key.doc_id!r} by annotator {key.annotator!r} is also at "
                             f"{display(f0)}:{l0}; keep one line per document and annotator"))
        else:
            self.pairs[pair] = (file, line)
        first = self.texts.get(key.doc_id)
        if first is None:
            self.texts[key.doc_id] = (key, file, line, byte_offset)
        elif (first[0].text_hash, first[0].text_len) != (key.text_hash, key.text_len):
            here = byte_offset if self.shown("text-drift") else None
            findings.append(("text-drift", "text", _drift_message(key, first, file, here)))
        return findings


def _drift_message(key: LineKey, first: tuple[LineKey, Path, int, int], file: Path,
                   byte_offset: int | None) -> str:
    """The text-drift message; with the line's byte offset, it names the first difference."""
    first_key, f0, l0, first_offset = first
    where = f"{display(f0)}:{l0}"
    detail = f"lengths {key.text_len} here and {first_key.text_len} there"
    # Only hashes are kept in memory; read both texts back to say where they differ.
    there = here = None
    if byte_offset is not None:
        there, here = _read_text(f0, first_offset), _read_text(file, byte_offset)
    if there is not None and here is not None:
        i = next((i for i, (a, b) in enumerate(zip(here, there, strict=False)) if a != b),
                 min(len(here), len(there)))
        detail += (f"; first difference at code point {i}: here {here[i:i + 20]!r}, "
                   f"there {there[i:i + 20]!r}")
    return (f"the text of doc_id {key.doc_id!r} differs from the one at {where} ({detail}); "
            "every record of a document must carry the same text")


def _read_text(path: Path, byte_offset: int) -> str | None:
    try:
        with open(path, "rb") as f:
            f.seek(byte_offset)
            text = orjson.loads(f.readline()).get("text")
    except (OSError, orjson.JSONDecodeError, AttributeError):
        return None
    return text if isinstance(text, str) else None


# -- turning parse and model errors into findings ------------------------------------------


class _Pairs(dict):  # type: ignore[type-arg]
    """An object as `json` parsed it, remembering the keys it had more than once."""

    repeated: list[str]


def _pairs(pairs: list[tuple[str, Any]]) -> _Pairs:
    obj = _Pairs(pairs)
    seen: set[str] = set()
    obj.repeated = [k for k, _v in pairs if k in seen or seen.add(k)]  # type: ignore[func-returns-value]
    return obj


def _duplicate_keys(parsed: Any) -> Iterator[Finding]:
    """A finding for every key given twice in one object of the line (the last value counts
    for JSON parsers, but Arrow, which `corpus publish` reads with, refuses the line)."""

    def walk(value: Any, loc: tuple[int | str, ...]) -> Iterator[Finding]:
        if isinstance(value, _Pairs):
            for key in dict.fromkeys(value.repeated):
                yield ("duplicate-key", format_path((*loc, key)),
                       f"key {key!r} is given more than once in this object; keep one (JSON "
                       "readers disagree on which value counts)")
            for key, item in value.items():
                yield from walk(item, (*loc, key))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                yield from walk(item, (*loc, i))

    yield from walk(parsed, ())


def _decode_finding(raw: bytes, e: orjson.JSONDecodeError) -> Finding:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as u:
        hint = " (it looks UTF-16 encoded, as some Windows tools save)" \
            if raw[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in raw[:8] else ""
        return ("invalid-utf8", "",
                f"byte {u.start} (0x{raw[u.start]:02x}) is not valid UTF-8{hint}; save the file "
                "as UTF-8")
    if raw.startswith(b"\xef\xbb\xbf"):
        return ("invalid-json", "", "the line starts with a byte-order mark (U+FEFF); save the "
                "file as UTF-8 without BOM")
    where = f"{e.msg} at column {e.colno}"
    if "surrogate" in e.msg:
        return ("lone-surrogate", "",
                f"{where}: a lone UTF-16 surrogate escape cannot be stored as UTF-8; write the "
                "character itself")
    return ("invalid-json", "", f"{where}; each line must be one complete JSON object")


def _structure_findings(error: ValidationError) -> Iterator[Finding]:
    for err in error.errors(include_url=False):
        loc = err["loc"]
        path = format_path(loc)
        kind = err["type"]
        field = next((p for p in reversed(loc) if isinstance(p, str)), "")
        if kind == "missing":
            yield ("missing-field", path, f"required field {field!r} is missing")
        elif kind == "extra_forbidden":
            allowed = _fields_at(loc[:-1])
            close = difflib.get_close_matches(field, allowed, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else \
                f"; allowed here: {', '.join(allowed)}"
            yield ("unknown-field", path, f"unknown field {field!r}{hint}")
        elif kind in ("literal_error", "enum"):
            code = "invalid-label" if field in _LABEL_FIELDS else "invalid-value"
            yield (code, path, f"{_show(err['input'])} is not allowed: {err['msg'].lower()}")
        elif kind == "string_pattern_mismatch":
            code = "invalid-name" if field in fastpath.NAME_FIELDS or isinstance(loc[-1], int) \
                else "invalid-value"
            yield (code, path, f"{_show(err['input'])} does not match the pattern "
                   f"{err.get('ctx', {}).get('pattern')}")
        elif kind.endswith("_type") or kind in ("model_attributes_type", "dict_type",
                                                 "list_type", "none_required"):
            got = "null" if err["input"] is None else f"{_json_type(err['input'])} {_show(err['input'])}"
            yield ("wrong-type", path, f"{err['msg'].lower()}, got {got}")
        else:
            yield ("invalid-value", path, f"{_show(err['input'])}: {err['msg']}")


def format_path(loc: tuple[int | str, ...]) -> str:
    """`('attributions', 1, 'content', 'end')` -> `attributions[1].content.end`."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def _fields_at(loc: tuple[int | str, ...]) -> list[str]:
    """The field names allowed at `loc`, found by walking the models."""
    model: type[BaseModel] = Record
    for part in loc:
        if isinstance(part, int):
            continue
        info = model.model_fields.get(part)
        if info is None:
            return []
        model = model_of(info.annotation) or model
    return list(model.model_fields)


def _json_type(value: Any) -> str:
    return {bool: "boolean", int: "integer", float: "number", str: "string", list: "array",
            dict: "object", type(None): "null"}.get(type(value), type(value).__name__)


def _show(value: Any, width: int = 60) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."
