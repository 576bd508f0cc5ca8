"""`corpus merge`: majority-vote the annotators of each document into one gold record.

Items are matched across annotators per document and layer (`corpus_tools.matching`). An item
whose cluster has enough votes goes into gold with the plurality value of each attribute; an item
with too few votes, or an attribute without a single most frequent value, becomes a *conflict*:
one line of the conflicts file, with every annotator's version and an empty `decision` for an
adjudicator. The conflicts file with decisions filled in is the decisions file (the adjudication
log): merging again with it applies the decisions. See `docs/merge.md` for the full semantics.

An adjudicator may also write items of their own: a conflict decided `{"replace": <item>}`, and
correction lines that replace, remove or add gold items the annotators agreed on (or never gave);
`corpus_tools.merge.corrections` applies them to the few documents that have any.

Nothing is lost: every input item either counts towards a gold item (its annotator is listed in
the gold item's `annotators`), is a version in a conflict, or was removed or replaced by a
correction line, which stays in the log. Gold items that refer to an attribution (`holder`,
`nested_in`) enter gold only once that attribution has; otherwise they become `reference`
conflicts, so the gold file always validates.

The inputs are indexed, not loaded: documents are read one at a time by seeking to their lines,
and the outputs are streamed to temporary files that replace the targets at the end.

- `decisions.py`: the conflicts / decisions file;
- `voting.py`: one document's clusters, votes, decisions and references;
- `corrections.py`: the adjudicator's own items (`replace` decisions and correction lines);
- `gold.py`: the gold record built from what won.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, cast

from pydantic import BaseModel

from corpus_tools.dataset import ANNOTATORS_CONFIG
from corpus_tools.errors import CorpusToolsError, RefusedDecision
from corpus_tools.files import Outputs, display, dumps, input_files, same_file
from corpus_tools.layers import LAYERS
from corpus_tools.matching import MatchMode
from corpus_tools.merge import corrections
from corpus_tools.merge.corrections import CorrectionDecision, CorrectionEntry, Outcome
from corpus_tools.merge.decisions import (
    Conflict,
    Decision,
    Decisions,
    _DecisionEntry,
    _stale_record,
    _stamp,
    read_decisions,
)
from corpus_tools.merge.gold import gold_record
from corpus_tools.merge.voting import _ANNOTATOR, _decode, _Document, _Normalise
from corpus_tools.schema import GOLD, NAME_RULE, RecordBase, is_name
from corpus_tools.validate import Validated, require_valid

if TYPE_CHECKING:
    from corpus_tools.engines import Engine

__all__ = [
    "Conflict",
    "Decision",
    "Decisions",
    "DocumentMerge",
    "LayerCounts",
    "MergeResult",
    "Merged",
    "StaleDecision",
    "check_options",
    "merge",
    "merge_documents",
    "merge_records",
    "read_decisions",
]


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


def merge(
    paths: Iterable[Path | str] | Validated,
    *,
    output: Path,
    conflicts: Path,
    decisions: Path | None = None,
    match: str = "exact",
    overlap: float = 0.5,
    min_votes: int | None = None,
    adjudicator: str | None = None,
    gold_name: str = GOLD,
    engine: Engine | None = None,
) -> MergeResult:
    """Merge annotator files into gold records and a conflicts file.

    Args:
        paths: annotator JSONL files, or folders searched for `*.jsonl`, published dataset
            folders (their `annotators` config) or parquet files, or the `Validated` handle of an
            earlier `require_valid` (then they are not validated again).
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
        engine: where to validate and merge (`corpus_tools.engines`); this process when None.
            The outputs are the same.

    Returns:
        A `MergeResult` with counts per layer and the stale decisions.

    Raises:
        InvalidInputError: when the inputs do not validate (carries the report).
        CorpusToolsError: on bad options, a path that does not exist, or a malformed decisions
            file.
    """
    mode = check_options(match, overlap, min_votes, adjudicator, gold_name)
    output, conflicts = Path(output), Path(conflicts)
    if same_file(output, conflicts):
        raise CorpusToolsError(
            f"{display(output)}: --output and --conflicts name the same file; the "
            "gold would overwrite the adjudication log"
        )
    if decisions is not None and same_file(output, decisions):
        raise CorpusToolsError(
            f"{display(output)}: --output is the --decisions file; the gold would "
            "overwrite the adjudication log"
        )
    with Outputs("corpus merge") as outputs:
        gold_temp = outputs.file(output, option="--output")
        conflicts_temp = outputs.file(conflicts, option="--conflicts")
        table = read_decisions(decisions) if decisions is not None else Decisions()
        given = [] if isinstance(paths, Validated) else [Path(p) for p in paths]
        for option, target in (("--output", output), ("--conflicts", conflicts)):
            inside = next(
                (
                    p
                    for p in given
                    if p.is_dir() and Path(os.path.realpath(p)) in Path(os.path.realpath(target)).parents
                ),
                None,
            )
            if inside is not None:
                if any(same_file(target, f) for f in input_files([inside])):
                    raise CorpusToolsError(
                        f"{option} {display(target)}: is one of the input files (in the input "
                        f"folder {display(inside)}); write it elsewhere"
                    )
                raise CorpusToolsError(
                    f"{option} {display(target)}: lies inside the input folder "
                    f"{display(inside)}; it would be read back as an annotator's "
                    "file next time: write it elsewhere"
                )
        valid = require_valid(paths, configs=(ANNOTATORS_CONFIG,), passes=True, engine=engine)
        for option, target in (("--output", output), ("--conflicts", conflicts)):
            if any(same_file(target, f) for f in valid.files):
                raise CorpusToolsError(
                    f"{option} {display(target)}: is one of the input files; write it elsewhere"
                )
        result = _merge(
            valid,
            table,
            gold_temp,
            conflicts_temp,
            output=output,
            conflicts=conflicts,
            decisions=decisions,
            match=mode,
            overlap=overlap,
            min_votes=min_votes,
            adjudicator=adjudicator,
            gold_name=gold_name,
            engine=engine,
        )
        outputs.commit()
    return result


def _merge(
    valid: Validated,
    table: Decisions,
    gold_temp: Path,
    conflicts_temp: Path,
    *,
    output: Path,
    conflicts: Path,
    decisions: Path | None,
    match: MatchMode,
    overlap: float,
    min_votes: int | None,
    adjudicator: str | None,
    gold_name: str,
    engine: Engine | None = None,
) -> MergeResult:
    merger = _Merger(match, overlap, min_votes, table, decisions, adjudicator)
    # Large buffers: a gold record runs to kilobytes, and the default 8 KiB would cost a write
    # per record or two.
    with (
        open(gold_temp, "wb", buffering=1 << 20) as gold_f,
        open(conflicts_temp, "wb", buffering=1 << 20) as conf_f,
    ):
        if engine is None:
            merged = Merged.empty()
            with valid.index() as index:
                merge_documents(merger, map(index.lines, index.doc_ids()), gold_f, conf_f, merged, gold_name)
        else:
            merged = engine.merge_documents(valid, merger, gold_f, conf_f, gold_name)
        result = merged.result.model_copy(
            update={
                "output": str(output),
                "conflicts_file": str(conflicts),
                "warnings": valid.report.summary.warnings,
            }
        )
        # Correction lines and stale decisions follow the conflicts, in the order of the decisions
        # file (the order corrections apply in), so appended lines stay where they were appended.
        tail = merged.tail
        for entry, line, raw in merger.unused():
            if entry.decision is None:  # read_decisions keeps decided lines only
                continue
            stale = _stale_record(entry, raw)  # not stamped: this run did not apply it
            if stale.layer in result.layers:
                result.layers[stale.layer].stale += 1
            result.stale.append(
                StaleDecision(
                    id=entry.id,
                    doc_id=stale.doc_id or None,
                    layer=stale.layer or None,
                    decision=entry.decision,
                    line=line,
                )
            )
            tail.append((line, dumps(stale.model_dump(mode="json"))))
        for unused in merger.unused_corrections():
            why = f"no document {unused.correction.doc_id!r} among the inputs; fix doc_id or delete this line"
            tail.append((unused.line, _record_outcome(Outcome(unused, "stale", why, None), result)))
        for _line, data in sorted(tail, key=lambda t: t[0]):
            conf_f.write(data)
    result.stale.sort(key=lambda s: s.line)
    result.annotators = sorted(merged.annotators)
    return result


@dataclass
class Merged:
    """What merging some documents gave besides the lines written: the counts, the annotators,
    the lines that follow the conflicts (`(line of the decisions file, line)`), and which
    decisions and correction lines were used. Parts merged apart (on a cluster) add up."""

    result: MergeResult
    annotators: set[str]
    tail: list[tuple[int, bytes]]
    used: set[str]
    """Ids of the decisions applied."""
    corrected: set[str]
    """The documents whose correction lines were applied."""

    @classmethod
    def empty(cls) -> Merged:
        result = MergeResult(output="", conflicts_file="", layers={layer: LayerCounts() for layer in LAYERS})
        return cls(result, set(), [], set(), set())

    def add(self, other: Merged) -> None:
        """Add a part merged apart (documents disjoint from this one's)."""
        mine, theirs = self.result, other.result
        mine.documents += theirs.documents
        mine.records += theirs.records
        for layer, counts in theirs.layers.items():
            into = mine.layers[layer]
            for name in LayerCounts.model_fields:
                setattr(into, name, getattr(into, name) + getattr(counts, name))
        mine.stale.extend(theirs.stale)
        self.annotators |= other.annotators
        self.tail.extend(other.tail)
        self.used |= other.used
        self.corrected |= other.corrected


def merge_documents(
    merger: _Merger,
    documents: Iterable[Sequence[bytes]],
    gold_f: BinaryIO,
    conf_f: BinaryIO,
    merged: Merged,
    gold_name: str,
) -> None:
    """Merge documents (each the lines of one document, in file order) in the order given:
    write their gold records and conflicts, and count them in `merged`."""
    result = merged.result
    pending = set(merger.corrections)
    # Counted in locals, added to the (pydantic) result once.
    documents_seen, records_seen = 0, 0
    gold_items = dict.fromkeys(LAYERS, 0)
    for lines in documents:
        gold, records, doc_conflicts, outcomes = merger.merge_document(lines, gold_name)
        gold_f.write(dumps(gold))
        documents_seen += 1
        records_seen += len(records)
        merged.annotators.update(map(_ANNOTATOR, records))
        for layer in LAYERS:
            gold_items[layer] += len(gold[layer])
        for c in doc_conflicts:
            _stamp(c, merger.adjudicator)
            counts = result.layers[c.layer]
            if c.status == "decided":
                counts.decided += 1
            else:
                counts.conflicts += 1
            conf_f.write(dumps(c.model_dump(mode="json")))
        merged.tail.extend((outcome.entry.line, _record_outcome(outcome, result)) for outcome in outcomes)
    result.documents += documents_seen
    result.records += records_seen
    for layer, n in gold_items.items():
        result.layers[layer].gold += n
    merged.used |= merger.used
    merged.corrected |= pending - merger.corrections.keys()


def _record_outcome(outcome: Outcome, result: MergeResult) -> bytes:
    """Count a correction's outcome in `result`; return its line for the conflicts file."""
    c = outcome.entry.correction
    counts = result.layers[c.layer]
    if outcome.status == "stale":
        counts.stale += 1
        result.stale.append(
            StaleDecision(
                id=None,
                doc_id=c.doc_id,
                layer=c.layer,
                decision=c.decision,
                line=outcome.entry.line,
                why=outcome.why,
            )
        )
    else:
        done = {"replace": "replaced", "remove": "removed", "add": "added"}[c.decision.action]
        setattr(counts, done, getattr(counts, done) + 1)
    written = c.model_copy(
        update={
            "status": outcome.status,
            "why": outcome.why,
            "adjudicator": c.adjudicator or outcome.adjudicator,
        }
    )
    return dumps(written.model_dump(mode="json"))


# -- one document, nothing written --------------------------------------------------------------


@dataclass
class DocumentMerge:
    """The merge of one document, exactly as `corpus merge` does it, with nothing written."""

    doc_id: str
    gold: dict[str, Any]
    """The gold record (a dict, as a `Record` dumps it)."""
    conflicts: list[Conflict]
    """Its conflicts, `open` or `decided`, in the order of the conflicts file."""
    corrections: list[Outcome]
    """What became of its correction lines (`applied` or `stale`), in file order."""
    refused: dict[int, str] = field(default_factory=dict)
    """With `keep_going`: the lines of the decisions file the merge refused, with its message
    (`corpus merge` would stop on the first); the rest was merged without them."""

    @property
    def decided(self) -> set[str]:
        """The ids of the conflicts that a decision of the decisions file matched."""
        return {c.id for c in self.conflicts if c.decision is not None}


def merge_records(
    records: Sequence[RecordBase],
    *,
    decisions: Decisions | None = None,
    source: Path | str | None = None,
    match: str = "exact",
    overlap: float = 0.5,
    min_votes: int | None = None,
    adjudicator: str | None = None,
    gold_name: str = "gold",
    keep_going: bool = False,
) -> DocumentMerge:
    """Merge the annotators' records of one document, as `merge` does, writing nothing: its gold,
    its conflicts (with their ids, so that a decisions file can be joined to them) and what
    became of its correction lines. A decision of `decisions` that matches none of the
    conflicts is stale as far as this document goes.

    Args:
        records: every annotator's record of one document (gold records are not annotators).
        decisions: a decisions file as `read_decisions` reads it.
        source: the decisions file, named in messages.
        match, overlap, min_votes, adjudicator, gold_name: as for `merge`.
        keep_going: instead of raising `RefusedDecision`, leave the refused line out, note it in
            `DocumentMerge.refused` and merge the document again without it.

    Returns:
        A `DocumentMerge`.

    Raises:
        RefusedDecision: when a line of the decisions file cannot be applied (without `keep_going`).
        CorpusToolsError: on bad options, or records of several documents or of none.
    """
    mode = check_options(match, overlap, min_votes, adjudicator, gold_name)
    doc_ids = sorted({r.doc_id for r in records})
    if len(doc_ids) != 1:
        raise CorpusToolsError(f"merge_records takes the records of one document, not of {len(doc_ids)}")
    lines = [r.model_dump_json().encode("utf-8") for r in records]
    table = decisions if decisions is not None else Decisions()
    refused: dict[int, str] = {}
    while True:
        merger = _Merger(mode, overlap, min_votes, table, Path(source) if source else None, adjudicator)
        try:
            gold, _records, conflicts, outcomes = merger.merge_document(lines, gold_name)
        except RefusedDecision as e:
            fresh = [n for n in e.lines if n not in refused]
            if not keep_going or not fresh:
                raise
            refused.update(dict.fromkeys(fresh, str(e)))
            table = _without(table, refused)
            continue
        for c in conflicts:
            _stamp(c, adjudicator)  # as `merge` writes them to the conflicts file
        return DocumentMerge(doc_ids[0], gold, conflicts, outcomes, refused)


def _without(table: Decisions, lines: dict[int, str]) -> Decisions:
    """`table` without the decisions and corrections at `lines`."""
    return Decisions(
        {k: v for k, v in table.conflicts.items() if v[1] not in lines},
        {d: [e for e in entries if e.line not in lines] for d, entries in table.corrections.items()},
    )


def check_options(
    match: str,
    overlap: float,
    min_votes: int | None,
    adjudicator: str | None = None,
    gold_name: str = "gold",
) -> MatchMode:
    """The options of a merge, checked; returns the match mode.

    Raises:
        CorpusToolsError: naming the option that is wrong.
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
    return cast("MatchMode", match)  # one of the two, checked above


def _check_name(what: str, value: str) -> None:
    if not is_name(value):
        raise CorpusToolsError(f"{what} {value!r} is not a valid name ({NAME_RULE})")


class _Merger:
    def __init__(
        self,
        match: MatchMode,
        overlap: float,
        min_votes: int | None,
        decisions: Decisions,
        source: Path | None = None,
        adjudicator: str | None = None,
    ) -> None:
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

    def took(self, merged: Merged) -> None:
        """Note the decisions and correction lines a part merged apart used."""
        self.used |= merged.used
        for doc_id in merged.corrected:
            self.corrections.pop(doc_id, None)

    def unused(self) -> list[tuple[_DecisionEntry, int, dict[str, Any]]]:
        """Decisions that matched no conflict, in file order."""
        left = [v for k, v in self.decisions.items() if k not in self.used]
        return sorted(left, key=lambda v: v[1])

    def unused_corrections(self) -> list[CorrectionEntry]:
        """Correction lines of documents that are not among the inputs, in file order."""
        return sorted((e for entries in self.corrections.values() for e in entries), key=lambda e: e.line)

    def merge_document(
        self,
        lines: Sequence[bytes],
        gold_name: str,
    ) -> tuple[dict[str, Any], list[Any], list[Conflict], list[Outcome]]:
        """Merge the lines of one document: `(gold record, input records, conflicts, what
        became of its correction lines)`.

        The gold record is a dict with the keys in the order of a `Record` dump.
        """
        records = [_decode(raw) for raw in lines]
        doc = _Document(self, records, lines)
        candidates, conflicts = doc.run()
        gold = gold_record(doc, candidates, gold_name)
        entries = self.corrections.pop(doc.doc_id, [])
        outcomes: list[Outcome] = []
        if entries or doc.written:  # rare: the slow path
            outcomes = corrections.apply(
                gold, entries, doc.written, source=self.source, adjudicator=self.adjudicator
            )
        return gold, records, conflicts, outcomes
