"""Comparing the passes of one document: which items agree, which differ, which only some have;
and the adjudicator's decisions on them.

Items are matched across passes with the matching `corpus merge` and `corpus agreement` use
(`corpus_tools.matching.cluster`): by their layer's key span, leniently (Jaccard overlap of at
least `OVERLAP`, as agreement's lenient figures), one item per pass, ties broken by how many
attributes agree. A cluster that every pass has, with the same value of every attribute merge
votes on (`Layer.voted`), *agrees*; one every pass has with some value differing, *differs*
(those attributes are listed); one that some pass lacks is *only* in the others.

Decisions come from a conflicts / decisions file read by `merge.decisions.read_decisions`, and
are joined to conflicts as the merge joins them, by conflict id: the passes are merged again
(`merge.merge_records`, the merge's own code, nothing written), each conflict is placed on the
cluster holding its versions' items (by annotator and item id) with the decision that has its
id, and its status is the merge's (`open`, `decided`, or `refused` with the merge's message).
A decision of the document that matches no conflict is *stale*, as the merge says. Correction
lines are listed with their document, with the merge's outcome, and linked to the items of the
passes whose key span is their `match`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from corpus_tools.layers import LAYERS, Layer
from corpus_tools.matching import cluster, normalise, similarity, span_bounds, span_score
from corpus_tools.merge import DocumentMerge
from corpus_tools.merge.decisions import STALE_WHY, Conflict, Decision, Decisions
from corpus_tools.schema import AUTHOR, RecordBase
from corpus_tools.view.marks import ItemView, Status, clip

OVERLAP = 0.5
"""Jaccard overlap at which two items' key spans match (agreement's lenient default)."""


@dataclass
class DecisionView:
    """A conflict of the merge with its decision, a stale decision, or a correction line, as a
    comparison page shows it."""

    line: int | None
    """Its line in the decisions file (None: a conflict that no line decides)."""
    layer: str
    status: str
    """As the merge has it: `open`, `decided` or `stale` (conflicts); `applied` or `stale`
    (corrections); or `refused`: the merge stops on the line (`message` says why)."""
    action: str | None = None
    """`accept`, `reject`, `replace` (conflicts); `replace`, `remove`, `add` (corrections);
    None for a conflict without a decision."""
    accepted: str | None = None
    """For `accept`: the annotator whose version went into gold."""
    item: list[Shown] | None = None
    """For `replace` and `add`: the adjudicator's item, attribute by attribute."""
    conflict_id: str | None = None
    kind: str | None = None
    why: str | None = None
    """The merge's words: what the passes disagree on, why a decision is stale, what a
    correction did."""
    message: str | None = None
    """For a refused line: the merge's message (what `corpus merge` stops with)."""
    adjudicator: str | None = None
    reason: str | None = None
    match: Shown | None = None
    """For a correction: the key span of the gold item it matches, with the text there."""
    targets: list[ItemView] = field(default_factory=list)
    """For a correction: the items of the passes whose key span is its `match`."""
    correction: bool = False


@dataclass
class Disagreement:
    """A cluster of items that the passes do not all agree on."""

    dom: str
    layer: Layer
    status: Status
    members: dict[str, ItemView | None]
    """Per pass (annotator): its item, or None."""
    attributes: list[str] = field(default_factory=list)
    """The attributes whose values differ between the passes that have the item."""
    decisions: list[DecisionView] = field(default_factory=list)
    """The merge's conflicts on these items, with their decisions (with a decisions file)."""


@dataclass
class Comparison:
    """The passes of one document compared."""

    annotators: list[str]
    disagreements: list[Disagreement]
    counts: dict[str, dict[str, int]]
    """`layer -> status -> clusters`."""
    stale: list[DecisionView] = field(default_factory=list)
    """Decisions of the document that match no conflict (the annotations changed since)."""
    corrections: list[DecisionView] = field(default_factory=list)
    merged: bool = False
    """Whether the merge's conflicts are shown (with a decisions file)."""

    @property
    def lines(self) -> list[DecisionView]:
        """Every line of the decisions file the page shows."""
        placed = [dec for d in self.disagreements for dec in d.decisions if dec.line is not None]
        return [*placed, *self.stale, *self.corrections]


def compare(
    passes: Sequence[RecordBase],
    views: Sequence[Sequence[ItemView]],
    merged: DocumentMerge | None = None,
    decisions: Decisions | None = None,
) -> Comparison:
    """Match the items of `passes` (their `views`, in the same order) and set each view's
    status; with the document `merged` as the merge does it and the `decisions` file, place
    each conflict and its decision on the clusters."""
    names = [r.annotator for r in passes]
    by_record = dict(zip(names, passes, strict=True))
    counts: dict[str, dict[str, int]] = {}
    disagreements: list[Disagreement] = []
    clusters: dict[tuple[str, str, str], tuple[Layer, dict[str, ItemView], Disagreement | None]] = {}
    """`(layer, annotator, item id) -> (layer, its cluster, its disagreement (None: it agrees))`."""
    for layer in LAYERS.values():
        per_pass = {
            name: [v for v in pass_views if v.layer is layer]
            for name, pass_views in zip(names, views, strict=True)
        }
        counts[layer.name] = {"agree": 0, "differ": 0, "only": 0}
        found = _clusters(layer, per_pass)
        found.sort(key=lambda c: min(layer.key_span(v.item) for v in c.values()))
        for members in found:
            differing = _differing(layer, members, by_record)
            status: Status = "only" if len(members) < len(names) else "differ" if differing else "agree"
            counts[layer.name][status] += 1
            entry = None
            if status != "agree":
                entry = Disagreement(
                    f"c{len(disagreements) + 1}",
                    layer,
                    status,
                    {name: members.get(name) for name in names},
                    differing,
                )
                disagreements.append(entry)
            for name, view in members.items():
                view.status = status
                view.conflict = entry.dom if entry is not None else None
                clusters[(layer.name, name, view.id)] = (layer, members, entry)
    out = Comparison(names, disagreements, counts)
    if merged is not None:
        out.merged = True
        _place(out, passes, views, merged, decisions or Decisions(), clusters)
    return out


def _clusters(layer: Layer, per_pass: dict[str, list[ItemView]]) -> list[dict[str, ItemView]]:
    """The items of every pass grouped as merge and agreement group them (`matching.cluster`)."""

    def score(x: ItemView, y: ItemView) -> float | None:
        return span_score(layer.key_span(x.item), layer.key_span(y.item), "overlap", OVERLAP)

    def tiebreak(x: ItemView, y: ItemView) -> float:
        return similarity(layer, x.item, y.item)

    def bounds(v: ItemView) -> tuple[int, int]:
        return layer.key_span(v.item)

    return cluster(per_pass, score, tiebreak, bounds, equal_bounds_first=True)


def _differing(layer: Layer, members: dict[str, ItemView], records: dict[str, RecordBase]) -> list[str]:
    """The attributes merge votes on whose values differ among `members`."""
    out = []
    for attribute in layer.voted:
        values = {_value(layer, attribute, v, records[name]) for name, v in members.items()}
        if len(values) > 1:
            out.append((layer.key or "span") if attribute == "span" else attribute)
    return out


def _value(layer: Layer, attribute: str, view: ItemView, record: RecordBase) -> Any:
    """An attribute in comparable form: spans as offsets, free text normalised, a reference as
    the content span of the item it names (ids differ across passes)."""
    if attribute == "span":
        return layer.key_span(view.item)
    value = getattr(view.item, attribute)
    kind = layer.kind_of(attribute)
    if kind == "span":
        return span_bounds(value)
    if kind == "text":
        return normalise(value)
    if kind == "reference" and layer.reference is not None and value not in (None, AUTHOR):
        target = LAYERS[layer.reference.target]
        for item in getattr(record, target.name):
            if item.id == value:
                return target.key_span(item)
    return value


# -- decisions ------------------------------------------------------------------------------------


def _place(
    out: Comparison,
    passes: Sequence[RecordBase],
    views: Sequence[Sequence[ItemView]],
    merged: DocumentMerge,
    decisions: Decisions,
    clusters: dict[tuple[str, str, str], tuple[Layer, dict[str, ItemView], Disagreement | None]],
) -> None:
    """Put each conflict of the merge on the disagreement holding its versions' items, with the
    decision of the decisions file that has its id; list the decisions of the document that
    match no conflict (stale) and its correction lines (placed by their `match` span)."""
    doc_id = merged.doc_id
    text = passes[0].text
    ids = set()
    for conflict in merged.conflicts:
        ids.add(conflict.id)
        view = _conflict_view(conflict, decisions, merged.refused)
        found = None
        for version in conflict.versions:
            item_id = version.item.get("id") if version.item is not None else None
            found = found or clusters.get((conflict.layer, version.annotator, str(item_id)))
        if found is None:  # every version is an item of a pass, so this does not happen
            out.stale.append(view)
            continue
        cluster_layer, members, dis = found
        if dis is None:
            # The passes agree on the item, yet merge raised a conflict on it (a reference to
            # an attribution that is not in gold): list it with its decision all the same.
            dis = Disagreement(
                f"c{len(out.disagreements) + 1}",
                cluster_layer,
                "agree",
                {name: members.get(name) for name in out.annotators},
            )
            out.disagreements.append(dis)
            for name, member in members.items():
                member.conflict = dis.dom
                clusters[(cluster_layer.name, name, member.id)] = (cluster_layer, members, dis)
        dis.decisions.append(view)
    for conflict_id, (entry, line, raw) in decisions.conflicts.items():
        if conflict_id in ids or raw.get("doc_id") != doc_id or entry.decision is None:
            continue
        layer = raw.get("layer")
        out.stale.append(
            DecisionView(
                line=line,
                layer=str(layer) if layer is not None else "",
                status="stale",
                action=_action(entry.decision),
                accepted=entry.decision.accept,
                item=describe(entry.decision.replace) if entry.decision.replace is not None else None,
                conflict_id=conflict_id,
                why=STALE_WHY,
                adjudicator=entry.adjudicator,
                reason=entry.reason,
            )
        )
    by_key: dict[tuple[str, int, int], list[ItemView]] = {}
    for pass_views in views:
        for v in pass_views:
            by_key.setdefault((v.layer.name, *v.layer.key_span(v.item)), []).append(v)
    outcomes = {o.entry.line: o for o in merged.corrections}
    for correction in decisions.corrections.get(doc_id, []):
        c = correction.correction
        given = c.decision.replace if c.decision.replace is not None else c.decision.add
        match = None
        targets: list[ItemView] = []
        if c.match is not None:
            covered = (
                text[c.match.start : c.match.end] if 0 <= c.match.start < c.match.end <= len(text) else ""
            )
            match = Shown("match", clip(covered, 60), (c.match.start, c.match.end))
            targets = by_key.get((c.layer, c.match.start, c.match.end), [])
        outcome = outcomes.get(correction.line)
        refused = merged.refused.get(correction.line)
        out.corrections.append(
            DecisionView(
                line=correction.line,
                layer=c.layer,
                status="refused" if refused is not None else outcome.status if outcome else "stale",
                action=c.decision.action,
                item=describe(given) if given is not None else None,
                why=outcome.why if outcome is not None else None,
                message=refused,
                adjudicator=c.adjudicator or (outcome.adjudicator if outcome else None),
                reason=c.reason,
                match=match,
                targets=targets,
                correction=True,
            )
        )


def _action(decision: Decision) -> str:
    return "accept" if decision.accept is not None else "reject" if decision.reject else "replace"


def _conflict_view(conflict: Conflict, decisions: Decisions, refused: dict[int, str]) -> DecisionView:
    """A conflict of the merge, with its decision: applied (the merge's status), refused (the
    merge's message), or none."""
    found = decisions.conflicts.get(conflict.id)
    entry, line = (found[0], found[1]) if found is not None else (None, None)
    decision = entry.decision if entry is not None else None
    message = refused.get(line) if line is not None else None
    return DecisionView(
        line=line,
        layer=conflict.layer,
        status="refused" if message is not None else conflict.status,
        action=_action(decision) if decision is not None else None,
        accepted=decision.accept if decision is not None else None,
        item=describe(decision.replace) if decision is not None and decision.replace is not None else None,
        conflict_id=conflict.id,
        kind=conflict.kind,
        why=conflict.why,
        message=message,
        adjudicator=conflict.adjudicator or (entry.adjudicator if entry is not None else None),
        reason=entry.reason if entry is not None else None,
    )


@dataclass(frozen=True)
class Shown:
    """One attribute of an adjudicator's item, or the gold item a correction matches: a value
    from the data and, for a span, its offsets (drawn apart from the text, so that a
    right-to-left text cannot reorder them)."""

    name: str
    value: str
    span: tuple[int, int] | None = None


def describe(item: dict[str, Any] | None) -> list[Shown]:
    """An adjudicator's item (annotator format) attribute by attribute, spans as their text."""
    given = item or {}
    out = []
    for name, value in given.items():
        if name in ("start", "end") or value is None:
            continue
        if isinstance(value, dict) and "start" in value and "end" in value:
            out.append(Shown(name, clip(str(value.get("text", "")), 120), _offsets(value)))
        elif name == "text" and "start" in given:
            out.append(Shown(name, clip(str(value), 120), _offsets(given)))
        else:
            out.append(Shown(name, str(value)))
    return out


def _offsets(span: dict[str, Any]) -> tuple[int, int] | None:
    start, end = span.get("start"), span.get("end")
    return (start, end) if isinstance(start, int) and isinstance(end, int) else None
