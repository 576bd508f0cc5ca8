"""The label convention: how tool labels, attributes and relations map onto our three layers.

Every tool can express a span label and a relation label, so the default convention puts the
closed vocabularies (question kind, attribution type, polarity) into the span label itself:

    RQ-assertive  RQ-hypophora  RQ-echo  RQ-open    a rhetorical question of that kind
    RQ-answer                                       the answer of a hypophora
    ATTR-source  ATTR-cue                           source and cue of an attribution
    ATTR-content-direct|indirect|mixed              its content, with the attribution type
    STANCE-favor|against                            a stance, with its polarity
    STANCE-target                                   a span naming a stance's target

Relations (from -> to) join the spans into items:

    source-of   ATTR-source   -> ATTR-content-*    cue-of   ATTR-cue -> ATTR-content-*
    nested-in   ATTR-content-* -> ATTR-content-*  (inner -> enclosing)
    answers     RQ-answer     -> RQ-*
    holds       ATTR-content-* or ATTR-source -> STANCE-*   (the attribution's source holds it)
    target-of   STANCE-target -> STANCE-*

A bare `RQ`, `ATTR-content` or `STANCE` label takes its value from a field (a brat attribute,
a Label Studio per-region choice, a Prodigy span key) named `kind`, `type` or `polarity`.
Free-text fields (`target`, `source_name`, `note`, `id`) come from per-region text areas,
Prodigy span keys, or a brat note written `target: the neocons | note: ...`.

The vocabularies are generated from the layers' labels (`corpus_tools.layers`), so a new kind in the models
is a new label here. A project's own names map onto ours with a label map file (JSON or TOML);
see docs/convert.md.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from corpus_tools.errors import CorpusToolsError
from corpus_tools.files import display, parse_json, parse_toml, read_text
from corpus_tools.layers import AUTHOR, LAYERS, Layer
from corpus_tools.schema import NAME_RULE, is_name

QUESTION_KINDS: tuple[str, ...] = LAYERS["rhetorical_questions"].names
ATTRIBUTION_TYPES: tuple[str, ...] = LAYERS["attributions"].names
POLARITIES: tuple[str, ...] = LAYERS["stances"].names

# Roles a span can play; one tool label names one role and, for heads, maybe a value.
QUESTION, ANSWER, SOURCE, CUE, CONTENT, STANCE, TARGET, IGNORE = (
    "question",
    "answer",
    "source",
    "cue",
    "content",
    "stance",
    "target",
    "ignore",
)

ROLE_FIELD = {QUESTION: "kind", CONTENT: "type", STANCE: "polarity"}
"""The field holding the closed label of each head role."""
ROLE_VALUES = {QUESTION: QUESTION_KINDS, CONTENT: ATTRIBUTION_TYPES, STANCE: POLARITIES}
ROLE_PREFIX = {QUESTION: "RQ", CONTENT: "ATTR-content", STANCE: "STANCE"}

RELATIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "source-of": ((SOURCE,), (CONTENT,)),
    "cue-of": ((CUE,), (CONTENT,)),
    "nested-in": ((CONTENT,), (CONTENT,)),
    "answers": ((ANSWER,), (QUESTION,)),
    "holds": ((CONTENT, SOURCE), (STANCE,)),
    "target-of": ((TARGET,), (STANCE,)),
}
"""Each relation label and the roles allowed at its `from` and `to` ends."""

FIELDS = ("id", "kind", "type", "polarity", "target", "source_name", "note")
"""Span fields a tool may carry besides the label."""

NOTE_SEPARATOR = " | "


def span_labels() -> list[str]:
    """Every span label of the default convention, in a fixed order (for tool configurations),
    then those of any extra layer (`extra_labels`)."""
    return (
        [f"RQ-{k}" for k in QUESTION_KINDS]
        + ["RQ-answer", "ATTR-source", "ATTR-cue"]
        + [f"ATTR-content-{t}" for t in ATTRIBUTION_TYPES]
        + [f"STANCE-{p}" for p in POLARITIES]
        + ["STANCE-target"]
        + [label for layer in extra_layers() for label in extra_labels(layer)]
    )


CORE = ("rhetorical_questions", "attributions", "stances")
"""The layers the convention above names; the others are exported generically."""


def extra_layers() -> list[Layer]:
    """The layers beyond the three of the convention (a project's own, `corpus_tools.layers`).
    Export writes them generically: the item's key span labelled `<tool prefix>-<label>`, each
    other part `<tool prefix>-<part>` joined to it by `<part>-of`, a reference to an attribution
    drawn as `holds` from the attribution's content, and every other field in the note as
    `field: value` (`extra_fields`). Import does not read them back yet: their labels are
    reported as belonging to a layer that cannot be imported (`extra_layer_of`)."""
    return [layer for name, layer in LAYERS.items() if name not in CORE]


def extra_fields(layer: Layer) -> list[str]:
    """The fields of an extra layer's items written into the note: all but the spans, the label,
    the reference and the bookkeeping (`note` itself is written last by `format_note`)."""
    return [f for f in layer.voted if layer.kind_of(f) in ("text", "value")]


def extra_layer_of(label: str) -> Layer | None:
    """The extra layer whose export writes `label` (`HEDGE-weak`), or None."""
    return next((layer for layer in extra_layers() if label in extra_labels(layer)), None)


def importable_labels() -> list[str]:
    """The span labels the importers read: those of the three layers of the convention."""
    extra = {label for layer in extra_layers() for label in extra_labels(layer)}
    return [label for label in span_labels() if label not in extra]


def import_note() -> str | None:
    """What to tell whoever exports extra layers: the import cannot read them back (None when
    there are none)."""
    layers = extra_layers()
    if not layers:
        return None
    names = ", ".join(f"{layer.name} ({layer.tool_prefix}-*)" for layer in layers)
    return (
        f"the extra layer(s) {names} are exported, but `corpus import` cannot read them back yet: "
        "their labels are reported as import-unknown-label errors"
    )


def extra_labels(layer: Layer) -> list[str]:
    """An extra layer's span labels: one per label value, then one per other part."""
    return [f"{layer.tool_prefix}-{value}" for value in layer.names] + [
        f"{layer.tool_prefix}-{part.name}" for part in layer.parts if part.field not in (None, layer.key)
    ]


@dataclass(frozen=True)
class ExtraItem:
    """How an item of an extra layer is written: its head span and label, its other parts (label,
    relation, span), the attribution it refers to, and its other fields as note values."""

    head: dict[str, Any]
    label: str
    parts: list[tuple[str, str, dict[str, Any]]]
    attribution: str | None
    fields: dict[str, str]


def extra_item(layer: Layer, item: dict[str, Any]) -> ExtraItem:
    """The `ExtraItem` of one item (a dict) of an extra layer."""
    head = item if layer.key is None else item[layer.key]
    parts = [
        (f"{layer.tool_prefix}-{part.name}", f"{part.name}-of", span)
        for part in layer.parts
        if part.field not in (None, layer.key) and (span := item.get(part.field)) is not None
    ]
    ref = item.get(layer.reference.field) if layer.reference is not None else None
    fields = {f: _note_value(item[f]) for f in extra_fields(layer) if item.get(f) is not None}
    if item.get("note"):
        fields["note"] = str(item["note"])
    return ExtraItem(
        head,
        f"{layer.tool_prefix}-{item[layer.label]}",
        parts,
        ref if isinstance(ref, str) and ref != AUTHOR else None,
        fields,
    )


def _note_value(value: Any) -> str:
    # Strings as written (free text, names, labels); numbers, booleans and lists as JSON.
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def extra_relations() -> list[str]:
    """The relation labels extra layers add (`<part>-of`)."""
    return sorted(
        {
            f"{part.name}-of"
            for layer in extra_layers()
            for part in layer.parts
            if part.field not in (None, layer.key)
        }
        - set(RELATIONS)
    )


def label_of(role: str, value: str | None = None) -> str:
    """The default label of a role (and value): `label_of("question", "echo") == "RQ-echo"`."""
    fixed = {ANSWER: "RQ-answer", SOURCE: "ATTR-source", CUE: "ATTR-cue", TARGET: "STANCE-target"}
    if role in fixed:
        return fixed[role]
    return ROLE_PREFIX[role] + (f"-{value}" if value else "")


@dataclass(frozen=True)
class Role:
    """What a span label means: a role and, for question/content/stance, maybe its value."""

    role: str
    value: str | None = None


def parse_label(label: str) -> Role | None:
    """The role of a label of the default convention, or None when it is not one."""
    fixed = {
        "RQ-answer": ANSWER,
        "ATTR-source": SOURCE,
        "ATTR-cue": CUE,
        "STANCE-target": TARGET,
        "ignore": IGNORE,
    }
    if label in fixed:
        return Role(fixed[label])
    for role, prefix in ROLE_PREFIX.items():
        if label == prefix:
            return Role(role)
        if label.startswith(prefix + "-") and label[len(prefix) + 1 :] in ROLE_VALUES[role]:
            return Role(role, label[len(prefix) + 1 :])
    return None


@dataclass
class LabelMap:
    """A project's names for our labels, relations, fields, values and annotators."""

    labels: dict[str, str] = field(default_factory=dict)
    """Tool span label -> label of the default convention (or `ignore`)."""
    relations: dict[str, str] = field(default_factory=dict)
    """Tool relation label -> relation of the default convention (or `ignore`)."""
    reversed: set[str] = field(default_factory=set)
    """Tool relation labels drawn the other way round (Label Studio's `quotee`, from the quote
    to its speaker, is our `source-of` reversed)."""
    fields: dict[str, str] = field(default_factory=dict)
    """Tool attribute / control name -> one of `FIELDS`."""
    values: dict[str, str] = field(default_factory=dict)
    """Tool attribute value -> our value (e.g. `Negative` -> `against`)."""
    annotators: dict[str, str] = field(default_factory=dict)
    """Tool user id, e-mail or session -> annotator name."""
    defaults: dict[str, str] = field(default_factory=dict)
    """Field values used when the tool cannot express them (e.g. `target` for PTC)."""

    def role(self, label: str) -> Role | None:
        """The role of a tool label; None when neither the map nor the convention knows it."""
        return parse_label(self.labels.get(label, label))

    def relation(self, label: str) -> str | None:
        """Our relation for a tool relation label; None when unknown."""
        name = self.relations.get(label, label)
        return name if name in RELATIONS or name == IGNORE else None

    def is_reversed(self, label: str) -> bool:
        """Whether the tool draws this relation from our `to` end to our `from` end."""
        return label in self.reversed

    def field_name(self, name: str) -> str | None:
        """Our field for a tool attribute name; None when it is not one of ours."""
        name = self.fields.get(name, name)
        return name if name in FIELDS else None

    def value(self, value: str) -> str:
        return self.values.get(value, value)

    def annotator(self, tool_id: object) -> str:
        """Annotator name for a tool's user id: mapped, or made safe as a name."""
        if tool_id is None or tool_id == "":
            return "unknown"  # the tool recorded no user: better than the name "None"
        key = str(tool_id)
        if key in self.annotators:
            return self.annotators[key]
        return safe_name(key)


def safe_name(raw: str, fallback: str = "unknown") -> str:
    """`raw` turned into a valid name (`alice@example.org` -> `alice-example.org`)."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", raw).strip("-._")[:128]
    return name if is_name(name) else fallback


_SECTIONS = {"labels", "relations", "fields", "values", "annotators", "defaults"}


def load_label_map(path: Path | None) -> LabelMap:
    """Read a label map file (`.json` or `.toml`); None gives the default convention only.

    A relation is mapped to a name (`quotes = "source-of"`) or, when the tool draws it the
    other way round, to a table (`quotee = {relation = "source-of", reverse = true}`).

    Raises:
        CorpusToolsError: when the file is missing, unreadable, not JSON or TOML of this shape,
            or names unknown labels, relations, fields or invalid annotator names.
    """
    if path is None:
        return LabelMap()
    path = Path(path)
    text = read_text(path, "label map")
    where = display(path)
    data: Any = parse_toml(text, where) if path.suffix.lower() == ".toml" else parse_json(text, where)
    sections = ", ".join(f"[{k}]" for k in sorted(_SECTIONS))
    if not isinstance(data, dict):
        raise CorpusToolsError(f"{where}: a label map is an object with the sections {sections}")
    unknown = [k for k in data if k not in _SECTIONS]
    if unknown:
        close = difflib.get_close_matches(unknown[0], sorted(_SECTIONS), n=1)
        hint = f"did you mean [{close[0]}]? " if close else ""
        raise CorpusToolsError(
            f"{where}: unknown section [{unknown[0]}]; {hint}a label map has the sections {sections}"
        )
    lmap = LabelMap()
    for section, table in data.items():
        if not isinstance(table, dict):
            raise CorpusToolsError(f"{where}: [{section}] must be a table of names")
        target: dict[str, str] = getattr(lmap, section)
        for key, value in table.items():
            if section == "relations" and isinstance(value, dict):
                relation, reverse = value.get("relation"), value.get("reverse", False)
                if (
                    set(value) - {"relation", "reverse"}
                    or not isinstance(relation, str)
                    or not isinstance(reverse, bool)
                ):
                    raise CorpusToolsError(
                        f"{where}: [relations] {key!r}: write a relation name, or a table "
                        '{relation = "source-of", reverse = true}'
                    )
                value = relation
                if reverse:
                    lmap.reversed.add(key)
            if not isinstance(value, str):
                raise CorpusToolsError(
                    f"{where}: [{section}] {key!r} must map to a string, not {type(value).__name__}"
                )
            target[key] = value
    bad = [v for v in lmap.labels.values() if parse_label(v) is None]
    bad += [v for v in lmap.relations.values() if v not in RELATIONS and v != IGNORE]
    bad += [v for v in lmap.fields.values() if v not in FIELDS]
    bad += [k for k in lmap.defaults if k not in FIELDS]
    if bad:
        raise CorpusToolsError(
            f"{where}: unknown target name(s) {', '.join(map(repr, bad))}; labels are "
            f"{', '.join(importable_labels())} or ignore; relations are {', '.join(RELATIONS)}; "
            f"fields are {', '.join(FIELDS)}"
        )
    names = [v for v in lmap.annotators.values() if not is_name(v)]
    if names:
        raise CorpusToolsError(
            f"{where}: [annotators] {', '.join(map(repr, names))}: an annotator name uses {NAME_RULE}"
        )
    return lmap


def parse_note(text: str) -> dict[str, str]:
    """Fields written into a free-text note: `target: the neocons | note: unsure`.

    Parts that do not start with a known field name are the note; once `note:` is reached the
    rest of the text is the note, separators included.
    """
    out: dict[str, str] = {}
    rest: list[str] = []
    parts = text.split(NOTE_SEPARATOR)
    for i, part in enumerate(parts):
        key, sep, value = part.partition(":")
        key = key.strip()
        if sep and key == "note":
            rest.append(NOTE_SEPARATOR.join([value.strip(), *parts[i + 1 :]]))
            break
        if sep and key in FIELDS:
            out[key] = value.strip()
        else:
            rest.append(part)
    note = NOTE_SEPARATOR.join(r for r in rest if r.strip())
    if note:
        out["note"] = note
    return out


def format_note(fields: dict[str, str]) -> str:
    """The inverse of `parse_note`, note last; line breaks and tabs become spaces. (Fields of
    an extra layer follow those of `FIELDS`.)"""
    order = [*FIELDS, *sorted(set(fields) - set(FIELDS))]
    parts = [f"{k}: {fields[k]}" for k in order if k != "note" and fields.get(k)]
    if fields.get("note"):
        parts.append(f"note: {fields['note']}")
    return re.sub(r"[\t\r\n]+", " ", NOTE_SEPARATOR.join(parts))
