"""From a tool's spans and relations to one record: offsets, labels, items, references.

Each format module reads its files into `ToolDoc`s: one annotator's spans and relations over
one document, with offsets still in the tool's unit and labels still in the tool's names.
`assemble` does the rest the same way for every tool: it converts and checks every span
(`offsets.resolve`), maps labels and relations through the convention (`mapping`), joins the
spans into questions, attributions and stances, and finally runs the validator's own checks on
the record it built, so that what it returns as clean also passes `corpus validate`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from corpus_tools.convert import mapping as m
from corpus_tools.convert.offsets import UNITS, Fragments, Matcher, exact, resolve
from corpus_tools.files import JsonInputError, display, is_blank, iter_lines, json_path, load_json, parse_json
from corpus_tools.layers import LAYERS, Record
from corpus_tools.problems import Problem, make_problem
from corpus_tools.schema import AUTHOR, Meta, is_name
from corpus_tools.validate.lines import check_line

UNDETERMINED = "und"
"""BCP 47 for "language not determined": what an imported record says when nothing else does."""
LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")
"""The shape of a BCP 47 language tag (`en`, `de-CH`, `zh-Hant`, `und`)."""
_NO_LANGUAGE = {"x-unspecified", ""}
"""What tools write when they do not know (UIMA's DocumentAnnotation default)."""


@dataclass
class ToolSpan:
    """One span as the tool stores it."""

    key: str
    """The tool's id of the span (region id, `T3`, entity id), which relations refer to."""
    labels: list[str]
    """The tool's label(s) of the span; Label Studio allows several on one region."""
    fragments: Fragments
    """Offsets in the tool's unit; more than one fragment for a discontinuous brat span."""
    text: str | None = None
    """The covered text as the tool stores it, if it does (checked against the document)."""
    fields: dict[str, str] = field(default_factory=dict)
    """Attributes, per-region text areas, note fields: tool name -> value."""
    where: str = ""
    """Where the span is in the tool file, e.g. `[0].annotations[1].result[3]` or `T3`."""
    line: int | None = None
    """1-based line in the tool file, when the format is line based."""
    file: str | None = None
    """The tool file the span is in, when it is not the record's own (PTC: several label files
    per article)."""


@dataclass
class ToolRelation:
    """One binary relation between two spans, by their keys."""

    label: str
    source: str
    target: str
    where: str = ""
    line: int | None = None
    undirected: bool = False
    """Label Studio's `direction: bi`: the roles of the ends decide the direction."""


@dataclass
class ToolDoc:
    """One annotator's annotations of one document, as read from a tool file."""

    tool: str
    file: str
    line: int | None
    where: str
    """The record in the tool file, e.g. `task 17, annotation 101`."""
    doc_id: str
    annotator: str
    text: str
    units: tuple[str, ...]
    """Candidate offset units, the tool's documented one first (see `offsets.UNITS`)."""
    spans: list[ToolSpan] = field(default_factory=list)
    relations: list[ToolRelation] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    matcher: Matcher = exact
    keys_are_ids: bool = False
    """Whether span keys may serve as item ids (Label Studio region ids: yes; `T3`: no)."""
    problems: list[Problem] = field(default_factory=list)
    """What the reader found wrong in this record (a line it could not read, a span of the wrong
    shape); an error among them withholds the record, so nothing is written without it."""
    unread_spans: int = 0
    """Spans of this record the reader could not read (their errors are in `problems`)."""
    unread_relations: int = 0
    without_spans: str | None = None
    """Set when the record lacks the place where the tool keeps spans (Prodigy `spans`, doccano
    `label` or `entities`), even an empty one: what it has instead, for the message. Such a
    record may be another tool's, so an import that reads no span at all from such records
    refuses them rather than write records whose content the reader could not see."""


@dataclass(frozen=True)
class LeftOut:
    """Part of an export that is deliberately not imported (a cancelled annotation, a rejected
    span, a brat event), with the warning that lists it and the counts the summary adds up."""

    problem: Problem
    reason: str
    """Why, as the summary words it: `cancelled in Label Studio`, `rejected in Prodigy`."""
    records: int = 0
    spans: int = 0
    relations: int = 0


@dataclass(frozen=True)
class Refused:
    """A record the reader could not read at all (its errors are in `problems`); it is listed
    as withheld and its spans are counted as refused."""

    problems: list[Problem]
    place: str
    """Where the record is: `file: [3].annotations[0]`, `file:12`."""
    spans: int = 0
    relations: int = 0


Read = ToolDoc | Problem | LeftOut | Refused
"""What a format reader yields."""


def left_out(
    file: object,
    line: int | None,
    where: str | None,
    message: str,
    reason: str,
    *,
    records: int = 0,
    spans: int = 0,
    relations: int = 0,
) -> LeftOut:
    """An `import-skipped` warning with what it leaves out."""
    return LeftOut(
        file_problem("import-skipped", file, line, where, message), reason, records, spans, relations
    )


def refused(
    file: object,
    line: int | None,
    errors: list[tuple[str, str]],
    what: str,
    place: str,
    *,
    spans: int = 0,
    relations: int = 0,
) -> Refused:
    """A record of the wrong shape: one `import-bad-format` error per place (from
    `shapes.check`), each saying what was expected, and `what` the file should be."""
    problems = [
        file_problem(
            "import-bad-format",
            file,
            line,
            where or None,
            # What the file should be, where the shape is wrong near the top.
            f"{message}; {what}" if where.count(".") + where.count("[") <= 1 else message,
        )
        for where, message in errors
    ]
    return Refused(problems, place, spans, relations)


@dataclass(frozen=True)
class Conversion:
    """One span whose offsets changed on import (for `corpus import --report`)."""

    file: str
    line: int | None
    where: str
    doc_id: str
    annotator: str
    span: str
    unit: str
    before: tuple[int, int]
    after: tuple[int, int]

    def __str__(self) -> str:
        place = self.file if self.line is None else f"{self.file}:{self.line}"
        return (
            f"{place}: {self.where}: doc {self.doc_id!r} ({self.annotator}) {self.span}: "
            f"[{self.before[0]}, {self.before[1]}) in {UNITS[self.unit].description} -> "
            f"[{self.after[0]}, {self.after[1]}) code points"
        )


@dataclass
class Assembled:
    """The record built from one `ToolDoc`, and what happened on the way."""

    record: dict[str, Any]
    problems: list[Problem]
    conversions: list[Conversion]
    ignored_spans: int = 0
    """Spans whose every label the label map sends to `ignore` (left out on purpose)."""
    ignored_relations: int = 0
    """Relations whose label the label map sends to `ignore`."""

    @property
    def clean(self) -> bool:
        return not any(p.severity == "error" for p in self.problems)


@dataclass
class _Region:
    span: ToolSpan
    start: int
    end: int
    roles: list[m.Role]
    fields: dict[str, str]


_PREFIX = {m.QUESTION: "q", m.CONTENT: "t", m.STANCE: "s"}
_LAYER = {m.QUESTION: "rhetorical_questions", m.CONTENT: "attributions", m.STANCE: "stances"}
_LINKS = {m.ANSWER: "answers", m.SOURCE: "source-of", m.CUE: "cue-of", m.TARGET: "target-of"}


def _describe(span: ToolSpan) -> str:
    where = ";".join(f"{s} {e}" for s, e in span.fragments)
    return f"span {span.key} {'/'.join(span.labels)!r} at [{where})"


def assemble(doc: ToolDoc, lmap: m.LabelMap, language: str = UNDETERMINED) -> Assembled:
    """Build one record from `doc`; every span that cannot be used becomes a `Problem`.

    `language` is the record's `meta.language` when the export names none (`--language`).
    """
    problems: list[Problem] = list(doc.problems)
    conversions: list[Conversion] = []
    ident = f"doc {doc.doc_id!r} ({doc.annotator})"

    def report(code: str, where: str | None, line: int | None, message: str, file: str | None = None) -> None:
        problems.append(
            make_problem(
                code,
                file or doc.file,
                doc.line if line is None else line,
                where or doc.where or None,
                f"{ident}: {message}",
            )
        )

    text = doc.text
    resolution = resolve(text, [(s.fragments, s.text) for s in doc.spans], doc.units, doc.matcher)
    unit = resolution.unit
    if unit.name != doc.units[0] and any(c.ok for c in resolution.checks):
        report(
            "import-offset-unit",
            doc.where,
            None,
            f"the offsets are counted in {unit.description}, not in "
            f"{UNITS[doc.units[0]].description} as {doc.tool} writes them; they were "
            "converted (see --report)",
        )

    regions: dict[str, _Region] = {}
    keys: dict[str, ToolSpan] = {}
    ignored_spans = 0
    for i, (span, check) in enumerate(zip(doc.spans, resolution.checks, strict=True)):
        desc = _describe(span)
        if span.key in keys:
            # Relations name spans by key: two spans under one key cannot both be joined.
            report(
                "import-bad-format",
                span.where,
                span.line,
                f"{desc}: the id {span.key} is also the id of the span at "
                f"{keys[span.key].where}; every span needs its own id",
                span.file,
            )
            continue
        keys[span.key] = span
        if not span.labels:
            report(
                "import-missing-value",
                span.where,
                span.line,
                f"{desc} has no label; label it in the tool",
                span.file,
            )
            continue
        if check.start is None or check.end is None:
            hint = resolution.hints.get(i)
            report(
                "import-span-mismatch",
                span.where,
                span.line,
                f"{desc}: {check.reason}"
                + (f"; {hint}" if hint else "")
                + "; correct the span in the tool and export again",
                span.file,
            )
            continue
        if len(span.fragments) > 1:
            report(
                "import-discontinuous-span",
                span.where,
                span.line,
                f"{desc} is discontinuous; it was joined into one span "
                f"[{check.start}, {check.end}) (code points) that includes the gaps",
                span.file,
            )
        before = (span.fragments[0][0], span.fragments[-1][1])
        if before != (check.start, check.end):
            conversions.append(
                Conversion(
                    doc.file,
                    span.line or doc.line,
                    span.where or doc.where,
                    doc.doc_id,
                    doc.annotator,
                    f"span {span.key} {'/'.join(span.labels)!r}",
                    unit.name,
                    before,
                    (check.start, check.end),
                )
            )
        roles: list[m.Role] = []
        unknown = False
        for label in span.labels:
            role = lmap.role(label)
            if role is None:
                unknown = True
                extra = m.extra_layer_of(lmap.labels.get(label, label))
                why = (
                    f"belongs to the extra layer {extra.name!r} (CORPUS_TOOLS_LAYERS): export "
                    "writes extra layers, but the import cannot read them yet"
                    if extra is not None
                    else "is not part of the convention; rename it in the tool or map it with --label-map"
                )
                report(
                    "import-unknown-label",
                    span.where,
                    span.line,
                    f"{desc}: label {label!r} {why} (labels: {', '.join(m.importable_labels())})",
                    span.file,
                )
            elif role.role != m.IGNORE:
                roles.append(role)
        if not roles and not unknown:
            ignored_spans += 1  # every label is mapped to `ignore`: left out on purpose
            continue
        fields: dict[str, str] = {}
        for name, field_value in span.fields.items():
            ours = lmap.field_name(name)
            if ours is None:
                report(
                    "import-skipped",
                    span.where,
                    span.line,
                    f"{desc}: field {name!r} is not imported; map it to one of "
                    f"{', '.join(m.FIELDS)} with --label-map [fields] if it is one of ours",
                    span.file,
                )
            elif field_value != "":
                fields[ours] = lmap.value(field_value) if ours in m.ROLE_FIELD.values() else field_value
        regions[span.key] = _Region(span, check.start, check.end, roles, fields)

    def covered(r: _Region) -> dict[str, Any]:
        return {"start": r.start, "end": r.end, "text": text[r.start : r.end]}

    # -- heads: the spans that make an item; ids first, so that relations can name them
    heads: list[tuple[_Region, m.Role, str]] = []
    for region in regions.values():
        for role in region.roles:
            if role.role not in _PREFIX:
                continue
            name = m.ROLE_FIELD[role.role]
            value = role.value or region.fields.get(name) or lmap.defaults.get(name)
            if value is None:
                report(
                    "import-missing-value",
                    region.span.where,
                    region.span.line,
                    f"{_describe(region.span)} has no {name}; use a label such as "
                    f"{m.label_of(role.role, m.ROLE_VALUES[role.role][0])!r} or give the "
                    f"{name} in a field",
                    region.span.file,
                )
            elif value not in m.ROLE_VALUES[role.role]:
                report(
                    "invalid-label",
                    region.span.where,
                    region.span.line,
                    f"{_describe(region.span)}: {name} {value!r} is not one of "
                    f"{', '.join(m.ROLE_VALUES[role.role])}; map it with --label-map [values]",
                    region.span.file,
                )
            else:
                heads.append((region, role, value))
    ids = _assign_ids(heads, doc.keys_are_ids)

    layers: dict[str, list[dict[str, Any]]] = {v: [] for v in _LAYER.values()}
    items: dict[tuple[str, str], dict[str, Any]] = {}  # (region key, role) -> item
    # The tool span behind each item and each of its parts (by the item's identity), so that a
    # problem found in the record names the span the annotator can find in the tool.
    made_by: dict[int, _Region] = {}
    parts_by: dict[int, dict[str, _Region]] = {}
    for (region, role, value), item_id in zip(heads, ids, strict=True):
        f = region.fields
        item: dict[str, Any] = {"id": item_id}
        if role.role == m.QUESTION:
            item.update(covered(region), kind=value)
        elif role.role == m.CONTENT:
            item.update(type=value, content=covered(region))
            if f.get("source_name"):
                item["source_name"] = f["source_name"]
        else:
            item.update(covered(region))
            if f.get("target") or lmap.defaults.get("target"):
                item["target"] = f.get("target") or lmap.defaults["target"]
            item.update(polarity=value, holder=AUTHOR)
        if f.get("note"):
            item["note"] = f["note"]
        layers[_LAYER[role.role]].append(item)
        items[(region.span.key, role.role)] = item
        made_by[id(item)] = region

    # -- relations
    linked: set[tuple[str, str]] = set()
    holders_by_source: dict[str, list[str]] = {}
    relations: list[tuple[str, _Region, _Region, ToolRelation]] = []
    ignored_relations = 0
    for rel in doc.relations:
        desc = f"relation {rel.label!r} from {rel.source} to {rel.target}"
        kind = lmap.relation(rel.label)
        if kind is None:
            report(
                "import-bad-relation",
                rel.where,
                rel.line,
                f"{desc}: unknown relation label; use one of {', '.join(m.RELATIONS)} or map "
                "it with --label-map [relations]",
            )
            continue
        if kind == m.IGNORE:
            ignored_relations += 1
            continue
        source, target = rel.source, rel.target
        if lmap.is_reversed(rel.label):
            source, target = target, source  # the label map says this tool draws it backwards
            desc += " (reversed by the label map)"
        a, b = regions.get(source), regions.get(target)
        if a is None or b is None:
            missing = source if a is None else target
            if not any(s.key == missing for s in doc.spans):
                report("import-bad-relation", rel.where, rel.line, f"{desc}: there is no span {missing}")
            # Otherwise that span was reported (or ignored); do not also report its partner as
            # unlinked.
            other = target if a is None else source
            linked.update((other, role) for role in _LINKS)
            continue
        allowed_from, allowed_to = m.RELATIONS[kind]
        if not (_has(a, allowed_from) and _has(b, allowed_to)):
            if rel.undirected and _has(b, allowed_from) and _has(a, allowed_to):
                a, b = b, a
            else:
                report(
                    "import-bad-relation",
                    rel.where,
                    rel.line,
                    f"{desc} joins {'/'.join(a.span.labels)!r} to "
                    f"{'/'.join(b.span.labels)!r}; {kind} goes from "
                    f"{' or '.join(m.label_of(r) + ('-*' if r in _PREFIX else '') for r in allowed_from)}"
                    f" to {' or '.join(m.label_of(r) + ('-*' if r in _PREFIX else '') for r in allowed_to)}",
                )
                continue
        relations.append((kind, a, b, rel))
    order = list(m.RELATIONS)
    relations.sort(key=lambda r: order.index(r[0]))
    for kind, a, b, rel in relations:
        desc = f"relation {rel.label!r} from {a.span.key} to {b.span.key}"
        if kind in ("source-of", "cue-of", "answers", "target-of"):
            link = {"source-of": m.SOURCE, "cue-of": m.CUE, "answers": m.ANSWER, "target-of": m.TARGET}[kind]
            head_role = m.RELATIONS[kind][1][0]
            head = items.get((b.span.key, head_role))
            if head is None:
                continue  # the head span was reported already
            linked.add((a.span.key, link))
            fieldname = {"source-of": "source", "cue-of": "cue", "answers": "answer", "target-of": "target"}[
                kind
            ]
            filled: Any = text[a.start : a.end] if kind == "target-of" else covered(a)
            if fieldname in head and head[fieldname] != filled:
                report(
                    "import-bad-relation",
                    rel.where,
                    rel.line,
                    f"{desc}: {_describe(b.span)} already has a {fieldname}; an item has one",
                )
                continue
            head[fieldname] = filled
            parts_by.setdefault(id(head), {})[fieldname] = a
            if kind == "source-of":
                holders_by_source.setdefault(a.span.key, []).append(head["id"])
        elif kind == "nested-in":
            inner, outer = items.get((a.span.key, m.CONTENT)), items.get((b.span.key, m.CONTENT))
            if inner is None or outer is None:
                continue
            if inner.get("nested_in") not in (None, outer["id"]):
                report(
                    "import-bad-relation",
                    rel.where,
                    rel.line,
                    f"{desc}: the attribution is already nested in {inner['nested_in']!r}",
                )
                continue
            inner["nested_in"] = outer["id"]
        elif kind == "holds":
            stance = items.get((b.span.key, m.STANCE))
            if stance is None:
                continue
            if m.CONTENT in [r.role for r in a.roles] and (a.span.key, m.CONTENT) in items:
                holder_ids = [items[(a.span.key, m.CONTENT)]["id"]]
            else:
                holder_ids = holders_by_source.get(a.span.key, [])
            if len(holder_ids) != 1:
                report(
                    "import-bad-relation",
                    rel.where,
                    rel.line,
                    f"{desc}: the source span belongs to {len(holder_ids)} attributions; "
                    "draw holds from the content of the attribution instead",
                )
                continue
            if stance["holder"] not in (AUTHOR, holder_ids[0]):
                report(
                    "import-bad-relation",
                    rel.where,
                    rel.line,
                    f"{desc}: the stance already has the holder {stance['holder']!r}",
                )
                continue
            stance["holder"] = holder_ids[0]

    for region in regions.values():
        for role in region.roles:
            if role.role in _LINKS and (region.span.key, role.role) not in linked:
                kind = _LINKS[role.role]
                to = m.RELATIONS[kind][1][0]
                report(
                    "import-missing-relation",
                    region.span.where,
                    region.span.line,
                    f"{_describe(region.span)} is not linked to any {m.label_of(to)}-* span; "
                    f"draw a {kind} relation from it to its {to}",
                    region.span.file,
                )
    for stance in layers["stances"]:
        if "target" not in stance:
            span = made_by[id(stance)].span
            report(
                "import-missing-value",
                span.where,
                span.line,
                f"{_describe(span)} is a stance without a target; give it in a target field "
                "or link a STANCE-target span to it with target-of",
                span.file,
            )
    layers["stances"] = [s for s in layers["stances"] if "target" in s]
    # Where each item and part of the record came from, by its place in the record.
    origin: dict[str, _Region] = {}
    for layer_name, layer_items in layers.items():
        for i, item in enumerate(layer_items):
            origin[f"{layer_name}[{i}]"] = made_by[id(item)]
            for part, part_region in parts_by.get(id(item), {}).items():
                origin[f"{layer_name}[{i}].{part}"] = part_region

    meta = {k: v for k, v in doc.meta.items() if k in Meta.model_fields and isinstance(v, str)}
    # The language is always set: the export's, else --language, else undetermined; never the
    # schema's default, which would claim a language nobody named.
    given = doc.meta.get("language", doc.meta.get("lang"))
    if isinstance(given, str) and LANGUAGE_TAG.match(given):
        meta["language"] = given
    else:
        meta["language"] = language
        if given is not None and not (isinstance(given, str) and given in _NO_LANGUAGE):
            report(
                "import-skipped",
                doc.where,
                None,
                f"the export's language {given!r} is not a BCP 47 language tag (such as en, "
                f"de, zh-Hant); the record's language is {language!r} (set it with --language)",
            )
    record: dict[str, Any] = {
        "doc_id": doc.doc_id,
        "annotator": doc.annotator,
        "text": text,
        "meta": meta,
        **layers,
    }
    # The validator's own checks, so that a clean record also passes `corpus validate`.
    findings = check_line(orjson.dumps(record))[0]
    for code, path, message in findings:
        behind = next((origin[p] for p in _prefixes(path) if p in origin), None)
        if behind is None:
            report(code, f"{doc.where} -> {path}" if path else doc.where, None, message)
            continue
        # The tool's span (its id, line and offsets in the tool's unit) first: the record's
        # path and offsets are ours, which the annotator does not see in the tool.
        report(
            code,
            behind.span.where,
            behind.span.line,
            f"{_describe(behind.span)}, which is {path} in the record (offsets there in code "
            f"points): {message}",
            behind.span.file,
        )
    if not any(p.severity == "error" for p in problems):
        # Through the model: fields in the model's order, defaults filled, as every tool gives.
        record = Record.model_validate(record).model_dump(mode="json", exclude_none=True)
    return Assembled(
        record=record,
        problems=problems,
        conversions=conversions,
        ignored_spans=ignored_spans,
        ignored_relations=ignored_relations,
    )


def _prefixes(path: str) -> list[str]:
    """`attributions[1].source.end` -> itself, `attributions[1].source`, `attributions[1]`."""
    parts = path.split(".")
    return [".".join(parts[:n]) for n in range(len(parts), 0, -1)]


def _has(region: _Region, roles: tuple[str, ...]) -> bool:
    return any(r.role in roles for r in region.roles)


def _assign_ids(heads: list[tuple[_Region, m.Role, str]], keys_are_ids: bool) -> list[str]:
    """Item ids: an explicit `id` field, else the tool key where it may serve, else q1, t1, s1...

    The fallback is the item's position in its layer (q3 is the third question), which the brat
    exporter relies on: it writes an `id` field only where the id differs from that.
    """
    used: set[str] = set()
    ids: list[str | None] = []
    for region, _role, _value in heads:
        explicit = region.fields.get("id") or (region.span.key if keys_are_ids else None)
        if is_name(explicit) and explicit not in used:
            ids.append(explicit)
            used.add(explicit)
        else:
            ids.append(None)
    ordinal: dict[str, int] = {}
    out: list[str] = []
    for (_region, role, _value), explicit in zip(heads, ids, strict=True):
        prefix = _PREFIX[role.role]
        ordinal[prefix] = ordinal.get(prefix, 0) + 1
        if explicit is not None:
            out.append(explicit)
            continue
        n = ordinal[prefix]
        while f"{prefix}{n}" in used:
            n += 1
        used.add(f"{prefix}{n}")
        out.append(f"{prefix}{n}")
    return out


@dataclass
class ReadOptions:
    """What every format reader is told."""

    lmap: m.LabelMap
    annotator: str | None = None
    """Overrides the annotator the files name (or do not name)."""
    predictions: bool = False
    """Label Studio: import `predictions` too (what `corpus export labelstudio` writes)."""
    user_ids: dict[str, tuple[Path, int | None, str]] = field(default_factory=dict)
    """Numeric user ids that became annotator names (the label map does not name them), each
    with where it was first seen, for `user_id_warning`."""

    def annotator_of(self, user: object, path: Path, where: str, line: int | None = None) -> str:
        """The annotator of a record the tool says `user` made (a user id, e-mail or name):
        `--annotator`, else the label map's name for it, else the id made safe as a name."""
        if self.annotator is not None:
            return self.annotator
        key = "" if user is None else str(user)
        if key.isascii() and key.isdigit() and key not in self.lmap.annotators:
            self.user_ids.setdefault(key, (path, line, where))
        return self.lmap.annotator(user)


def user_id_warning(opts: ReadOptions, tool: str) -> Iterator[Problem]:
    """One warning for all the numeric user ids that became annotator names: "1" is rarely the
    name anyone wants in the corpus, and the label map can name them."""
    if opts.user_ids:
        path, line, where = next(iter(opts.user_ids.values()))
        ids = list(opts.user_ids)
        shown = ", ".join(map(repr, ids[:10])) + (", ..." if len(ids) > 10 else "")
        yield file_problem(
            "import-user-id",
            path,
            line,
            where,
            f"{tool} names the annotators by user id ({shown}), so that is their name in the "
            f"records; map each id to a name in the label map's [annotators] section "
            f'(--label-map, e.g. "{ids[0]}" = "alice"), or pass --annotator',
        )


def file_problem(code: str, file: object, line: int | None, where: str | None, message: str) -> Problem:
    """A problem of a tool file as a whole (not of one span)."""
    return make_problem(
        code, display(file) if isinstance(file, Path | str) else str(file), line, where, message
    )


def own_format(value: Any) -> str | None:
    """The keys that make `value` a record of corpus-tools' own format, or None when it is not
    one: an object with a layer's name as a key (no tool writes `stances` or `attributions`), or
    one with only our record's fields, `doc_id`, `annotator` and `text` among them. Importing such
    a record as a tool's export would read none of its annotations."""
    if not isinstance(value, dict):
        return None
    fields = Record.model_fields
    if any(k in LAYERS for k in value) or (
        {"doc_id", "annotator", "text"} <= value.keys() and all(k in fields for k in value)
    ):
        return ", ".join(k for k in value if k in fields)
    return None


def own_format_refused(path: Path, line: int | None, where: str, keys: str, tool: str) -> Refused:
    """The error for a file of our own records given to an importer: it is read no further."""
    return Refused(
        [
            file_problem(
                "import-bad-format",
                path,
                line,
                where or None,
                f"the file is already in corpus-tools' record format (the record has {keys}), not "
                f"{tool}'s export, so there is nothing to import: check it with `corpus validate "
                f"{display(path)}` and use it as it is",
            )
        ],
        display(path) if line is None else f"{display(path)}:{line}",
    )


def json_problem(path: Path, line: int | None, where: str, error: JsonInputError) -> Problem:
    """A JSON input the strict parser refused, under the validator's code for the same fault
    where it has one (`invalid-utf8`, `duplicate-key`), else `import-bad-format`."""
    code = error.code if error.code in ("invalid-utf8", "duplicate-key") else "import-bad-format"
    place = (
        where + ("." if where and error.path and not error.path.startswith("[") else "") + (error.path or "")
    )
    return file_problem(code, path, error.line or line, place or None, error.reason)


def read_json_file(path: Path, tool: str, what: str) -> tuple[Any, dict[int | None, Refused], Refused | None]:
    """The value of an export that is one JSON document (Label Studio, INCEpTION), parsed
    strictly (`files.load_json`: UTF-8; a key given twice refuses its record), or why it cannot
    be imported at all.

    Returns:
        The value; the records (elements of a top-level array, by index; None for the value as
        a whole) refused for a key given twice; and, instead of a value, why the file is refused.
    """
    try:
        data = path.read_bytes()
    except OSError as e:
        return (
            None,
            {},
            Refused(
                [file_problem("unreadable-file", path, None, None, f"cannot read: {e.strerror}")],
                display(path),
            ),
        )
    try:
        value, repeated = load_json(data, display(path))
    except JsonInputError as e:
        if e.code == "invalid-json":
            # Not one JSON document: maybe JSON Lines, and maybe our own records.
            for n, raw in enumerate(data.split(b"\n"), start=1):
                if not is_blank(raw):
                    keys = own_format(_lenient(raw))
                    if keys is not None:
                        return None, {}, own_format_refused(path, n, "", keys, tool)
                    break
            return None, {}, refused(path, None, [("", e.reason)], what, display(path))
        return None, {}, Refused([json_problem(path, None, "", e)], display(path))
    first = value[0] if isinstance(value, list) and value else value
    keys = own_format(first)
    if keys is not None:
        return None, {}, own_format_refused(path, None, "[0]" if first is not value else "", keys, tool)
    bad: dict[int | None, Refused] = {}
    for loc, key in repeated:
        record = loc[0] if isinstance(value, list) and loc and isinstance(loc[0], int) else None
        place = f"the object at {json_path(loc)}" if loc else "one object"
        problem = file_problem(
            "duplicate-key",
            path,
            None,
            json_path((*loc, key)),
            f"the key {key!r} is given twice in {place}; keep one (JSON readers disagree on which counts)",
        )
        shown = display(path) if record is None else f"{display(path)}: [{record}]"
        bad.setdefault(record, Refused([], shown)).problems.append(problem)
    if None in bad:
        return None, {}, bad[None]
    return value, bad, None


def json_records(
    path: Path,
    tool: str,
    read_object: Callable[[int, str, Any], Iterator[Read]],
    counts: Callable[[Any], tuple[int, int]] | None = None,
) -> Iterator[Read]:
    """For a JSON Lines export: `read_object(line, where, value)` for each record, and a problem
    (never an exception) for a line that is not strict JSON (`files.parse_json`: UTF-8, no key
    given twice; the record is refused, `counts` saying how many spans and relations it held)
    or a file that cannot be read. A file of our own records is refused at its first record.

    Lines are read one at a time. A file whose first line is not JSON on its own but which
    holds whole JSON values (a pretty-printed object, several of them, or an array, as doccano's
    documentation shows its examples) is read whole instead; then each object, or each element
    of an array (`where` `[3]`), is one record, numbered by the line it starts on.
    """
    try:
        for line, where, value, error in _json_values(path):
            if error is not None:
                spans, relations = counts(value) if counts is not None and value is not None else (0, 0)
                place = f"{display(path)}:{line}" + (f" {where}" if where else "")
                yield Refused([json_problem(path, line, where, error)], place, spans, relations)
                continue
            keys = own_format(value)
            if keys is not None:
                yield own_format_refused(path, line, where, keys, tool)
                return  # the rest of the file is ours too
            yield from read_object(line, where, value)
    except OSError as e:
        yield file_problem("unreadable-file", path, None, None, f"cannot read: {e.strerror}")


JsonValue = tuple[int, str, Any, JsonInputError | None]
"""A record of a JSON Lines file: its line, its place in the line (`[3]` in an array), its value
(None when it cannot be parsed at all) and what the strict parser found wrong with it."""


def _json_values(path: Path) -> Iterator[JsonValue]:
    first = _first_line(path)
    for n, raw in iter_lines(path):
        if is_blank(raw):
            continue
        try:
            value = parse_json(raw, f"{display(path)}:{n}")
        except JsonInputError as e:
            if e.code == "invalid-json" and n == first:
                whole = _whole_file(path)
                if whole is not None:
                    yield from whole
                    return
            yield n, "", _lenient(raw), e
            continue
        if isinstance(value, list):
            for i, obj in enumerate(value):
                yield n, f"[{i}]", obj, None
        else:
            yield n, "", value, None


def _lenient(raw: bytes | str) -> Any:
    """`raw` parsed as orjson parses it (a key given twice: the last value), or None."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None


def _first_line(path: Path) -> int:
    for n, raw in iter_lines(path):
        if not is_blank(raw):
            return n
    return 0


def _whole_file(path: Path) -> list[JsonValue] | None:
    """The records of a file of whole (pretty-printed) JSON values, or None when it is not one."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        try:
            parse_json(data, display(path))
        except JsonInputError as e:  # where the file stops being UTF-8, and its line
            return [(e.line or 1, "", None, e)]
        return None
    decoder = json.JSONDecoder()
    out: list[JsonValue] = []
    pos, count = 0, 0
    counted, line = 0, 1

    def line_at(at: int) -> int:
        nonlocal counted, line
        line += text.count("\n", counted, at)
        counted = at
        return line

    def value_at(start: int, end: int, where: str) -> None:
        # Each value is parsed again strictly, on its own: the same JSON as every other reader
        # (no NaN, no lone surrogates, no key given twice), which `raw_decode` would let through.
        chunk = text[start:end]
        try:
            out.append((line_at(start), where, parse_json(chunk, display(path)), None))
        except JsonInputError as e:
            out.append((line_at(start), where, _lenient(chunk), e))

    try:
        while True:
            while pos < len(text) and text[pos] in " \t\r\n":
                pos += 1
            if pos == len(text):
                break
            if text[pos] == "[":
                # An array of records: each element is read on its own, to know its line.
                pos += 1
                i = 0
                while True:
                    while pos < len(text) and text[pos] in " \t\r\n,":
                        pos += 1
                    if pos < len(text) and text[pos] == "]":
                        pos += 1
                        break
                    _, end = decoder.raw_decode(text, pos)
                    value_at(pos, end, f"[{i}]")
                    pos, i = end, i + 1
            else:
                _, end = decoder.raw_decode(text, pos)
                value_at(pos, end, "")
                pos = end
            count += 1
    except (ValueError, IndexError):
        return None
    return out if count else None
