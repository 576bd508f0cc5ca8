"""The `conflicts` config: the adjudication log, one row per line of the conflicts file that
`corpus merge` writes (see docs/merge.md), split like gold.

A row is either a conflict (`kind` `item`, `attribute` or `reference`) with every annotator's
version of the disputed item, the decision (accept one version, reject them all, or replace them
with the adjudicator's own item) and its reason, or a correction line (`kind` `correction`): a
change to a gold item the annotators agreed on, tied to its key span (`match`). Both are one
config because they are one log, in one order: `line` is the line of the log, and a document's
corrections apply in that order. Items keep the annotators' format (labels as strings, a
reference to an attribution in an adjudicator's item as `"@START-END"`); every layer's item fields
are one struct, null where a layer lacks a field.

The features are derived from the merge's own models of a conflict and a correction line
(`corpus_tools.merge.decisions`, `corpus_tools.merge.corrections`) and the layer registry. The
file is read in chunks of whole lines with Arrow's JSON reader into those features: an unknown
key or a value of the wrong type stops the publish with the file, line and field.
"""

from __future__ import annotations

import types
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

import pyarrow as pa
import pyarrow.compute as pc
from datasets import Features, List, Value
from pydantic import BaseModel

from corpus_tools.errors import CorpusToolsError
from corpus_tools.files import chunk_ranges, display, is_blank, read_range
from corpus_tools.layers import LAYERS
from corpus_tools.merge.corrections import Correction
from corpus_tools.merge.decisions import Conflict
from corpus_tools.publish import features as feats
from corpus_tools.publish import parquet
from corpus_tools.publish.results import Progress, SplitSummary
from corpus_tools.schema import strip_optional

LINE_DESCRIPTION = "The line of the adjudication log (the conflicts file) this row is, from 1."

KINDS = (*get_args(Conflict.model_fields["kind"].annotation), "correction")
STATUSES = tuple(
    dict.fromkeys(
        (
            *get_args(Conflict.model_fields["status"].annotation),
            *get_args(strip_optional(Correction.model_fields["status"].annotation)),
        )
    )
)


@cache
def features() -> Features:
    """The features of a `conflicts` row: the fields of a conflict line and of a correction line
    (one struct where both have a field, such as `decision`), and the log's `line`."""
    item = feats.item_features([layer.model for layer in LAYERS.values()])
    out: dict[str, Any] = {"line": Value("int32")}
    for model in (Conflict, Correction):
        for name, info in model.model_fields.items():
            out[name] = _merge(out.get(name), _feature(info.annotation, item), f"{model.__name__}.{name}")
    return Features(out)


def descriptions() -> dict[str, str]:
    """What each column says, for the card: the models' field descriptions, where they give one."""
    out = {"line": LINE_DESCRIPTION}
    for model in (Conflict, Correction):
        for name, info in model.model_fields.items():
            if not out.get(name):
                out[name] = " ".join((info.description or "").split())
    out.update(
        id="The conflict's stable id, derived from its content (null for a correction line).",
        doc_id="The document.",
        layer="The layer of the item: " + ", ".join(f"`{name}`" for name in LAYERS) + ".",
        kind=out["kind"] + " `correction`: a correction line.",
        status=out["status"] + " A correction line is `applied`, or `stale` when it no longer applies.",
        versions="Every annotator of the document, sorted, with their version of the item (null "
        "when they did not propose it). Null for a correction line.",
        decision="A conflict's decision: `accept` (an annotator's version), `reject` or `replace` "
        "(the adjudicator's item); a correction's: `replace`, `remove` or `add` (an item). Null "
        "while a conflict is open.",
        match="For a correction line: the key span of the gold item it replaces or removes (null "
        "to add one, and for a conflict).",
    )
    return out


def _feature(annotation: Any, item: dict[str, Any]) -> Any:
    """A model field's feature: `dict[str, Any]` fields hold an item (the union struct)."""
    annotation = strip_optional(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return {name: _feature(info.annotation, item) for name, info in annotation.model_fields.items()}
    origin = get_origin(annotation)
    if origin is list:
        return List(_feature(get_args(annotation)[0], item))
    if origin is dict:
        return item
    if origin is Literal:
        return Value("bool") if get_args(annotation) == (True,) else Value("string")
    if origin in (Union, types.UnionType):  # a union of models: their fields, merged
        merged: Any = None
        for arg in get_args(annotation):
            merged = _merge(merged, _feature(arg, item), str(annotation))
        return merged
    if annotation is str:
        return Value("string")
    if annotation is int:
        return Value("int32")
    if annotation is bool:
        return Value("bool")
    raise TypeError(f"no feature for {annotation!r} in the conflicts file's models")


def _merge(a: Any, b: Any, where: str) -> Any:
    """Two features of one field (a conflict's and a correction's): structs are merged."""
    if a is None or a == b:
        return b
    if isinstance(a, dict) and isinstance(b, dict):
        out = dict(a)
        for name, feature in b.items():
            out[name] = _merge(out.get(name), feature, f"{where}.{name}")
        return out
    raise TypeError(f"{where}: a conflict line and a correction line give it different types")


@dataclass
class ConflictsResult:
    """What writing the `conflicts` config found."""

    summaries: dict[str, SplitSummary]
    """Per split (splits without rows left out)."""
    open_documents: set[str] = field(default_factory=set)
    """Documents with at least one open conflict: not adjudicated."""
    left_out: int = 0
    """Stale lines about documents outside the dataset (a stale correction of a document that
    was removed, say): left out of the config and reported."""
    adjudicators: dict[str, set[str]] = field(default_factory=dict)
    """The adjudicators the log names for each document: an item an adjudicator added lists
    the adjudicator among its `annotators`, though the adjudicator has no pass."""


def write_conflicts(
    path: Path,
    doc_split: Mapping[str, str],
    splits: Sequence[str],
    root: Path,
    progress: Progress | None,
) -> ConflictsResult:
    """Write the adjudication log at `path` into `root/data/conflicts/`, each line in the split
    of its document (`doc_split`; `splits` in the order to write them).

    Raises:
        CorpusToolsError: naming the file and line, for a line that is not a conflict or a
            correction line, or one about a document outside the dataset that is not stale.
    """
    from corpus_tools.dataset import CONFLICTS_CONFIG

    schema = features().arrow_schema
    read = pa.schema([f for f in schema if f.name != "line"])
    sinks = {s: parquet.Sink(root, CONFLICTS_CONFIG, s, schema) for s in splits}
    counts: dict[str, dict[str, Counter[str]]] = {s: {} for s in splits}
    result = ConflictsResult({})
    total = path.stat().st_size
    for data, numbers, position in _chunks(path):
        table = _parse(data, numbers, read, path)
        table = table.add_column(0, "line", pa.array(numbers, pa.int32()))
        _check(table, path)
        doc_ids = table.column("doc_id").to_pylist()
        statuses = table.column("status").to_pylist()
        for doc_id, adjudicator in zip(doc_ids, table.column("adjudicator").to_pylist(), strict=True):
            if adjudicator:
                result.adjudicators.setdefault(doc_id, set()).add(adjudicator)
        where = []
        for doc_id, status, number in zip(doc_ids, statuses, numbers, strict=True):
            split = doc_split.get(doc_id)
            if split is None:
                if status != "stale":
                    raise CorpusToolsError(
                        f"{display(path)}:{number}: doc_id {doc_id!r} is not in the dataset; publish "
                        "the conflicts file that was merged with this gold"
                    )
                result.left_out += 1
            elif status == "open":
                result.open_documents.add(doc_id)
            where.append(split)
        split_column = pa.array(where, pa.string())
        for split, sink in sinks.items():
            part = table.filter(pc.fill_null(pc.equal(split_column, split), False))
            if part.num_rows:
                sink.write(part.cast(schema))
                _count(counts[split], part)
        if progress:
            progress("write conflicts", position, total)
    for split, sink in sinks.items():
        sink.close()
        if sink.rows:
            summary = SplitSummary(rows=sink.rows, num_bytes=sink.num_bytes, files=list(sink.files))
            summary.counts = {k: dict(sorted(v.items())) for k, v in counts[split].items()}
            result.summaries[split] = summary
    return result


def _chunks(path: Path) -> Iterator[tuple[bytes, list[int], int]]:
    """`(non-blank lines, their line numbers, byte position reached)`, a chunk at a time."""
    line = 1
    for start, end in chunk_ranges(path, parquet.CHUNK_SIZE):
        data = read_range(path, start, end)
        kept, numbers = [], []
        for raw in data.split(b"\n")[: data.count(b"\n") + (0 if data.endswith(b"\n") else 1)]:
            if not is_blank(raw):
                kept.append(raw)
                numbers.append(line)
            line += 1
        if kept:
            yield b"\n".join(kept) + b"\n", numbers, end if end >= 0 else start + len(data)


def _parse(data: bytes, numbers: list[int], schema: pa.Schema, path: Path) -> pa.Table:
    try:
        return parquet.parse_lines(data, schema)
    except pa.ArrowInvalid:
        pass
    # Find the line: each on its own, until one fails.
    for raw, number in zip(data.split(b"\n"), numbers, strict=False):
        try:
            parquet.parse_lines(raw, schema)
        except pa.ArrowInvalid as e:
            raise CorpusToolsError(
                f"{display(path)}:{number}: not a line of the adjudication log ({_arrow_message(e)}); "
                "it holds the conflicts and correction lines `corpus merge` writes (docs/merge.md)"
            ) from None
    raise CorpusToolsError(f"{display(path)}: lines {numbers[0]}-{numbers[-1]} cannot be read together")


def _arrow_message(error: pa.ArrowInvalid) -> str:
    text = " ".join(str(error).split())
    return text.removeprefix("JSON parse error: ")


def _check(table: pa.Table, path: Path) -> None:
    """The values Arrow cannot check: a known kind, status and layer, a document."""
    for column, allowed in (("kind", KINDS), ("status", STATUSES), ("layer", tuple(LAYERS))):
        values = table.column(column)
        bad = pc.invert(pc.fill_null(pc.is_in(values, value_set=pa.array(allowed, pa.string())), False))
        if pc.any(bad).as_py():
            i = pc.index(bad, True).as_py()
            raise CorpusToolsError(
                f"{display(path)}:{table.column('line')[i].as_py()}: {column}: {values[i].as_py()!r} is not "
                f"one of {', '.join(allowed)}"
            )
    missing = table.column("doc_id").is_null()
    if pc.any(missing).as_py():
        i = pc.index(missing, True).as_py()
        raise CorpusToolsError(
            f"{display(path)}:{table.column('line')[i].as_py()}: doc_id: the line names no document"
        )


def _count(counts: dict[str, Counter[str]], table: pa.Table) -> None:
    for column in ("layer", "kind", "status"):
        for entry in pc.value_counts(table.column(column)).to_pylist():
            counts.setdefault(column, Counter())[entry["values"]] += entry["counts"]
    decision = table.column("decision").combine_chunks()
    taken = counts.setdefault("decision", Counter())
    for name in decision.type.names if isinstance(decision.type, pa.StructType) else []:
        child = decision.field(name)
        valid = pc.and_(decision.is_valid(), child.is_valid())
        if pa.types.is_boolean(child.type):
            valid = pc.and_(valid, pc.fill_null(child, False))
        n = pc.sum(valid.cast(pa.int64())).as_py() or 0
        if n:
            taken[name] += n
    undecided = pc.sum(decision.is_null().cast(pa.int64())).as_py() or 0
    if undecided:
        taken["none"] += undecided
