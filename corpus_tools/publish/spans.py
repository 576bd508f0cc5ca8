"""The `spans` config: gold flattened to one row per part of an item, for pandas, R and DuckDB.

A row is one span of one gold item: a question or its answer, an attribution's source, cue or
content, a stance. It carries the document, split and layer, the item's id and label (as a
string, not a `ClassLabel` index), the item's other attributes (target, holder, source_name,
nested_in, ...: the union of every layer's item fields, null where a layer has no such field),
who proposed the item, and how well its document is annotated (`passes`, `adjudicated`).
Everything is derived from the layer registry, so a new layer's spans appear here on their own.

The rows are built from the gold tables with Arrow compute functions while the `default` config
is written, in document order (then layer, item and part order), never as Python objects.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from datasets import Features, List, Value

from corpus_tools.dataset import DOCUMENT_COLUMNS
from corpus_tools.layers import LAYERS, Layer
from corpus_tools.publish import features as feats

_BOOKKEEPING = ("id", "annotators", "note", "start", "end", "text")
"""Item fields that have a column of their own (or are the span's own offsets)."""

COLUMNS: dict[str, str] = {
    "doc_id": "The document the span is in (the `doc_id` of its gold record).",
    "split": "The split of the document: `train`, `validation` or `test`.",
    "layer": "The layer of the item: " + ", ".join(f"`{name}`" for name in LAYERS) + ".",
    "id": "The gold item's id, unique within its document (the parts of an item share it).",
    "part": "Which span of the item the row is: "
    + "; ".join(f"{name}: " + ", ".join(f"`{p.name}`" for p in layer.parts) for name, layer in LAYERS.items())
    + ".",
    "start": "Index of the span's first code point in the document text.",
    "end": "Index one past the span's last code point (`text[start:end]` of the document).",
    "text": "The span's text.",
    "label": "The item's label, as a string: "
    + "; ".join(f"`{layer.label}` of {name}" for name, layer in LAYERS.items())
    + ".",
}
"""Descriptions of the fixed columns (the attributes' come from the models)."""


def _attributes(layer: Layer) -> dict[str, Any]:
    """A layer's item fields that are neither spans, its label nor bookkeeping."""
    parts = {p.field for p in layer.parts if p.field is not None}
    exclude = (*_BOOKKEEPING, layer.label, *parts)
    return feats.item_features([layer.model], exclude=exclude)


@cache
def attribute_features() -> dict[str, Any]:
    """Every layer's attributes, in layer order (a name shared by layers is one column)."""
    out: dict[str, Any] = {}
    for layer in LAYERS.values():
        for name, feature in _attributes(layer).items():
            if name in out and out[name] != feature:
                raise TypeError(f"{layer.model.__name__}.{name}: another type than in an earlier layer")
            out.setdefault(name, feature)
    return out


@cache
def features() -> Features:
    """The features of a `spans` row."""
    strings = {name: Value("string") for name in COLUMNS}
    strings.update(start=Value("int32"), end=Value("int32"))
    return Features(
        {
            **strings,
            **attribute_features(),
            "annotators": List(Value("string")),
            "note": Value("string"),
            **{name: feats.document_features()[name] for name in DOCUMENT_COLUMNS},
        }
    )


def descriptions() -> dict[str, str]:
    """Every column's description, for the card: the attributes' from the item models."""
    out = dict(COLUMNS)
    for layer in LAYERS.values():
        for name in _attributes(layer):
            info = layer.model.model_fields[name]
            out.setdefault(name, " ".join((info.description or "").split()))
    item = next(iter(LAYERS.values())).model.model_fields
    out["annotators"] = " ".join((item["annotators"].description or "").split())
    out["note"] = " ".join((item["note"].description or "").split())
    out.update(feats.document_descriptions())
    return out


def span_table(gold: pa.Table, split: str) -> pa.Table:
    """The `spans` rows of a conformed gold table (with its document columns), in document, layer,
    item and part order."""
    schema = features().arrow_schema
    pieces: list[pa.Table] = []
    for layer_index, (name, layer) in enumerate(LAYERS.items()):
        column = gold.column(name).combine_chunks()
        flat = pc.list_flatten(column)
        if not len(flat):
            continue
        parents = pc.list_parent_indices(column)
        offsets = column.offsets
        first = pc.subtract(pc.take(offsets, parents), offsets[0])
        position = pc.subtract(pa.array(range(len(flat)), pa.int64()), first.cast(pa.int64()))
        names = pa.array(layer.names, pa.string())
        attributes = _attributes(layer)
        for part_index, part in enumerate(layer.parts):
            span = flat if part.field is None else flat.field(part.field)
            keep = pc.indices_nonzero(span.is_valid()) if span.null_count else None

            def pick(array: pa.Array, keep: pa.Array | None = keep) -> pa.Array:
                return array if keep is None else pc.take(array, keep)

            rows = pick(parents)
            n = len(rows)
            columns: dict[str, pa.Array] = {
                "doc_id": pc.take(gold.column("doc_id"), rows),
                "split": pa.array([split] * n, pa.string()),
                "layer": pa.array([name] * n, pa.string()),
                "id": pick(flat.field("id")),
                "part": pa.array([part.name] * n, pa.string()),
                "start": pick(span.field("start")),
                "end": pick(span.field("end")),
                "text": pick(span.field("text")),
                "label": pc.take(names, pick(flat.field(layer.label))),
            }
            for attribute in attribute_features():
                columns[attribute] = (
                    pick(flat.field(attribute))
                    if attribute in attributes
                    else pa.nulls(n, schema.field(attribute).type)
                )
            columns["annotators"] = pick(flat.field("annotators"))
            columns["note"] = pick(flat.field("note"))
            for document_column in DOCUMENT_COLUMNS:
                columns[document_column] = pc.take(gold.column(document_column), rows)
            columns["_row"] = rows
            columns["_layer"] = pa.array([layer_index] * n, pa.int64())
            columns["_item"] = pick(position)
            columns["_part"] = pa.array([part_index] * n, pa.int64())
            pieces.append(pa.table({k: _chunk(v) for k, v in columns.items()}))
    if not pieces:
        return schema.empty_table()
    table = pa.concat_tables(pieces, promote_options="permissive")
    order = pc.sort_indices(table, [(key, "ascending") for key in ("_row", "_layer", "_item", "_part")])
    table = table.take(order).select(schema.names)
    return table.cast(schema)


def _chunk(array: pa.Array | pa.ChunkedArray) -> pa.Array:
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array
