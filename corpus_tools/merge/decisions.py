"""The conflicts file, which is also the decisions file: the adjudication log.

Each line is a `Conflict`: a disputed item with every annotator's version and, once an
adjudicator fills it in, a `Decision`. Merging again with the file applies the decisions. Lines
with `"kind": "correction"` are correction lines (`corpus_tools.merge.corrections`). See
`docs/merge.md`.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, model_serializer, model_validator

from corpus_tools.errors import CorpusToolsError
from corpus_tools.files import display, iter_json_lines
from corpus_tools.merge import corrections
from corpus_tools.merge.corrections import CorrectionEntry
from corpus_tools.schema import Name

ConflictKind = Literal["item", "attribute", "reference"]
Status = Literal["open", "decided", "stale"]


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

    # The field docstrings are the descriptions of the published `conflicts` config's columns.
    model_config = ConfigDict(use_attribute_docstrings=True)

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
        if isinstance(obj, dict):
            _check_keys(obj, display(path), number)
        try:
            decided = _DecisionEntry.model_validate(obj)
        except ValidationError as e:
            raise CorpusToolsError(
                f"{display(path)}:{number}: {_first_error(e)}; a decision is "
                '{"accept": "<annotator>"}, {"reject": true} or '
                '{"replace": <item>}'
            ) from None
        if decided.decision is None:
            continue
        if decided.id in out.conflicts:
            raise CorpusToolsError(
                f"{display(path)}:{number}: conflict {decided.id} is decided again "
                f"(first at line {out.conflicts[decided.id][1]}); keep one decision"
            )
        out.conflicts[decided.id] = (decided, number, obj)
    return out


def _check_keys(obj: dict[str, Any], where: str, number: int) -> None:
    """A conflict line holds only a conflict's fields: a mistyped `decison` would otherwise be
    ignored, the conflict left open, and the adjudicator's work lost from the log."""
    unknown = sorted(set(obj) - set(Conflict.model_fields))
    if unknown:
        close = difflib.get_close_matches(unknown[0], Conflict.model_fields, n=1)
        hint = (
            f"; did you mean {close[0]!r}?"
            if close
            else f"; a conflict line has {', '.join(Conflict.model_fields)}"
        )
        raise CorpusToolsError(f"{where}:{number}: unknown key {unknown[0]!r}{hint}")


def _read_correction(obj: dict[str, Any], path: Path, number: int) -> CorrectionEntry:
    where = f"{display(path)}:{number}"
    try:
        correction = corrections.Correction.model_validate(obj)
    except ValidationError as e:
        raise CorpusToolsError(
            f"{where}: {_first_error(e)}; a correction's decision is "
            '{"replace": <item>}, {"remove": true} or {"add": <item>}'
        ) from None
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


def _stamp(conflict: Conflict, adjudicator: str | None) -> None:
    if conflict.decision is not None and conflict.adjudicator is None and adjudicator:
        conflict.adjudicator = adjudicator


STALE_WHY = (
    "no conflict with this id arose in this run: the annotations it was decided on have "
    "changed (or the conflict no longer exists); decide the new conflict, if any, and "
    "delete this line"
)
"""Why a decision is stale, as the conflicts file says it."""


def _stale_record(entry: _DecisionEntry, raw: dict[str, Any]) -> Conflict:
    why = STALE_WHY
    try:
        versions = [Version.model_validate(v) for v in raw.get("versions") or []]
    except ValidationError:
        versions = []
    kind = raw.get("kind") if raw.get("kind") in ("item", "attribute", "reference") else "item"
    attributes = raw.get("attributes")
    return Conflict(
        id=entry.id,
        doc_id=str(raw.get("doc_id", "")),
        layer=str(raw.get("layer", "")),
        kind=kind,
        status="stale",
        why=why,
        attributes=[str(a) for a in attributes] if isinstance(attributes, list) else [],
        versions=versions,
        decision=entry.decision,
        adjudicator=entry.adjudicator,
        reason=entry.reason,
    )
