"""The Dask engine (`dask.distributed`): validate, merge and publish on a cluster.

The workers run the library's own per-line, per-document and per-chunk functions; the driver
(this process) only plans tasks, adds up counts and moves files into place. What crosses the
network:

- validate: each chunk's line count and its findings (at most `max_problems` per code), and,
  through a shuffle keyed on `doc_id`, each record's key (doc_id, annotator, a stable hash and the
  length of its text, where it is). The checks across lines (`CorpusChecks`) run per partition of
  doc_ids, on the records in file order, which is what they see in a local run;
- merge: the record lines, shuffled into ranges of doc_ids (boundaries from a sample), so that
  each partition writes its gold and conflicts in `doc_id` order and the files are their
  concatenation; the counts come back;
- publish: nothing but counts and each document's rights (for the card's rights table): each task
  converts a run of a split file and writes its own parquet shards, renamed into the Hub layout
  at the end.

Every task is retried (`RETRIES`) when it fails or its worker is lost; a task writes only its
own files, from scratch, so a retry gives the same files. Outputs stay inside the staged folder
or beside the staged file of the command (`files.Outputs`), so a failed run leaves nothing.
"""

from __future__ import annotations

import bisect
import heapq
import io
import itertools
import logging
import os
import pickle
import shutil
import socket
import tempfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import dask
import msgspec
from distributed import Client, Future, LocalCluster, as_completed

from corpus_tools.dataset import Inputs, layout_name
from corpus_tools.errors import CorpusToolsError
from corpus_tools.files import chunk_ranges, display, is_blank, read_range
from corpus_tools.problems import Problem, ReportBuilder, make_problem
from corpus_tools.validate.lines import check_line, stable_hash
from corpus_tools.validate.rules import using_aliases
from corpus_tools.validate.run import CorpusChecks, Run, start_run, usable_jobs

if TYPE_CHECKING:
    import pyarrow as pa

    from corpus_tools.engines import Progress
    from corpus_tools.merge import Merged
    from corpus_tools.publish.configs import Documents, Written
    from corpus_tools.validate import Validated

RETRIES = 3
"""Times a task is tried again after an error or the loss of its worker."""
TASK_BYTES = 16 << 20
"""Bytes of input per validate or merge task (cut at line ends)."""
SHARD_INPUT_BYTES = 256 << 20
"""Bytes of a split file per publish task; each task writes its own parquet shard(s)."""
SAMPLE = 64
"""doc_ids sampled per merge task to cut the doc_id ranges of the partitions."""


class DaskEngine:
    """A Dask cluster to run on: joined at `scheduler`, or a local one of `workers` processes.
    Use it as a context manager (see `corpus_tools.engines.open_engine`)."""

    name = "dask"

    def __init__(
        self,
        *,
        scheduler: str | None = None,
        workers: int = 1,
        progress: Progress | None = None,
        partitions: int | None = None,
        task_bytes: int = TASK_BYTES,
        shard_input_bytes: int = SHARD_INPUT_BYTES,
        client: Client | None = None,
    ) -> None:
        """`partitions` of the shuffles (twice the workers when None); `client` an already
        connected client to use (and leave open), as the tests share one cluster."""
        self.scheduler = scheduler
        self.workers = usable_jobs(workers) if scheduler is None and client is None else workers
        self.progress = progress
        self.partitions = partitions
        self.task_bytes = task_bytes
        self.shard_input_bytes = shard_input_bytes
        self.dashboard: str | None = None
        self._client = client
        self._owned: list[Any] = []

    def __enter__(self) -> DaskEngine:
        if self._client is None:
            if self.scheduler is not None:
                _check_address(self.scheduler)
                try:
                    self._client = Client(self.scheduler, timeout="20s", set_as_default=False)
                except (OSError, TimeoutError, ValueError) as e:
                    raise CorpusToolsError(f"--scheduler {self.scheduler}: cannot connect ({e})") from None
            else:
                # The workers' statistical profiler samples the task thread every 10 ms: about
                # 15% of the CPU of these pure-Python tasks. The nannies keep this setting for
                # the workers they restart.
                with dask.config.set({"distributed.worker.profile.enabled": False}):
                    cluster = LocalCluster(
                        n_workers=self.workers,
                        threads_per_worker=1,
                        processes=True,
                        dashboard_address=":0",
                        silence_logs=logging.ERROR,
                    )
                self._owned.append(cluster)
                self._client = Client(cluster, set_as_default=False)
            self._owned.insert(0, self._client)
        self.dashboard = self._client.dashboard_link
        return self

    def __exit__(self, *exc: object) -> None:
        for owned in self._owned:
            owned.close()
        self._owned.clear()
        self._client = None

    @property
    def client(self) -> Client:
        if self._client is None:
            raise CorpusToolsError("the Dask engine is used outside its `with` block")
        return self._client

    def _parts(self) -> int:
        if self.partitions is not None:
            return max(1, self.partitions)
        return max(1, 2 * len(self.client.scheduler_info()["workers"]))

    def _map(self, func: Callable[..., Any], *args: Sequence[Any]) -> list[Future[Any]]:
        return list(self.client.map(func, *args, retries=RETRIES, pure=False))

    def _submit(self, func: Callable[..., Any], *args: Any) -> Future[Any]:
        return self.client.submit(func, *args, retries=RETRIES, pure=False)

    def _gather(self, step: str, futures: list[Future[Any]]) -> list[Any]:
        """The futures' results, reporting progress as they finish."""
        if self.progress is not None:
            self.progress(step, 0, len(futures))
            for done, _future in enumerate(as_completed(futures, loop=self.client.loop), start=1):
                self.progress(step, done, len(futures))
        return list(self.client.gather(futures))

    # -- validate -------------------------------------------------------------------------------

    def check_files(
        self,
        paths: Iterable[Path | str],
        *,
        ignore: Iterable[str] = (),
        max_problems: int | None = None,
        strict: bool = False,
        jobs: int = 1,
        aliases: Path | None = None,
        dataset_aliases: bool = False,
        configs: tuple[str, ...] | None = None,
        split: str | None = None,
        predictions: bool = False,
        passes: bool = False,
    ) -> Run:
        """Validate on the cluster; the report is the local run's (`validate.run.check_files`).
        `jobs` is ignored: the cluster's workers are the jobs. Prediction records are checked
        by the local engine only (a model's predictions are one file per run, not a corpus)."""
        if predictions:
            raise CorpusToolsError("--predictions runs on the local engine; leave out --engine")
        ignored, inputs, alias_files = start_run(
            paths,
            ignore=ignore,
            max_problems=max_problems,
            aliases=aliases,
            dataset_aliases=dataset_aliases,
            configs=configs,
            split=split,
        )
        files = inputs.files
        where = replace(inputs, scratch=None)  # what messages need of it, without the folder
        tasks = _tasks(files, self.task_bytes)
        parts = self._parts()
        alias_files = [Path(os.path.abspath(a)) for a in alias_files]  # workers may run elsewhere
        checked = self._map(
            _check_lines, tasks, *_repeat(len(tasks), ignored, max_problems, alias_files, parts)
        )
        summaries: list[_Lines] = self._gather("validate lines", self._map(_first, checked))
        bases = _line_bases(tasks, summaries)
        chunk_files = [files[t.file] for t in tasks]
        across = [
            self._submit(
                _check_across,
                bases,
                chunk_files,
                [Path(os.path.abspath(f)) for f in chunk_files],
                where,
                ignored,
                max_problems,
                passes,
                *self._map(_bucket, checked, [p] * len(checked)),
            )
            for p in range(parts)
        ]
        found: list[tuple[Counter[str], list[_Found]]] = self._gather("validate across files", across)

        candidates: list[tuple[tuple[int, int, int, int], Problem]] = []
        totals: Counter[str] = Counter()
        records = 0
        for task, lines in zip(tasks, summaries, strict=True):
            base = bases[task.number]
            totals.update(lines.counts)
            records += lines.records
            for index, seq, code, path, message in lines.kept:
                at = where.where(files[task.file], base + index + 1)
                problem = make_problem(code, at.file, at.line, path or None, message, row=at.row)
                candidates.append(((task.number, index, 0, seq), problem))
            if lines.error is not None and "unreadable-file" not in ignored:
                end = base + lines.count
                after = f" after line {end}" if end else ""
                at = where.where(files[task.file], end or None)
                message = f"cannot read the file{after}: {lines.error}"
                problem = make_problem("unreadable-file", at.file, at.line, None, message, row=at.row)
                candidates.append(((task.number, lines.count, 2, 0), problem))
                totals["unreadable-file"] += 1
        for counts, kept in found:
            totals.update(counts)
            for chunk, index, seq, code, path, message in kept:
                at = where.where(chunk_files[chunk], bases[chunk] + index + 1)
                problem = make_problem(code, at.file, at.line, path or None, message, row=at.row)
                candidates.append(((chunk, index, 1, seq), problem))
        builder = ReportBuilder(ignore=ignored, max_per_code=max_problems)
        for _key, problem in sorted(candidates, key=lambda c: c[0]):
            builder.add(problem)
        builder.counts = totals
        builder.files = len(files)
        builder.records = records
        return Run(files, builder.build(strict=strict), None, inputs)

    # -- merge ----------------------------------------------------------------------------------

    def merge_documents(
        self, valid: Validated, merger: Any, gold: BinaryIO, conflicts: BinaryIO, gold_name: str
    ) -> Merged:
        """Merge on the cluster: the lines shuffled into ranges of doc_ids, each range merged by
        `merge.merge_documents` into files of its own, which are concatenated into `gold` and
        `conflicts` in range order (that is, in `doc_id` order)."""
        from corpus_tools.merge import Merged

        tasks = _tasks(list(valid.files), self.task_bytes)
        parts = self._parts()
        sorted_lines = self._map(_document_lines, tasks)
        samples: list[list[str]] = self._gather("merge: read", self._map(_sample, sorted_lines))
        cuts = _cuts(samples, parts)
        scratch = Path(tempfile.mkdtemp(prefix=".corpus-merge-", dir=os.path.abspath(Path(gold.name).parent)))
        try:
            state = self.client.scatter(pickle.dumps(merger), broadcast=True)
            ranges = list(zip([None, *cuts], [*cuts, None], strict=True))
            merged_parts = [
                self._submit(
                    _merge_range,
                    state,
                    gold_name,
                    str(scratch),
                    p,
                    *self._map(_slice, sorted_lines, [lo] * len(tasks), [hi] * len(tasks)),
                )
                for p, (lo, hi) in enumerate(ranges)
            ]
            done: list[Merged] = self._gather("merge: documents", merged_parts)
            total = Merged.empty()
            for p, part in enumerate(done):
                for name, into in (("gold", gold), ("conflicts", conflicts)):
                    with open(scratch / f"{name}-{p:05d}.jsonl", "rb") as f:
                        shutil.copyfileobj(f, into, 1 << 20)
                total.add(part)
                merger.took(part)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        return total

    # -- publish --------------------------------------------------------------------------------

    def write_gold(
        self,
        split_files: Mapping[str, Path],
        root: Path,
        documents: Documents,
        progress: Progress | None,
        on_table: Callable[[pa.Table, str], None],
    ) -> Written:
        """Write `default` and `spans` on the cluster: each task converts a run of one split
        file's chunks (the chunks `publish.parquet` reads) into shards of its own, with row
        groups cut as `parquet.Sink` cuts them; the shards are then renamed into the Hub
        layout. The driver receives counts, each chunk's `doc_id` and `meta` (for the rights of
        every document, checked against the manifest as the local run checks them) and the
        candidates for the card's example row."""
        from corpus_tools.dataset import DEFAULT_CONFIG, SPANS_CONFIG
        from corpus_tools.publish.configs import Example, Written
        from corpus_tools.publish.parquet import CHUNK_SIZE, RecordStats
        from corpus_tools.publish.results import SplitSummary

        scratch = Path(os.path.abspath(root)) / ".parts"  # workers may run in another folder
        plan: list[tuple[str, int, Path, list[tuple[int, int]]]] = []
        for split, path in split_files.items():
            path = Path(os.path.abspath(path))
            # The chunks `write_gold` reads (smaller when the tasks are: the example row, the
            # first complete one, does not depend on where chunks are cut).
            ranges = chunk_ranges(path, min(CHUNK_SIZE, self.shard_input_bytes))
            for number, group in enumerate(_groups(ranges, self.shard_input_bytes)):
                plan.append((split, number, path, group))
        state = self.client.scatter(documents, broadcast=True)
        shards = self._map(
            _write_shards,
            [p[2] for p in plan],
            [p[3] for p in plan],
            [p[0] for p in plan],
            [str(scratch / f"{p[0]}-{p[1]:05d}") for p in plan],
            [state] * len(plan),
        )
        results: list[_Shards] = self._gather("publish: write", shards)
        written = Written({}, {}, None)
        for split in split_files:
            mine = [r for (s, *_), r in zip(plan, results, strict=True) if s == split]
            stats = RecordStats()
            counts: dict[str, Counter[str]] = {"layer": Counter(), "part": Counter()}
            rows = {DEFAULT_CONFIG: 0, SPANS_CONFIG: 0}
            num_bytes = {DEFAULT_CONFIG: 0, SPANS_CONFIG: 0}
            files: dict[str, list[Path]] = {DEFAULT_CONFIG: [], SPANS_CONFIG: []}
            for r in mine:
                for table in r.rights:
                    on_table(table, split)
                base = rows[DEFAULT_CONFIG]  # the rows of this split before this task's
                for complete, index, row in r.examples:  # the local run's choice, chunk by chunk
                    current = written.example
                    if current is None or (not current.complete and complete):
                        written.example = Example(split, base + index, row, complete)
                stats.rows += r.stats.rows
                stats.items.update(r.stats.items)
                for layer, labels in r.stats.labels.items():
                    stats.labels[layer].update(labels)
                stats.annotators.update(r.stats.annotators)
                for column, values in r.span_counts.items():
                    counts[column].update(values)
                for config in rows:
                    rows[config] += r.rows[config]
                    num_bytes[config] += r.num_bytes[config]
                    files[config] += [Path(r.root) / f for f in r.files[config]]
            if progress:
                progress(f"write {DEFAULT_CONFIG}/{split}", 1, 1)
            names = {config: _place(root, config, split, found) for config, found in files.items()}
            if rows[DEFAULT_CONFIG]:
                written.default[split] = SplitSummary(
                    rows=rows[DEFAULT_CONFIG],
                    num_bytes=num_bytes[DEFAULT_CONFIG],
                    files=names[DEFAULT_CONFIG],
                    items={layer: stats.items[layer] for layer in stats.labels},
                    labels={
                        layer: {label: labels[label] for label in _label_names(layer)}
                        for layer, labels in stats.labels.items()
                    },
                    annotators=dict(sorted(stats.annotators.items())),
                )
            if rows[SPANS_CONFIG]:
                written.spans[split] = SplitSummary(
                    rows=rows[SPANS_CONFIG],
                    num_bytes=num_bytes[SPANS_CONFIG],
                    files=names[SPANS_CONFIG],
                    counts={k: dict(sorted(v.items())) for k, v in counts.items()},
                )
        shutil.rmtree(scratch, ignore_errors=True)
        return written


# -- planning -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Task:
    """A run of whole lines of one file: bytes `[start, end)` (`end` -1: to the end)."""

    number: int
    """Its place among all tasks, in file order: the order of the lines."""
    file: int
    path: str
    """The file's absolute path: workers may run in another folder, or on another machine."""
    start: int
    end: int
    size: int = -1
    """The file's size as the driver found it (-1: it could not), checked by the worker."""


def _tasks(files: Sequence[Path], size: int) -> list[_Task]:
    tasks: list[_Task] = []
    for number, path in enumerate(files):
        try:
            ranges = chunk_ranges(path, size)
            found = path.stat().st_size
        except OSError:
            ranges, found = [(0, -1)], -1  # the task reports it
        where = os.path.abspath(path)
        tasks += [_Task(len(tasks) + i, number, where, s, e, found) for i, (s, e) in enumerate(ranges)]
    return tasks


def _check_address(address: str) -> None:
    """Refuse a scheduler address Dask cannot parse (before a client is made: a failed one
    waits out its timeout as it is collected)."""
    from distributed.comm.addressing import parse_address

    if address.startswith(("http://", "https://")):
        raise CorpusToolsError(
            f"--scheduler {address}: that is a web address (the dashboard's?); give the "
            "scheduler's, e.g. tcp://host:8786"
        )
    try:
        _scheme, location = parse_address(address)
        if ":" not in location.rsplit("]", 1)[-1]:
            raise ValueError("missing port number")
    except ValueError as e:
        raise CorpusToolsError(
            f"--scheduler {address}: not a scheduler address ({e}); e.g. tcp://host:8786"
        ) from None


def _check_same_file(path: str, size: int) -> None:
    """Refuse to read `path` on a worker that does not see the file the driver planned with (a
    worker in another folder or on a machine without the shared file system): its report would
    be about other data."""
    if size < 0:
        return
    try:
        found = os.stat(path).st_size
    except OSError:
        found = -1
    if found != size:
        sees = "no file" if found < 0 else f"a file of {found} bytes"
        raise CorpusToolsError(
            f"{path}: a worker on {socket.gethostname()} sees {sees} where the driver found "
            f"{size} bytes; every worker must see the inputs at the same path (a shared file system)"
        )


def _repeat(n: int, *values: Any) -> list[list[Any]]:
    return [[v] * n for v in values]


def _first(pair: tuple[Any, Any]) -> Any:
    return pair[0]


def _bucket(pair: tuple[Any, list[list[Any]]], part: int) -> list[Any]:
    return pair[1][part]


def _part(doc_id: str, parts: int) -> int:
    """The partition of a doc_id: the same on every machine."""
    return zlib.crc32(doc_id.encode("utf-8", "surrogatepass")) % parts


def _line_bases(tasks: Sequence[_Task], summaries: Sequence[_Lines]) -> list[int]:
    """For each task, the number of lines of its file in the tasks before it."""
    bases: list[int] = []
    seen: dict[int, int] = {}
    for task, lines in zip(tasks, summaries, strict=True):
        base = seen.get(task.file, 0)
        bases.append(base)
        seen[task.file] = base + lines.count
    return bases


# -- validate: the tasks --------------------------------------------------------------------------


@dataclass
class _Lines:
    """What one task's lines gave: counts, and the first findings of each code."""

    count: int = 0
    records: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    kept: list[tuple[int, int, str, str, str]] = field(default_factory=list)
    """`(line index in the task, index among the line's findings, code, path, message)`: the
    first `max_problems` of each code (only those can be among the report's first)."""
    error: str | None = None


_Found = tuple[int, int, int, str, str, str]
"""A finding across lines: `(task number, line index in the task, index, code, path, message)`."""


def _check_lines(
    task: _Task, ignore: frozenset[str], cap: int | None, aliases: list[Path], parts: int
) -> tuple[_Lines, list[list[tuple[str, str, int, int, int, int, int]]]]:
    """Check a task's lines on their own (`check_line`); return the summary and each record's
    key, bucketed by the partition of its doc_id."""
    result = _Lines()
    buckets: list[list[tuple[str, str, int, int, int, int, int]]] = [[] for _ in range(parts)]
    _check_same_file(task.path, task.size)
    try:
        data = read_range(Path(task.path), task.start, task.end)
    except OSError as e:
        result.error = e.strerror or str(e)
        return result, buckets
    offset = task.start
    index = -1
    with using_aliases(aliases):
        # BytesIO splits at \n only, as the local run does (a lone \r does not end a line).
        for index, line in enumerate(io.BytesIO(data)):
            findings, key = check_line(line.rstrip(b"\r\n"), stable_hash)
            for seq, (code, path, message) in enumerate(findings):
                if code in ignore:
                    continue
                result.counts[code] += 1
                if cap is None or result.counts[code] <= cap:
                    result.kept.append((index, seq, code, path, message))
            if key is not None:
                result.records += 1
                buckets[_part(key.doc_id, parts)].append(
                    (key.doc_id, key.annotator, key.text_hash, key.text_len, task.number, index, offset)
                )
            offset += len(line)
    result.count = index + 1
    return result, buckets


def _check_across(
    bases: list[int],
    chunk_files: list[Path],
    read_files: list[Path],
    where: Inputs,
    ignore: frozenset[str],
    cap: int | None,
    passes: bool,
    *buckets: list[tuple[str, str, int, int, int, int, int]],
) -> tuple[Counter[str], list[_Found]]:
    """The checks across lines (`CorpusChecks`) on one partition of doc_ids, fed in file order
    as the local run feeds them; the counts per code and the first `cap` findings of each."""
    counts: Counter[str] = Counter()

    def shown(code: str) -> bool:
        return code not in ignore and (cap is None or counts[code] < cap)

    # Lines are read back (for a drift's first difference) from `read_files`, the driver's
    # absolute paths, and named in messages by `chunk_files`, the paths as the user gave them.
    given = dict(zip(read_files, chunk_files, strict=True))
    corpus = CorpusChecks(
        read_files, shown=shown, where=lambda path, line: where.where(given[path], line), passes=passes
    )
    kept: list[_Found] = []
    keys = sorted(itertools.chain.from_iterable(buckets), key=lambda k: (k[4], k[5]))
    for doc_id, annotator, text_hash, text_len, chunk, index, offset in keys:
        line = bases[chunk] + index + 1
        findings = corpus.add(doc_id, annotator, text_hash, text_len, chunk, line, offset)
        for seq, (code, path, message) in enumerate(findings):
            if code in ignore:
                continue
            counts[code] += 1
            if cap is None or counts[code] <= cap:
                kept.append((chunk, index, seq, code, path, message))
    return counts, kept


# -- merge: the tasks -----------------------------------------------------------------------------


class _DocId(msgspec.Struct):
    doc_id: str


_DOC_ID = msgspec.json.Decoder(_DocId)

_Line = tuple[str, int, int, bytes]
"""A record line keyed for the shuffle: `(doc_id, file number, byte offset, line)`."""


def _document_lines(task: _Task) -> list[_Line]:
    """A task's record lines, sorted by doc_id and then by place (the local run's order)."""
    _check_same_file(task.path, task.size)
    data = read_range(Path(task.path), task.start, task.end)
    lines: list[_Line] = []
    offset = task.start
    for line in io.BytesIO(data):
        if not is_blank(line):
            lines.append((_DOC_ID.decode(line).doc_id, task.file, offset, line))
        offset += len(line)
    lines.sort(key=lambda t: (t[0], t[1], t[2]))
    return lines


def _sample(lines: list[_Line]) -> list[str]:
    """Up to `SAMPLE` doc_ids spread over a task's sorted lines."""
    if not lines:
        return []
    step = max(1, len(lines) // SAMPLE)
    return [lines[i][0] for i in range(0, len(lines), step)]


def _cuts(samples: list[list[str]], parts: int) -> list[str]:
    """`parts - 1` doc_ids cutting the sampled doc_ids into ranges of about equal size."""
    pooled = sorted(set(itertools.chain.from_iterable(samples)))
    if len(pooled) < 2 or parts < 2:
        return []
    cuts = sorted({pooled[len(pooled) * i // parts] for i in range(1, parts)})
    return [c for c in cuts if c != pooled[0]]


def _slice(lines: list[_Line], lo: str | None, hi: str | None) -> list[_Line]:
    """The lines whose doc_id is in `[lo, hi)` (None: unbounded)."""
    start = 0 if lo is None else bisect.bisect_left(lines, lo, key=lambda t: t[0])
    end = len(lines) if hi is None else bisect.bisect_left(lines, hi, key=lambda t: t[0])
    return lines[start:end]


def _merge_range(state: bytes, gold_name: str, scratch: str, part: int, *pieces: list[_Line]) -> Merged:
    """Merge one range of doc_ids: its pieces merged into doc_id order, each document's lines
    in file order, through `merge.merge_documents` into this range's own files."""
    from corpus_tools.merge import Merged, merge_documents

    merger = pickle.loads(state)  # a fresh copy per range: the merger notes what it used
    merged = Merged.empty()
    ordered = heapq.merge(*pieces, key=lambda t: (t[0], t[1], t[2]))
    documents = ([t[3] for t in group] for _doc_id, group in itertools.groupby(ordered, key=lambda t: t[0]))
    folder = Path(scratch)
    with (
        open(folder / f"gold-{part:05d}.jsonl", "wb") as gold_f,
        open(folder / f"conflicts-{part:05d}.jsonl", "wb") as conf_f,
    ):
        merge_documents(merger, documents, gold_f, conf_f, merged, gold_name)
    return merged


# -- publish: the tasks ---------------------------------------------------------------------------


def _groups(ranges: list[tuple[int, int]], size: int) -> Iterator[list[tuple[int, int]]]:
    """Consecutive ranges in groups of about `size` bytes."""
    group: list[tuple[int, int]] = []
    total = 0
    for start, end in ranges:
        group.append((start, end))
        total += end - start if end >= 0 else size
        if total >= size:
            yield group
            group, total = [], 0
    if group:
        yield group


@dataclass
class _Shards:
    """What a publish task wrote and counted."""

    root: str
    rows: dict[str, int]
    num_bytes: dict[str, int]
    files: dict[str, list[str]]
    stats: Any
    """Its `parquet.RecordStats`."""
    span_counts: dict[str, Counter[str]]
    rights: list[Any]
    """Per chunk, the table of `doc_id` and `meta` (the documents' rights)."""
    examples: list[tuple[bool, int, dict[str, Any]]]
    """Each chunk's candidate for the card's example (`(complete, row in this task's shards,
    row)`, as `publish.configs.example_row` gives it), up to the first complete one."""


def _write_shards(
    path: Path, ranges: list[tuple[int, int]], split: str, root: str, documents: Documents
) -> _Shards:
    """Convert a run of a split file's chunks into `default` and `spans` shards under `root`,
    as `publish.configs.write_gold` converts them."""
    from corpus_tools.dataset import DEFAULT_CONFIG, SPANS_CONFIG
    from corpus_tools.publish import features as feats
    from corpus_tools.publish import spans
    from corpus_tools.publish.configs import example_row, write_gold_chunk
    from corpus_tools.publish.parquet import RecordStats, Sink, parse_records

    folder = Path(root)
    shutil.rmtree(folder, ignore_errors=True)  # a retried task starts again
    folder.mkdir(parents=True)
    stats = RecordStats()
    span_counts: dict[str, Counter[str]] = {"layer": Counter(), "part": Counter()}
    rights: list[Any] = []
    examples: list[tuple[bool, int, dict[str, Any]]] = []
    with (
        Sink(folder, DEFAULT_CONFIG, split, feats.gold_features().arrow_schema) as gold_sink,
        Sink(folder, SPANS_CONFIG, split, spans.features().arrow_schema) as span_sink,
    ):
        for start, end in ranges:
            data = read_range(path, start, end)
            if not data or is_blank(data):
                continue
            table = parse_records(data, f"{display(path)}, bytes {start}-{start + len(data)}", path)
            rights.append(_rights_table(table))
            stats.add(table)
            table, before = write_gold_chunk(table, split, documents, gold_sink, span_sink, span_counts)
            if not examples or not examples[-1][0]:
                found = example_row(table)
                if found is not None:
                    examples.append((found[0], before + found[1], found[2]))
    return _Shards(
        root,
        {DEFAULT_CONFIG: gold_sink.rows, SPANS_CONFIG: span_sink.rows},
        {DEFAULT_CONFIG: gold_sink.num_bytes, SPANS_CONFIG: span_sink.num_bytes},
        {DEFAULT_CONFIG: list(gold_sink.files), SPANS_CONFIG: list(span_sink.files)},
        stats,
        span_counts,
        rights,
        examples,
    )


def _rights_table(table: pa.Table) -> pa.Table:
    """What the driver needs of a gold table (`publish._Documents.add`): each document's id and
    `meta`, and of its items only their `annotators`, not the rows."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from corpus_tools.layers import LAYERS

    columns = {"doc_id": table.column("doc_id"), "meta": table.column("meta")}
    for name in LAYERS:
        items = table.column(name).combine_chunks()
        annotators = pc.list_flatten(items).field("annotators")
        offsets = pc.subtract(items.offsets, items.offsets[0])
        columns[name] = pa.ListArray.from_arrays(
            offsets, pa.StructArray.from_arrays([annotators], names=["annotators"])
        )
    return pa.table(columns)


def _place(root: Path, config: str, split: str, shards: list[Path]) -> list[str]:
    """Move a split's shards, in order, to their Hub names; return those names."""
    names = []
    for i, shard in enumerate(shards):
        name = layout_name(config, split, i, len(shards))
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        os.replace(shard, root / name)
        names.append(name)
    return names


def _label_names(layer: str) -> tuple[str, ...]:
    from corpus_tools.layers import LAYERS

    return tuple(LAYERS[layer].names)
