"""The configurations of a published dataset: what a row of each is, its features, and writing
the record configs.

| config | a row | split |
|---|---|---|
| `default` | a document's gold record, with `passes` and `adjudicated` | as `corpus split` made it |
| `annotators` | one annotator's line (a pass) | like gold: each document's lines in its gold split |
| `conflicts` | a line of the adjudication log (`conflicts.py`) | like gold |
| `spans` | one part of one gold item, flat (`spans.py`) | like gold |
| `tokens` | a gold document as tokens with IOB2 tags per layer (`tokens.py`; `--tokens`) | like gold |

Every config is split by the same manifest, so a document's rows are in one split in every
config: training on the raw passes or the adjudication log never sees a validation or test
document.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from datasets import Features

from corpus_tools.dataset import (
    ANNOTATORS_CONFIG,
    CONFLICTS_CONFIG,
    DEFAULT_CONFIG,
    DOCUMENT_COLUMNS,
    SPANS_CONFIG,
    TOKENS_CONFIG,
)
from corpus_tools.errors import CorpusToolsError
from corpus_tools.layers import LAYERS
from corpus_tools.publish import conflicts, spans, tokens
from corpus_tools.publish import features as feats
from corpus_tools.publish.parquet import CHUNK_SIZE, RecordStats, Sink, parse_records, read_records
from corpus_tools.publish.results import Progress, SplitSummary
from corpus_tools.validate import Validated


@dataclass(frozen=True)
class Config:
    """One configuration of the dataset."""

    name: str
    row: str
    """What a row is, for the card's table of configurations."""
    description: str
    """A paragraph for `dataset_info` (`load_dataset_builder(path, name).info.description`)."""
    features: Callable[[], Features]
    records: bool
    """Whether a row is a record (and the commands of corpus-tools read it as one)."""


CONFIGS: dict[str, Config] = {
    c.name: c
    for c in (
        Config(
            DEFAULT_CONFIG,
            "one document with its adjudicated (gold) annotations, and how well it is annotated "
            "(`passes`, `adjudicated`)",
            "Gold: one row per document, its text, provenance and rights, and its adjudicated "
            "annotations in every layer ("
            + ", ".join(LAYERS)
            + "), with the number of annotation passes behind it and whether every conflict "
            "between them was decided.",
            feats.gold_features,
            True,
        ),
        Config(
            ANNOTATORS_CONFIG,
            "one annotator's raw annotations of one document (a pass), to study disagreement",
            "The raw annotation passes: one row per annotator and document, before adjudication, "
            "split exactly as gold is (the same documents in each split).",
            feats.features,
            True,
        ),
        Config(
            CONFLICTS_CONFIG,
            "one line of the adjudication log: a conflict between the passes, with every "
            "annotator's version, the decision and its reason; or a correction of gold",
            "The adjudication log: every conflict between the annotation passes with each "
            "annotator's version, the adjudicator's decision and reason, and the correction lines "
            "that changed gold items the passes agreed on; split like gold.",
            conflicts.features,
            False,
        ),
        Config(
            SPANS_CONFIG,
            "one part (span) of one gold item, flat: for pandas, R and DuckDB",
            "Gold flattened for data-frame tools: one row per span of an item (question, answer, "
            "source, cue, content, stance), with its document, split, layer, label as a string and "
            "attributes; split like gold.",
            spans.features,
            False,
        ),
        Config(
            TOKENS_CONFIG,
            "one document's gold annotations as tokens with IOB2 tags per layer, for token classifiers",
            "Gold as tokens: one row per document, its tokens with their code-point offsets and "
            "sentence numbers, and one IOB2 tag sequence per layer ("
            + ", ".join(LAYERS)
            + "); split like gold.",
            tokens.features,
            False,
        ),
    )
}
"""Every config, in the order the card lists them."""


# -- the document columns -------------------------------------------------------------------


@dataclass
class Documents:
    """How well each document is annotated: its passes, and whether it is fully adjudicated.
    None where publish was not given the annotators' files (passes) or the conflicts file."""

    passes: dict[str, int] | None = None
    open: set[str] | None = None
    """Documents with an open conflict."""

    def columns(self, table: pa.Table) -> pa.Table:
        """`table` (gold records) with its document columns appended."""
        doc_ids = table.column("doc_id").to_pylist()
        values: dict[str, list[Any]] = {
            "passes": [None] * len(doc_ids)
            if self.passes is None
            else [self.passes.get(d, 0) for d in doc_ids],
            "adjudicated": [None] * len(doc_ids)
            if self.open is None
            else [d not in self.open for d in doc_ids],
        }
        schema = feats.gold_features().arrow_schema
        for name in DOCUMENT_COLUMNS:
            field = schema.field(name)
            table = table.append_column(field, pa.array(values[name], field.type))
        return table

    def count_passes(self, doc_ids: Sequence[str]) -> dict[str, int]:
        if self.passes is None:
            return {"unknown": len(doc_ids)}
        out: dict[str, int] = {}
        for d in doc_ids:
            key = str(self.passes.get(d, 0))
            out[key] = out.get(key, 0) + 1
        return dict(sorted(out.items(), key=lambda kv: int(kv[0])))

    def count_adjudicated(self, doc_ids: Sequence[str]) -> dict[str, int]:
        if self.open is None:
            return {"unknown": len(doc_ids)}
        false = sum(d in self.open for d in doc_ids)
        return {"true": len(doc_ids) - false, "false": false}


# -- writing ----------------------------------------------------------------------------------


@dataclass
class Written:
    """The splits written of `default` and `spans`, and the card's example row."""

    default: dict[str, SplitSummary]
    spans: dict[str, SplitSummary]
    example: Example | None = None


@dataclass(frozen=True)
class Example:
    """The card's example instance: the first gold row with an item in every layer (else the
    first row of all), where it is, and the row itself with labels as names."""

    split: str
    index: int
    """The row's index in its split, as `datasets` counts rows (from 0)."""
    row: dict[str, Any]
    complete: bool
    """Whether the row has an item in every layer."""


def write_gold(
    split_files: Mapping[str, Path],
    root: Path,
    documents: Documents,
    progress: Progress | None,
    on_table: Callable[[pa.Table, str], None],
) -> Written:
    """Write the `default` config (gold records and their document columns) and the `spans`
    config derived from it, split by split, in one pass over the split files."""
    written = Written({}, {})
    gold_schema = feats.gold_features().arrow_schema
    span_schema = spans.features().arrow_schema
    for split, path in split_files.items():
        stats = RecordStats()
        span_counts: dict[str, Counter[str]] = {"layer": Counter(), "part": Counter()}
        total = path.stat().st_size
        step = f"write {DEFAULT_CONFIG}/{split}"
        with (
            Sink(root, DEFAULT_CONFIG, split, gold_schema) as gold_sink,
            Sink(root, SPANS_CONFIG, split, span_schema) as span_sink,
        ):
            for table, position in read_records(path):
                on_table(table, split)
                stats.add(table)
                table, before = write_gold_chunk(table, split, documents, gold_sink, span_sink, span_counts)
                if written.example is None or not written.example.complete:
                    found = example_row(table)
                    if found is not None and (written.example is None or found[0]):
                        index, row = found[1], found[2]
                        written.example = Example(split, before + index, row, found[0])
                if progress:
                    progress(step, position, total)
        if progress:
            progress(step, total, total)
        if gold_sink.rows:
            written.default[split] = stats.summary(gold_sink)
        if span_sink.rows:
            summary = SplitSummary(
                rows=span_sink.rows, num_bytes=span_sink.num_bytes, files=list(span_sink.files)
            )
            summary.counts = {k: dict(sorted(v.items())) for k, v in span_counts.items()}
            written.spans[split] = summary
    return written


def write_gold_chunk(
    table: pa.Table,
    split: str,
    documents: Documents,
    gold_sink: Sink,
    span_sink: Sink,
    span_counts: dict[str, Counter[str]],
) -> tuple[pa.Table, int]:
    """Write one chunk of a split's gold records to `default` (with the document columns) and
    its spans to `spans`, counting the spans per layer and part in `span_counts`; return the
    table as written and the rows `gold_sink` held before it (for the example row's index).
    Every engine writes gold through this."""
    table = documents.columns(table)
    before = gold_sink.rows
    gold_sink.write(table)
    flat = spans.span_table(table, split)
    span_sink.write(flat)
    for column in ("layer", "part"):
        for entry in flat.column(column).value_counts().to_pylist():
            span_counts[column][entry["values"]] += entry["counts"]
    return table, before


def write_annotators(
    annotators: Validated,
    doc_split: Mapping[str, str],
    splits: Sequence[str],
    root: Path,
    progress: Progress | None,
) -> tuple[dict[str, SplitSummary], dict[str, list[str]]]:
    """Write the `annotators` config: every annotator's line, in the split of its document's
    gold record, in `doc_id` order (a document's lines in input order).

    Returns:
        The summary of each split with rows, and the annotators of every document's passes
        (lines), in input order.

    Raises:
        CorpusToolsError: when an annotator's document is in no split (the files are not those
            the gold was merged from), or the lines cannot be converted.
    """
    summaries: dict[str, SplitSummary] = {}
    schema = feats.arrow_schema()
    passes: dict[str, list[str]] = {}
    with annotators.index() as index:
        stray = sorted(set(index.index) - set(doc_split))
        if stray:
            number, _offset, _length = index.index[stray[0]][0]
            more = f" (and {len(stray) - 1} more)" if len(stray) > 1 else ""
            raise CorpusToolsError(
                f"{annotators.where(index.files[number], None).file}: doc_id {stray[0]!r}{more} is in "
                "no split of the gold; the --annotators files must be the ones the gold was merged from"
            )
        by_split: dict[str, list[str]] = {s: [] for s in splits}
        for doc_id in sorted(index.index):
            by_split[doc_split[doc_id]].append(doc_id)
        for split in splits:
            stats = RecordStats()
            step = f"write {ANNOTATORS_CONFIG}/{split}"
            with Sink(root, ANNOTATORS_CONFIG, split, schema) as sink:
                buffer: list[bytes] = []
                size = 0
                for done, doc_id in enumerate(by_split[split], start=1):
                    for line in index.lines(doc_id):
                        buffer.append(line.rstrip(b"\r\n"))
                        size += len(line)
                    if size >= CHUNK_SIZE or done == len(by_split[split]):
                        table = parse_records(b"\n".join(buffer) + b"\n", f"the annotators' lines of {split}")
                        for row in table.select(["doc_id", "annotator"]).to_pylist():
                            passes.setdefault(row["doc_id"], []).append(row["annotator"])
                        stats.add(table)
                        sink.write(table)
                        buffer, size = [], 0
                    if progress:
                        progress(step, done, len(by_split[split]))
            if sink.rows:
                summaries[split] = stats.summary(sink)
    return summaries, passes


def example_row(table: pa.Table) -> tuple[bool, int, dict[str, Any]] | None:
    """The card's example instance from a gold table: its first row with an item in every layer
    (else its first row), as `(complete, index in the table, row with labels as names)`; None
    for an empty table."""
    if not table.num_rows:
        return None
    full = None
    for name in LAYERS:
        has = pc.greater(pc.list_value_length(table.column(name)), 0)
        full = has if full is None else pc.and_(full, has)
    index = pc.index(full, True).as_py() if full is not None else -1
    row: dict[str, Any] = table.slice(max(index, 0), 1).to_pylist()[0]
    for name, layer in LAYERS.items():
        row[name] = [{**item, layer.label: layer.names[item[layer.label]]} for item in row[name]]
    return index >= 0, max(index, 0), row
