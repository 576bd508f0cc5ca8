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
  layer by layer from the registry (`corpus_tools.layers`), in C (`_native.c`: these checks
  cost more than the decoding when written in Python).
- Duplicate keys: JSON parsers keep the last of two equal keys silently, but Arrow (which
  `corpus publish` reads with) refuses them, so a line with one must not pass as clean.
  `may_repeat_a_key` scans the line's objects for a key given twice (in C too).

Correctness rests on one property, tested on generated valid and broken records: when the fast
path says clean, the reference checks find nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter
from pathlib import Path
from typing import Any

import msgspec
from pydantic import BaseModel

from corpus_tools import structs
from corpus_tools.layers import LAYERS, Record
from corpus_tools.native import check_built, missing
from corpus_tools.schema import is_name
from corpus_tools.structs import UNSET, MirrorError, Names
from corpus_tools.validate.rules import (
    ALIASES,
    answer_follows,
    in_aside,
    is_language_tag,
    outer_first,
    splits_word,
    target_occurs,
)

try:
    from corpus_tools.validate._native import SOURCE, configure, repeats_a_key
    from corpus_tools.validate._native import clean_record as _clean_record
    from corpus_tools.validate._native import is_clean as _is_clean
except ImportError:
    raise missing(Path(__file__).with_name("_native.c")) from None

__all__ = [
    "NAMES_CHECKED",
    "NAME_FIELDS",
    "UNSET",
    "MirrorError",
    "clean_record",
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
"""The name fields `is_clean` checks itself, in C instead of with msgspec's per-value regex
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


def may_repeat_a_key(raw: bytes) -> bool:
    """Whether the line may hold an object with a key given twice (then it is not clean).

    The decoded struct keeps one value per key, so the line itself is scanned (`_native.c`):
    its keys are compared object by object, as the line spells them. A key written with an
    escape (`"te\\u0078t"` is `"text"`) could spell another key, so a line with one is never
    called clean. `raw` is a line that decodes as JSON, with or without its line end.
    """
    return repeats_a_key(raw) is not False


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


def _plan() -> tuple[tuple[Any, ...], ...]:
    """What `is_clean` needs of each layer, from the registry: `(name, own, parts, conditional,
    targeted)`: the record field, whether the items are spans themselves (a question, a
    stance), the span fields any item may have (`source`, `cue`, `content`), `(span field, label
    field, label)` of those only items with that label may have (a `hypophora`'s `answer`), and
    whether references name the layer's items (attributions)."""
    targets = {layer.reference.target for layer in LAYERS.values() if layer.reference is not None}
    return tuple(
        (
            layer.name,
            any(p.field is None for p in layer.parts),
            tuple(p.field for p in layer.parts if p.field is not None and p.only_if is None),
            tuple(
                (p.field, *p.only_if) for p in layer.parts if p.field is not None and p.only_if is not None
            ),
            layer.name in targets,
        )
        for layer in LAYERS.values()
    )


def _references() -> tuple[tuple[Any, ...], ...]:
    """`(layer, field, target layer, author allowed, cycles checked, parts)` of each reference:
    the parts (None: the item itself) must lie in the named item's content."""
    return tuple(
        (
            layer.name,
            layer.reference.field,
            layer.reference.target,
            layer.reference.author,
            layer.reference.cycles,
            tuple(p.field for p in layer.parts),
        )
        for layer in LAYERS.values()
        if layer.reference is not None
    )


def _check_built() -> None:
    """Refuse a module built from another version of `_native.c` (`corpus_tools.native`)."""
    check_built(Path(__file__).with_name("_native.c"), SOURCE)


_check_built()
configure(
    decode=_DECODER.decode,
    decode_errors=(msgspec.ValidationError, msgspec.DecodeError, UnicodeDecodeError),
    unset=UNSET,
    plan=_plan(),
    references=_references(),
    aliases=ALIASES,
    splits_word=splits_word,
    answer_follows=answer_follows,
    outer_first=outer_first,
    in_aside=in_aside,
    target_occurs=target_occurs,
    is_language_tag=is_language_tag,
)


def is_clean(rec: Any) -> bool:
    """Whether a decoded record has valid names and breaks none of the rules of `rules`.

    The conditions are those of `rules.check_record`, in another order: the items' ids and
    spans are gathered layer by layer, then the ids are checked at once, every span, the
    references, and the guidelines last (they assume valid spans and references). It runs on
    every line, so it is C (`_native.c`), which calls the predicates of the guidelines that
    are rarely needed (a word cut, an answer's position, a target's occurrence, ...) from
    `rules`; the layers are the registry's (`_plan`).
    """
    return _is_clean(rec)


clean_record: Callable[[bytes], Any | None] = _clean_record
"""The line decoded (a record struct) when `decode` gives one, `is_clean` says it is clean and
`may_repeat_a_key` says no; else None: then `lines.check_line` says what is wrong, if anything.
What the validator runs on every line, in one call into C. The line may keep its line end."""
