"""doccano: read its JSONL export (sequence labelling, with or without relations).

Format: doccano's export (doccano/doccano `backend/data_export/`, and the examples in
`backend/data_export/pipeline/examples/`). One JSON object per line, in one of these shapes:

- v1.7+ plain: `{"id", "text", "label": [[start, end, "Label"], ...], ...meta}`;
- v1.7+ relation mode: `{"id", "text", "entities": [{"id", "label", "start_offset",
  "end_offset"}], "relations": [{"id", "from_id", "to_id", "type"}], ...meta}`;
- v1.3-v1.6: the text under `data` instead of `text`; v1.0-v1.2 "text label": `labels`;
- v1.0-v1.2 JSONL: `annotations: [{"label", "start_offset", "end_offset", "user"}]`, one
  record per `user`.

A project exports one `<username>.jsonl` per member (the file name is the annotator) or, when
annotation is collaborative, one `all.jsonl` that pools everyone (reported). Offsets are
UTF-16 code units since v1.5, or grapheme clusters in a project with "count grapheme clusters"
on (a CR LF, an emoji sequence: one each); code points and bytes are detected too. doccano
stores no span text, so each span is checked for its range, character boundaries and word
boundaries. doccano's own examples are pretty-printed JSON; such a file is read too.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

from pydantic import PlainValidator
from pydantic_core import PydanticCustomError

from corpus_tools.convert.assemble import (
    Read,
    ReadOptions,
    ToolDoc,
    ToolRelation,
    ToolSpan,
    file_problem,
    json_records,
    refused,
    user_id_warning,
)
from corpus_tools.convert.shapes import Key, Shape, check, found
from corpus_tools.files import display
from corpus_tools.schema import is_name

TOOL = "doccano"
UNITS = ("utf16", "grapheme", "codepoint", "utf8")
WHAT = "expected doccano's JSONL export (`text` and `label` or `entities` per line)"


def _triple(value: Any) -> tuple[int, int, str]:
    if (
        isinstance(value, list)
        and len(value) == 3
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value[:2])
        and (isinstance(value[2], str) or (isinstance(value[2], int) and not isinstance(value[2], bool)))
    ):
        return value[0], value[1], str(value[2])
    raise PydanticCustomError(
        "shape",
        "expected [start, end, label] (two integers and a label), found {found}",
        {"found": found(value)},
    )


Triple = Annotated[tuple[int, int, str], PlainValidator(_triple)]


class Entity(Shape):
    id: Key | None = None
    label: Key
    start_offset: int
    end_offset: int


class Relation(Shape):
    id: Key | None = None
    from_id: Key
    to_id: Key
    type: Key


class OldAnnotation(Shape):
    """v1.0-v1.2: `label` is the label's id, `user` the user's id."""

    label: Key
    start_offset: int
    end_offset: int
    user: Key | None = None


class Line(Shape):
    id: Key | None = None
    text: str | None = None
    data: str | None = None
    """v1.3-v1.6 wrote the text under `data`."""
    label: list[Triple] | None = None
    labels: list[Triple] | None = None
    entities: list[Entity] | None = None
    relations: list[Relation] | None = None
    annotations: list[OldAnnotation] | None = None


def read(paths: list[Path], opts: ReadOptions) -> Iterator[Read]:
    """Yield one `ToolDoc` per line (per user, for the oldest shape)."""
    for path in paths:
        if path.stem == "all" and opts.annotator is None:
            yield file_problem(
                "import-pooled-annotations",
                path,
                None,
                None,
                "all.jsonl pools every annotator's spans (collaborative project); "
                "they are imported as one annotator named 'all'",
            )
        yield from json_records(path, TOOL, functools.partial(_read_object, path, opts=opts), _counts)
    yield from user_id_warning(opts, TOOL)


_SPAN_KEYS = ("label", "labels", "entities", "annotations")
"""Where each of doccano's shapes keeps the spans of a line."""


def _count(obj: Any) -> int:
    if not isinstance(obj, dict):
        return 0
    return sum(len(v) for k in _SPAN_KEYS if isinstance(v := obj.get(k), list))


def _counts(obj: Any) -> tuple[int, int]:
    relations = obj.get("relations") if isinstance(obj, dict) else None
    return _count(obj), len(relations) if isinstance(relations, list) else 0


def _what_it_has(obj: dict[str, Any]) -> str:
    keys = ", ".join(repr(k) for k in list(obj)[:8]) + (", ..." if len(obj) > 8 else "")
    return (
        f"no record has {', '.join(f'`{k}`' for k in _SPAN_KEYS)}, where doccano keeps spans "
        f"(the first has {keys})"
    )


def _read_object(path: Path, n: int, where: str, obj: Any, opts: ReadOptions) -> Iterator[Read]:
    line, errors = check(Line, obj, where)
    text = None if line is None else line.text if line.text is not None else line.data
    if line is not None and text is None:
        errors = [(where, "the record has no `text` (or `data`) string")]
    if line is None or text is None:
        spans, relations = _counts(obj)
        yield refused(
            path,
            n,
            errors,
            WHAT,
            f"{display(path)}:{n}" + (f" {where}" if where else ""),
            spans=spans,
            relations=relations,
        )
        return
    assert isinstance(obj, dict)
    example = f"example {line.id}" if line.id is not None else f"the example on line {n}"
    if where:
        example += f" ({where})"
    doc_id = (
        obj["doc_id"]
        if is_name(obj.get("doc_id"))
        else f"doccano-{line.id}"
        if line.id is not None
        else f"doccano-{path.stem}-{n}"
    )
    # Metadata keys are written at the top level (`**meta`); only `Meta`'s fields are kept.
    meta = {k: v for k, v in obj.items() if k not in ("text", "data", "doc_id")}
    prefix = f"{where}." if where else ""

    def new_doc(annotator: str) -> ToolDoc:
        return ToolDoc(
            tool=TOOL,
            file=display(path),
            line=n,
            where=example,
            doc_id=doc_id,
            annotator=annotator,
            text=text,
            units=UNITS,
            meta=meta,
            without_spans=None if any(k in obj for k in _SPAN_KEYS) else _what_it_has(obj),
        )

    default = opts.annotator or opts.lmap.annotator(path.stem)
    if line.annotations is not None:  # v1.0-v1.2: one record per user
        docs: dict[str | None, ToolDoc] = {}
        for i, a in enumerate(line.annotations):
            if a.user not in docs:
                docs[a.user] = new_doc(
                    opts.annotator_of(a.user, path, f"{prefix}annotations[{i}].user", n)
                    if a.user is not None
                    else default
                )
            here = f"{prefix}annotations[{i}]"
            docs[a.user].spans.append(
                ToolSpan(
                    key=here, labels=[a.label], fragments=[(a.start_offset, a.end_offset)], where=here, line=n
                )
            )
        if not docs:
            docs[None] = new_doc(default)
        yield from docs.values()
        return
    doc = new_doc(default)
    if line.entities is not None:
        for i, e in enumerate(line.entities):
            here = f"{prefix}entities[{i}]"
            doc.spans.append(
                ToolSpan(
                    key=e.id if e.id is not None else here,
                    labels=[e.label],
                    fragments=[(e.start_offset, e.end_offset)],
                    where=here,
                    line=n,
                )
            )
        for i, r in enumerate(line.relations or []):
            doc.relations.append(ToolRelation(r.type, r.from_id, r.to_id, f"{prefix}relations[{i}]", n))
    else:
        key = "label" if line.label is not None else "labels"
        for i, (start, end, label) in enumerate(
            (line.label if line.label is not None else line.labels) or []
        ):
            here = f"{prefix}{key}[{i}]"
            doc.spans.append(ToolSpan(key=here, labels=[label], fragments=[(start, end)], where=here, line=n))
    yield doc
