"""The records a site shows, read from annotator and gold JSONL files, or from a published dataset.

- JSONL files and folders are validated as every command validates them (`require_valid`).
- A *dataset folder* is what `corpus publish` writes: a `README.md` (the card) beside a `data/`
  folder of parquet files. Every row of every config (`default`: gold; `annotators`: the raw
  passes) is read back into a record, its labels turned from `ClassLabel` indices into names,
  and checked as `corpus validate` checks a line (`check_line_fully`); a problem names the
  parquet file and the row (1-based, where a JSONL problem names the line).

A document's records are split into *gold* (a record whose items list the `annotators` who
proposed them, or whose annotator is `gold`) and *passes* (one annotator's annotations each).
Records of one document must have the same text, and a `(doc_id, annotator)` pair may come from
two sources only as the same record (a gold file and the dataset published from it).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from corpus_tools.errors import CorpusToolsError, InvalidInputError
from corpus_tools.files import display, input_files
from corpus_tools.layers import LAYERS, Record
from corpus_tools.problems import CATALOGUE, ReportBuilder, make_problem
from corpus_tools.schema import Meta, RecordBase
from corpus_tools.validate import Validated, require_valid

GOLD = "gold"
"""The annotator name `corpus merge` gives gold records by default."""

Source = Path | str | Validated
"""An input: a JSONL file, a folder (of JSONL files, or a published dataset), or files already
validated (`Validated`, as `corpus build` passes its annotations and gold)."""


@dataclass
class Document:
    """Every record of one document."""

    doc_id: str
    text: str
    meta: Meta
    gold: list[RecordBase] = field(default_factory=list)
    passes: list[RecordBase] = field(default_factory=list)
    """The annotators' records, sorted by annotator."""

    @property
    def records(self) -> list[RecordBase]:
        """Gold first, then the passes."""
        return [*self.gold, *self.passes]


@dataclass
class Corpus:
    """The documents of the inputs, read one at a time."""

    jsonl: list[Validated]
    rows: dict[str, list[tuple[str, RecordBase]]]
    """Records read from dataset folders: `doc_id -> [(where, record), ...]`."""
    warnings: int
    """Validation warnings in the inputs (they do not stop the site)."""
    inputs: list[Path]
    """Every file and folder read, to keep the output away from them."""
    _ids: list[str] | None = None

    def doc_ids(self) -> list[str]:
        """Every `doc_id`, sorted."""
        if self._ids is None:
            ids = set(self.rows)
            for handle in self.jsonl:
                with handle.index() as index:
                    ids.update(index.doc_ids())
            self._ids = sorted(ids)
        return self._ids

    def documents(self) -> Iterator[Document]:
        """Each document with all its records, in `doc_id` order.

        Raises:
            CorpusToolsError: when two records of a document have different texts, or one
                annotator has two different records of it.
        """
        indexes = [handle.index() for handle in self.jsonl]
        try:
            for doc_id in self.doc_ids():
                found = list(self.rows.get(doc_id, []))
                for index in indexes:
                    for number, offset, length in index.index.get(doc_id, []):
                        where = display(index.files[number])
                        found.append((where, Record.model_validate_json(index.line(number, offset, length))))
                yield _document(doc_id, found)
        finally:
            for index in indexes:
                index.close()


def is_gold(record: RecordBase) -> bool:
    """Whether a record is gold (merged) rather than one annotator's pass."""
    if record.annotator == GOLD:
        return True
    return any(
        getattr(item, "annotators", None) is not None for layer in LAYERS for item in getattr(record, layer)
    )


def is_dataset(path: Path) -> bool:
    """Whether `path` is a published dataset folder: a card (`README.md`) beside `data/`."""
    return path.is_dir() and (path / "README.md").is_file() and (path / "data").is_dir()


def read_corpus(sources: Iterable[Source]) -> Corpus:
    """Validate the inputs and index their documents.

    Raises:
        InvalidInputError: when a JSONL file or a dataset row fails validation.
        CorpusToolsError: when a path does not exist, a dataset folder holds no parquet file or
            one that cannot be read, or there is no record at all.
    """
    handles: list[Validated] = []
    paths: list[Path] = []
    datasets: list[Path] = []
    for source in sources:
        if isinstance(source, Validated):
            handles.append(source)
        elif is_dataset(Path(source)):
            datasets.append(Path(source))
        else:
            paths.append(Path(source))
    if paths:
        handles.append(require_valid(paths))
    rows: dict[str, list[tuple[str, RecordBase]]] = defaultdict(list)
    warnings = sum(h.report.summary.warnings for h in handles)
    for folder in datasets:
        found, folder_warnings = _read_dataset(folder)
        warnings += folder_warnings
        for where, record in found:
            rows[record.doc_id].append((where, record))
    corpus = Corpus(
        handles,
        dict(rows),
        warnings,
        [*paths, *datasets, *(f for h in handles for f in h.files)],
    )
    if not corpus.doc_ids():
        shown = ", ".join(display(p) for p in [*paths, *datasets]) or "the inputs"
        raise CorpusToolsError(f"{shown}: no records to show")
    return corpus


def _document(doc_id: str, found: list[tuple[str, RecordBase]]) -> Document:
    first_where, first = found[0]
    doc = Document(doc_id, first.text, first.meta)
    seen: dict[str, tuple[str, RecordBase]] = {}
    for where, record in found:
        if record.text != doc.text:
            at = next(
                (i for i, (a, b) in enumerate(zip(record.text, doc.text, strict=False)) if a != b), None
            )
            at = min(len(record.text), len(doc.text)) if at is None else at
            raise CorpusToolsError(
                f"{doc_id}: the text of {record.annotator}'s record ({where}) differs from "
                f"{first.annotator}'s ({first_where}) at code point {at}; every record of a "
                "document must have the same text"
            )
        earlier = seen.get(record.annotator)
        if earlier is not None:
            if earlier[1] == record:
                continue  # the same record from two sources: a gold file and its dataset
            raise CorpusToolsError(
                f"{doc_id}: {record.annotator} has two different records of it ({earlier[0]} and "
                f"{where}); give one of them"
            )
        seen[record.annotator] = (where, record)
        (doc.gold if is_gold(record) else doc.passes).append(record)
    doc.gold.sort(key=lambda r: r.annotator)
    doc.passes.sort(key=lambda r: r.annotator)
    return doc


# -- published datasets ---------------------------------------------------------------------------


def _read_dataset(folder: Path) -> tuple[list[tuple[str, RecordBase]], int]:
    """Every row of every parquet file under `folder/data`, as records, and the warnings.

    Raises:
        InvalidInputError: when a row is not a valid record.
        CorpusToolsError: when there is no parquet file or one cannot be read.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    files = input_files([folder / "data"], pattern="*.parquet")
    if not files:
        raise CorpusToolsError(
            f"{display(folder)}: a dataset folder (README.md and data/) with no parquet file "
            "under data/; give the folder `corpus publish` wrote"
        )
    builder = ReportBuilder()
    out = []
    for path in files:
        builder.files += 1
        shown = display(path)
        try:
            table = pq.read_table(path)
        except (pa.ArrowException, OSError) as e:
            raise CorpusToolsError(f"{shown}: cannot read the parquet file: {e}") from None
        for number, row in enumerate(table.to_pylist(), start=1):
            builder.records += 1
            record = _record(row, shown, number, builder)
            if record is not None:
                out.append((f"{shown} row {number}", record))
    report = builder.build()
    if not report.valid:
        raise InvalidInputError(report)
    return out, report.summary.warnings


def _record(row: dict[str, Any], shown: str, number: int, builder: ReportBuilder) -> RecordBase | None:
    """A parquet row as a record (None when it has errors, which go to `builder`)."""
    from corpus_tools.validate.lines import check_line_fully

    for layer in LAYERS.values():
        items = row.get(layer.name)
        for item in items if isinstance(items, list) else []:
            label = item.get(layer.label) if isinstance(item, dict) else None
            if isinstance(label, int) and 0 <= label < len(layer.names):
                item[layer.label] = layer.names[label]  # a ClassLabel index, back to its name
    raw = orjson.dumps(row, default=str)
    findings, _key = check_line_fully(raw)
    errors = False
    for finding in findings:
        builder.add(make_problem(finding.code, shown, number, finding.path or None, finding.message))
        errors = errors or CATALOGUE[finding.code].severity == "error"
    return None if errors else Record.model_validate_json(raw)
