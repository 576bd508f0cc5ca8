"""`corpus merge`: majority-vote the annotators of each document into one gold record.

Items are matched across annotators per document and layer (`corpus_tools.matching`). An item
whose cluster has enough votes goes into gold with the plurality value of each attribute; an item
with too few votes, or an attribute without a single most frequent value, becomes a *conflict*:
one line of the conflicts file, with every annotator's version and an empty `decision` for an
adjudicator. The conflicts file with decisions filled in is the decisions file (the adjudication
log): merging again with it applies the decisions. See `docs/merge.md` for the full semantics.

An adjudicator may also write items of their own: a conflict decided `{"replace": <item>}`, and
correction lines that replace, remove or add gold items the annotators agreed on (or never gave);
`corpus_tools.corrections` applies them to the few documents that have any.

Nothing is lost: every input item either counts towards a gold item (its annotator is listed in
the gold item's `annotators`), is a version in a conflict, or was removed or replaced by a
correction line, which stays in the log. Gold items that refer to an attribution (`holder`,
`nested_in`) enter gold only once that attribution has; otherwise they become `reference`
conflicts, so the gold file always validates.

The inputs are indexed, not loaded: documents are read one at a time by seeking to their lines,
and the outputs are streamed to temporary files that replace the targets at the end.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from pathlib import Path
from typing import Any, Literal

import msgspec
import orjson
from pydantic import BaseModel, ConfigDict, ValidationError, model_serializer, model_validator

from corpus_tools import corrections, fastpath
from corpus_tools.corrections import PREFIX, CorrectionDecision, CorrectionEntry, Outcome
from corpus_tools.docindex import DocIndex
from corpus_tools.errors import CorpusToolsError
from corpus_tools.files import Outputs, display, dumps, iter_json_lines, same_file
from corpus_tools.matching import (
    MatchMode,
    cluster,
    cluster_exact,
    normalise,
    similarity,
    span_score,
)
from corpus_tools.problems import Report
from corpus_tools.records import require_valid
from corpus_tools.schema import AUTHOR, LAYERS, NAME_RULE, Meta, Name, Record, is_name

ConflictKind = Literal["item", "attribute", "reference"]
Status = Literal["open", "decided", "stale"]


# -- the conflicts / decisions file -----------------------------------------------------------


class Decision(BaseModel):
    """An adjudicator's decision on a conflict: accept one annotator's version, reject all, or
    replace them with the adjudicator's own."""

    model_config = ConfigDict(extra="forbid", strict=True)

    accept: Name | None = None
    """The annotator whose version (the whole item as they annotated it) goes into gold."""
    reject: Literal[True] | None = None
    """`true`: nothing of this conflict goes into gold."""
    replace: dict[str, Any] | None = None
    """The adjudicator's version of the item (annotator format, `id` optional; a reference to an
    attribution as `"@START-END"`), which goes into gold instead of the annotators'."""

    @model_validator(mode="after")
    def _one_of(self) -> Decision:
        if sum(v is not None for v in (self.accept, self.reject, self.replace)) != 1:
            raise ValueError(_ONE_DECISION)
        return self

    @model_serializer
    def _dump(self) -> dict[str, Any]:
        # Written back as the adjudicator wrote it: only the key that was given.
        if self.accept is not None:
            return {"accept": self.accept}
        return {"reject": True} if self.reject else {"replace": self.replace}


_ONE_DECISION = 'give exactly one of {"accept": "<annotator>"}, {"reject": true} or {"replace": <item>}'


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
    """To fill in: `{"accept": "<annotator>"}`, `{"reject": true}` or `{"replace": <item>}`."""
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
    """Decisions whose conflict no longer arises, and corrections that no longer apply (kept in
    the conflicts file, marked stale)."""
    replaced: int = 0
    """Gold items replaced by correction lines."""
    removed: int = 0
    """Gold items removed by correction lines."""
    added: int = 0
    """Items added to gold by correction lines."""

    @property
    def corrections(self) -> int:
        """Correction lines applied."""
        return self.replaced + self.removed + self.added


class StaleDecision(BaseModel):
    """A decision that matched no conflict of this run, or a correction that matched no gold
    item: the annotations changed since."""

    id: str | None
    """The conflict's id; None for a correction line."""
    doc_id: str | None
    layer: str | None
    decision: Decision | CorrectionDecision
    line: int
    """Line of the decisions file."""
    why: str = "no such conflict any more"


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
    if same_file(output, conflicts):
        raise CorpusToolsError(f"{display(output)}: --output and --conflicts name the same file; the "
                               "gold would overwrite the adjudication log")
    if decisions is not None and same_file(output, decisions):
        raise CorpusToolsError(f"{display(output)}: --output is the --decisions file; the gold would "
                               "overwrite the adjudication log")
    with Outputs("corpus merge") as outputs:
        gold_temp = outputs.file(output, option="--output")
        conflicts_temp = outputs.file(conflicts, option="--conflicts")
        table = read_decisions(decisions) if decisions is not None else Decisions()
        files, report = require_valid(paths)
        for option, target in (("--output", output), ("--conflicts", conflicts)):
            if any(same_file(target, f) for f in files):
                raise CorpusToolsError(f"{option} {display(target)}: is one of the input files; "
                                       "write it elsewhere")
        result = _merge(files, report, table, gold_temp, conflicts_temp, output=output,
                        conflicts=conflicts, decisions=decisions, match=match, overlap=overlap,
                        min_votes=min_votes, adjudicator=adjudicator, gold_name=gold_name)
        outputs.commit()
    return result


def _merge(files: list[Path], report: Report, table: Decisions, gold_temp: Path, conflicts_temp: Path,
           *, output: Path, conflicts: Path, decisions: Path | None, match: str, overlap: float,
           min_votes: int | None, adjudicator: str | None, gold_name: str) -> MergeResult:
    merger = _Merger(match, overlap, min_votes, table, decisions, adjudicator)  # type: ignore[arg-type]
    result = MergeResult(output=str(output), conflicts_file=str(conflicts),
                         warnings=report.summary.warnings,
                         layers={layer: LayerCounts() for layer in LAYERS})
    annotators: set[str] = set()
    # Correction lines and stale decisions follow the conflicts, in the order of the decisions
    # file (the order corrections apply in), so appended lines stay where they were appended.
    tail: list[tuple[int, bytes]] = []
    with DocIndex(files) as index, open(gold_temp, "wb") as gold_f, open(conflicts_temp, "wb") as conf_f:
        for doc_id in index.doc_ids():
            gold, records, doc_conflicts, outcomes = merger.merge_document(index.lines(doc_id), gold_name)
            gold_f.write(dumps(gold))
            result.documents += 1
            result.records += len(records)
            annotators.update(r.annotator for r in records)
            for layer in LAYERS:
                result.layers[layer].gold += len(gold[layer])
            for c in doc_conflicts:
                _stamp(c, adjudicator)
                counts = result.layers[c.layer]
                if c.status == "decided":
                    counts.decided += 1
                else:
                    counts.conflicts += 1
                conf_f.write(dumps(c.model_dump(mode="json")))
            tail.extend((outcome.entry.line, _record_outcome(outcome, result)) for outcome in outcomes)
        for entry, line, raw in merger.unused():
            stale = _stale_record(entry, raw)  # not stamped: this run did not apply it
            if stale.layer in result.layers:
                result.layers[stale.layer].stale += 1
            assert entry.decision is not None
            result.stale.append(StaleDecision(id=entry.id, doc_id=stale.doc_id or None,
                                              layer=stale.layer or None, decision=entry.decision,
                                              line=line))
            tail.append((line, dumps(stale.model_dump(mode="json"))))
        for entry in merger.unused_corrections():
            why = (f"no document {entry.correction.doc_id!r} among the inputs; fix doc_id or "
                   "delete this line")
            tail.append((entry.line, _record_outcome(Outcome(entry, "stale", why, None), result)))
        for _line, raw in sorted(tail, key=lambda t: t[0]):
            conf_f.write(raw)
    result.stale.sort(key=lambda s: s.line)
    result.annotators = sorted(annotators)
    return result


def _record_outcome(outcome: Outcome, result: MergeResult) -> bytes:
    """Count a correction's outcome in `result`; return its line for the conflicts file."""
    c = outcome.entry.correction
    counts = result.layers[c.layer]
    if outcome.status == "stale":
        counts.stale += 1
        result.stale.append(StaleDecision(id=None, doc_id=c.doc_id, layer=c.layer, decision=c.decision,
                                          line=outcome.entry.line, why=outcome.why))
    else:
        done = {"replace": "replaced", "remove": "removed", "add": "added"}[c.decision.action]
        setattr(counts, done, getattr(counts, done) + 1)
    written = c.model_copy(update={"status": outcome.status, "why": outcome.why,
                                   "adjudicator": c.adjudicator or outcome.adjudicator})
    return dumps(written.model_dump(mode="json"))


@dataclass
class Decisions:
    """A decisions file as read: decided conflicts and correction lines."""

    conflicts: dict[str, tuple[_DecisionEntry, int, dict[str, Any]]] = field(default_factory=dict)
    """`id -> (entry, line number, raw object)` of the decided conflicts."""
    corrections: dict[str, list[CorrectionEntry]] = field(default_factory=dict)
    """`doc_id -> correction lines`, in file order."""


def read_decisions(path: Path) -> Decisions:
    """The decided conflicts and the correction lines of a decisions file.

    Conflict lines whose `decision` is null are skipped (open conflicts of an earlier run).

    Raises:
        CorpusToolsError: when the file is missing, a line is not JSON, or a decision or
            correction is malformed (naming the file and line).
    """
    path = Path(path)
    out = Decisions()
    for number, obj in iter_json_lines(path, "decisions file"):
        if isinstance(obj, dict) and obj.get("kind") == "correction":
            entry = _read_correction(obj, path, number)
            out.corrections.setdefault(entry.correction.doc_id, []).append(entry)
            continue
        try:
            decided = _DecisionEntry.model_validate(obj)
        except ValidationError as e:
            raise CorpusToolsError(f"{display(path)}:{number}: {_first_error(e)}; a decision is "
                                   '{"accept": "<annotator>"}, {"reject": true} or '
                                   '{"replace": <item>}') from None
        if decided.decision is None:
            continue
        if decided.id in out.conflicts:
            raise CorpusToolsError(f"{display(path)}:{number}: conflict {decided.id} is decided again "
                                   f"(first at line {out.conflicts[decided.id][1]}); keep one decision")
        out.conflicts[decided.id] = (decided, number, obj)
    return out


def _read_correction(obj: dict[str, Any], path: Path, number: int) -> CorrectionEntry:
    where = f"{display(path)}:{number}"
    try:
        correction = corrections.Correction.model_validate(obj)
    except ValidationError as e:
        raise CorpusToolsError(f'{where}: {_first_error(e)}; a correction\'s decision is '
                               '{"replace": <item>}, {"remove": true} or {"add": <item>}') from None
    given = correction.decision.replace or correction.decision.add
    item = None
    if given is not None:
        try:
            item = corrections.parse_item(correction.layer, given)
        except ValueError as e:
            raise CorpusToolsError(f"{where}: decision.{correction.decision.action}: {e}") from None
    return CorrectionEntry(correction, number, item)


def _first_error(e: ValidationError) -> str:
    first = e.errors(include_url=False)[0]
    where = ".".join(str(p) for p in first["loc"])
    return f"{where}: {first['msg']}" if where else str(first["msg"])


def _check_name(what: str, value: str) -> None:
    if not is_name(value):
        raise CorpusToolsError(f"{what} {value!r} is not a valid name ({NAME_RULE})")


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
#
# Merging takes a small multiple of the time validation takes, because:
# - records are decoded into the msgspec structs of `fastpath`, not into `Record` models (the
#   inputs have passed validation already);
# - each item's comparable values are computed once, as a tuple: a cluster on which every
#   annotator agrees (the usual case) is recognised by comparing tuples and needs no vote;
# - with exact matching, a layer in which no annotator has two items on one span is clustered by
#   grouping its items by span (`_Document._group_by_span`);
# - the gold record is built directly as the dict a `Record` dump gives; it is valid by
#   construction and not validated again (see `_Document._gold_record`).

_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "rhetorical_questions": ("span", "kind", "answer"),
    "attributions": ("content", "type", "source", "cue", "source_name", "nested_in"),
    "stances": ("span", "target", "polarity", "holder"),
}
"""The attributes voted on in each layer, in the order of a version's `values`. The first is
the span items are matched by; `holder` and `nested_in` hold the number of the referenced
attribution's cluster (or `author` / None)."""

_REFERENCE = {"attributions": _ATTRIBUTES["attributions"].index("nested_in"),
              "stances": _ATTRIBUTES["stances"].index("holder")}
"""Where the reference to an attribution is in the values of the layers that have one."""
_NESTED_PARTS = tuple((part, _ATTRIBUTES["attributions"].index(part)) for part in ("source", "cue", "content"))
_SPAN_ATTRIBUTES = {"span", "answer", "content", "source", "cue"}

_KEY_FIELDS = {"rhetorical_questions": ("start", "end"), "attributions": ("content.start", "content.end"),
               "stances": ("start", "end")}
"""The span each layer's items are matched by, as `matching.key_span` (as attribute paths)."""
_KEY = {layer: attrgetter(*names) for layer, names in _KEY_FIELDS.items()}
_ORDER = {layer: attrgetter(*names, "id") for layer, names in _KEY_FIELDS.items()}
"""Each annotator's items are taken by position, then id, so the result is independent of the
order of the input lines."""

_META_FIELDS = tuple(Meta.model_fields)


class _Record(fastpath.struct_for(Record)):  # type: ignore[misc]
    """A record as the validator's fast path decodes it, but with the text left as raw JSON.

    Every record of a document has the same text, so it is decoded once, for gold, instead of
    once per annotator.
    """

    text: msgspec.Raw


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


# An item's values (`_ATTRIBUTES`), given its annotator's attribution ids -> cluster numbers.


def _question_values(item: Any, _refs: dict[str, int], _norm: _Normalise) -> tuple[Any, ...]:
    answer = item.answer
    return (item.start, item.end), item.kind, None if answer is None else (answer.start, answer.end)


def _attribution_values(item: Any, refs: dict[str, int], norm: _Normalise) -> tuple[Any, ...]:
    content, source, cue, nested_in = item.content, item.source, item.cue, item.nested_in
    return ((content.start, content.end), item.type,
            None if source is None else (source.start, source.end),
            None if cue is None else (cue.start, cue.end),
            norm[item.source_name], None if nested_in is None else refs[nested_in])


def _stance_values(item: Any, refs: dict[str, int], norm: _Normalise) -> tuple[Any, ...]:
    holder = item.holder
    return ((item.start, item.end), norm[item.target], item.polarity,
            AUTHOR if holder == AUTHOR else refs[holder])


_VALUES = {"rhetorical_questions": _question_values, "attributions": _attribution_values,
           "stances": _stance_values}


@dataclass(slots=True)
class _Version:
    """One annotator's item inside a cluster, with its attributes in comparable form."""

    annotator: str
    item: Any
    values: tuple[Any, ...]
    """The item's value of each of `_ATTRIBUTES[layer]`."""


@dataclass(slots=True)
class _Candidate:
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


@dataclass(slots=True)
class _Cluster:
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


class _Merger:
    def __init__(self, match: MatchMode, overlap: float, min_votes: int | None,
                 decisions: Decisions, source: Path | None = None,
                 adjudicator: str | None = None) -> None:
        self.source = source
        self.match = match
        self.overlap = overlap
        self.min_votes = min_votes
        self.decisions = decisions.conflicts
        self.corrections = dict(decisions.corrections)
        """The correction lines of the documents not merged yet."""
        self.adjudicator = adjudicator
        self.used: set[str] = set()
        self.normalise = _Normalise()

    def unused(self) -> list[tuple[_DecisionEntry, int, dict[str, Any]]]:
        """Decisions that matched no conflict, in file order."""
        left = [v for k, v in self.decisions.items() if k not in self.used]
        return sorted(left, key=lambda v: v[1])

    def unused_corrections(self) -> list[CorrectionEntry]:
        """Correction lines of documents that are not among the inputs, in file order."""
        return sorted((e for entries in self.corrections.values() for e in entries), key=lambda e: e.line)

    def merge_document(self, lines: Sequence[bytes], gold_name: str,
                       ) -> tuple[dict[str, Any], list[Any], list[Conflict], list[Outcome]]:
        """Merge the lines of one document: `(gold record, input records, conflicts, what
        became of its correction lines)`.

        The gold record is a dict with the keys in the order of a `Record` dump.
        """
        records = [_decode(raw) for raw in lines]
        doc = _Document(self, records, lines)
        gold, conflicts = doc.run(gold_name)
        entries = self.corrections.pop(doc.doc_id, [])
        outcomes: list[Outcome] = []
        if entries or doc.written:  # rare: the slow path
            outcomes = corrections.apply(gold, entries, doc.written, source=self.source,
                                         adjudicator=self.adjudicator)
        return gold, records, conflicts, outcomes


class _Document:
    """The merge of one document: clusters, votes, decisions, references, gold ids."""

    def __init__(self, merger: _Merger, records: Sequence[Any], lines: Sequence[bytes]) -> None:
        self.m = merger
        self.lines = {r.annotator: raw for r, raw in zip(records, lines, strict=True)}
        self.records = {r.annotator: r for r in sorted(records, key=lambda r: r.annotator)}
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
        self.notes = any(it.note for r in records for layer in LAYERS for it in getattr(r, layer))
        """Whether any item has a note (then gold items collect their versions' notes)."""
        self.written: dict[int, int] = {}
        """`id(gold item) -> line` of the gold items that `replace` decisions wrote."""

    # -- building clusters

    def _clusters(self) -> dict[str, list[_Cluster]]:
        m = self.m
        out: dict[str, list[_Cluster]] = {}
        # Each annotator's attribution ids -> their cluster number, for holder and nested_in.
        refs: dict[str, dict[str, int]] = {a: {} for a in self.records}
        for layer in LAYERS:
            items = {a: getattr(r, layer) for a, r in self.records.items()}
            groups = self._group_by_span(layer, items) if m.match == "exact" else None
            if groups is None:
                groups = self._match(layer, items)
            else:
                self.one_per_span.add(layer)
            if layer == "attributions":
                for number, group in enumerate(groups):
                    for a, it in group.items():
                        refs[a][it.id] = number
            # Values are computed once attributions are numbered (stances refer to them; nested
            # attributions to other attributions, hence after the whole layer). A cluster's
            # members are in annotator order (they join in that order).
            values, norm = _VALUES[layer], m.normalise
            out[layer] = [
                _Cluster(layer, number, [_Version(a, it, values(it, refs[a], norm)) for a, it in group.items()],
                         list(group))
                for number, group in enumerate(groups)]
        return out

    def _group_by_span(self, layer: str, items: dict[str, list[Any]]) -> list[dict[str, Any]] | None:
        """Exact matching in the usual case, where no annotator has two items on one span.

        Then each span has one cluster, of every item on it: the clusters `_match` would
        give, in the same order (by span), without sorting each annotator's items first.
        Returns None when some annotator has two items on one span.
        """
        key = _KEY[layer]
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
        m, key = self.m, _KEY[layer]
        # Each annotator's items by position, then id, so that ties between candidate pairs
        # are broken independently of the order of the input lines.
        per_annotator = {a: sorted(its, key=_ORDER[layer]) for a, its in items.items()}

        def tiebreak(x: Any, y: Any) -> float:
            return similarity(layer, x, y)

        if m.match == "exact":
            groups = cluster_exact(per_annotator, key, tiebreak)
            # Members share the key, and the first member is the smallest annotator (they are
            # taken in sorted order): the same order as the general sort below.
            groups.sort(key=lambda g: (key(next(iter(g.values()))), next(iter(g))))
            return groups

        def score(x: Any, y: Any) -> float | None:
            return span_score(key(x), key(y), m.match, m.overlap)

        groups = cluster(per_annotator, score, tiebreak, key)
        groups.sort(key=lambda g: min((key(it), a) for a, it in g.items()))
        return groups

    # -- the merge

    def run(self, gold_name: str) -> tuple[dict[str, Any], list[Conflict]]:
        clusters = self.clusters = self._clusters()
        waiting: dict[tuple[str, int], _Candidate] = {}
        decided_references: dict[tuple[str, int], Conflict] = {}
        for layer in LAYERS:
            refers = layer in _REFERENCE and bool(self.m.decisions)
            for c in clusters[layer]:
                candidate = self._vote_or_decide(c)
                if candidate is not None and refers and self._conflict_id(c, "reference") in self.m.decisions:
                    # Decided as a reference conflict in an earlier round: the decision holds
                    # even if what the item refers to has entered gold since.
                    candidate = self._conflict(c, "reference", "decided while the attribution its "
                                               "holder or nested_in names was not in gold", [])
                    decided_references[c.key] = self.conflicts[-1][1]
                if candidate is not None:
                    waiting[layer, c.number] = candidate
        gold = self._resolve(clusters, waiting, decided_references)
        record = self._gold_record(gold, gold_name)
        conflicts = [c for _k, c in sorted(self.conflicts, key=lambda kc: kc[0])]
        return record, conflicts

    def _vote_or_decide(self, c: _Cluster) -> _Candidate | None:
        versions = c.versions
        if len(versions) < self.threshold:
            why = (f"proposed by {len(versions)} of {len(self.annotators)} annotators "
                   f"({', '.join(v.annotator for v in versions)}); {self.threshold} needed")
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
        for attr, column in zip(_ATTRIBUTES[c.layer], zip(*[v.values for v in versions], strict=True), strict=True):
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
                parts.append(f"no majority for {attr}: " + "; ".join(
                    f"{val} ({', '.join(anns)})" for val, anns in by_value.items()))
            return self._conflict(c, "attribute", "; ".join(parts), ties)
        return _Candidate(tuple(winners), tuple(sources), c)

    def _show(self, layer: str, attr: str, v: _Version) -> str:
        i = _ATTRIBUTES[layer].index(attr)
        if attr in ("holder", "nested_in"):
            if isinstance(v.values[i], int):
                ref = v.item.holder if attr == "holder" else v.item.nested_in
                content = next(a.content for a in self.records[v.annotator].attributions if a.id == ref)
                return f"the attribution with content [{content.start}, {content.end})"
            return repr(v.values[i])
        value = v.item if attr == "span" else getattr(v.item, attr)
        if attr in _SPAN_ATTRIBUTES and value is not None:
            return f"[{value.start}, {value.end}) {value.text!r}"
        return repr(value)

    def _conflict(self, c: _Cluster, kind: ConflictKind, why: str, attributes: list[str],
                  ) -> _Candidate | None:
        """Record a conflict; apply its decision if there is one. Returns the accepted item."""
        cid = self._conflict_id(c, kind)
        conflict = Conflict(
            id=cid, doc_id=self.doc_id, layer=c.layer, kind=kind, status="open", why=why,
            attributes=attributes,
            versions=[Version(annotator=a, item=None if (v := c.version(a)) is None else _dump_item(v.item))
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
        if decision.replace is not None:
            return self._replacement(c, decision.replace, entry, line)
        version = c.version(decision.accept or "")
        if version is None:
            proposed = ", ".join(v.annotator for v in c.versions)
            raise CorpusToolsError(
                f"{self.m.source}:{line}: conflict {cid} accepts {decision.accept!r}, who has no "
                f"version of this item (versions by: {proposed}); accept one of them or reject")
        return _Candidate(version.values, (version,) * len(version.values), c)

    def _replacement(self, c: _Cluster, given: dict[str, Any], entry: _DecisionEntry, line: int,
                     ) -> _Candidate:
        """The candidate of a conflict decided `{"replace": <item>}`: the adjudicator's item,
        with the cluster's annotators (and their notes, then the adjudicator's reason)."""
        where = f"{self.m.source}:{line}"
        try:
            item = corrections.parse_item(c.layer, given)
        except ValueError as e:
            raise CorpusToolsError(f"{where}: decision.replace: {e}") from None
        who = corrections.check_adjudicator(entry.adjudicator or self.m.adjudicator, where)
        notes = " | ".join(f"{v.annotator}: {v.item.note}" for v in c.versions if v.item.note) or None
        gold = item.gold(list(c.annotators), corrections.adjudicator_note(notes, who, item, entry.reason))
        # The item's values, as the votes compare them; a reference stays "@START-END" (it is
        # resolved once the document's gold is complete), which never blocks it (`_blocked`).
        model = LAYERS[c.layer]
        struct = msgspec.convert({**gold, "id": "x", "annotators": None}, fastpath.struct_for(model))
        ref = gold.get(corrections.REFERENCE.get(c.layer, ""))
        values = _VALUES[c.layer](struct, {ref: ref} if isinstance(ref, str) else {}, self.m.normalise)
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
            c.fingerprint = orjson.dumps([[v.annotator, self._content(v)] for v in c.versions],
                                         option=orjson.OPT_SORT_KEYS)
        return c.fingerprint

    def _content(self, v: _Version) -> dict[str, Any]:
        """The item without id, note and annotators, references as the referenced content span."""
        fp = msgspec.to_builtins(v.item)
        for name in ("id", "note", "annotators"):
            del fp[name]
        for ref in ("holder", "nested_in"):
            target = fp.get(ref)
            if target is not None and target != AUTHOR:
                parent = next(a for a in self.records[v.annotator].attributions if a.id == target)
                fp[ref] = [parent.content.start, parent.content.end]
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
        index = _REFERENCE.get(layer)
        if index is None:
            return None
        ref = cand.values[index]
        if not isinstance(ref, int):  # None, author, or an adjudicator's "@START-END"
            return None
        parent = gold.get(("attributions", ref))
        if parent is None:
            return (f"its {_ATTRIBUTES[layer][index]} is an attribution that is not in gold (decide "
                    "the conflict on that attribution first, or accept a version that does not "
                    "refer to it)")
        if layer == "attributions":
            lo, hi = parent.values[0]
            for part, i in _NESTED_PARTS:
                b = cand.values[i]
                if b is not None and not (lo <= b[0] and b[1] <= hi):
                    return (f"its {part} [{b[0]}, {b[1]}) is not inside the content [{lo}, {hi}) "
                            "of the attribution it is nested_in")
        return None

    # -- the gold record

    def _gold_record(self, gold: dict[tuple[str, int], _Candidate], gold_name: str) -> dict[str, Any]:
        """The gold record, as `Record.model_dump(mode="json", exclude_none=True)` writes it.

        It is valid by construction, so it is not validated again: every span comes from a
        valid input on the same text, ids are generated, and `_resolve` admits an item only
        once the attribution it refers to is in gold (and, for `nested_in`, contains it).
        `tests/test_merge.py` validates the gold made from generated annotations.
        """
        by_layer: dict[str, list[_Candidate]] = {layer: [] for layer in LAYERS}
        for (layer, _number), cand in gold.items():
            by_layer[layer].append(cand)
        for layer, cands in by_layer.items():
            cands.sort(key=lambda cand: cand.values[0])
            if layer not in self.one_per_span:
                _break_ties(layer, cands)
        # Gold ids are numbered in that order; stances and nested attributions refer to them.
        attribution_ids = {cand.cluster.number: f"{PREFIX['attributions']}{i}"
                           for i, cand in enumerate(by_layer["attributions"], start=1)}
        record = {"doc_id": self.doc_id, "annotator": gold_name, "text": self.text, "meta": self._meta()}
        for layer, cands in by_layer.items():
            build, prefix = _GOLD_ITEM[layer], PREFIX[layer]
            items = [build(cand, f"{prefix}{i}", attribution_ids) if cand.replacement is None
                     else self._written(cand.replacement, f"{prefix}{i}")
                     for i, cand in enumerate(cands, start=1)]
            if self.notes:
                items = [item if cand.replacement is not None else _with_notes(item, cand.cluster.versions)
                         for item, cand in zip(items, cands, strict=True)]
            record[layer] = items
        return record

    def _written(self, replacement: tuple[dict[str, Any], int], gold_id: str) -> dict[str, Any]:
        item, line = replacement
        item = {**item, "id": gold_id}
        self.written[id(item)] = line
        return item

    def _meta(self) -> dict[str, Any]:
        # Field by field, the first value given, in annotator order.
        metas = [self.records[a].meta for a in self.annotators]
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
            given = (orjson.loads(self.lines[a]).get("meta", {}).get("language") for a in self.annotators)
            merged["language"] = next((v for v in given if v is not None), merged["language"])
        return merged


def _shape(c: _Cluster) -> tuple[tuple[str, Any], ...]:
    return tuple((v.annotator, v.values[0]) for v in c.versions)


# The gold item of a candidate in each layer: every field as its source version wrote it, in the
# order of the model's fields, without null ones (as a model dump with `exclude_none`).


def _with_notes(item: dict[str, Any], versions: list[_Version]) -> dict[str, Any]:
    """A gold item with its versions' notes, if any, joined into `note` after `annotators`."""
    for v in versions:
        if v.item.note:
            note = " | ".join(f"{v.annotator}: {v.item.note}" for v in versions if v.item.note)
            head = {"id": item.pop("id"), "annotators": item.pop("annotators"), "note": note}
            return head | item
    return item


def _gold_question(cand: _Candidate, gold_id: str, _ids: dict[int, str]) -> dict[str, Any]:
    q, c = cand.sources[0].item, cand.cluster
    item = {"id": gold_id, "annotators": c.annotators, "start": q.start, "end": q.end, "text": q.text,
            "kind": cand.values[1]}
    answer = cand.sources[2].item.answer
    if answer is not None:
        item["answer"] = {"start": answer.start, "end": answer.end, "text": answer.text}
    return item


def _gold_attribution(cand: _Candidate, gold_id: str, ids: dict[int, str]) -> dict[str, Any]:
    values, sources, c = cand.values, cand.sources, cand.cluster
    item = {"id": gold_id, "annotators": c.annotators, "type": values[1]}
    source, cue, content = sources[2].item.source, sources[3].item.cue, sources[0].item.content
    if source is not None:
        item["source"] = {"start": source.start, "end": source.end, "text": source.text}
    if cue is not None:
        item["cue"] = {"start": cue.start, "end": cue.end, "text": cue.text}
    item["content"] = {"start": content.start, "end": content.end, "text": content.text}
    source_name = sources[4].item.source_name
    if source_name is not None:
        item["source_name"] = source_name
    if values[5] is not None:
        item["nested_in"] = ids[values[5]]
    return item


def _gold_stance(cand: _Candidate, gold_id: str, ids: dict[int, str]) -> dict[str, Any]:
    values, s, c = cand.values, cand.sources[0].item, cand.cluster
    holder = values[3]
    item = {"id": gold_id, "annotators": c.annotators, "start": s.start, "end": s.end, "text": s.text,
            "target": cand.sources[1].item.target, "polarity": values[2],
            "holder": AUTHOR if holder == AUTHOR else ids[holder]}
    return item


_GOLD_ITEM = {"rhetorical_questions": _gold_question, "attributions": _gold_attribution,
              "stances": _gold_stance}
# The builders above write the fields in this order; a change to the models must change them.
assert {layer: tuple(model.model_fields) for layer, model in LAYERS.items()} == {
    "rhetorical_questions": ("id", "annotators", "note", "start", "end", "text", "kind", "answer"),
    "attributions": ("id", "annotators", "note", "type", "source", "cue", "content", "source_name",
                     "nested_in"),
    "stances": ("id", "annotators", "note", "start", "end", "text", "target", "polarity", "holder"),
}, "the item models changed: update the gold item builders of corpus_tools.merge"


def _break_ties(layer: str, cands: list[_Candidate]) -> None:
    """Order gold items on the same span (sorted by span already) by their other values.

    The values, as sorted-key JSON, are serialised only when there are such items (never in a
    layer grouped by span, where each span has one cluster).
    """
    if len({cand.values[0] for cand in cands}) < len(cands):
        names = _ATTRIBUTES[layer]
        cands.sort(key=lambda cand: (cand.values[0], orjson.dumps(dict(zip(names, cand.values, strict=True)),
                                                                  option=orjson.OPT_SORT_KEYS).decode()))
