"""The validation run: files cut into chunks of whole lines, checked in order (in parallel with
`jobs`), and the checks across lines and files.

Files are streamed: each line is checked on its own (`corpus_tools.validate.lines`), and only
what the cross-line checks need is kept: for each document a hash of its text and where it was
first seen, the set of (doc_id, annotator) pairs, and, when asked, where each line is (the
document index that merge and agreement read documents through). Memory therefore grows with the
number of documents, not with the size of the files.

A chunk's result is a few columns (one entry per record line) and the findings of the lines that
have any: with `jobs`, each result is pickled in a worker and unpickled here, and columns of
numbers travel as bytes.
"""

from __future__ import annotations

import io
import multiprocessing
import os
import signal
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from corpus_tools.dataset import Inputs, Location, record_inputs
from corpus_tools.errors import CorpusToolsError
from corpus_tools.files import chunk_ranges, display
from corpus_tools.problems import CATALOGUE, Report, ReportBuilder, make_problem
from corpus_tools.schema import GOLD
from corpus_tools.validate.lines import check_line
from corpus_tools.validate.mirror import clean_record
from corpus_tools.validate.rules import Finding, using_aliases

CHUNK_BYTES = 4 << 20
"""Files are checked in chunks of about this size (cut at line ends), in order; with `jobs` > 1
the chunks are checked in parallel and their results consumed in file order."""


@dataclass
class Chunk:
    """A run of whole lines of one file: bytes `[start, end)`, checked as a unit."""

    path: Path
    start: int
    end: int
    predictions: bool = False
    """Check the lines as prediction records (`corpus validate --predictions`)."""


@dataclass
class ChunkResult:
    """What a chunk's lines gave: one entry per record line (a line with a usable `doc_id`,
    `annotator` and `text`) in the columns, and the findings of the lines that have any."""

    count: int = 0
    """How many lines the chunk has."""
    lines: array[int] = field(default_factory=lambda: array("q"))
    """Each record line's index within the chunk."""
    offsets: array[int] = field(default_factory=lambda: array("q"))
    """Its byte offset in the file."""
    lengths: array[int] = field(default_factory=lambda: array("q"))
    """Its length in bytes, the line end included."""
    doc_ids: list[str] = field(default_factory=list)
    annotators: list[str] = field(default_factory=list)
    """One string object per annotator of the chunk, so that pickling writes each once."""
    text_hashes: array[int] = field(default_factory=lambda: array("q"))
    text_lengths: array[int] = field(default_factory=lambda: array("q"))
    findings: dict[int, list[Finding]] = field(default_factory=dict)
    """Line index within the chunk -> its findings, for the lines that have any."""
    error: str | None = None
    """Why the file could not be read, if it could not."""


@dataclass
class Run:
    """A validation's outcome: the report and, when asked for, the document index."""

    files: list[Path]
    report: Report
    locations: dict[str, list[tuple[int, int, int]]] | None = field(default=None)
    """`doc_id -> [(file number, byte offset, length), ...]` of every record line, in file order
    (None unless `run(..., index=True)`)."""
    inputs: Inputs | None = None
    """Where the files came from (parquet files of a published dataset are read as converted
    JSONL files, which live as long as this does)."""


def start_run(
    paths: Iterable[Path | str],
    *,
    ignore: Iterable[str],
    max_problems: int | None,
    aliases: Path | None,
    dataset_aliases: bool,
    configs: tuple[str, ...] | None,
    split: str | None,
) -> tuple[frozenset[str], Inputs, list[Path]]:
    """What every engine's validation starts from: the options checked, the inputs found (a
    published dataset's `configs`, of one `split` or all) and the alias files to use (`aliases`,
    and with `dataset_aliases` those the datasets ship).

    Raises:
        CorpusToolsError: for an unknown code in `ignore`, a negative `max_problems`, or paths
            that hold no file to validate.
    """
    ignored = frozenset(ignore)
    unknown = sorted(ignored - CATALOGUE.keys())
    if unknown:
        raise CorpusToolsError(f"unknown problem code(s) for --ignore: {', '.join(unknown)}")
    if max_problems is not None and max_problems < 0:
        raise CorpusToolsError(f"--max-problems must be 0 (no limit) or more, not {max_problems}")
    paths = [Path(p) for p in paths]
    inputs = record_inputs(paths, configs=configs, split=split)
    if not inputs.files:
        # A mistyped folder must not pass CI as "valid: 0 file(s)".
        raise CorpusToolsError(
            f"no *.jsonl file or published dataset found in {', '.join(map(display, paths))}"
        )
    alias_files = [*([aliases] if aliases is not None else []), *(inputs.aliases if dataset_aliases else [])]
    return ignored, inputs, alias_files


def check_files(
    paths: Iterable[Path | str],
    *,
    ignore: Iterable[str] = (),
    max_problems: int | None = None,
    strict: bool = False,
    jobs: int = 1,
    index: bool = False,
    aliases: Path | None = None,
    dataset_aliases: bool = False,
    configs: tuple[str, ...] | None = None,
    split: str | None = None,
    predictions: bool = False,
    passes: bool = False,
) -> Run:
    """Validate files and folders of them (see `corpus_tools.validate.validate`); with `index`,
    also note where every record line is, so that nothing reads the files again to find them;
    with `predictions`, as prediction records (one per document); with `passes`, as annotators'
    passes (none named `gold`). A published dataset gives its `configs` (of one `split`, or all;
    see `corpus_tools.dataset.record_inputs`), and with `dataset_aliases` its alias file is used
    beside `aliases`."""
    ignore, inputs, alias_files = start_run(
        paths,
        ignore=ignore,
        max_problems=max_problems,
        aliases=aliases,
        dataset_aliases=dataset_aliases,
        configs=configs,
        split=split,
    )
    jobs = usable_jobs(jobs)
    files = inputs.files
    builder = ReportBuilder(ignore=ignore, max_per_code=max_problems)
    builder.files = len(files)
    corpus = CorpusChecks(
        files, shown=builder.shown, where=inputs.where, predictions=predictions, passes=passes
    )
    locations: dict[str, list[tuple[int, int, int]]] | None = {} if index else None
    numbers = {path: n for n, path in enumerate(files)}
    chunks = _chunks(files, predictions)
    # No more workers than chunks: a file of one chunk is checked in this process.
    with using_aliases(alias_files), _mapper(max(1, min(jobs, len(chunks)))) as mapper:
        line_base: dict[Path, int] = {}
        for chunk, result in zip(chunks, mapper(_check_chunk, chunks), strict=True):
            base = line_base.get(chunk.path, 0)
            line_base[chunk.path] = base + result.count
            _take(result, numbers[chunk.path], chunk.path, base, builder, corpus, locations, inputs.where)
            if result.error is not None:
                where = f" after line {base + result.count}" if base + result.count else ""
                at = inputs.where(chunk.path, (base + result.count) or None)
                builder.add(
                    make_problem(
                        "unreadable-file",
                        at.file,
                        at.line,
                        None,
                        f"cannot read the file{where}: {result.error}",
                        row=at.row,
                    )
                )
    return Run(files, builder.build(strict=strict), locations, inputs)


def _take(
    result: ChunkResult,
    file: int,
    path: Path,
    base: int,
    builder: ReportBuilder,
    corpus: CorpusChecks,
    locations: dict[str, list[tuple[int, int, int]]] | None,
    where: Callable[[Path, int | None], Location],
) -> None:
    """Add a chunk's results to the report (in line order, each line's own findings before
    those across lines) and to the document index; `base` is the number of the file's lines
    in earlier chunks, `where` says where a line came from (a parquet file's row)."""

    def report(number: int, found: Iterable[Finding]) -> None:
        at = where(path, number)
        for code, field_path, message in found:
            builder.add(make_problem(code, at.file, at.line, field_path or None, message, row=at.row))

    findings = result.findings
    waiting = sorted(findings)  # lines with findings, some of which may not be records
    w = 0
    builder.records += len(result.lines)
    names: dict[str, str] = {}  # one string object per annotator, kept in `corpus`
    for i, offset, length, doc_id, annotator, text_hash, text_length in zip(
        result.lines,
        result.offsets,
        result.lengths,
        result.doc_ids,
        result.annotators,
        result.text_hashes,
        result.text_lengths,
        strict=True,
    ):
        while w < len(waiting) and waiting[w] < i:
            report(base + waiting[w] + 1, findings[waiting[w]])
            w += 1
        number = base + i + 1
        annotator = names.setdefault(annotator, annotator)
        across = corpus.add(doc_id, annotator, text_hash, text_length, file, number, offset)
        if w < len(waiting) and waiting[w] == i:
            report(number, [*findings[i], *across])
            w += 1
        elif across:
            report(number, across)
        if locations is not None:
            locations.setdefault(doc_id, []).append((file, offset, length))
    for i in waiting[w:]:
        report(base + i + 1, findings[i])


def _chunks(files: list[Path], predictions: bool) -> list[Chunk]:
    """Cut each file into chunks of whole lines of about `CHUNK_BYTES`."""
    chunks = []
    for path in files:
        try:
            ranges = chunk_ranges(path, CHUNK_BYTES)
        except OSError:
            ranges = [(0, -1)]  # _check_chunk reports it
        chunks += [Chunk(path, start, end, predictions) for start, end in ranges]
    return chunks


def _check_chunk(chunk: Chunk) -> ChunkResult:
    result = ChunkResult()
    try:
        with open(chunk.path, "rb") as f:
            f.seek(chunk.start)
            data = f.read(chunk.end - chunk.start) if chunk.end >= 0 else f.read()
    except OSError as e:
        result.error = e.strerror or str(e)
        return result
    offset = chunk.start
    annotators: dict[str, str] = {}
    index = -1
    # BytesIO splits at \n only, as editors number lines (a lone \r does not end a line); it
    # yields one line at a time, where `split` would hold a copy of the whole chunk.
    for index, line in enumerate(io.BytesIO(data)):
        # The line end is JSON whitespace: the fast path takes the line as it is (no copy).
        # Prediction records have no fast path (its structs mirror the annotation record).
        rec = None if chunk.predictions else clean_record(line)
        if rec is not None:
            doc_id, annotator, text = rec.doc_id, rec.annotator, rec.text
            text_hash, text_length = hash(text), len(text)
        else:
            found, key = check_line(line.rstrip(b"\r\n"), predictions=chunk.predictions)
            if found:
                result.findings[index] = found
            if key is None:
                offset += len(line)
                continue
            doc_id, annotator, text_hash, text_length = key
        result.lines.append(index)
        result.offsets.append(offset)
        result.lengths.append(len(line))
        result.doc_ids.append(doc_id)
        result.annotators.append(annotators.setdefault(annotator, annotator))
        result.text_hashes.append(text_hash)
        result.text_lengths.append(text_length)
        offset += len(line)
    result.count = index + 1
    return result


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


def _where(path: Path, line: int | None) -> Location:
    return Location(display(path), line)


class CorpusChecks:
    """The checks across lines and files: one line per (doc_id, annotator), no text drift; for
    passes, no annotator named like gold."""

    def __init__(
        self,
        files: list[Path],
        shown: Callable[[str], bool] = lambda code: True,
        where: Callable[[Path, int | None], Location] = _where,
        predictions: bool = False,
        passes: bool = False,
    ) -> None:
        self.files = files
        self.pairs: dict[tuple[str, str], tuple[int, int]] = {}
        """`(doc_id, annotator) -> (file number, line)` where the pair was first seen."""
        self.texts: dict[str, tuple[int, int, int, int, int]] = {}
        """`doc_id -> (text hash, text length, file number, line, byte offset)` of its first
        record: a hash, not the text, so that memory grows with documents, not with text."""
        # Whether a problem of a code will be listed; if not, its message is not worth the
        # disk reads that text drift's first-difference detail costs.
        self.shown = shown
        self.where = where
        self.predictions = predictions
        self.passes = passes

    def add(
        self,
        doc_id: str,
        annotator: str,
        text_hash: int,
        text_length: int,
        file: int,
        line: int,
        byte_offset: int,
    ) -> Sequence[Finding]:
        """Note one record; the findings it raises across lines (usually none)."""
        pair = (doc_id, annotator)
        first = self.texts.get(doc_id)
        if (
            pair not in self.pairs
            and (first is None or (first[0] == text_hash and first[1] == text_length))
            and not (self.passes and annotator == GOLD)
        ):  # the usual case, settled before anything is noted
            self.pairs[pair] = (file, line)
            if first is None:
                self.texts[doc_id] = (text_hash, text_length, file, line, byte_offset)
            return ()
        findings: list[Finding] = []
        if self.passes and annotator == GOLD:
            findings.append(reserved_annotator())
        first_pair = self.pairs.get(pair)
        if first_pair is None:
            self.pairs[pair] = (file, line)
        else:
            f0, l0 = first_pair
            where = self.where(self.files[f0], l0)
            if self.predictions:
                findings.append(
                    Finding(
                        "duplicate-record",
                        "doc_id",
                        f"doc_id {doc_id!r} is predicted at {where} too; keep one "
                        "prediction per document (evaluate one system's predictions at a time)",
                    )
                )
            else:
                findings.append(
                    Finding(
                        "duplicate-record",
                        "annotator",
                        f"doc_id {doc_id!r} by annotator {annotator!r} is also at "
                        f"{where}; keep one line per document and annotator",
                    )
                )
        if first is None:
            self.texts[doc_id] = (text_hash, text_length, file, line, byte_offset)
        elif first[0] != text_hash or first[1] != text_length:
            here = byte_offset if self.shown("text-drift") else None
            findings.append(
                Finding("text-drift", "text", self._drift_message(doc_id, text_length, first, file, here))
            )
        return findings or ()

    def _drift_message(
        self,
        doc_id: str,
        text_length: int,
        first: tuple[int, int, int, int, int],
        file: int,
        byte_offset: int | None,
    ) -> str:
        """The text-drift message; with the line's byte offset, it names the first difference."""
        _hash, first_length, f0, l0, first_offset = first
        where = str(self.where(self.files[f0], l0))
        detail = f"lengths {text_length} here and {first_length} there"
        # Only hashes are kept in memory; read both texts back to say where they differ.
        there = here = None
        if byte_offset is not None:
            there, here = _read_text(self.files[f0], first_offset), _read_text(self.files[file], byte_offset)
        if there is not None and here is not None:
            detail += f"; {first_difference(here, there)}"
        return (
            f"the text of doc_id {doc_id!r} differs from the one at {where} ({detail}); "
            "every record of a document must carry the same text"
        )


def reserved_annotator() -> Finding:
    """The finding of a pass named like gold."""
    return Finding(
        "reserved-annotator",
        "annotator",
        f"annotator {GOLD!r} is the name of the gold records `corpus merge` writes, and this file "
        "is read as an annotator's pass; rename the annotator in every line of the file",
    )


def first_difference(here: str, there: str) -> str:
    """Where two texts first differ, for text-drift messages: `first difference at code point
    i: here '...', there '...'`."""
    i = next(
        (i for i, (a, b) in enumerate(zip(here, there, strict=False)) if a != b),
        min(len(here), len(there)),
    )
    return f"first difference at code point {i}: here {here[i : i + 20]!r}, there {there[i : i + 20]!r}"


def _read_text(path: Path, byte_offset: int) -> str | None:
    try:
        with open(path, "rb") as f:
            f.seek(byte_offset)
            text = orjson.loads(f.readline()).get("text")
    except (OSError, orjson.JSONDecodeError, AttributeError):
        return None
    return text if isinstance(text, str) else None
