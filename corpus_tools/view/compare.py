"""Comparing the passes of one document: which items agree, which differ, which only some have;
and the adjudicator's decisions on them.

Items are matched across passes with the matching `corpus merge` and `corpus agreement` use
(`corpus_tools.matching.cluster`): by their layer's key span, leniently (Jaccard overlap of at
least `OVERLAP`, as agreement's lenient figures), one item per pass, ties broken by how many
attributes agree. A cluster that every pass has, with the same value of every attribute merge
votes on (`Layer.voted`), *agrees*; one every pass has with some value differing, *differs*
(those attributes are listed); one that some pass lacks is *only* in the others.

Decisions come from a conflicts / decisions file read by `merge.decisions.read_decisions`: each
decided conflict is placed on the cluster holding the items of its versions (by annotator and
item id), and correction lines are listed with their document.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from corpus_tools.layers import LAYERS, Layer
from corpus_tools.matching import cluster, normalise, similarity, span_bounds, span_score
from corpus_tools.merge.decisions import Decisions, Version
from corpus_tools.schema import AUTHOR, RecordBase
from corpus_tools.view.marks import ItemView, Status, clip

OVERLAP = 0.5
"""Jaccard overlap at which two items' key spans match (agreement's lenient default)."""


@dataclass
class DecisionView:
    """A decided conflict, or a correction line, as a comparison page shows it."""

    line: int
    """Its line in the decisions file."""
    layer: str
    action: str
    """`accept`, `reject`, `replace` (conflicts); `replace`, `remove`, `add` (corrections)."""
    accepted: str | None = None
    """For `accept`: the annotator whose version went into gold."""
    item: list[tuple[str, str]] | None = None
    """For `replace` and `add`: the adjudicator's item, attribute by attribute."""
    conflict_id: str | None = None
    kind: str | None = None
    why: str | None = None
    status: str | None = None
    adjudicator: str | None = None
    reason: str | None = None
    match: str | None = None
    """For a correction: the gold item it matches, as `[start, end) “text”`."""


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


@dataclass
class Comparison:
    """The passes of one document compared."""

    annotators: list[str]
    disagreements: list[Disagreement]
    counts: dict[str, dict[str, int]]
    """`layer -> status -> clusters`."""
    unplaced: list[DecisionView] = field(default_factory=list)
    """Decisions whose items no pass holds now (the annotations changed since)."""
    corrections: list[DecisionView] = field(default_factory=list)


def compare(
    passes: Sequence[RecordBase], views: Sequence[Sequence[ItemView]], decisions: Decisions | None
) -> Comparison:
    """Match the items of `passes` (their `views`, in the same order) and set each view's
    status; place the decisions of the document on the clusters."""
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
    if decisions is not None:
        _place(out, passes, decisions, clusters)
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
    decisions: Decisions,
    clusters: dict[tuple[str, str, str], tuple[Layer, dict[str, ItemView], Disagreement | None]],
) -> None:
    doc_id = passes[0].doc_id
    text = passes[0].text
    for conflict_id, (entry, line, raw) in decisions.conflicts.items():
        if raw.get("doc_id") != doc_id or entry.decision is None:
            continue
        layer = str(raw.get("layer", ""))
        decision = entry.decision
        action = "accept" if decision.accept is not None else "reject" if decision.reject else "replace"
        status = raw.get("status")
        view = DecisionView(
            line=line,
            layer=layer,
            action=action,
            accepted=decision.accept,
            item=describe(decision.replace) if decision.replace is not None else None,
            conflict_id=conflict_id,
            kind=str(raw.get("kind")) if raw.get("kind") is not None else None,
            why=str(raw.get("why")) if raw.get("why") is not None else None,
            status=str(status) if status is not None else None,
            adjudicator=entry.adjudicator,
            reason=entry.reason,
        )
        found = None
        for version in _versions(raw):
            item_id = version.item.get("id") if version.item is not None else None
            found = found or clusters.get((layer, version.annotator, str(item_id)))
        if found is None:
            out.unplaced.append(view)
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
    for correction in decisions.corrections.get(doc_id, []):
        c = correction.correction
        given = c.decision.replace if c.decision.replace is not None else c.decision.add
        match = None
        if c.match is not None:
            covered = (
                text[c.match.start : c.match.end] if 0 <= c.match.start < c.match.end <= len(text) else ""
            )
            match = f"[{c.match.start}, {c.match.end}) “{clip(covered, 60)}”"
        out.corrections.append(
            DecisionView(
                line=correction.line,
                layer=c.layer,
                action=c.decision.action,
                item=describe(given) if given is not None else None,
                why=c.why,
                status=c.status,
                adjudicator=c.adjudicator,
                reason=c.reason,
                match=match,
            )
        )


def _versions(raw: dict[str, Any]) -> list[Version]:
    """The versions of a decisions line: context the merge itself does not read, so a line
    without them (or with malformed ones) is shown unplaced rather than refused."""
    versions = raw.get("versions")
    out = []
    for v in versions if isinstance(versions, list) else []:
        try:
            out.append(Version.model_validate(v))
        except ValidationError:
            continue
    return out


def describe(item: dict[str, Any] | None) -> list[tuple[str, str]]:
    """An adjudicator's item (annotator format) attribute by attribute, spans as their text."""
    given = item or {}
    out = []
    for name, value in given.items():
        if name in ("start", "end") or value is None:
            continue
        if isinstance(value, dict) and "start" in value and "end" in value:
            shown = f"“{clip(str(value.get('text', '')), 120)}” [{value['start']}, {value['end']})"
        elif name == "text" and "start" in given:
            shown = f"“{clip(str(value), 120)}” [{given.get('start')}, {given.get('end')})"
        else:
            shown = str(value)
        out.append((name, shown))
    return out
