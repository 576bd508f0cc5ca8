"""What `corpus agreement` and `corpus evaluate` count: items reduced to what is compared, the
measures, and the one-to-one pairing that decides which items match.

Agreement compares two annotators' items of a document, evaluate gold's and a model's; both
count through this module, so a figure means the same in both (docs/agreement.md,
docs/evaluate.md):

- `Entry`: an item as compared: its key span (`Layer.key_span`), its label, and its tuple fields
  (spans by offsets; a reference by the key span of the attribution it names, since ids differ
  between annotators and models; free text as guideline S7 normalises targets,
  `matching.normalise_target`).
- `Measure`: what must agree besides the key span: `span` nothing, `labelled` the label, `tuple`
  every tuple field of the layer, and `tuple_without_<field>` every tuple field but one that a
  model may leave out (`Layer.optional_in_predictions`: a stance's `target`, `holder` or
  `polarity`, an attribution's `type`).
- `scorer` and `pairs`: strict matching (equal offsets) or lenient (Jaccard overlap at least the
  threshold, and above 0, for the key span and every span compared), one-to-one and greedy
  (`matching.match_pairs`), ties broken by how much else the two items share.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from corpus_tools.layers import LAYERS, Layer, Part
from corpus_tools.matching import (
    Bounds,
    MatchMode,
    jaccard,
    match_pairs,
    normalise_target,
    span_bounds,
    span_score,
)
from corpus_tools.schema import AUTHOR

Score = Callable[["Entry", "Entry"], float | None]


@dataclass(frozen=True)
class Entry:
    """An item reduced to what is compared."""

    key: Bounds
    label: str | None
    """The label; None when a prediction leaves it out (then it matches no label)."""
    extras: tuple[tuple[str, Any], ...]
    """The tuple fields in `Layer.tuple_fields` order, each as `(kind, value)`: `("span",
    bounds or None)`, `("holder", AUTHOR, bounds or None)`, `("eq", value)`."""


@dataclass(frozen=True)
class Measure:
    """A way of counting two items as the same: their key spans match, and so do `fields`."""

    name: str
    fields: tuple[str, ...]
    """The attributes compared besides the key span: the label and tuple fields."""


def measures(layer: Layer) -> tuple[Measure, ...]:
    """The layer's measures: `span`, `labelled`, and for a layer with tuple fields `tuple` and a
    `tuple_without_<field>` for each tuple field a prediction may leave out, the label included
    (an attribution's `tuple_without_type`: source, cue and content, what a tagger of parts
    predicts), when that leaves a field to compare."""
    out = [Measure("span", ()), Measure("labelled", (layer.label,))]
    if layer.tuple_fields:
        out.append(Measure("tuple", layer.tuple_fields))
        for field in layer.tuple_fields:
            if field in layer.optional_in_predictions:
                rest = tuple(f for f in layer.tuple_fields if f != field)
                if rest:
                    out.append(Measure(f"tuple_without_{field}", rest))
    return tuple(out)


def measure(layer: Layer, name: str) -> Measure:
    """The measure of `layer` called `name`.

    Raises:
        KeyError: when the layer has no such measure.
    """
    for m in measures(layer):
        if m.name == name:
            return m
    raise KeyError(name)


def entries(layer: Layer, record: Any) -> list[Entry]:
    """The entries of a record's items in `layer` (a record or a prediction record), sorted."""
    targets: dict[str | None, Bounds] = {}
    if layer.reference is not None:
        target = LAYERS[layer.reference.target]
        targets = {a.id: target.key_span(a) for a in getattr(record, layer.reference.target)}
    kinds = [(field, layer.kind_of(field)) for field in layer.tuple_fields]
    out = []
    for item in getattr(record, layer.name):
        extras = tuple(_extra(kind, getattr(item, field), targets) for field, kind in kinds)
        out.append(Entry(layer.key_span(item), getattr(item, layer.label), extras))
    return sorted(out, key=lambda e: (e.key, e.label or "", repr(e.extras)))


def _extra(kind: str, value: Any, targets: dict[str | None, Bounds]) -> tuple[str, Any]:
    """One tuple part, as compared: spans by offsets, a reference by the key span of the
    attribution it names (ids differ across annotators), free text normalised (S7)."""
    if kind == "span":
        return "span", span_bounds(value)
    if kind == "reference":
        return "holder", value if value is None or value == AUTHOR else targets[value]
    if kind == "text":
        return "eq", None if value is None else normalise_target(value)
    return "eq", tuple(value) if isinstance(value, list) else value  # hashable, like every part


def _same(kind: str, u: Any, v: Any, lenient: bool, overlap: float) -> bool:
    if u == v:
        return True
    if not lenient or kind == "eq" or u is None or v is None or AUTHOR in (u, v):
        return False
    j = jaccard(u, v)
    return j > 0 and j >= overlap


def scorer(layer: Layer, measure: Measure, lenient: bool, overlap: float) -> Score:
    """How well two entries match under `measure` (higher is better), None when they do not:
    the key spans' score (1 when equal; leniently, their Jaccard index), provided every field
    of the measure agrees (spans leniently by the same threshold when `lenient`)."""
    mode: MatchMode = "overlap" if lenient else "exact"
    labelled = layer.label in measure.fields
    checks = [
        (i, kind)
        for i, (field, kind) in enumerate((f, layer.kind_of(f)) for f in layer.tuple_fields)
        if field in measure.fields and field != layer.label
    ]

    def score(x: Entry, y: Entry) -> float | None:
        if labelled and x.label != y.label:
            return None
        for i, _kind in checks:
            (kind, u), (_k, v) = x.extras[i], y.extras[i]
            if not _same(kind, u, v, lenient, overlap):
                return None
        return span_score(x.key, y.key, mode, overlap)

    return score


def tiebreak(x: Entry, y: Entry) -> int:
    """Among equally good matches, prefer the pair that also shares its label and tuple."""
    return (x.label == y.label) + (x.extras == y.extras)


def pairs(xs: Sequence[Entry], ys: Sequence[Entry], score: Score) -> list[tuple[int, int]]:
    """The one-to-one pairs `(index in xs, index in ys)` that `score` matches, greedily by best
    score (`matching.match_pairs`)."""
    return match_pairs(xs, ys, score, tiebreak, lambda e: e.key)


def part_spans(part: Part, items: Sequence[Any]) -> list[Bounds]:
    """The spans of one part (`source`, `answer`, ...) of the items that have it, sorted."""
    return sorted(b for b in (span_bounds(part.of(item)) for item in items) if b is not None)


def span_pairs(
    xs: Sequence[Bounds], ys: Sequence[Bounds], lenient: bool, overlap: float
) -> list[tuple[int, int]]:
    """One-to-one pairs of bare spans (a part scored on its own), strict or lenient."""
    mode: MatchMode = "overlap" if lenient else "exact"
    return match_pairs(xs, ys, lambda a, b: span_score(a, b, mode, overlap), None, lambda b: b)
