"""Prodigy: read `prodigy db-out` JSONL (manual span and relation recipes).

Format: prodigy.ai/docs/api-interfaces (task format) and /docs/dependencies-relations. One line
per (example, annotator): `text`, `tokens[]` (`{text, start, end, id, ws}`), `spans[]`
(`{start, end, label}` plus `token_start` and an inclusive `token_end`), `relations[]`
(`{head, child, label, head_span, child_span}`; `head`/`child` are token indices), `answer`
(`accept`, `reject`, `ignore`) and `_annotator_id` / `_session_id`. Offsets are Python code
points. Only accepted answers are imported; the others are reported. A span's text is checked
against the document; where the span has no `text`, the text of its tokens (token_start to the
inclusive token_end) stands in for it, so that spans and tokens must agree.
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

TOOL = "Prodigy"
UNITS = ("codepoint", "utf16", "utf8")


def matcher(covered: list[str], given: str) -> bool:
    """Token text rebuilt from `ws` flags knows one space; compare with whitespace collapsed."""
    return " ".join(" ".join(covered).split()) == " ".join(given.split())


_SPAN_KEYS = {"start", "end", "label", "token_start", "token_end", "text", "type", "source",
              "score", "input_hash", "answer", "color"}


def read(paths: list[Path], opts: ReadOptions) -> Iterator[ToolDoc | Problem]:
    """Yield one `ToolDoc` per accepted line."""
    for path in paths:
        yield from json_lines(path, lambda n, obj, path=path: _read_object(path, n, obj, opts))


def _read_object(path: Path, n: int, obj: Any, opts: ReadOptions) -> Iterator[ToolDoc | Problem]:
    if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
        yield file_problem("import-bad-format", path, n, None,
                           "the line has no `text` string; is it `prodigy db-out` output?")
        return
    answer = obj.get("answer", "accept")
    who = obj.get("_annotator_id") or obj.get("_session_id")
    if answer != "accept":
        yield file_problem("import-skipped", path, n, "answer",
                           f"the answer is {answer!r} (by {who}); only accepted examples are imported")
        return
    meta = obj.get("meta") if isinstance(obj.get("meta"), dict) else {}
    doc_id = next((v for v in (obj.get("doc_id"), meta.get("doc_id")) if m.is_name(v)),
                  f"input{obj.get('_input_hash', n)}")
    annotator = opts.annotator or (opts.lmap.annotator(who) if who else
                                   opts.lmap.annotator(path.stem))
    doc = ToolDoc(tool=TOOL, file=str(path), line=n, where=f"line {n}", doc_id=doc_id,
                  annotator=annotator, text=obj["text"], units=UNITS, meta=meta,
                  matcher=matcher)
    tokens = obj.get("tokens") if isinstance(obj.get("tokens"), list) else []
    by_offsets: dict[tuple[Any, Any, Any], str] = {}
    token_ranges: dict[str, tuple[int, int]] = {}
    for i, s in enumerate(obj.get("spans") or []):
        where = f"spans[{i}]"
        if not isinstance(s, dict) or type(s.get("start")) is not int \
                or type(s.get("end")) is not int or not isinstance(s.get("label"), str):
            yield file_problem("import-bad-format", path, n, where, "expected {start, end, label}")
            continue
        given = s.get("text") if isinstance(s.get("text"), str) else _token_text(tokens, s)
        fields = {k: str(v) for k, v in s.items() if k not in _SPAN_KEYS and v is not None}
        doc.spans.append(ToolSpan(key=where, labels=[s["label"]], fragments=[(s["start"], s["end"])],
                                  text=given, fields=fields, where=where, line=n))
        by_offsets.setdefault((s["start"], s["end"], s["label"]), where)
        if type(s.get("token_start")) is int and type(s.get("token_end")) is int:
            token_ranges[where] = (s["token_start"], s["token_end"])
    for i, r in enumerate(obj.get("relations") or []):
        where = f"relations[{i}]"
        ends = [_end(r, side, by_offsets, token_ranges) for side in ("head", "child")] \
            if isinstance(r, dict) else [None, None]
        if ends[0] is None or ends[1] is None or not isinstance(r.get("label"), str):
            yield file_problem("import-bad-relation", path, n, where,
                               "cannot tell which spans the relation joins (no matching head_span "
                               "/ child_span, and no span covers the head / child token)")
            continue
        doc.relations.append(ToolRelation(r["label"], ends[0], ends[1], where, n))
    yield doc


def _token_text(tokens: list[Any], span: dict[str, Any]) -> str | None:
    """The text of the span's tokens, `token_end` inclusive, joined by their whitespace."""
    ts, te = span.get("token_start"), span.get("token_end")
    if type(ts) is not int or type(te) is not int or not 0 <= ts <= te < len(tokens):
        return None
    parts = []
    for i in range(ts, te + 1):
        tok = tokens[i]
        if not isinstance(tok, dict) or not isinstance(tok.get("text"), str):
            return None
        parts.append(tok["text"] + (" " if tok.get("ws") and i < te else ""))
    return "".join(parts)


def _end(rel: dict[str, Any], side: str, by_offsets: dict[tuple[Any, Any, Any], str],
         token_ranges: dict[str, tuple[int, int]]) -> str | None:
    sd = rel.get(f"{side}_span")
    if isinstance(sd, dict):
        key = by_offsets.get((sd.get("start"), sd.get("end"), sd.get("label")))
        if key is not None:
            return key
    tok = rel.get(side)
    if type(tok) is int:
        # `head`/`child` are token indices: the span whose tokens contain it.
        for key, (ts, te) in token_ranges.items():
            if ts <= tok <= te:
                return key
    return None
