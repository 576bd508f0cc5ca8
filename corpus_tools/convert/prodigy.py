"""Prodigy: read `prodigy db-out` JSONL (manual and binary span and relation recipes).

Format: prodigy.ai/docs/api-interfaces (task format) and /docs/dependencies-relations. One line
per (example, annotator): `text`, `tokens[]` (`{text, start, end, id, ws}`), `spans[]`
(`{start, end, label}` plus `token_start` and an inclusive `token_end`), `relations[]`
(`{head, child, label, head_span, child_span}`; `head`/`child` are token indices), `answer`
(`accept`, `reject`, `ignore`) and `_annotator_id` / `_session_id`. Offsets are Python code
points.

- Only accepted answers are imported, of the task and of each span (binary recipes and merged
  binary annotations put an `answer` on each span); what is left out is reported and counted.
- Binary recipes (`ner.teach`) write one line per suggestion, so one input has several accepted
  lines by one annotator (the same `_input_hash`, different `_task_hash`): their spans are
  combined into one record. The same task answered twice is a duplicate.
- A span's `text`, where it has one, is checked against the document. Its tokens
  (`token_start` to the inclusive `token_end`) must cover its offsets: tokens are compared by
  their offsets, never by their strings (Prodigy's own example data has tokens without `ws`).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import orjson
from pydantic import Field

from corpus_tools.convert.assemble import (
    Read,
    ReadOptions,
    ToolDoc,
    ToolRelation,
    ToolSpan,
    file_problem,
    json_records,
    left_out,
    refused,
)
from corpus_tools.convert.shapes import Shape, check
from corpus_tools.files import display
from corpus_tools.schema import is_name

TOOL = "Prodigy"
UNITS = ("codepoint", "utf16", "utf8")
WHAT = "expected `prodigy db-out` JSONL (one task with `text` per line)"

Answer = Literal["accept", "reject", "ignore"]


class Token(Shape):
    text: str | None = None
    start: int
    end: int
    id: int | None = None
    ws: bool | None = None


class Span(Shape, extra="allow"):
    start: int
    end: int
    label: str
    token_start: int | None = None
    token_end: int | None = None
    text: str | None = None
    answer: Answer | None = None
    """Binary recipes, and merged binary annotations, decide each span."""


class SpanRef(Shape):
    start: int | None = None
    end: int | None = None
    label: str | None = None


class Relation(Shape):
    head: int | None = None
    child: int | None = None
    label: str
    head_span: SpanRef | None = None
    child_span: SpanRef | None = None


class Task(Shape):
    text: str
    tokens: list[Token] | None = None
    spans: list[Span] | None = None
    relations: list[Relation] | None = None
    answer: Answer = "accept"
    annotator_id: str | None = Field(None, alias="_annotator_id")
    session_id: str | None = Field(None, alias="_session_id")
    input_hash: int | None = Field(None, alias="_input_hash")
    task_hash: int | None = Field(None, alias="_task_hash")
    meta: dict[str, Any] | None = None


_SPAN_KEYS = set(Span.model_fields) | {
    "type",
    "source",
    "score",
    "input_hash",
    "color",
    "rank",
    "priority",
    "pattern",
}
"""Prodigy's own span keys; any other key of a span is a field (`polarity`, `target`, ...)."""


@dataclass
class _Group:
    """The accepted lines of one input by one annotator, combined into one record."""

    doc: ToolDoc
    lines: list[int]
    tasks: dict[int, int] = field(default_factory=dict)
    """`_task_hash` -> the line that answered it."""
    spans: dict[tuple[int, int, str], str] = field(default_factory=dict)
    """(start, end, label) -> the key of the accepted span, to leave out the same span twice."""


def read(paths: list[Path], opts: ReadOptions) -> Iterator[Read]:
    """Yield one `ToolDoc` per input and annotator (accepted lines combined), in file order."""
    for path in paths:
        groups: dict[tuple[str, str], _Group] = {}
        rest: list[ToolDoc] = []  # lines that cannot join their group, after it
        reader = functools.partial(_read_object, path, opts=opts, groups=groups)
        for item in json_records(path, TOOL, reader, _counts):
            if isinstance(item, ToolDoc):
                rest.append(item)
            else:
                yield item
        for group in groups.values():
            if len(group.lines) > 1:
                group.doc.where = f"lines {', '.join(map(str, group.lines))}"
            yield group.doc
        yield from rest


def _counts(obj: Any) -> tuple[int, int]:
    if not isinstance(obj, dict):
        return 0, 0
    spans, relations = obj.get("spans"), obj.get("relations")
    return (
        len(spans) if isinstance(spans, list) else 0,
        len(relations) if isinstance(relations, list) else 0,
    )


def _read_object(
    path: Path, n: int, where: str, obj: Any, opts: ReadOptions, groups: dict[tuple[str, str], _Group]
) -> Iterator[Read]:
    task, errors = check(Task, obj, where)
    if task is None:
        spans, relations = _counts(obj)
        yield refused(path, n, errors, WHAT, f"{display(path)}:{n}", spans=spans, relations=relations)
        return
    prefix = f"{where}." if where else ""
    who = task.annotator_id or task.session_id
    if task.answer != "accept":
        yield left_out(
            path,
            n,
            f"{prefix}answer",
            f"the answer is {task.answer!r} (by {who or 'an unnamed session'}); only "
            "accepted examples are imported",
            f"answered {task.answer} in Prodigy",
            records=1,
            spans=len(task.spans or []),
            relations=len(task.relations or []),
        )
        return
    meta = task.meta or {}
    doc_id = next(
        (v for v in (obj.get("doc_id"), meta.get("doc_id")) if is_name(v)),
        f"input{task.input_hash}" if task.input_hash is not None else f"{path.stem}-{n}",
    )
    annotator = opts.annotator or opts.lmap.annotator(who or path.stem)
    group = groups.get((doc_id, annotator))
    doc = ToolDoc(
        tool=TOOL,
        file=display(path),
        line=n,
        where=f"line {n}",
        doc_id=doc_id,
        annotator=annotator,
        text=task.text,
        units=UNITS,
        meta=meta,
        without_spans=None if "spans" in obj else _what_it_has(obj),
    )
    if group is not None:
        first = group.tasks.get(task.task_hash) if task.task_hash is not None else group.lines[0]
        if first is not None:
            # The same task answered twice by one annotator: not a binary recipe's suggestions.
            doc.problems.append(
                file_problem(
                    "duplicate-record",
                    path,
                    n,
                    where or None,
                    f"doc {doc_id!r} ({annotator}): line {first} already answers this task"
                    + (
                        f" (_task_hash {task.task_hash})"
                        if task.task_hash is not None
                        else " and the lines have no _task_hash to tell suggestions apart"
                    )
                    + "; keep one answer per task and annotator (e.g. export again with "
                    "`prodigy db-out`, which keeps the latest) or pass --annotator to tell the "
                    "sessions apart",
                )
            )
            yield doc
            return
        if group.doc.text != task.text:
            doc.problems.append(
                file_problem(
                    "text-drift",
                    path,
                    n,
                    where or None,
                    f"doc {doc_id!r} ({annotator}): the text differs from line {group.lines[0]}, which "
                    "has the same input",
                )
            )
            yield doc
            return
        doc = group.doc
        group.lines.append(n)
    else:
        group = groups[(doc_id, annotator)] = _Group(doc, [n])
    if task.task_hash is not None:
        group.tasks[task.task_hash] = n
    yield from _read_spans(path, n, prefix, task, group)


def _what_it_has(obj: dict[str, Any]) -> str:
    keys = ", ".join(repr(k) for k in list(obj)[:8]) + (", ..." if len(obj) > 8 else "")
    return f"no record has `spans`, where Prodigy keeps spans (the first has {keys})"


def _read_spans(path: Path, n: int, prefix: str, task: Task, group: _Group) -> Iterator[Read]:
    doc, text, tokens = group.doc, task.text, task.tokens or []
    by_offsets: dict[tuple[int | None, int | None, str | None], str] = {}
    token_ranges: dict[str, tuple[int, int]] = {}
    rejected: set[tuple[int | None, int | None, str | None]] = set()
    for i, s in enumerate(task.spans or []):
        where = f"{prefix}spans[{i}]"
        offsets = (s.start, s.end, s.label)
        if s.answer not in (None, "accept"):
            rejected.add(offsets)
            yield left_out(
                path,
                n,
                where,
                f"span [{s.start}, {s.end}) {s.label!r}: its answer is {s.answer!r}; "
                "only accepted spans are imported",
                f"spans answered {s.answer} in Prodigy",
                spans=1,
            )
            continue
        if offsets in group.spans:
            yield left_out(
                path,
                n,
                where,
                f"span [{s.start}, {s.end}) {s.label!r} was accepted already (line "
                f"{group.spans[offsets].replace(':', ' ', 1)}); it is imported once",
                "the same span accepted twice",
                spans=1,
            )
            by_offsets.setdefault(offsets, group.spans[offsets])
            continue
        key = f"{n}:{where}"
        fields = {
            k: v if isinstance(v, str) else orjson.dumps(v).decode()
            for k, v in (s.model_extra or {}).items()
            if k not in _SPAN_KEYS and v is not None
        }
        doc.spans.append(
            ToolSpan(
                key=key,
                labels=[s.label],
                fragments=[(s.start, s.end)],
                text=s.text,
                fields=fields,
                where=where,
                line=n,
            )
        )
        group.spans[offsets] = key
        by_offsets.setdefault(offsets, key)
        if s.token_start is not None and s.token_end is not None:
            token_ranges[key] = (s.token_start, s.token_end)
            mismatch = _token_mismatch(text, tokens, s)
            if mismatch:
                doc.problems.append(
                    file_problem(
                        "import-span-mismatch",
                        path,
                        n,
                        where,
                        f"doc {doc.doc_id!r} ({doc.annotator}): span [{s.start}, {s.end}) {s.label!r}"
                        f": {mismatch}; correct the span in Prodigy and export again",
                    )
                )
    for i, r in enumerate(task.relations or []):
        where = f"{prefix}relations[{i}]"
        ends = [_end(r, side, by_offsets, token_ranges) for side in ("head", "child")]
        refs = [r.head_span, r.child_span]
        if any(ref is not None and (ref.start, ref.end, ref.label) in rejected for ref in refs):
            yield left_out(
                path,
                n,
                where,
                f"relation {r.label!r} joins a rejected span",
                "relations of rejected spans",
                relations=1,
            )
            continue
        if ends[0] is None or ends[1] is None:
            doc.problems.append(
                file_problem(
                    "import-bad-relation",
                    path,
                    n,
                    where,
                    f"doc {doc.doc_id!r} ({doc.annotator}): relation {r.label!r}: cannot tell which "
                    "spans it joins (no span matches its head_span / child_span, and no span covers "
                    "its head / child token)",
                )
            )
            doc.unread_relations += 1
            continue
        doc.relations.append(ToolRelation(r.label, ends[0], ends[1], where, n))


def _token_mismatch(text: str, tokens: list[Token], s: Span) -> str | None:
    """Why the span's tokens do not cover its offsets (None when they do)."""
    ts, te = s.token_start, s.token_end
    assert ts is not None and te is not None
    if not 0 <= ts <= te < len(tokens):
        return (
            f"its tokens {ts} to {te} are not among the line's {len(tokens)} tokens"
            if tokens
            else f"it names tokens {ts} to {te} but the line has no tokens"
        )
    first, last = tokens[ts], tokens[te]
    # Offsets, not strings: the tokens' `text` joined by `ws` loses the text between them.
    if first.start <= s.start < max(first.end, first.start + 1) and last.start < s.end <= last.end:
        return None
    return (
        f"its offsets cover {text[s.start : s.end]!r} but its tokens {ts} to {te} (inclusive) "
        f"cover [{first.start}, {last.end}) {text[first.start : last.end]!r}"
    )


def _end(
    rel: Relation,
    side: str,
    by_offsets: dict[tuple[int | None, int | None, str | None], str],
    token_ranges: dict[str, tuple[int, int]],
) -> str | None:
    ref = rel.head_span if side == "head" else rel.child_span
    if ref is not None:
        key = by_offsets.get((ref.start, ref.end, ref.label))
        if key is not None:
            return key
    tok = rel.head if side == "head" else rel.child
    if tok is not None:
        # `head`/`child` are token indices: the span whose tokens contain it.
        for key, (ts, te) in token_ranges.items():
            if ts <= tok <= te:
                return key
    return None
