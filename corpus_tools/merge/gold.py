"""Writing a document's gold record from the candidates that won the vote (or a decision).

The record is built directly as the dict `Record.model_dump(mode="json", exclude_none=True)`
would give: the fields of each item in its model's order, null ones left out. It is valid by
construction, so it is not validated again: every span comes from a valid input on the same text,
ids are generated, and `voting._Document._resolve` admits an item only once the attribution it
refers to is in gold (and, for nesting, contains it). `tests/test_merge.py` validates the gold
made from generated annotations.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from corpus_tools.layers import LAYERS, document_order
from corpus_tools.merge import voting
from corpus_tools.merge.voting import _PLANS, _Candidate, _Plan, _Version
from corpus_tools.schema import AUTHOR, Meta

if TYPE_CHECKING:
    from corpus_tools.merge.voting import _Document

_META_FIELDS = tuple(Meta.model_fields)
_OWN_SPAN = ("start", "end", "text")


def gold_record(doc: _Document, gold: dict[tuple[str, int], _Candidate], gold_name: str) -> dict[str, Any]:
    """The gold record of a document: its candidates in position order, numbered, with
    references rewritten to the gold ids of the attributions they name."""
    by_layer: dict[str, list[_Candidate]] = {layer: [] for layer in LAYERS}
    for (layer, _number), cand in gold.items():
        by_layer[layer].append(cand)
    for layer, cands in by_layer.items():
        if len(cands) > 1:
            cands.sort(key=lambda cand: document_order(cand.values[0]))
        if layer not in doc.one_per_span:
            _break_ties(_PLANS[layer], cands)
    # Gold ids are numbered in that order; references (holder, nested_in) point at them.
    ids: dict[str, dict[int, str]] = {
        layer: {cand.cluster.number: f"{LAYERS[layer].prefix}{i}" for i, cand in enumerate(cands, start=1)}
        for layer, cands in by_layer.items()
        if _PLANS[layer].targeted
    }
    record: dict[str, Any] = {
        "doc_id": doc.doc_id,
        "annotator": gold_name,
        "text": doc.text,
        "meta": gold_meta(doc),
    }
    for layer, cands in by_layer.items():
        plan = _PLANS[layer]
        prefix = plan.layer.prefix
        target = plan.layer.reference.target if plan.layer.reference is not None else ""
        # In C in the usual case (`_native.gold_items`: None when an item is an adjudicator's
        # or has a version with a note).
        found = (
            voting._native.gold_items(_steps(plan), cands, prefix, ids.get(target, {}), AUTHOR)
            if voting.NATIVE
            else None
        )
        items = (
            found
            if found is not None
            else [
                _gold_item(plan, cand, f"{prefix}{i}", ids.get(target, {}))
                if cand.replacement is None
                else _written(doc, cand.replacement, f"{prefix}{i}")
                for i, cand in enumerate(cands, start=1)
            ]
        )
        if found is None and doc.notes:
            items = [
                item if cand.replacement is not None else _with_notes(item, cand.cluster.versions)
                for item, cand in zip(items, cands, strict=True)
            ]
        record[layer] = items
    return record


def _gold_item(plan: _Plan, cand: _Candidate, gold_id: str, ids: dict[int, str]) -> dict[str, Any]:
    """One gold item: every field as the version that won it wrote it, in the model's order."""
    values, sources = cand.values, cand.sources
    item: dict[str, Any] = {"id": gold_id, "annotators": cand.cluster.annotators}
    for name, kind, i in _steps(plan):
        if kind == _OWN:
            item[name] = getattr(sources[0].item, name)  # the item's own span: the key
        elif kind == _SPAN:
            span = getattr(sources[i].item, name)
            if span is not None:
                item[name] = {"start": span.start, "end": span.end, "text": span.text}
        elif kind == _REFERENCE:
            if values[i] is not None:
                item[name] = AUTHOR if values[i] == AUTHOR else ids[values[i]]
        elif kind == _TEXT:
            value = getattr(sources[i].item, name)  # as written, not as compared
            if value is not None:
                item[name] = value
        elif values[i] is not None:
            item[name] = list(values[i]) if isinstance(values[i], tuple) else values[i]  # a list voted on
    return item


_OWN, _SPAN, _REFERENCE, _TEXT, _VALUE = (
    voting._native.G_OWN,
    voting._native.G_SPAN,
    voting._native.G_REFERENCE,
    voting._native.G_TEXT,
    voting._native.G_VALUE,
)
"""How `_gold_item` (and `_native.gold_items`, whose constants they are) writes a field."""
_KINDS = {"span": _SPAN, "reference": _REFERENCE, "text": _TEXT, "label": _VALUE, "value": _VALUE}
"""`Layer.kind_of` -> how the field is written: the voted value for a label or a value."""
_STEPS: dict[str, tuple[tuple[str, int, int], ...]] = {}


def _steps(plan: _Plan) -> tuple[tuple[str, int, int], ...]:
    """How `_gold_item` writes each field of a layer's items, in the model's order: `(field,
    kind, index in the values)`, kind `_OWN` for the item's own span (worked out once per layer,
    not per item; `_native.gold_items` takes the same).

    Raises:
        KeyError: for a kind of field `_KINDS` does not know (`_native.c` needs it too).
    """
    layer = plan.layer
    if layer.name not in _STEPS:
        _STEPS[layer.name] = tuple(
            (name, _OWN, 0)
            if name in _OWN_SPAN
            else (name, _KINDS[layer.kind_of(name)], plan.attributes.index(name))
            for name in layer.gold_fields
            if name not in ("id", "annotators", "note")
        )
    return _STEPS[layer.name]


def _written(doc: _Document, replacement: tuple[dict[str, Any], int], gold_id: str) -> dict[str, Any]:
    """An adjudicator's item (a `replace` decision), with its gold id; its line is remembered
    for the corrections' checks."""
    item, line = replacement
    item = {**item, "id": gold_id}
    doc.written[id(item)] = line
    return item


def gold_meta(doc: _Document) -> dict[str, Any]:
    """The document's `meta`: field by field, the first value given, in annotator order."""
    metas = [doc.records[a].meta for a in doc.annotators]
    if all(meta == metas[0] for meta in metas):  # the usual case: the same meta
        metas = metas[:1]
    merged: dict[str, Any] = {}
    for name in _META_FIELDS:
        for meta in metas:
            value = getattr(meta, name)
            if value is not None:
                merged[name] = value
                break
    if len({meta.language for meta in metas}) > 1:
        # The first language *given*: a record without one says nothing (though it reads
        # as the default), which only the line itself tells.
        lines = {r.annotator: raw for r, raw in zip(doc.given, doc.lines, strict=True)}
        given = (orjson.loads(lines[a]).get("meta", {}).get("language") for a in doc.annotators)
        merged["language"] = next((v for v in given if v is not None), merged["language"])
    return merged


def _with_notes(item: dict[str, Any], versions: list[_Version]) -> dict[str, Any]:
    """A gold item with its versions' notes, if any, joined into `note` after `annotators`."""
    for v in versions:
        if v.item.note:
            note = " | ".join(f"{v.annotator}: {v.item.note}" for v in versions if v.item.note)
            head = {"id": item.pop("id"), "annotators": item.pop("annotators"), "note": note}
            return head | item
    return item


def _break_ties(plan: _Plan, cands: list[_Candidate]) -> None:
    """Order gold items on the same span (sorted by span already) by their other values.

    The values, as sorted-key JSON, are serialised only when there are such items (never in a
    layer grouped by span, where each span has one cluster).
    """
    if len({cand.values[0] for cand in cands}) < len(cands):
        names = plan.attributes
        cands.sort(
            key=lambda cand: (
                document_order(cand.values[0]),
                orjson.dumps(
                    dict(zip(names, cand.values, strict=True)), option=orjson.OPT_SORT_KEYS
                ).decode(),
            )
        )
