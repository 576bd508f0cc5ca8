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
UTF-16 code units since v1.5; code points and bytes are detected. doccano stores no span text,
so each span is checked for its range and character boundaries only.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from corpus_tools.convert import mapping as m
from corpus_tools.convert.assemble import (
    ReadOptions,
    ToolDoc,
    ToolRelation,
    ToolSpan,
    file_problem,
    json_lines,
)
from corpus_tools.problems import Problem

TOOL = "doccano"
UNITS = ("utf16", "codepoint", "utf8")


def read(paths: list[Path], opts: ReadOptions) -> Iterator[ToolDoc | Problem]:
    """Yield one `ToolDoc` per line (per user, for the oldest shape)."""
    for path in paths:
        if path.stem == "all" and opts.annotator is None:
            yield file_problem("import-pooled-annotations", path, None, None,
                               "all.jsonl pools every annotator's spans (collaborative project); "
                               "they are imported as one annotator named 'all'")
        yield from json_lines(path, lambda n, obj, path=path: _read_object(path, n, obj, opts))


def _read_object(path: Path, n: int, obj: Any, opts: ReadOptions) -> Iterator[ToolDoc | Problem]:
    text = obj.get("text", obj.get("data")) if isinstance(obj, dict) else None
    if not isinstance(text, str):
        yield file_problem("import-bad-format", path, n, None,
                           "the line has no `text` (or `data`) string; is it a doccano export?")
        return
    assert isinstance(obj, dict)
    doc_id = obj["doc_id"] if m.is_name(obj.get("doc_id")) else f"doccano-{obj.get('id', n)}"
    meta = {k: v for k, v in obj.items() if k not in ("text", "data", "doc_id")}

    def new_doc(annotator: str) -> ToolDoc:
        return ToolDoc(tool=TOOL, file=str(path), line=n, where=f"example {obj.get('id')}",
                       doc_id=doc_id, annotator=annotator, text=text, units=UNITS, meta=meta)

    default = opts.annotator or opts.lmap.annotator(path.stem)
    if isinstance(obj.get("annotations"), list):  # v1.0-v1.2: one record per user
        docs: dict[Any, ToolDoc] = {}
        for i, a in enumerate(obj["annotations"]):
            user = a.get("user") if isinstance(a, dict) else None
            if user not in docs:
                docs[user] = new_doc(opts.annotator or (opts.lmap.annotator(user)
                                                        if user is not None else default))
            span = _span(a, f"annotations[{i}]", n)
            if span is None:
                yield file_problem("import-bad-format", path, n, f"annotations[{i}]",
                                   "expected {label, start_offset, end_offset}")
            else:
                docs[user].spans.append(span)
        if not docs:
            docs[None] = new_doc(default)
        yield from docs.values()
        return
    doc = new_doc(default)
    if isinstance(obj.get("entities"), list):
        for i, e in enumerate(obj["entities"]):
            span = _span(e, f"entities[{i}]", n)
            if span is None:
                yield file_problem("import-bad-format", path, n, f"entities[{i}]",
                                   "expected {id, label, start_offset, end_offset}")
            else:
                doc.spans.append(span)
        for i, r in enumerate(obj.get("relations") or []):
            if not isinstance(r, dict) or not {"from_id", "to_id", "type"} <= r.keys():
                yield file_problem("import-bad-format", path, n, f"relations[{i}]",
                                   "expected {id, from_id, to_id, type}")
                continue
            doc.relations.append(ToolRelation(str(r["type"]), str(r["from_id"]), str(r["to_id"]),
                                              f"relations[{i}]", n))
    else:
        key = "label" if "label" in obj else "labels"
        for i, t in enumerate(obj.get(key) or []):
            if not (isinstance(t, list) and len(t) == 3 and all(type(x) is int for x in t[:2])):
                yield file_problem("import-bad-format", path, n, f"{key}[{i}]",
                                   "expected [start, end, label]")
                continue
            doc.spans.append(ToolSpan(key=f"{key}[{i}]", labels=[str(t[2])],
                                      fragments=[(t[0], t[1])], where=f"{key}[{i}]", line=n))
    yield doc


def _span(e: Any, where: str, n: int) -> ToolSpan | None:
    if not isinstance(e, dict):
        return None
    start, end = e.get("start_offset"), e.get("end_offset")
    if type(start) is not int or type(end) is not int or "label" not in e:
        return None
    return ToolSpan(key=str(e.get("id", where)), labels=[str(e["label"])],
                    fragments=[(start, end)], where=where, line=n)
