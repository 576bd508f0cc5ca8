"""The validator's fast path, built on the schema's msgspec mirror (`corpus_tools.structs`).

The mirror: msgspec `Struct` types generated from the Pydantic models, field for field, with
the same constraints (merge decodes validated lines with them too). A constraint the mirror
cannot copy makes it refuse to build (`MirrorError`) rather than decode invalid lines as clean;
the layer registry builds it for every layer, so such a layer is refused when registered.

The fast path: confirm quickly that a line is clean, or hand it to the full checks.

Almost every line of a real corpus is valid, so `corpus validate` first asks one cheap question
of each line: does it decode into the record structure, and does it break none of the rules?
Only when the answer is no does the line go through the reference checks (the Pydantic models and
`corpus_tools.rules`), which produce the problems with their codes, paths and messages. The fast
path therefore never reports anything itself; it can only say "clean" or "look closer".

- Structure: msgspec `Struct` types are generated from the Pydantic models (never written by
  hand), with unknown fields forbidden and strict types, so decoding a line both parses and
  checks its structure, several times faster than Pydantic.
- Rules: `is_clean` tests the conditions of `corpus_tools.validate.rules` on the decoded structs,
  layer by layer from the registry (`corpus_tools.layers`).
- Duplicate keys: JSON parsers keep the last of two equal keys silently, but Arrow (which
  `corpus publish` reads with) refuses them, so a line with one must not pass as clean.
  `may_repeat_a_key` compares the line's `:` count with the keys the structs hold: the validator's
  structs keep which fields were *present* (absent ones are `UNSET`), so no key can hide.

Correctness rests on one property, tested on generated valid and broken records: when the fast
path says clean, the reference checks find nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter
from typing import Any, NamedTuple

import msgspec
from pydantic import BaseModel

from corpus_tools import structs
from corpus_tools.layers import LAYERS, Record
from corpus_tools.schema import AUTHOR, is_name
from corpus_tools.structs import UNSET, MirrorError, Names
from corpus_tools.validate.rules import (
    ALIASES,
    answer_follows,
    in_aside,
    innermost,
    is_language_tag,
    outer_first,
    splits_word,
    target_occurs,
)

__all__ = [
    "NAMES_CHECKED",
    "NAME_FIELDS",
    "UNSET",
    "MirrorError",
    "decode",
    "is_clean",
    "may_repeat_a_key",
    "struct_for",
]

NAME_FIELDS = {"doc_id", "annotator", "id", "annotators", "holder", "nested_in"}
"""Fields whose values are names (`invalid-name` in the validator's report). A test keeps this
set equal to the fields the core models constrain with `NAME_PATTERN`."""

NAMES_CHECKED: Names = frozenset(
    {(Record, "doc_id"), (Record, "annotator")}
    | {
        (layer.model, name)
        for layer in LAYERS.values()
        for name in ("id", "annotators", *((layer.reference.field,) if layer.reference else ()))
    }
)
"""The name fields `is_clean` checks itself, with a cache instead of msgspec's per-value regex
(which costs as much as the whole parse): the record's `doc_id` and `annotator`, every item's
`id` and `annotators`, and each layer's reference (which must name an item whose id was checked,
or `author`). Every other field keeps its pattern in the structs (an extra layer's `speaker:
Name`)."""


def struct_for(model: type[BaseModel], *, presence: bool = False) -> type[msgspec.Struct]:
    """`structs.struct_for` with the names that `is_clean` checks left to it (what the fast path
    and merge decode with).

    Raises:
        MirrorError: for a model the mirror cannot copy.
    """
    return structs.struct_for(model, presence=presence, names_checked=NAMES_CHECKED)


_DECODER = msgspec.json.Decoder(struct_for(Record, presence=True))
_ENCODER = msgspec.json.Encoder()


def decode(raw: bytes) -> Any | None:
    """The line as a record struct (absent optional fields `UNSET`), or None when it does not
    decode into the structure.

    msgspec rejects invalid UTF-8 (with `UnicodeDecodeError`) and lone surrogate escapes, as
    the reference path does.
    """
    try:
        return _DECODER.decode(raw)
    except (msgspec.ValidationError, msgspec.DecodeError, UnicodeDecodeError):
        return None


def may_repeat_a_key(raw: bytes, rec: Any) -> bool:
    """Whether the line may hold an object with a key given twice (then it is not clean).

    The decoded struct keeps one value per key, and only the keys the line had (absent fields
    are `UNSET`), so re-encoding it writes every key once. A line that is exactly that encoding
    (the usual case for files written by a program: compact, in the schema's field order)
    repeats no key. Otherwise the colons are counted: outside strings, every `:` of a JSON line
    separates a key from its value, and the encoding has the same `:`s inside its strings as
    the line, so the line has one more for every repeated key. An escaped colon (`\\u003a`)
    would break the count, so such a line is never called clean. `raw` may end with its line
    end.
    """
    encoded = _ENCODER.encode(rec)
    extra = len(raw) - len(encoded)
    if 0 <= extra <= 2 and raw.startswith(encoded) and raw.endswith(_LINE_ENDS[extra]):
        return False
    return b"\\u003" in raw or raw.count(b":") != encoded.count(b":")


_LINE_ENDS = (b"", b"\n", b"\r\n")
"""What may follow the encoding on a line that is exactly the encoding, by length."""


_GOOD_NAMES: set[str] = set()


def _name_ok(name: str) -> bool:
    # Names repeat (q1, s3, ann-a), so most checks are one set lookup.
    if name in _GOOD_NAMES:
        return True
    if not is_name(name):
        return False
    if len(_GOOD_NAMES) > 100_000:
        _GOOD_NAMES.clear()
    _GOOD_NAMES.add(name)
    return True


def _absent(value: Any) -> bool:
    return value is None or value is UNSET


def _named_fields() -> list[tuple[str, tuple[Any, ...]]]:
    """For each layer: getters of its items' fields in `NAMES_CHECKED` (a name, or a list)."""
    return [
        (
            layer.name,
            tuple(attrgetter(f) for f in layer.model.model_fields if (layer.model, f) in NAMES_CHECKED),
        )
        for layer in LAYERS.values()
    ]


_NAMED_FIELDS = _named_fields()


def names_ok(rec: Any) -> bool:
    """Whether every name that the structs leave unchecked (`NAMES_CHECKED`) matches the
    pattern: for a line that decodes, the one part of the models' structure check left out."""
    if not (_name_ok(rec.doc_id) and _name_ok(rec.annotator)):
        return False
    for name, getters in _NAMED_FIELDS:
        for it in getattr(rec, name) or ():
            for get in getters:
                value = get(it)
                if isinstance(value, str):
                    if not _name_ok(value):
                        return False
                elif isinstance(value, list) and not all(map(_name_ok, value)):
                    return False
    return True


class _LayerPlan(NamedTuple):
    """What `is_clean` needs of one layer, derived once from the registry."""

    name: str
    """The record field that holds the layer."""
    own: bool
    """Whether the items are spans themselves (a question, a stance)."""
    parts: tuple[Callable[[Any], Any], ...]
    """Getters of the items' span fields that any item may have (`source`, `cue`, `content`)."""
    conditional: tuple[tuple[Callable[[Any], Any], Callable[[Any], Any], str], ...]
    """`(span getter, label getter, label)` of the span fields only items with that label may
    have (a `hypophora`'s `answer`)."""
    targeted: bool
    """Whether references name this layer's items (attributions)."""


def _plan() -> tuple[_LayerPlan, ...]:
    targets = {layer.reference.target for layer in LAYERS.values() if layer.reference is not None}
    return tuple(
        _LayerPlan(
            layer.name,
            any(p.field is None for p in layer.parts),
            tuple(attrgetter(p.field) for p in layer.parts if p.field is not None and p.only_if is None),
            tuple(
                (attrgetter(p.field), attrgetter(p.only_if[0]), p.only_if[1])
                for p in layer.parts
                if p.field is not None and p.only_if is not None
            ),
            layer.name in targets,
        )
        for layer in LAYERS.values()
    )


_PLAN = _plan()
_PARTS = {layer.name: tuple(p.field for p in layer.parts) for layer in LAYERS.values()}
_REFERENCES = tuple(
    (layer.name, layer.reference, attrgetter(layer.reference.field))
    for layer in LAYERS.values()
    if layer.reference is not None
)
_ID = attrgetter("id")
_ANNOTATORS = attrgetter("annotators")


def is_clean(rec: Any) -> bool:
    """Whether a decoded record has valid names and breaks none of the rules of `rules`.

    The conditions are those of `rules.check_record`, in another order: the items' ids and
    spans are gathered layer by layer, then the ids are checked at once, every span in one loop,
    the references, and the guidelines last (they assume valid spans and references). It runs
    on every line, so the per-item work is done by C loops (`map`, `filter`, set and list
    operations) wherever it can be.
    """
    annotator = rec.annotator
    if not (is_name(rec.doc_id) and (annotator in _GOOD_NAMES or _name_ok(annotator))):
        return False
    meta = rec.meta
    if meta:  # neither None nor UNSET
        language = meta.language
        if language is not None and language is not UNSET and not is_language_tag(language):
            return False
    ids: list[str] = []
    spans: list[Any] = []
    named: dict[str, dict[str, Any]] = {}
    for name, own, parts, conditional, targeted in _PLAN:
        items = getattr(rec, name)
        if not items:
            continue
        layer_ids = list(map(_ID, items))
        ids += layer_ids
        if targeted:
            named[name] = dict(zip(layer_ids, items, strict=True))
        if own:
            spans += items
        for get in parts:
            spans += filter(None, map(get, items))  # absent spans (None, UNSET) are false
        for get, label, required in conditional:
            for it in items:
                span = get(it)
                if span:
                    if label(it) != required:
                        return False
                    spans.append(span)
        for names in filter(None, map(_ANNOTATORS, items)):
            if not all(map(_name_ok, names)):
                return False
    if len(set(ids)) != len(ids) or not (_GOOD_NAMES.issuperset(ids) or all(map(_name_ok, ids))):
        return False
    text = rec.text
    if not _spans_ok(text, spans):
        return False
    for name, ref, get_reference in _REFERENCES:
        items = getattr(rec, name)
        if not items:
            continue
        targets = named.get(ref.target, {})
        for it in items:
            value = get_reference(it)
            if value is None or value is UNSET or (ref.author and value == AUTHOR):
                continue
            if not _reference_ok(it, name, value, ref, targets):
                return False
    return _guidelines_ok(rec, text, named)


def _spans_ok(text: str, spans: list[Any]) -> bool:
    """`rules.check_span` finds nothing in any of the spans: in range, not empty, the text they
    cover, no space at either end (`strip` removes what `isspace` calls space), no word cut."""
    n = len(text)
    for s in spans:
        start = s.start
        end = s.end
        covered = s.text
        if not 0 <= start < end <= n or text[start:end] != covered or covered.strip() != covered:
            return False
        # A word is cut only where the characters on both sides of an edge are alphanumeric;
        # the one outside the span rarely is, and only then is the exact rule needed.
        if ((start and text[start - 1].isalnum()) or (end < n and text[end].isalnum())) and splits_word(
            text, start, end
        ):
            return False
    return True


def _guidelines_ok(rec: Any, text: str, named: dict[str, dict[str, Any]]) -> bool:
    """`rules._check_guidelines` finds nothing (the same predicates, on the structs); `named`
    holds the items references may name, by layer and id."""
    questions = getattr(rec, "rhetorical_questions", None)
    if questions:
        bounds: list[tuple[int, int]] | None = None
        for q in questions:
            if not q.text.endswith("?"):
                return False
            a = q.answer
            if a is not None and a is not UNSET:
                if bounds is None:
                    bounds = [(q.start, q.end) for q in questions]
                if not answer_follows(text, (q.start, q.end), (a.start, a.end), bounds):
                    return False
    attributions = named.get("attributions")
    if attributions is None:
        attributions = {t.id: t for t in getattr(rec, "attributions", None) or ()}
    contents: dict[str, tuple[int, int]] = {}
    for t in attributions.values():
        parent = t.nested_in
        if parent is not None and parent is not UNSET and not outer_first(t.id, parent):
            return False
        content = t.content
        contents[t.id] = (content.start, content.end)
    stances = getattr(rec, "stances", None)
    if not stances:
        return True
    declared = ALIASES.get(rec.doc_id) if ALIASES else None
    folded: list[str] = []
    occurring: set[str] = set()  # targets repeat within a document: each is looked up once
    for s in stances:
        if contents:
            span = (s.start, s.end)
            inner = innermost(span, contents)
            if inner is not None:
                holder = s.holder
                if holder == AUTHOR:
                    if attributions[inner].type == "direct" and not in_aside(text, contents[inner], span):
                        return False
                elif inner != holder and contents[inner] != contents.get(holder):
                    return False
        target = s.target
        if target not in occurring:
            if not target_occurs(target, text, folded, declared):
                return False
            occurring.add(target)
    return True


def _reference_ok(it: Any, layer: str, value: str, ref: Any, named: dict[str, Any]) -> bool:
    """The attribution `value` exists, contains the item's parts and (nesting) no cycle."""
    target = named.get(value)
    if target is None:
        return False
    if ref.cycles:
        seen = {it.id}
        current = target
        while current is not None:  # a chain leading back to the item is a cycle
            if current.id in seen:
                return False
            seen.add(current.id)
            parent = getattr(current, ref.field)
            current = None if _absent(parent) else named.get(parent)
    lo, hi = target.content.start, target.content.end
    for field in _PARTS[layer]:
        s = it if field is None else getattr(it, field)
        if not _absent(s) and not (lo <= s.start and s.end <= hi):
            return False
    return True
