"""The adjudicator's own items in gold: `replace` decisions and correction lines.

Voting puts into gold only what the annotators gave, and only where they disagree does an
adjudicator see it. Two kinds of line of the decisions file go further (see `docs/merge.md`):

- a conflict decided `{"replace": <item>}`: the adjudicator's version replaces the annotators';
- a *correction line* (`"kind": "correction"`), tied to a document rather than to a conflict:
  it replaces or removes the gold item whose key span is `match`, or adds an item no annotator
  gave.

Both are rare, so they take a slow path: the merge builds a document's gold as usual, then
`apply` edits the gold record: it applies the document's corrections in file order, resolves the
references written as `"@START-END"` (the content span of the gold attribution meant; gold ids
are renumbered, so they cannot be used), numbers the items by position again and runs the
validator's reference checks on the record. Documents without either never come here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)

from corpus_tools.errors import RefusedDecision
from corpus_tools.files import dumps, json_path
from corpus_tools.layers import LAYERS, document_order
from corpus_tools.problems import CATALOGUE
from corpus_tools.schema import AUTHOR, NAME_RULE, is_name
from corpus_tools.validate.lines import check_line_fully

REFERENCE = {name: layer.reference.field for name, layer in LAYERS.items() if layer.reference is not None}
"""The field by which each layer's items refer to an attribution, for the layers that have one."""
_TARGET = {name: layer.reference.target for name, layer in LAYERS.items() if layer.reference is not None}

_AT = re.compile(r"@(\d+)-(\d+)")

Reference = tuple[int, int] | str | None
"""A reference as written in an adjudicator's item: the content span of the attribution it
names, `author` (a stance's holder) or None (an attribution that is not nested)."""


# -- the lines ----------------------------------------------------------------------------------


class Match(BaseModel):
    """The key span of the gold item a correction changes: an item's span, an attribution's
    content span."""

    model_config = ConfigDict(extra="forbid", strict=True)

    start: int
    end: int


class CorrectionDecision(BaseModel):
    """What a correction does: replace or remove the matched gold item, or add one."""

    model_config = ConfigDict(extra="forbid", strict=True)

    replace: dict[str, Any] | None = None
    """The adjudicator's version of the matched item (annotator format, `id` optional)."""
    remove: Literal[True] | None = None
    """`true`: the matched item leaves gold."""
    add: dict[str, Any] | None = None
    """An item no annotator gave (annotator format, `id` optional); `match` is null."""

    @model_validator(mode="after")
    def _one_of(self) -> CorrectionDecision:
        if sum(v is not None for v in (self.replace, self.remove, self.add)) != 1:
            raise ValueError('give exactly one of {"replace": <item>}, {"remove": true} or {"add": <item>}')
        return self

    @model_serializer
    def _dump(self) -> dict[str, Any]:
        # Written back as the adjudicator wrote it: only the key that was given.
        if self.replace is not None:
            return {"replace": self.replace}
        return {"remove": True} if self.remove else {"add": self.add}

    @property
    def action(self) -> str:
        return "replace" if self.replace is not None else "remove" if self.remove else "add"


class Correction(BaseModel):
    """A correction line of the decisions file: a change to gold not tied to a conflict."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    kind: Literal["correction"]
    doc_id: str
    layer: str
    """The layer of the item: a record field such as `stances`."""
    status: Literal["applied", "stale"] | None = None
    """Written by the merge: `applied`, or `stale` when it no longer applies. Ignored when read."""
    why: str | None = None
    """Written by the merge: what it did, or why it is stale. Ignored when read."""
    match: Match | None = None
    """The key span of the gold item to replace or remove; null to add an item."""
    decision: CorrectionDecision
    adjudicator: str | None = None
    """Who decided (stamped by `--adjudicator` when left empty)."""
    reason: str | None = None
    """Why: it is also appended to the gold item's `note`."""

    @field_validator("layer")
    @classmethod
    def _known_layer(cls, layer: str) -> str:
        if layer not in LAYERS:
            raise ValueError(f"{layer!r} is not one of the layers: {', '.join(LAYERS)}")
        return layer

    @model_validator(mode="after")
    def _match_fits(self) -> Correction:
        if self.decision.add is not None and self.match is not None:
            raise ValueError('an "add" correction has "match": null (it adds an item)')
        if self.decision.add is None and self.match is None:
            raise ValueError(
                f'a "{self.decision.action}" correction needs "match": '
                '{"start": ..., "end": ...}, the key span of the gold item'
            )
        return self


@dataclass
class CorrectionEntry:
    """A correction line as read: the line, its number, and its item checked."""

    correction: Correction
    line: int
    item: Item | None
    """The replacement or added item, checked by `parse_item`."""


@dataclass
class Outcome:
    """What became of a correction line in this run."""

    entry: CorrectionEntry
    status: Literal["applied", "stale"]
    why: str
    adjudicator: str | None


# -- the adjudicator's items --------------------------------------------------------------------


@dataclass
class Item:
    """An adjudicator's item, checked against its layer's model."""

    layer: str
    fields: dict[str, Any]
    """The item's fields in the model's order, without `id`, `annotators`, `note` and the
    reference (`holder`, `nested_in`)."""
    note: str | None
    ref: Reference

    def gold(self, annotators: list[str], note: str | None) -> dict[str, Any]:
        """The item as gold writes it, with references still as `"@START-END"` and no id yet."""
        item: dict[str, Any] = {"id": "", "annotators": annotators}
        if note:
            item["note"] = note
        item.update(self.fields)
        field = REFERENCE.get(self.layer)
        if field is not None and self.ref is not None:
            item[field] = self.ref if isinstance(self.ref, str) else f"@{self.ref[0]}-{self.ref[1]}"
        return item


def parse_item(layer: str, item: Any) -> Item:
    """Check an adjudicator's item against the layer's model.

    Raises:
        ValueError: saying what is wrong with it.
    """
    if not isinstance(item, dict):
        raise ValueError("the item must be a JSON object in the annotators' format")
    if "annotators" in item:
        raise ValueError('leave out "annotators": the merge fills it in')
    model = LAYERS[layer].model
    field = REFERENCE.get(layer)
    body = {k: v for k, v in item.items() if k not in ("id", field)}
    ref: Reference = None
    if field is not None:
        author = _author_allowed(layer)
        ref = _reference(field, item.get(field), author)
        if author:
            body[field] = AUTHOR  # a placeholder: the model wants a name
    try:
        checked = model.model_validate({"id": "x", **body})
    except ValidationError as e:
        first = e.errors(include_url=False)[0]
        raise ValueError(f"{json_path(first['loc']) or 'the item'}: {first['msg']}") from None
    fields = checked.model_dump(mode="json", exclude_none=True)
    for name in ("id", "note"):
        fields.pop(name, None)
    if field is not None:
        fields.pop(field, None)
    return Item(layer, fields, checked.note, ref)


def _author_allowed(layer: str) -> bool:
    ref = LAYERS[layer].reference
    return ref is not None and ref.author


def _reference(field: str, value: Any, author: bool) -> Reference:
    if value is None and not author:
        return None
    if value == AUTHOR and author:
        return AUTHOR
    m = _AT.fullmatch(value) if isinstance(value, str) else None
    if m is None:
        allowed = '"author" or ' if author else "null or "
        raise ValueError(
            f'{field} {value!r}: write {allowed}"@START-END", the content span of '
            "the gold attribution it refers to (gold ids change, so ids cannot be "
            "used)"
        )
    return int(m[1]), int(m[2])


def adjudicator_note(
    notes: str | None,
    adjudicator: str,
    item: Item | None,
    reason: str | None,
) -> str | None:
    """The annotators' `notes`, then `adjudicator: <the item's note>; <reason>`."""
    own = "; ".join(x for x in (item.note if item else None, reason) if x)
    parts = [p for p in (notes, f"{adjudicator}: {own}" if own else None) if p]
    return " | ".join(parts) or None


def check_adjudicator(name: str | None, where: str, line: int) -> str:
    """The adjudicator of an adjudicator's item (written at `line` of the decisions file):
    required, as it goes into gold.

    Raises:
        RefusedDecision: when there is none or it is not a valid name.
    """
    if name is None:
        raise RefusedDecision(
            f"{where}: the item goes into gold in the adjudicator's name; give "
            '"adjudicator" in the line or run with --adjudicator NAME',
            [line],
        )
    if not is_name(name):
        raise RefusedDecision(f"{where}: adjudicator {name!r} is not a valid name ({NAME_RULE})", [line])
    return name


# -- applying them to a gold record -------------------------------------------------------------


@dataclass(eq=False)
class _Slot:
    """A gold item while corrections apply; references point at slots, so they follow an item
    that is replaced and survive renumbering."""

    layer: str
    item: dict[str, Any]
    ref: _Slot | Reference
    line: int | None
    """The decisions-file line that wrote the item (None: voted from the annotators)."""
    removed_by: int | None = None

    def _span(self) -> dict[str, Any]:
        key = LAYERS[self.layer].key
        return self.item if key is None else self.item[key]

    @property
    def key(self) -> tuple[int, int]:
        span = self._span()
        return span["start"], span["end"]

    def describe(self) -> str:
        span = self._span()
        text = span["text"] if len(span["text"]) <= 40 else span["text"][:37] + "..."
        return f"[{span['start']}, {span['end']}) {text!r}"


def apply(
    record: dict[str, Any],
    corrections: Sequence[CorrectionEntry],
    written: dict[int, int],
    *,
    source: Path | None,
    adjudicator: str | None,
) -> list[Outcome]:
    """Apply a document's corrections to its gold record (in place), renumber and check it.

    Args:
        record: the gold record as the merge built it.
        corrections: the document's correction lines, in file order.
        written: `id(item) -> line` for the items of `record` that `replace` decisions wrote
            (their references are still `"@START-END"`).
        source: the decisions file, for messages.
        adjudicator: the `--adjudicator` name, for lines that give none.

    Returns:
        What became of each correction, in file order.

    Raises:
        RefusedDecision: when a correction is ambiguous, leaves a reference that cannot be
            resolved, or makes the record invalid (naming the file and line).
    """
    gold = _Gold(record, written, source)
    outcomes = [gold.correct(entry, adjudicator) for entry in corrections]
    gold.resolve()
    gold.renumber()
    gold.check([e.line for e in corrections] + sorted(set(written.values())))
    return outcomes


class _Gold:
    def __init__(self, record: dict[str, Any], written: dict[int, int], source: Path | None) -> None:
        self.record = record
        self.source = source
        self.slots: dict[str, list[_Slot]] = {
            layer: [_Slot(layer, item, None, written.get(id(item))) for item in record[layer]]
            for layer in LAYERS
        }
        for layer, field in REFERENCE.items():
            by_id = {s.item["id"]: s for s in self.slots[_TARGET[layer]]}
            for slot in self.slots[layer]:
                value = slot.item.get(field)
                if isinstance(value, str) and value.startswith("@"):
                    slot.ref = _reference(field, value, _author_allowed(layer))
                else:
                    slot.ref = by_id.get(value, value)

    def where(self, line: int | None) -> str:
        return f"{self.source}:{line}"

    def correct(self, entry: CorrectionEntry, default_adjudicator: str | None) -> Outcome:
        c, line, item = entry.correction, entry.line, entry.item
        who = check_adjudicator(c.adjudicator or default_adjudicator, self.where(line), line)
        slots = self.slots[c.layer]
        if c.match is None:  # add
            assert item is not None
            new = _Slot(
                c.layer, item.gold([who], adjudicator_note(None, who, item, c.reason)), item.ref, line
            )
            twin = next((s for s in slots if self._same(s, new)), None)
            if twin is not None:
                return Outcome(
                    entry,
                    "stale",
                    "gold has this item already (annotators: "
                    f"{', '.join(twin.item['annotators'])}); delete this line",
                    None,
                )
            slots.append(new)
            return Outcome(entry, "applied", f"added {new.describe()}", who)
        key = (c.match.start, c.match.end)
        found = [s for s in slots if s.key == key]
        if not found:
            return Outcome(
                entry,
                "stale",
                f"no gold item of {c.layer} has the span [{key[0]}, {key[1]}) "
                "(the annotations changed, or the span is wrong); fix the match or "
                "delete this line",
                None,
            )
        if len(found) > 1:
            raise RefusedDecision(
                f"{self.where(line)}: correction of {c.doc_id} {c.layer}: {len(found)} gold items "
                f"have the span [{key[0]}, {key[1]}): "
                + "; ".join(_summary(s) for s in found)
                + ". A correction cannot tell items on one span apart: settle them in the "
                "annotations or the conflicts instead",
                [line],
            )
        slot = found[0]
        if item is None:  # remove
            slots.remove(slot)
            slot.removed_by = line
            return Outcome(
                entry,
                "applied",
                f"removed {slot.describe()} ({', '.join(slot.item.get('annotators') or [])})",
                who,
            )
        old = slot.describe()
        slot.item = item.gold(
            slot.item.get("annotators") or [], adjudicator_note(slot.item.get("note"), who, item, c.reason)
        )
        slot.ref, slot.line = item.ref, line
        return Outcome(entry, "applied", f"replaced {old} ({', '.join(slot.item['annotators'])})", who)

    def _same(self, a: _Slot, b: _Slot) -> bool:
        """Whether two items are equal apart from id, annotators and note."""

        def content(s: _Slot) -> tuple[dict[str, Any], Any]:
            fields = {
                k: v
                for k, v in s.item.items()
                if k not in ("id", "annotators", "note", REFERENCE.get(s.layer))
            }
            return fields, s.ref.key if isinstance(s.ref, _Slot) else s.ref

        return content(a) == content(b)

    def resolve(self) -> None:
        """Point every `"@START-END"` at its attribution; check nothing refers to a removed one."""
        for layer, field in REFERENCE.items():
            attributions = self.slots[_TARGET[layer]]
            for slot in self.slots[layer]:
                ref = slot.ref
                if isinstance(ref, tuple):
                    found = [a for a in attributions if a.key == ref and a is not slot]
                    if len(found) != 1:
                        problem = (
                            "no gold attribution has" if not found else f"{len(found)} gold attributions have"
                        )
                        raise RefusedDecision(
                            f'{self.where(slot.line)}: {field} "@{ref[0]}-{ref[1]}": {problem} the '
                            f"content span [{ref[0]}, {ref[1]}) (after the corrections); give the "
                            "content span of the attribution as it is in gold",
                            [slot.line],
                        )
                    slot.ref = found[0]
                elif isinstance(ref, _Slot) and ref.removed_by is not None:
                    raise RefusedDecision(
                        f"{self.where(ref.removed_by)}: removes the attribution {ref.describe()}, "
                        f"which the gold {layer} item {slot.describe()} refers to as its {field}; "
                        "correct or remove that item as well",
                        [ref.removed_by],
                    )

    def renumber(self) -> None:
        """Gold ids by position, as the merge numbers them; references rewritten to them."""
        for layer, slots in self.slots.items():
            slots.sort(key=lambda s: document_order(s.key))  # stable: items on one span keep their order
            for i, slot in enumerate(slots, start=1):
                slot.item["id"] = f"{LAYERS[layer].prefix}{i}"
        for layer, field in REFERENCE.items():
            for slot in self.slots[layer]:
                ref = slot.ref
                if isinstance(ref, _Slot):
                    slot.item[field] = ref.item["id"]
                elif ref is None:
                    slot.item.pop(field, None)
                else:
                    slot.item[field] = ref
        for layer, slots in self.slots.items():
            self.record[layer] = [s.item for s in slots]

    def check(self, lines: list[int]) -> None:
        """Run the validator's reference checks on the corrected record.

        Errors stop the merge, and so do warnings on the adjudicator's own items (a boundary
        with a space, a holder outside its content): they are mistakes in the decisions file.
        The guideline checks (`target-not-in-text`, ...) do not stop it: they are reported when
        gold is validated, with the alias file at hand.
        """
        findings, _key = check_line_fully(dumps(self.record).rstrip(b"\n"))
        problems: list[str] = []
        blamed: list[int] = []  # the first problem's: the line that wrote its item, or every line
        for code, path, message in findings:
            slot = self._slot_at(path)
            own = slot is not None and slot.line is not None
            check = CATALOGUE[code]
            if check.severity == "warning" and (not own or check.group == "guideline"):
                continue
            line = _line_of(slot) if slot is not None else None
            if not problems:
                blamed = [line] if line is not None else lines
            where = (
                self.where(line)
                if line is not None
                else f"{self.source}:{','.join(str(n) for n in sorted(set(lines)))}"
            )
            item = f"{slot.layer} item {slot.describe()}" if slot is not None else "the record"
            problems.append(
                f"{where}: the corrected gold of {self.record['doc_id']} is not valid: "
                f"{item}: [{code}] {path}: {message}"
            )
        if problems:
            more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
            raise RefusedDecision(problems[0] + more, blamed)

    def _slot_at(self, path: str) -> _Slot | None:
        m = re.match(r"(\w+)\[(\d+)\]", path or "")
        if m is None or m[1] not in self.slots:
            return None
        slots = self.slots[m[1]]
        return slots[int(m[2])] if int(m[2]) < len(slots) else None


def _line_of(slot: _Slot) -> int | None:
    """The line to blame for a problem of `slot`: the one that wrote it, or the one that wrote
    the attribution it refers to (a replaced parent that no longer contains it)."""
    if slot.line is not None:
        return slot.line
    return slot.ref.line if isinstance(slot.ref, _Slot) else None


def _summary(slot: _Slot) -> str:
    labels = {
        k: v
        for k, v in slot.item.items()
        if k in ("kind", "type", "target", "polarity", "holder", "source_name", "nested_in")
    }
    return f"{slot.item['id']} {slot.describe()} {labels} ({', '.join(slot.item.get('annotators') or [])})"
