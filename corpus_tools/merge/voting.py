"""The merge of one document: its items clustered across annotators, voted on, decided.

Merging takes a small multiple of the time validation takes, because:
- records are decoded into the msgspec structs of the schema's mirror, not into `Record` models
  (the inputs have passed validation already);
- each item's comparable values are computed once, as a tuple: a cluster on which every
  annotator agrees (the usual case) is recognised by comparing tuples and needs no vote;
- with exact matching, a layer in which no annotator has two items on one span is clustered by
  grouping its items by span (`_Document._group_by_span`);
- that grouping with each item's values, the votes and the gold items run in C
  (`_native.c`, switched off by `NATIVE = False`, which leaves the Python code below as the
  reference): they are done for every item, and in Python cost as much as the validation;
- the gold record is built directly as the dict a `Record` dump gives; it is valid by
  construction and not validated again (`corpus_tools.merge.gold`).

Everything layer-specific comes from the layer registry (`corpus_tools.layers`), turned once
into a `_Plan` per layer.
"""

from __future__ import annotations

import functools
import hashlib
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain, pairwise
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_origin

import msgspec
import orjson

from corpus_tools.errors import RefusedDecision
from corpus_tools.layers import LAYERS, Layer, Record
from corpus_tools.matching import cluster, cluster_exact, normalise, similarity, span_score
from corpus_tools.merge import corrections
from corpus_tools.merge.decisions import Conflict, ConflictKind, Version, _DecisionEntry
from corpus_tools.native import check_built, missing
from corpus_tools.problems import CATALOGUE
from corpus_tools.schema import AUTHOR, unwrap
from corpus_tools.validate import mirror

try:
    from corpus_tools.merge import _native as _native  # also gold.py's, checked here
except ImportError:
    raise missing(Path(__file__).with_name("_native.c")) from None

if TYPE_CHECKING:
    from corpus_tools.merge import _Merger


Refs = Mapping[str, int | str]
"""An annotator's attribution ids -> the numbers of their clusters; an adjudicator's item maps
its `"@START-END"` reference to itself until the document's gold is complete."""


@dataclass(frozen=True)
class _Plan:
    """How merge handles one layer, derived once from its `Layer`."""

    layer: Layer
    attributes: tuple[str, ...]
    """The attributes voted on, in the order of a version's `values` (`Layer.voted`): the span
    items are matched by first; a reference holds the number of the referenced attribution's
    cluster (or `author` / None)."""
    key: Callable[[Any], tuple[int, int]]
    """The span items are matched by (`Layer.key_span`, as an attribute getter)."""
    key_field: str | None
    """The attribute holding that span, or None for the item's own."""
    order: Callable[[Any], Any]
    """Each annotator's items are taken by position, then id, so the result is independent of
    the order of the input lines."""
    values: Callable[[Any, Refs, Any], tuple[Any, ...]]
    """An item's values, given its annotator's attribution ids -> cluster numbers."""
    steps: tuple[tuple[int, str], ...]
    """How `values` reads each attribute, `(kind, attribute)`, for `_native.clusters`."""
    reference: int | None
    """Where the reference to an attribution is in the values, for the layers that have one."""
    contained: tuple[tuple[str, int], ...]
    """`(part, index in values)` of the parts that must lie inside the referenced attribution's
    content for the item to enter gold (when lying outside is an error, as for nesting)."""
    targeted: bool
    """Whether other items refer to this layer's items (attributions)."""


def _plan(layer: Layer) -> _Plan:
    attributes = layer.voted
    key_fields = ("start", "end") if layer.key is None else (f"{layer.key}.start", f"{layer.key}.end")
    kinds = tuple((_value_kind(layer, attr), attr) for attr in attributes)
    getters: tuple[tuple[int, Callable[[Any], Any]], ...] = tuple(
        (kind, attrgetter("start", "end") if kind == _OWN else attrgetter(attr)) for kind, attr in kinds
    )

    def values(item: Any, refs: Refs, norm: Any) -> tuple[Any, ...]:
        # One loop over the attributes, each read by an attribute getter and turned into its
        # comparable form by kind (`_native.c` does the same in the usual case).
        out = []
        for kind, get in getters:
            value = get(item)
            if value is not None and kind not in _AS_IS:
                if kind == _SPAN:
                    value = (value.start, value.end)
                elif kind == _TEXT:
                    value = norm[value]
                elif kind == _REFERENCE:
                    if value != AUTHOR:
                        value = refs[value]
                else:  # _LIST
                    value = tuple(value)
            out.append(value)
        return tuple(out)

    ref = layer.reference
    contained: tuple[tuple[str, int], ...] = ()
    if ref is not None and CATALOGUE[ref.outside].severity == "error":
        contained = tuple((p.field or "span", attributes.index(p.field or "span")) for p in layer.parts)
    targeted = any(
        other.reference is not None and other.reference.target == layer.name for other in LAYERS.values()
    )
    return _Plan(
        layer,
        attributes,
        attrgetter(*key_fields),
        layer.key,
        attrgetter(*key_fields, "id"),
        values,
        kinds,
        None if ref is None else attributes.index(ref.field),
        contained,
        targeted,
    )


_VALUE, _OWN, _SPAN, _TEXT, _REFERENCE, _LIST = (
    _native.VALUE,
    _native.OWN,
    _native.SPAN,
    _native.TEXT,
    _native.REFERENCE,
    _native.LIST,
)
"""How an attribute becomes comparable (the codes are `_native.c`'s)."""
_AS_IS = (_VALUE, _OWN)
"""The kinds whose value is compared as read."""


def _value_kind(layer: Layer, attr: str) -> int:
    """How to read one attribute of an item in comparable form: `_OWN` (the item's own offsets),
    `_SPAN` (a part's offsets), `_TEXT` (normalised), `_REFERENCE` (the referenced
    attribution's cluster number, or `author`), `_LIST` (a tuple) or `_VALUE` (as it is)."""
    if attr == "span":
        return _OWN
    kind = layer.kind_of(attr)
    if kind == "span":
        return _SPAN
    if kind == "text":
        return _TEXT
    if kind == "reference":
        return _REFERENCE
    if get_origin(unwrap(layer.model.model_fields[attr].annotation)[0]) is list:
        # Votes count values in a dict: an extra layer's list (`tags`) is compared as a tuple.
        return _LIST
    return _VALUE


_PLANS = {name: _plan(layer) for name, layer in LAYERS.items()}
_REFERRING = frozenset(name for name, plan in _PLANS.items() if plan.reference is not None)
"""The layers whose items refer to an attribution (the others are never blocked)."""

check_built(Path(__file__).with_name("_native.c"), _native.SOURCE)
NATIVE = True
"""Whether merge's usual case runs in C (`_native.c`: clusters by span, the votes that need no
conflict, gold items); off, the Python code here and in gold.py does it all, as the reference that
tests/test_merge_native.py compares it with."""
_NOTE = attrgetter("note")
_ANNOTATOR = attrgetter("annotator")


_Record = msgspec.defstruct(
    "_Record", [("text", msgspec.Raw)], bases=(mirror.struct_for(Record),), module=__name__
)
"""A record as the validator's fast path decodes it, but with the text left as raw JSON (a
subclass of the mirror's struct, which is built at run time, as this one is).

Every record of a document has the same text, so it is decoded once, for gold, instead of
once per annotator.
"""


_DECODER = msgspec.json.Decoder(_Record)


def _decode(raw: bytes) -> Any:
    """A validated line as a `_Record`.

    A line can pass validation through the models without decoding with msgspec (the fast path
    only ever says "clean" or "look closer"); such a line takes the models' way here too.
    """
    try:
        return _DECODER.decode(raw)
    except (msgspec.DecodeError, UnicodeDecodeError):
        record = Record.model_validate_json(raw).model_dump()
        return msgspec.convert({**record, "text": msgspec.Raw(orjson.dumps(record["text"]))}, _Record)


def _dump_item(item: Any) -> dict[str, Any]:
    """An item as the models dump it with `exclude_none`: the fields in model order."""
    return {k: v for k, v in msgspec.to_builtins(item).items() if v is not None}


class _Normalise(dict[str | None, str | None]):
    """`matching.normalise`, remembered: targets and source names repeat across a corpus."""

    def __missing__(self, text: str | None) -> str | None:
        if len(self) > 100_000:
            self.clear()
        value = self[text] = normalise(text)
        return value


# Versions, clusters and candidates are made for every item: msgspec structs, which are created
# in C (dataclasses run a Python `__init__`). None can be part of a reference cycle.


class _Version(msgspec.Struct, gc=False):
    """One annotator's item inside a cluster, with its attributes in comparable form."""

    annotator: str
    item: Any
    values: tuple[Any, ...]
    """The item's value of each of its layer's attributes (`_Plan.attributes`)."""


class _Candidate(msgspec.Struct, gc=False):
    """What a cluster would put into gold: attribute values (references as cluster numbers)."""

    values: tuple[Any, ...]
    sources: tuple[_Version, ...]
    """For each attribute, the version whose value as written goes into gold (the first one
    with the winning value: `target` and `source_name` are compared normalised)."""
    cluster: _Cluster
    """Its cluster: the annotators and notes of every version go into gold."""
    replacement: tuple[dict[str, Any], int] | None = None
    """For a conflict decided `replace`: the gold item the adjudicator wrote (references as
    `"@START-END"`, no id yet) and the line of the decision."""


class _Cluster(msgspec.Struct, gc=False):
    """The versions of one item by the annotators who proposed it (matched across annotators)."""

    layer: str
    number: int
    versions: list[_Version]
    """One per annotator who proposed the item, in annotator order."""
    annotators: list[str]
    """The annotators of `versions`."""
    fingerprint: bytes | None = None
    """The versions' content, from which conflict ids are derived (computed when needed)."""

    @property
    def key(self) -> tuple[str, int]:
        return self.layer, self.number

    def version(self, annotator: str) -> _Version | None:
        return next((v for v in self.versions if v.annotator == annotator), None)


class _Document:
    """The merge of one document: clusters, votes, decisions, references, gold ids."""

    def __init__(self, merger: _Merger, records: Sequence[Any], lines: Sequence[bytes]) -> None:
        self.merger = merger
        self.lines = lines
        """The records' lines, in the order of `records` as given."""
        self.given = records
        self.records = {r.annotator: r for r in sorted(records, key=_ANNOTATOR)}
        self.annotators = list(self.records)
        first = self.records[self.annotators[0]]
        self.doc_id = first.doc_id
        self.text = msgspec.json.decode(first.text)
        n = len(self.annotators)
        self.threshold = 1 if n == 1 else (merger.min_votes or n // 2 + 1)
        self.conflicts: list[tuple[tuple[Any, ...], Conflict]] = []
        self.clusters: dict[str, list[_Cluster]] = {}
        self._alike: dict[str, dict[tuple[Any, ...], list[_Cluster]]] = {}
        self.one_per_span: set[str] = set()
        """The layers in which no annotator has two items on one span."""
        self.written: dict[int, int] = {}
        """`id(gold item) -> line` of the gold items that `replace` decisions wrote."""

    @functools.cached_property
    def notes(self) -> bool:
        """Whether any item has a note (then gold items collect their versions' notes)."""
        return any(map(_NOTE, chain.from_iterable(getattr(r, layer) for r in self.given for layer in LAYERS)))

    # -- building clusters

    def _clusters(self) -> dict[str, list[_Cluster]]:
        m = self.merger
        out: dict[str, list[_Cluster]] = {}
        # Each annotator's attribution ids -> their cluster number, for holder and nested_in.
        refs: dict[str, dict[str, int]] = {a: {} for a in self.records}
        for layer in LAYERS:
            plan = _PLANS[layer]
            items = {a: getattr(r, layer) for a, r in self.records.items()}
            if NATIVE:
                # The usual case in C, as below: one cluster per span, or None.
                found = _native.clusters(
                    layer,
                    plan.key_field,
                    plan.steps,
                    self.annotators,
                    list(items.values()),
                    list(refs.values()),
                    m.normalise,
                    m.overlap if m.match == "overlap" else -1.0,
                    plan.targeted,
                    AUTHOR,
                    _Version,
                    _Cluster,
                )
                if found is not None:
                    self.one_per_span.add(layer)
                    out[layer] = found
                    continue
                groups = None
            else:
                groups = self._group_by_span(layer, items)
            if groups is not None and m.match == "overlap" and _partial_matches(groups, plan.key, m.overlap):
                groups = None  # spans that differ match: clusters need the general algorithm
            if groups is None:
                groups = self._match(layer, items)
            else:
                self.one_per_span.add(layer)
            if plan.targeted:
                for number, group in enumerate(groups):
                    for a, it in group.items():
                        refs[a][it.id] = number
            # Values are computed once attributions are numbered (stances refer to them; nested
            # attributions to other attributions, hence after the whole layer). A cluster's
            # members are in annotator order (they join in that order).
            values, norm = plan.values, m.normalise
            out[layer] = [
                _Cluster(
                    layer,
                    number,
                    [_Version(a, it, values(it, refs[a], norm)) for a, it in group.items()],
                    list(group),
                )
                for number, group in enumerate(groups)
            ]
        return out

    def _group_by_span(self, layer: str, items: dict[str, list[Any]]) -> list[dict[str, Any]] | None:
        """Exact matching in the usual case, where no annotator has two items on one span.

        Then each span has one cluster, of every item on it: the clusters `_match` would
        give, in the same order (by span), without sorting each annotator's items first.
        Matching by overlap gives the same clusters when, moreover, no two different spans of
        the layer match (`_partial_matches`), the usual case again. Returns None when some
        annotator has two items on one span.
        """
        key = _PLANS[layer].key
        by_span: dict[tuple[int, int], dict[str, Any]] = {}
        for a in self.annotators:  # clusters list their members in annotator order
            for it in items[a]:
                k = key(it)
                group = by_span.get(k)
                if group is None:
                    by_span[k] = {a: it}
                elif a in group:
                    return None
                else:
                    group[a] = it
        return [by_span[k] for k in sorted(by_span)]

    def _match(self, layer: str, items: dict[str, list[Any]]) -> list[dict[str, Any]]:
        """Cluster a layer's items (`matching.cluster`), ordered by position, then annotator."""
        m, plan = self.merger, _PLANS[layer]
        key = plan.key
        # Each annotator's items by position, then id, so that ties between candidate pairs
        # are broken independently of the order of the input lines.
        per_annotator = {a: sorted(its, key=plan.order) for a, its in items.items()}

        def tiebreak(x: Any, y: Any) -> float:
            return similarity(plan.layer, x, y)

        if m.match == "exact":
            groups = cluster_exact(per_annotator, key, tiebreak)
            # Members share the key, and the first member is the smallest annotator (they are
            # taken in sorted order): the same order as the general sort below.
            groups.sort(key=lambda g: (key(next(iter(g.values()))), next(iter(g))))
            return groups

        def score(x: Any, y: Any) -> float | None:
            return span_score(key(x), key(y), m.match, m.overlap)

        groups = cluster(per_annotator, score, tiebreak, key, equal_bounds_first=True)
        groups.sort(key=lambda g: min((key(it), a) for a, it in g.items()))
        return groups

    # -- the merge

    def run(self) -> tuple[dict[tuple[str, int], _Candidate], list[Conflict]]:
        """Cluster, vote and apply decisions: the candidates that enter gold (by layer and
        cluster number), and the conflicts."""
        clusters = self.clusters = self._clusters()
        waiting: dict[tuple[str, int], _Candidate] = {}
        decided_references: dict[tuple[str, int], Conflict] = {}
        for layer in LAYERS:
            refers = _PLANS[layer].reference is not None and bool(self.merger.decisions)
            found = clusters[layer]
            # The clusters that need no conflict get their candidate in C (`_vote_or_decide`).
            # (The threshold as an int: a count is below it exactly when below its ceiling.)
            voted = (
                _native.candidates(found, math.ceil(self.threshold), _Candidate)
                if NATIVE
                else [None] * len(found)
            )
            for c, candidate in zip(found, voted, strict=True):
                if candidate is None:
                    candidate = self._vote_or_decide(c)
                if (
                    candidate is not None
                    and refers
                    and self._conflict_id(c, "reference") in self.merger.decisions
                ):
                    # Decided as a reference conflict in an earlier round: the decision holds
                    # even if what the item refers to has entered gold since.
                    candidate = self._conflict(
                        c,
                        "reference",
                        "decided while the attribution its holder or nested_in names was not in gold",
                        [],
                    )
                    decided_references[c.key] = self.conflicts[-1][1]
                if candidate is not None:
                    waiting[layer, c.number] = candidate
        gold = self._resolve(clusters, waiting, decided_references)
        conflicts = [c for _k, c in sorted(self.conflicts, key=lambda kc: kc[0])]
        return gold, conflicts

    def _vote_or_decide(self, c: _Cluster) -> _Candidate | None:
        versions = c.versions
        if len(versions) < self.threshold:
            why = (
                f"proposed by {len(versions)} of {len(self.annotators)} annotators "
                f"({', '.join(v.annotator for v in versions)}); {self.threshold} needed"
            )
            return self._conflict(c, "item", why, [])
        values = versions[0].values
        for v in versions:
            if v.values != values:
                return self._vote(c)
        return _Candidate(values, (versions[0],) * len(values), c)  # all agree

    def _vote(self, c: _Cluster) -> _Candidate | None:
        """The plurality value of each attribute, or an `attribute` conflict on a tie."""
        versions = c.versions
        n = len(versions)
        winners: list[Any] = []
        sources: list[_Version] = []
        ties: list[str] = []
        # Each column holds one attribute's values, in the order of the versions.
        for attr, column in zip(
            _PLANS[c.layer].attributes, zip(*[v.values for v in versions], strict=True), strict=True
        ):
            if column.count(column[0]) == n:  # agreed
                winners.append(column[0])
                sources.append(versions[0])
                continue
            counts: dict[Any, int] = {}
            for value in column:
                counts[value] = counts.get(value, 0) + 1
            top = max(counts.values())
            best = [value for value, k in counts.items() if k == top]
            if len(best) == 1:
                winners.append(best[0])
                sources.append(versions[column.index(best[0])])  # the first with that value
            else:
                ties.append(attr)
        if ties:
            parts = []
            for attr in ties:
                by_value: dict[str, list[str]] = {}
                for v in versions:
                    by_value.setdefault(self._show(c.layer, attr, v), []).append(v.annotator)
                parts.append(
                    f"no majority for {attr}: "
                    + "; ".join(f"{val} ({', '.join(anns)})" for val, anns in by_value.items())
                )
            return self._conflict(c, "attribute", "; ".join(parts), ties)
        return _Candidate(tuple(winners), tuple(sources), c)

    def _show(self, layer: str, attr: str, v: _Version) -> str:
        plan = _PLANS[layer]
        i = plan.attributes.index(attr)
        kind = plan.layer.kind_of(attr)
        if kind == "reference":
            ref = plan.layer.reference
            if isinstance(v.values[i], int) and ref is not None:
                name = getattr(v.item, attr)
                target = next(a for a in getattr(self.records[v.annotator], ref.target) if a.id == name)
                content = target.content
                return f"the attribution with content [{content.start}, {content.end})"
            return repr(v.values[i])
        value = v.item if attr == "span" else getattr(v.item, attr)
        if kind == "span" and value is not None:
            return f"[{value.start}, {value.end}) {value.text!r}"
        return repr(value)

    def _conflict(
        self,
        c: _Cluster,
        kind: ConflictKind,
        why: str,
        attributes: list[str],
    ) -> _Candidate | None:
        """Record a conflict; apply its decision if there is one. Returns the accepted item."""
        cid = self._conflict_id(c, kind)
        conflict = Conflict(
            id=cid,
            doc_id=self.doc_id,
            layer=c.layer,
            kind=kind,
            status="open",
            why=why,
            attributes=attributes,
            versions=[
                Version(annotator=a, item=None if (v := c.version(a)) is None else _dump_item(v.item))
                for a in self.annotators
            ],
        )
        sort_key = (list(LAYERS).index(c.layer), c.number, ["item", "attribute", "reference"].index(kind))
        self.conflicts.append((sort_key, conflict))
        found = self.merger.decisions.get(cid)
        if found is None:
            return None
        entry, line, _raw = found
        self.merger.used.add(cid)
        decision = entry.decision
        assert decision is not None
        conflict.decision, conflict.adjudicator, conflict.reason = decision, entry.adjudicator, entry.reason
        conflict.status = "decided"
        if decision.reject:
            return None
        if decision.replace is not None:
            return self._replacement(c, decision.replace, entry, line)
        version = c.version(decision.accept or "")
        if version is None:
            proposed = ", ".join(v.annotator for v in c.versions)
            raise RefusedDecision(
                f"{self.merger.source}:{line}: conflict {cid} accepts {decision.accept!r}, who has no "
                f"version of this item (versions by: {proposed}); accept one of them or reject",
                [line],
            )
        return _Candidate(version.values, (version,) * len(version.values), c)

    def _replacement(
        self,
        c: _Cluster,
        given: dict[str, Any],
        entry: _DecisionEntry,
        line: int,
    ) -> _Candidate:
        """The candidate of a conflict decided `{"replace": <item>}`: the adjudicator's item,
        with the cluster's annotators (and their notes, then the adjudicator's reason)."""
        where = f"{self.merger.source}:{line}"
        try:
            item = corrections.parse_item(c.layer, given)
        except ValueError as e:
            raise RefusedDecision(f"{where}: decision.replace: {e}", [line]) from None
        who = corrections.check_adjudicator(entry.adjudicator or self.merger.adjudicator, where, line)
        notes = " | ".join(f"{v.annotator}: {v.item.note}" for v in c.versions if v.item.note) or None
        gold = item.gold(list(c.annotators), corrections.adjudicator_note(notes, who, item, entry.reason))
        # The item's values, as the votes compare them; a reference stays "@START-END" (it is
        # resolved once the document's gold is complete), which never blocks it (`_blocked`).
        plan = _PLANS[c.layer]
        struct = msgspec.convert({**gold, "id": "x", "annotators": None}, mirror.struct_for(plan.layer.model))
        field = plan.layer.reference.field if plan.layer.reference is not None else ""
        ref = gold.get(field)
        values = plan.values(struct, {ref: ref} if isinstance(ref, str) else {}, self.merger.normalise)
        return _Candidate(values, (), c, (gold, line))

    def _conflict_id(self, c: _Cluster, kind: str) -> str:
        # The id covers the versions' content (references as the referenced content span), so a
        # decision stops applying, and is reported stale, as soon as an annotator changes it.
        blob = orjson.dumps([self.doc_id, c.layer, kind]) + self._fingerprint(c)
        cid = "c-" + hashlib.sha1(blob).hexdigest()[:12]
        # Identical clusters arise only from an annotator's duplicate items; number them.
        duplicate = self._duplicate(c)
        return cid if duplicate == 0 else f"{cid}-{duplicate + 1}"

    def _fingerprint(self, c: _Cluster) -> bytes:
        if c.fingerprint is None:
            c.fingerprint = orjson.dumps(
                [[v.annotator, self._content(c.layer, v)] for v in c.versions], option=orjson.OPT_SORT_KEYS
            )
        return c.fingerprint

    def _content(self, layer: str, v: _Version) -> dict[str, Any]:
        """The item without id, note and annotators, references as the referenced content span."""
        fp: dict[str, Any] = msgspec.to_builtins(v.item)  # a struct's builtins are a dict
        for name in ("id", "note", "annotators"):
            del fp[name]
        ref = LAYERS[layer].reference
        if ref is not None:
            target = fp.get(ref.field)
            if target is not None and target != AUTHOR:
                parent = next(a for a in getattr(self.records[v.annotator], ref.target) if a.id == target)
                fp[ref.field] = [parent.content.start, parent.content.end]
        return fp

    def _duplicate(self, c: _Cluster) -> int:
        """How many earlier clusters of the layer have the same fingerprint (duplicate items)."""
        if c.layer in self.one_per_span:
            return 0  # equal fingerprints need an annotator with two items on one span
        alike = self._alike.get(c.layer)
        if alike is None:
            # Equal fingerprints imply the same annotators with the same spans: only clusters
            # that share those need their fingerprints compared.
            alike = self._alike[c.layer] = {}
            for d in self.clusters[c.layer]:
                alike.setdefault(_shape(d), []).append(d)
        fingerprint = self._fingerprint(c)
        return sum(1 for d in alike[_shape(c)] if d.number < c.number and self._fingerprint(d) == fingerprint)

    def _resolve(
        self,
        clusters: dict[str, list[_Cluster]],
        waiting: dict[tuple[str, int], _Candidate],
        conflicted: dict[tuple[str, int], Conflict],
    ) -> dict[tuple[str, int], _Candidate]:
        """Admit candidates into gold once what they refer to is in gold; the rest conflict.

        An item enters gold only after the attribution it names (`holder`, `nested_in`), so
        gold never refers to a missing item and nesting can never form a cycle. What stays
        blocked becomes a `reference` conflict, whose decision may accept another version.
        """
        gold: dict[tuple[str, int], _Candidate] = {}
        while True:
            progress = True
            while progress:
                progress = False
                for key in sorted(waiting):
                    if key[0] not in _REFERRING or self._blocked(key[0], waiting[key], gold) is None:
                        gold[key] = waiting.pop(key)
                        progress = True
            fresh = [k for k in sorted(waiting) if k not in conflicted]
            if not fresh:
                break
            for key in fresh:
                c = clusters[key[0]][key[1]]
                why = self._blocked(key[0], waiting[key], gold) or ""
                accepted = self._conflict(c, "reference", why, [])
                conflicted[key] = self.conflicts[-1][1]
                if accepted is None:  # undecided or rejected: not in gold
                    del waiting[key]
                else:
                    waiting[key] = accepted
        for key, cand in waiting.items():
            # The adjudicator accepted a version that is blocked as well: still open.
            conflict = conflicted[key]
            conflict.status = "open"
            conflict.why += "; the accepted version is blocked too: " + (
                self._blocked(key[0], cand, gold) or ""
            )
        return gold

    def _blocked(self, layer: str, cand: _Candidate, gold: dict[tuple[str, int], _Candidate]) -> str | None:
        """Why `cand` cannot enter gold yet (its reference is not in gold), or None."""
        plan = _PLANS[layer]
        index = plan.reference
        if index is None or plan.layer.reference is None:
            return None
        ref = cand.values[index]
        if not isinstance(ref, int):  # None, author, or an adjudicator's "@START-END"
            return None
        parent = gold.get((plan.layer.reference.target, ref))
        if parent is None:
            return (
                f"its {plan.attributes[index]} is an attribution that is not in gold (decide "
                "the conflict on that attribution first, or accept a version that does not "
                "refer to it)"
            )
        lo, hi = parent.values[0]
        for part, i in plan.contained:
            b = cand.values[i]
            if b is not None and not (lo <= b[0] and b[1] <= hi):
                return (
                    f"its {part} [{b[0]}, {b[1]}) is not inside the content [{lo}, {hi}) "
                    f"of the attribution it is {plan.attributes[index]}"
                )
        return None

    # -- the gold record


def _partial_matches(
    groups: list[dict[str, Any]], key: Callable[[Any], tuple[int, int]], overlap: float
) -> bool:
    """Whether two of the groups' spans (`key` of a member; the groups in span order) differ but
    match by overlap.

    If none do, `matching.cluster` scores no pair of different spans, so its clusters are the
    groups of equal spans. The spans are swept in order, each compared only with the earlier
    ones it overlaps (usually none).
    """
    spans = [key(next(iter(group.values()))) for group in groups]
    if all(a[1] <= b[0] for a, b in pairwise(spans)):  # none overlaps the next: none overlaps
        return False
    open_spans: list[tuple[int, int]] = []  # earlier spans that reach past the current start
    for span in spans:
        open_spans = [o for o in open_spans if o[1] > span[0]]
        if any(span_score(o, span, "overlap", overlap) is not None for o in open_spans):
            return True
        open_spans.append(span)
    return False


def _shape(c: _Cluster) -> tuple[tuple[str, Any], ...]:
    return tuple((v.annotator, v.values[0]) for v in c.versions)
