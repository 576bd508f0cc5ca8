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

from corpus_tools.errors import CorpusToolsError
from corpus_tools.files import display
from corpus_tools.layers import LAYERS, Record
from corpus_tools.schema import GOLD, Meta, RecordBase
from corpus_tools.validate import Validated, require_valid

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
        indexes = [(handle, handle.index()) for handle in self.jsonl]
        try:
            for doc_id in self.doc_ids():
                found = list(self.rows.get(doc_id, []))
                for handle, index in indexes:
                    for number, offset, length in index.index.get(doc_id, []):
                        where = handle.where(index.files[number], None).file
                        found.append((where, Record.model_validate_json(index.line(number, offset, length))))
                yield _document(doc_id, found)
        finally:
            for _handle, index in indexes:
                index.close()


def is_gold(record: RecordBase) -> bool:
    """Whether a record is gold (merged) rather than one annotator's pass."""
    if record.annotator == GOLD:
        return True
    return any(
        getattr(item, "annotators", None) is not None for layer in LAYERS for item in getattr(record, layer)
    )


def is_dataset(path: Path) -> bool:
    """Whether `path` is a published dataset folder (`corpus_tools.dataset.is_dataset`)."""
    from corpus_tools.dataset import is_dataset as published

    return published(path)


def read_corpus(sources: Iterable[Source]) -> Corpus:
    """Validate the inputs and index their documents.

    Raises:
        InvalidInputError: when a JSONL file or a dataset row fails validation.
        CorpusToolsError: when a path does not exist, a dataset folder holds no parquet file or
            one that cannot be read, or there is no record at all.
    """
    handles: list[Validated] = []
    paths: list[Path] = []
    for source in sources:
        if isinstance(source, Validated):
            handles.append(source)
        else:
            paths.append(Path(source))
    datasets = [p for p in paths if is_dataset(p)]
    jsonl = [p for p in paths if p not in datasets]
    if jsonl:
        handles.append(require_valid(jsonl))
    # A published dataset folder gives its record configs, read through `corpus_tools.dataset`
    # like every command reads them; each is validated on its own, so that a gold file and the
    # dataset published from it can be shown together (their records are the same).
    handles += [require_valid([folder]) for folder in datasets]
    rows: dict[str, list[tuple[str, RecordBase]]] = defaultdict(list)
    warnings = sum(h.report.summary.warnings for h in handles)
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
