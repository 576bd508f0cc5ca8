"""`corpus merge`: majority-vote the annotators of each document into one gold record.

Items are matched across annotators per document and layer (`corpus_tools.matching`). An item
whose cluster has enough votes goes into gold with the plurality value of each attribute; an item
with too few votes, or an attribute without a single most frequent value, becomes a *conflict*:
one line of the conflicts file, with every annotator's version and an empty `decision` for an
adjudicator. The conflicts file with decisions filled in is the decisions file (the adjudication
log): merging again with it applies the decisions. See `docs/merge.md` for the full semantics.

Nothing is lost: every input item either counts towards a gold item (its annotator is listed in
the gold item's `annotators`) or is a version in a conflict. Gold items that refer to an
attribution (`holder`, `nested_in`) enter gold only once that attribution has; otherwise they
become `reference` conflicts, so the gold file always validates.

The inputs are indexed, not loaded: documents are read one at a time by seeking to their lines,
and the outputs are streamed to temporary files that replace the targets at the end.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, ValidationError, model_serializer, model_validator

from corpus_tools.docindex import DocIndex
from corpus_tools.errors import CorpusToolsError
from corpus_tools.jsonl import atomic_open, dumps, iter_lines
from corpus_tools.matching import MatchMode, cluster, key_span, normalise, similarity, span_score
from corpus_tools.problems import CATALOGUE
from corpus_tools.records import require_valid
from corpus_tools.rules import check_record
from corpus_tools.schema import AUTHOR, LAYERS, Meta, Name, Record

PREFIX = {"rhetorical_questions": "q", "attributions": "t", "stances": "s"}
"""The prefix of gold item ids in each layer: `q1`, `t1`, `s1`, ..."""

ConflictKind = Literal["item", "attribute", "reference"]
Status = Literal["open", "decided", "stale"]


# -- the conflicts / decisions file -----------------------------------------------------------


class Decision(BaseModel):
    """An adjudicator's decision on a conflict: accept one annotator's version, or reject all."""

    model_config = ConfigDict(extra="forbid", strict=True)

    accept: Name | None = None
    """The annotator whose version (the whole item as they annotated it) goes into gold."""
    reject: Literal[True] | None = None
    """`true`: nothing of this conflict goes into gold."""

    @model_validator(mode="after")
    def _one_of(self) -> Decision:
        if (self.accept is None) == (self.reject is None):
            raise ValueError('give exactly one of {"accept": "<annotator>"} or {"reject": true}')
        return self

    @model_serializer
    def _dump(self) -> dict[str, Any]:
        # Written back as the adjudicator wrote it: only the key that was given.
        return {"accept": self.accept} if self.accept is not None else {"reject": True}


class Version(BaseModel):
    """One annotator's version of the disputed item; `item` is null if they did not propose it."""

    annotator: str
    item: dict[str, Any] | None


class Conflict(BaseModel):
    """One line of the conflicts (= decisions) file."""

    id: str
    """Stable id derived from the content: document, layer, kind and the versions proposed."""
    doc_id: str
    layer: str
    kind: ConflictKind
    """`item`: too few annotators proposed it; `attribute`: no majority value for an attribute of
    an item that has enough votes; `reference`: its `holder`/`nested_in` names an attribution
    that is not in gold (or whose content does not contain it)."""
    status: Status
    """`open`: not decided yet (not in gold); `decided`: the decision was applied; `stale`: a
    decision from the decisions file whose conflict no longer arises."""
    why: str
    """What the annotators disagree on, in words."""
    attributes: list[str] = []
    """For `attribute` conflicts: the attributes without a majority value."""
    versions: list[Version]
    """Every annotator of the document, sorted by name."""
    decision: Decision | None = None
    """To fill in: `{"accept": "<annotator>"}` or `{"reject": true}`."""
    adjudicator: str | None = None
    """Who decided (stamped by `--adjudicator` when left empty)."""
    reason: str | None = None
    """Optional: why it was decided so."""


class _DecisionEntry(BaseModel):
    # Only these fields of a decisions line are read; the rest is context for the adjudicator.
    model_config = ConfigDict(extra="ignore")

    id: str
    decision: Decision | None = None
    adjudicator: str | None = None
    reason: str | None = None


# -- the result -------------------------------------------------------------------------------


class LayerCounts(BaseModel):
    """What the merge did in one layer."""

    gold: int = 0
    """Items written to gold."""
    conflicts: int = 0
    """Conflicts still open (not in gold)."""
    decided: int = 0
    """Conflicts whose decision was applied (accepted into gold or rejected)."""
    stale: int = 0
    """Decisions whose conflict no longer arises (kept in the conflicts file, marked stale)."""


class StaleDecision(BaseModel):
    """A decision that matched no conflict of this run: the annotations changed since."""

    id: str
    doc_id: str | None
    layer: str | None
    decision: Decision
    line: int
    """Line of the decisions file."""


class MergeResult(BaseModel):
    """What `merge` wrote and how many items went where."""

    output: str
    conflicts_file: str
    documents: int = 0
    records: int = 0
    annotators: list[str] = []
    layers: dict[str, LayerCounts] = {}
    stale: list[StaleDecision] = []
    warnings: int = 0
    """Validation warnings in the inputs (they do not stop the merge)."""

    @property
    def open_conflicts(self) -> int:
        """Conflicts still waiting for a decision."""
        return sum(c.conflicts for c in self.layers.values())


# -- merge ------------------------------------------------------------------------------------


def merge(paths: Iterable[Path | str], *, output: Path, conflicts: Path,
          decisions: Path | None = None, match: str = "exact", overlap: float = 0.5,
          min_votes: int | None = None, adjudicator: str | None = None,
          gold_name: str = "gold") -> MergeResult:
    """Merge annotator files into gold records and a conflicts file.

    Args:
        paths: annotator JSONL files, or folders searched for `*.jsonl`.
        output: the gold JSONL file to write (one record per document, sorted by `doc_id`).
        conflicts: the conflicts JSONL file to write (open, decided and stale conflicts).
        decisions: a conflicts file with decisions filled in, to apply; may be the same path as
            `conflicts` (it is read before anything is written).
        match: `exact` offsets, or `overlap` (Jaccard of code-point ranges >= `overlap`).
        overlap: the threshold of `overlap` matching, in (0, 1].
        min_votes: annotators needed to accept an item; default a majority of the document's
            annotators (more than half). Documents with a single annotator pass through.
        adjudicator: name stamped on applied decisions that do not name their adjudicator.
        gold_name: the `annotator` of gold records.

    Returns:
        A `MergeResult` with counts per layer and the stale decisions.

    Raises:
        InvalidInputError: when the inputs do not validate (carries the report).
        CorpusToolsError: on bad options, a path that does not exist, or a malformed decisions
            file.
    """
    if match not in ("exact", "overlap"):
        raise CorpusToolsError(f"--match must be 'exact' or 'overlap', not {match!r}")
    if not 0 < overlap <= 1:
        raise CorpusToolsError(f"--overlap must be in (0, 1], not {overlap}")
    if min_votes is not None and min_votes < 1:
        raise CorpusToolsError(f"--min-votes must be at least 1, not {min_votes}")
    for name, value in (("gold name", gold_name), ("adjudicator", adjudicator)):
        if value is not None:
            _check_name(name, value)
    output, conflicts = Path(output), Path(conflicts)
    files, report = require_valid(paths)
    resolved = {f.resolve() for f in files}
    for target in (output, conflicts):
        if target.resolve() in resolved:
            raise CorpusToolsError(f"{target}: is one of the input files; write it elsewhere")
    table = read_decisions(decisions) if decisions is not None else {}
    merger = _Merger(match, overlap, min_votes, table, decisions)  # type: ignore[arg-type]
    result = MergeResult(output=str(output), conflicts_file=str(conflicts),
                         warnings=report.summary.warnings,
                         layers={layer: LayerCounts() for layer in LAYERS})
    annotators: set[str] = set()
    with DocIndex(files) as index, atomic_open(output) as gold_f, atomic_open(conflicts) as conf_f:
        for _doc_id, records in index:
            gold, doc_conflicts = merger.merge_document(records, gold_name)
            gold_f.write(dumps(gold.model_dump(mode="json", exclude_none=True)))
            result.documents += 1
            result.records += len(records)
            annotators.update(r.annotator for r in records)
            for layer in LAYERS:
                result.layers[layer].gold += len(getattr(gold, layer))
            for c in doc_conflicts:
                _stamp(c, adjudicator)
                counts = result.layers[c.layer]
                if c.status == "decided":
                    counts.decided += 1
                else:
                    counts.conflicts += 1
                conf_f.write(dumps(c.model_dump(mode="json")))
        for entry, line, raw in merger.unused():
            stale = _stale_record(entry, raw)  # not stamped: this run did not apply it
            conf_f.write(dumps(stale.model_dump(mode="json")))
            if stale.layer in result.layers:
                result.layers[stale.layer].stale += 1
            assert entry.decision is not None
            result.stale.append(StaleDecision(id=entry.id, doc_id=stale.doc_id or None,
                                              layer=stale.layer or None, decision=entry.decision,
                                              line=line))
    result.annotators = sorted(annotators)
    return result


def read_decisions(path: Path) -> dict[str, tuple[_DecisionEntry, int, dict[str, Any]]]:
    """The decided lines of a decisions file: `id -> (entry, line number, raw object)`.

    Lines whose `decision` is null are skipped (they are open conflicts of an earlier run).

    Raises:
        CorpusToolsError: when the file is missing, a line is not JSON, or a decision is
            malformed (naming the file and line).
    """
    path = Path(path)
    if not path.is_file():
        raise CorpusToolsError(f"{path}: no such decisions file")
    table: dict[str, tuple[_DecisionEntry, int, dict[str, Any]]] = {}
    for number, raw in iter_lines(path):
        if not raw.strip():
            continue
        try:
            obj = orjson.loads(raw)
            entry = _DecisionEntry.model_validate(obj)
        except orjson.JSONDecodeError as e:
            raise CorpusToolsError(f"{path}:{number}: not valid JSON: {e}") from None
        except ValidationError as e:
            first = e.errors(include_url=False)[0]
            where = ".".join(str(p) for p in first["loc"])
            raise CorpusToolsError(f"{path}:{number}: {where}: {first['msg']}; a decision is "
                                   '{"accept": "<annotator>"} or {"reject": true}') from None
        if entry.decision is None:
            continue
        if entry.id in table:
            raise CorpusToolsError(f"{path}:{number}: conflict {entry.id} is decided again "
                                   f"(first at line {table[entry.id][1]}); keep one decision")
        table[entry.id] = (entry, number, obj)
    return table


def _check_name(what: str, value: str) -> None:
    try:
        _NameModel(name=value)
    except ValidationError:
        raise CorpusToolsError(f"{what} {value!r} is not a valid name (1 to 128 characters "
                               "from A-Z a-z 0-9 . _ - starting with a letter or digit)") from None


class _NameModel(BaseModel):
    name: Name


def _stamp(conflict: Conflict, adjudicator: str | None) -> None:
    if conflict.decision is not None and conflict.adjudicator is None and adjudicator:
        conflict.adjudicator = adjudicator


def _stale_record(entry: _DecisionEntry, raw: dict[str, Any]) -> Conflict:
    why = ("no conflict with this id arose in this run: the annotations it was decided on have "
           "changed (or the conflict no longer exists); decide the new conflict, if any, and "
           "delete this line")
    try:
        versions = [Version.model_validate(v) for v in raw.get("versions") or []]
    except ValidationError:
        versions = []
    kind = raw.get("kind") if raw.get("kind") in ("item", "attribute", "reference") else "item"
    attributes = raw.get("attributes")
    return Conflict(id=entry.id, doc_id=str(raw.get("doc_id", "")), layer=str(raw.get("layer", "")),
                    kind=kind, status="stale", why=why,
                    attributes=[str(a) for a in attributes] if isinstance(attributes, list) else [],
                    versions=versions, decision=entry.decision, adjudicator=entry.adjudicator,
                    reason=entry.reason)


# -- one document -----------------------------------------------------------------------------


@dataclass
class _Version:
    """One annotator's item inside a cluster, with its attributes in comparable form."""

    annotator: str
    item: Any
    values: dict[str, Any]
    raw: dict[str, Any]


@dataclass
class _Candidate:
    """What a cluster would put into gold: attribute values (references as cluster numbers)."""

    values: dict[str, Any]
    raw: dict[str, Any]
    annotators: list[str]
    notes: list[str] = field(default_factory=list)


@dataclass
class _Cluster:
    layer: str
    number: int
    versions: list[_Version]
    fingerprint: bytes = b""
    """The versions' content, from which conflict ids are derived."""
    duplicate: int = 0
    """How many earlier clusters of the layer have the same fingerprint (duplicate items)."""

    @property
    def key(self) -> tuple[str, int]:
        return self.layer, self.number

    def version(self, annotator: str) -> _Version | None:
        return next((v for v in self.versions if v.annotator == annotator), None)


class _Merger:
    def __init__(self, match: MatchMode, overlap: float, min_votes: int | None,
                 decisions: dict[str, tuple[_DecisionEntry, int, dict[str, Any]]],
                 source: Path | None = None) -> None:
        self.source = source
        self.match = match
        self.overlap = overlap
        self.min_votes = min_votes
        self.decisions = decisions
        self.used: set[str] = set()

    def unused(self) -> list[tuple[_DecisionEntry, int, dict[str, Any]]]:
        """Decisions that matched no conflict, in file order."""
        left = [v for k, v in self.decisions.items() if k not in self.used]
        return sorted(left, key=lambda v: v[1])

    def merge_document(self, records: Sequence[Record], gold_name: str) -> tuple[Record, list[Conflict]]:
        doc = _Document(self, records)
        return doc.run(gold_name)


class _Document:
    """The merge of one document: clusters, votes, decisions, references, gold ids."""

    def __init__(self, merger: _Merger, records: Sequence[Record]) -> None:
        self.m = merger
        self.records = {r.annotator: r for r in records}
        self.annotators = sorted(self.records)
        self.doc_id = records[0].doc_id
        self.text = records[0].text
        n = len(self.annotators)
        self.threshold = 1 if n == 1 else (merger.min_votes or n // 2 + 1)
        self.conflicts: list[tuple[tuple[Any, ...], Conflict]] = []
        self.counts: Counter[str] = Counter()

    # -- building clusters

    def _clusters(self) -> dict[str, list[_Cluster]]:
        m = self.m
        out: dict[str, list[_Cluster]] = {}
        # Map each annotator's attribution ids to their cluster, for holder and nested_in.
        attr_cluster: dict[tuple[str, str], int] = {}
        for layer in LAYERS:
            per_annotator = {
                a: sorted(getattr(r, layer), key=lambda it, layer=layer: (key_span(layer, it), it.id))
                for a, r in self.records.items()
            }

            def score(x: Any, y: Any, layer: str = layer) -> float | None:
                return span_score(key_span(layer, x), key_span(layer, y), m.match, m.overlap)

            def tiebreak(x: Any, y: Any, layer: str = layer) -> float:
                return similarity(layer, x, y)

            groups = cluster(per_annotator, score, tiebreak,
                             lambda it, layer=layer: key_span(layer, it))
            groups.sort(key=lambda g, layer=layer: min((key_span(layer, it), a) for a, it in g.items()))
            clusters = []
            for number, group in enumerate(groups):
                if layer == "attributions":
                    for a, it in group.items():
                        attr_cluster[(a, it.id)] = number
                clusters.append(_Cluster(layer, number, []))
            out[layer] = clusters
            # Values are computed once attributions are numbered (stances refer to them; nested
            # attributions to other attributions, hence after the whole layer).
            seen: Counter[bytes] = Counter()
            for c, group in zip(clusters, groups, strict=True):
                c.versions = [self._version(layer, a, group[a], attr_cluster) for a in sorted(group)]
                c.fingerprint = orjson.dumps(
                    [[v.annotator, self._fingerprint(v)] for v in c.versions], option=orjson.OPT_SORT_KEYS)
                c.duplicate = seen[c.fingerprint]
                seen[c.fingerprint] += 1
        return out

    def _version(self, layer: str, annotator: str, item: Any,
                 attr_cluster: dict[tuple[str, str], int]) -> _Version:
        def span(s: Any) -> tuple[int, int] | None:
            return None if s is None else (s.start, s.end)

        def dump(s: Any) -> dict[str, Any] | None:
            return None if s is None else s.model_dump()

        if layer == "rhetorical_questions":
            values = {"span": (item.start, item.end), "kind": item.kind, "answer": span(item.answer)}
            raw = {"span": {"start": item.start, "end": item.end, "text": item.text},
                   "kind": item.kind, "answer": dump(item.answer)}
        elif layer == "attributions":
            parent = None if item.nested_in is None else attr_cluster[(annotator, item.nested_in)]
            values = {"content": span(item.content), "type": item.type, "source": span(item.source),
                      "cue": span(item.cue), "source_name": normalise(item.source_name),
                      "nested_in": parent}
            raw = {"content": dump(item.content), "type": item.type, "source": dump(item.source),
                   "cue": dump(item.cue), "source_name": item.source_name, "nested_in": parent}
        else:
            holder = AUTHOR if item.holder == AUTHOR else attr_cluster[(annotator, item.holder)]
            values = {"span": (item.start, item.end), "target": normalise(item.target),
                      "polarity": item.polarity, "holder": holder}
            raw = {"span": {"start": item.start, "end": item.end, "text": item.text},
                   "target": item.target, "polarity": item.polarity, "holder": holder}
        return _Version(annotator, item, values, raw)

    # -- the merge

    def run(self, gold_name: str) -> tuple[Record, list[Conflict]]:
        clusters = self._clusters()
        waiting: dict[tuple[str, int], _Candidate] = {}
        decided_references: dict[tuple[str, int], Conflict] = {}
        for layer in LAYERS:
            for c in clusters[layer]:
                candidate = self._vote_or_decide(c)
                if candidate is not None and layer in ("attributions", "stances") and \
                        self._conflict_id(c, "reference") in self.m.decisions:
                    # Decided as a reference conflict in an earlier round: the decision holds
                    # even if what the item refers to has entered gold since.
                    candidate = self._conflict(c, "reference", "decided while the attribution its "
                                               "holder or nested_in names was not in gold", [])
                    decided_references[c.key] = self.conflicts[-1][1]
                if candidate is not None:
                    waiting[c.key] = candidate
        gold = self._resolve(clusters, waiting, decided_references)
        record = self._gold_record(clusters, gold, gold_name)
        conflicts = [c for _k, c in sorted(self.conflicts, key=lambda kc: kc[0])]
        return record, conflicts

    def _vote_or_decide(self, c: _Cluster) -> _Candidate | None:
        proposers = [v.annotator for v in c.versions]
        n = len(self.annotators)
        if len(c.versions) < self.threshold:
            why = (f"proposed by {len(c.versions)} of {n} annotators ({', '.join(proposers)}); "
                   f"{self.threshold} needed")
            return self._conflict(c, "item", why, [])
        winners: dict[str, Any] = {}
        ties: dict[str, list[Any]] = {}
        for attr in c.versions[0].values:
            counts = Counter(v.values[attr] for v in c.versions)
            top = max(counts.values())
            best = [value for value, k in counts.items() if k == top]
            if len(best) == 1:
                winners[attr] = best[0]
            else:
                ties[attr] = best
        if ties:
            parts = []
            for attr in ties:
                by_value: dict[str, list[str]] = {}
                for v in c.versions:
                    by_value.setdefault(self._show(c.layer, attr, v), []).append(v.annotator)
                parts.append(f"no majority for {attr}: " + "; ".join(
                    f"{val} ({', '.join(anns)})" for val, anns in by_value.items()))
            return self._conflict(c, "attribute", "; ".join(parts), list(ties))
        raw = {attr: next(v.raw[attr] for v in c.versions if v.values[attr] == value)
               for attr, value in winners.items()}
        return _Candidate(winners, raw, proposers, self._notes(c.versions))

    def _show(self, layer: str, attr: str, v: _Version) -> str:
        value = v.raw[attr]
        if isinstance(value, dict):
            return f"[{value['start']}, {value['end']}) {value['text']!r}"
        if attr in ("holder", "nested_in") and isinstance(value, int):
            ref = v.item.holder if attr == "holder" else v.item.nested_in
            content = next(a.content for a in self.records[v.annotator].attributions if a.id == ref)
            return f"the attribution with content [{content.start}, {content.end})"
        return repr(value)

    @staticmethod
    def _notes(versions: Sequence[_Version]) -> list[str]:
        return [f"{v.annotator}: {v.item.note}" for v in versions if v.item.note]

    def _conflict(self, c: _Cluster, kind: ConflictKind, why: str, attributes: list[str],
                  ) -> _Candidate | None:
        """Record a conflict; apply its decision if there is one. Returns the accepted item."""
        cid = self._conflict_id(c, kind)
        conflict = Conflict(
            id=cid, doc_id=self.doc_id, layer=c.layer, kind=kind, status="open", why=why,
            attributes=attributes,
            versions=[Version(annotator=a, item=None if (v := c.version(a)) is None else
                              v.item.model_dump(mode="json", exclude_none=True))
                      for a in self.annotators])
        sort_key = (list(LAYERS).index(c.layer), c.number, ["item", "attribute", "reference"].index(kind))
        self.conflicts.append((sort_key, conflict))
        found = self.m.decisions.get(cid)
        if found is None:
            return None
        entry, line, _raw = found
        self.m.used.add(cid)
        decision = entry.decision
        assert decision is not None
        conflict.decision, conflict.adjudicator, conflict.reason = decision, entry.adjudicator, entry.reason
        conflict.status = "decided"
        if decision.reject:
            return None
        version = c.version(decision.accept or "")
        if version is None:
            proposed = ", ".join(v.annotator for v in c.versions)
            raise CorpusToolsError(
                f"{self.m.source}:{line}: conflict {cid} accepts {decision.accept!r}, who has no "
                f"version of this item (versions by: {proposed}); accept one of them or reject")
        return _Candidate(dict(version.values), dict(version.raw),
                          [v.annotator for v in c.versions], self._notes(c.versions))

    def _conflict_id(self, c: _Cluster, kind: str) -> str:
        # The id covers the versions' content (references as the referenced content span), so a
        # decision stops applying, and is reported stale, as soon as an annotator changes it.
        blob = orjson.dumps([self.doc_id, c.layer, kind]) + c.fingerprint
        cid = "c-" + hashlib.sha1(blob).hexdigest()[:12]
        # Identical clusters arise only from an annotator's duplicate items; number them.
        return cid if c.duplicate == 0 else f"{cid}-{c.duplicate + 1}"

    def _fingerprint(self, v: _Version) -> dict[str, Any]:
        fp = v.item.model_dump(mode="json", exclude={"id", "note", "annotators"})
        for ref in ("holder", "nested_in"):
            target = fp.get(ref)
            if target is not None and target != AUTHOR:
                parent = next(a for a in self.records[v.annotator].attributions if a.id == target)
                fp[ref] = [parent.content.start, parent.content.end]
        return fp

    def _resolve(self, clusters: dict[str, list[_Cluster]], waiting: dict[tuple[str, int], _Candidate],
                 conflicted: dict[tuple[str, int], Conflict]) -> dict[tuple[str, int], _Candidate]:
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
                    if self._blocked(key[0], waiting[key], gold) is None:
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
            conflict.why += "; the accepted version is blocked too: " + (self._blocked(key[0], cand, gold) or "")
        return gold

    def _blocked(self, layer: str, cand: _Candidate, gold: dict[tuple[str, int], _Candidate]) -> str | None:
        """Why `cand` cannot enter gold yet (its reference is not in gold), or None."""
        ref_attr = {"attributions": "nested_in", "stances": "holder"}.get(layer)
        if ref_attr is None:
            return None
        ref = cand.values[ref_attr]
        if ref is None or ref == AUTHOR:
            return None
        parent = gold.get(("attributions", ref))
        if parent is None:
            return (f"its {ref_attr} is an attribution that is not in gold (decide the conflict "
                    "on that attribution first, or accept a version that does not refer to it)")
        if layer == "attributions":
            lo, hi = parent.values["content"]
            for part in ("source", "cue", "content"):
                b = cand.values[part]
                if b is not None and not (lo <= b[0] and b[1] <= hi):
                    return (f"its {part} [{b[0]}, {b[1]}) is not inside the content [{lo}, {hi}) "
                            "of the attribution it is nested_in")
        return None

    def _gold_record(self, clusters: dict[str, list[_Cluster]], gold: dict[tuple[str, int], _Candidate],
                     gold_name: str) -> Record:
        gold_ids: dict[tuple[str, int], str] = {}
        for layer in LAYERS:
            keys = sorted((k for k in gold if k[0] == layer), key=lambda k: _sort_value(gold[k].values))
            for i, k in enumerate(keys, start=1):
                gold_ids[k] = f"{PREFIX[layer]}{i}"
        out: dict[str, Any] = {"doc_id": self.doc_id, "annotator": gold_name, "text": self.text,
                               "meta": self._meta()}
        for layer in LAYERS:
            items = []
            for k in sorted((k for k in gold if k[0] == layer), key=lambda k: int(gold_ids[k][1:])):
                cand = gold[k]
                item: dict[str, Any] = {"id": gold_ids[k]}
                for attr, value in cand.raw.items():
                    if attr == "span":
                        item.update(value)
                    elif attr == "holder":
                        item[attr] = AUTHOR if value == AUTHOR else gold_ids[("attributions", value)]
                    elif attr == "nested_in":
                        item[attr] = None if value is None else gold_ids[("attributions", value)]
                    else:
                        item[attr] = value
                item["annotators"] = sorted(cand.annotators)
                if cand.notes:
                    item["note"] = " | ".join(cand.notes)
                items.append(item)
            out[layer] = items
        problems = [f for f in check_record(out) if CATALOGUE[f[0]].severity == "error"]
        if problems:  # a bug: references are resolved before items enter gold
            raise RuntimeError(f"merge produced an invalid gold record for {self.doc_id}: {problems}")
        return Record.model_validate(out)

    def _meta(self) -> dict[str, Any]:
        # Field by field, the first value given, in annotator order.
        merged: dict[str, Any] = {}
        for a in self.annotators:
            for k, v in self.records[a].meta.model_dump(exclude_unset=True, exclude_none=True).items():
                merged.setdefault(k, v)
        return Meta.model_validate(merged).model_dump(exclude_none=True)


def _sort_value(values: dict[str, Any]) -> tuple[tuple[int, int], str]:
    # Position first (the matching span), then the other values, to order gold items.
    key = values.get("span") or values["content"]
    return key, orjson.dumps(values, option=orjson.OPT_SORT_KEYS).decode()
