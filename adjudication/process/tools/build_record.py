#!/usr/bin/env python3
"""Build one annotation record (one JSONL line) from a spec that quotes spans instead of counting.

Usage:
    python build_record.py SPEC.json [--docs /work/main/documents] [--out FILE] [--check-only]

SPEC.json:
{
  "doc_id": "henry-liberty-or-death",
  "annotator": "ann-e",
  "questions": [
    {"span": "Shall we try argument?", "kind": "assertive"},
    {"span": {"text": "what have we to oppose to them?", "ctx": "And what have we to oppose to them?"},
     "kind": "assertive", "note": "optional"},
    {"span": "Have we anything new to offer upon the subject?", "kind": "hypophora", "answer": "Nothing."}
  ],
  "attributions": [
    {"key": "k1", "type": "direct", "source": "Gerasimov", "cue": {"text": "said", "ctx": "Gerasimov said"},
     "content": {"from": "The active phase", "to": "nearly over."}, "source_name": "Valery Gerasimov",
     "nested_in": null}
  ],
  "stances": [
    {"span": "lunacy", "target": "Rogin's analysis", "polarity": "against", "holder": "author"},
    {"span": "wiped out", "target": "terrorists", "polarity": "against", "holder": "k1"}
  ]
}

A span is one of:
  "exact text"                           must occur exactly once in the document
  {"text": "...", "n": 2}                the 2nd occurrence (1-based) in the document
  {"text": "...", "ctx": "..."}          ctx occurs once in the document; text occurs once inside ctx
  {"text": "...", "ctx": "...", "n": 2}  the 2nd occurrence of text inside ctx
  {"from": "...", "to": "..."}           from the (unique) start of `from` to the end of the first `to`
                                         found at or after it; `ctx` or `n` may qualify `from`
`source` and `cue` may be null. `key` names an attribution for `holder` and `nested_in`.
Ids (q1.., t1.., s1..) are assigned in document order (G6). Text is matched exactly: curly and
straight quotes, dashes and apostrophes must be as in the document.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

VALIDATOR = "/work/kit-base/.venv/bin/corpus"


class SpecError(Exception):
    pass


def find_all(hay: str, needle: str, base: int = 0) -> list[int]:
    out, i = [], hay.find(needle)
    while i != -1 and needle:
        out.append(base + i)
        i = hay.find(needle, i + 1)
    return out


def _norm(s: str) -> str:
    table = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'", "—": "-", "–": "-"})
    return " ".join(s.translate(table).split())


def _hint(text: str, needle: str) -> str:
    n = _norm(needle)
    if not n:
        return ""
    flat = _norm(text)
    i = flat.find(n)
    if i == -1:
        i = flat.find(n[: max(12, len(n) // 3)])
        if i == -1:
            return " (not found even ignoring quote style and spacing; check the wording)"
        return f" (its start occurs, ignoring quote style: ...{flat[i:i + len(n) + 20]!r}...)"
    return (" (it occurs if quote marks, dashes or spacing are normalised: copy the exact characters "
            "from the document, e.g. curly “ ” ’ or straight \" ')")


def locate(text: str, spec: object, what: str) -> tuple[int, int]:
    if isinstance(spec, str):
        spec = {"text": spec}
    if not isinstance(spec, dict):
        raise SpecError(f"{what}: a span is a string or an object, not {spec!r}")
    region_start, region = 0, text
    ctx = spec.get("ctx")
    if ctx is not None:
        hits = find_all(text, ctx)
        if len(hits) != 1:
            raise SpecError(f"{what}: ctx {ctx!r} occurs {len(hits)} times in the document (it must occur "
                            f"once){_hint(text, ctx) if not hits else ''}")
        region_start, region = hits[0], ctx
    n = spec.get("n", 1)
    if "from" in spec:
        first = spec["from"]
        hits = find_all(region, first, region_start)
        if not hits:
            raise SpecError(f"{what}: `from` {first!r} not found{_hint(region, first)}")
        if len(hits) > 1 and "n" not in spec:
            raise SpecError(f"{what}: `from` {first!r} occurs {len(hits)} times; add ctx or n")
        if n > len(hits):
            raise SpecError(f"{what}: `from` {first!r} occurs only {len(hits)} times, n={n}")
        start = hits[n - 1]
        to = spec.get("to")
        if not to:
            raise SpecError(f"{what}: `from` needs `to`")
        end_at = text.find(to, start)
        if end_at == -1:
            raise SpecError(f"{what}: `to` {to!r} not found after `from`{_hint(text[start:], to)}")
        return start, end_at + len(to)
    needle = spec.get("text")
    if not isinstance(needle, str) or not needle:
        raise SpecError(f"{what}: give `text` or `from`/`to`")
    hits = find_all(region, needle, region_start)
    if not hits:
        raise SpecError(f"{what}: {needle!r} not found{' in ctx' if ctx else ''}{_hint(region, needle)}")
    if len(hits) > 1 and "n" not in spec:
        where = ", ".join(f"[{h}] ...{text[max(0, h - 25):h + len(needle) + 25]!r}..." for h in hits[:4])
        raise SpecError(f"{what}: {needle!r} occurs {len(hits)} times{' in ctx' if ctx else ''}; add a ctx "
                        f"(a longer unique passage containing it) or n. Occurrences: {where}")
    if n > len(hits):
        raise SpecError(f"{what}: {needle!r} occurs only {len(hits)} times, n={n}")
    start = hits[n - 1]
    return start, start + len(needle)


def span_obj(text: str, spec: object, what: str) -> dict | None:
    if spec is None:
        return None
    s, e = locate(text, spec, what)
    return {"start": s, "end": e, "text": text[s:e]}


def target_ok(text: str, target: str) -> bool:
    def norm(s: str) -> str:
        return " ".join(s.replace("’", "'").replace("‘", "'").casefold().split())
    t = norm(target)
    if t.startswith("the "):
        t = t[4:]
    return bool(t) and t in norm(text)


def build(spec: dict, docs: Path) -> tuple[dict, list[str]]:
    doc_id = spec["doc_id"]
    with open(docs / f"{doc_id}.txt", encoding="utf-8", newline="") as f:
        text = f.read()
    meta = None
    for line in open(docs / "catalog.jsonl", encoding="utf-8"):
        row = json.loads(line)
        if row["doc_id"] == doc_id:
            meta = row["meta"]
    if meta is None:
        raise SpecError(f"{doc_id} is not in {docs / 'catalog.jsonl'}")
    errors: list[str] = []
    warnings: list[str] = []

    def safe(fn, *a):
        try:
            return fn(*a)
        except SpecError as e:
            errors.append(str(e))
            return None

    questions = []
    for i, q in enumerate(spec.get("questions", [])):
        what = f"questions[{i}]"
        span = safe(span_obj, text, q.get("span"), what)
        if span is None:
            continue
        if q.get("kind") not in ("assertive", "hypophora", "echo", "open"):
            errors.append(f"{what}: kind {q.get('kind')!r}")
        item = {**span, "kind": q.get("kind")}
        if q.get("answer") is not None:
            ans = safe(span_obj, text, q["answer"], f"{what}.answer")
            if ans is not None:
                item["answer"] = ans
        if q.get("note"):
            item["note"] = q["note"]
        questions.append(item)

    attributions, keys = [], {}
    for i, a in enumerate(spec.get("attributions", [])):
        what = f"attributions[{i}]"
        content = safe(span_obj, text, a.get("content"), f"{what}.content")
        if content is None:
            continue
        item = {"type": a.get("type"), "source": safe(span_obj, text, a.get("source"), f"{what}.source"),
                "cue": safe(span_obj, text, a.get("cue"), f"{what}.cue"), "content": content}
        if a.get("type") not in ("direct", "indirect", "mixed"):
            errors.append(f"{what}: type {a.get('type')!r}")
        if a.get("source_name"):
            item["source_name"] = a["source_name"]
        item["_key"], item["_parent"] = a.get("key"), a.get("nested_in")
        if a.get("note"):
            item["note"] = a["note"]
        if a.get("key"):
            if a["key"] in keys:
                errors.append(f"{what}: key {a['key']!r} used twice")
            keys[a["key"]] = item
        attributions.append(item)

    stances = []
    for i, s in enumerate(spec.get("stances", [])):
        what = f"stances[{i}]"
        span = safe(span_obj, text, s.get("span"), what)
        if span is None:
            continue
        if s.get("polarity") not in ("favor", "against"):
            errors.append(f"{what}: polarity must be favor or against (guidelines 2.0), not {s.get('polarity')!r}")
        target = s.get("target")
        if not isinstance(target, str) or not target.strip():
            errors.append(f"{what}: target missing")
        elif not target_ok(text, target):
            warnings.append(f"{what} {span['text']!r}: target {target!r} does not occur in the text (S7)")
        item = {**span, "target": target, "polarity": s.get("polarity"), "_holder": s.get("holder", "author")}
        if s.get("note"):
            item["note"] = s["note"]
        stances.append(item)

    # ids in document order (G6)
    questions.sort(key=lambda q: (q["start"], q["end"]))
    for n, q in enumerate(questions, 1):
        q["id"] = f"q{n}"
    attributions.sort(key=lambda a: (a["content"]["start"], -a["content"]["end"]))
    for n, a in enumerate(attributions, 1):
        a["id"] = f"t{n}"
    stances.sort(key=lambda s: (s["start"], s["end"]))
    for n, s in enumerate(stances, 1):
        s["id"] = f"s{n}"
    for a in attributions:
        parent = a.pop("_parent")
        a.pop("_key")
        if parent is not None:
            if parent not in keys:
                errors.append(f"attribution {a['id']}: nested_in key {parent!r} unknown")
            else:
                a["nested_in"] = keys[parent]["id"]
    for s in stances:
        h = s.pop("_holder")
        if h == "author":
            s["holder"] = "author"
        elif h in keys:
            s["holder"] = keys[h]["id"]
        else:
            errors.append(f"stance {s['id']} {s['text']!r}: holder key {h!r} unknown")
            s["holder"] = "author"

    def ordered(item: dict, fields: list[str]) -> dict:
        return {f: item[f] for f in fields if item.get(f) is not None}

    record = {
        "doc_id": doc_id, "annotator": spec["annotator"], "text": text, "meta": meta,
        "rhetorical_questions": [ordered(q, ["id", "note", "start", "end", "text", "kind", "answer"]) for q in questions],
        "attributions": [ordered(a, ["id", "note", "type", "source", "cue", "content", "source_name", "nested_in"])
                         for a in attributions],
        "stances": [ordered(s, ["id", "note", "start", "end", "text", "target", "polarity", "holder"]) for s in stances],
    }
    if errors:
        raise SpecError("\n".join(errors))
    return record, warnings


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("spec")
    ap.add_argument("--docs", default="/work/main/documents")
    ap.add_argument("--out")
    ap.add_argument("--check-only", action="store_true")
    args = ap.parse_args()
    spec = json.loads(Path(args.spec).read_text(encoding="utf-8"))
    try:
        record, warnings = build(spec, Path(args.docs))
    except SpecError as e:
        print("ERRORS (nothing written):\n" + str(e))
        return 1
    for w in warnings:
        print("warning:", w)
    out = Path(args.out or f"annotations/{spec['annotator']}/{spec['doc_id']}.jsonl")
    if args.check_only:
        out = Path("/tmp") / f"check-{spec['annotator']}-{spec['doc_id']}.jsonl"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {out}: {len(record['rhetorical_questions'])} questions, {len(record['attributions'])} "
          f"attributions, {len(record['stances'])} stances")
    r = subprocess.run([VALIDATOR, "validate", str(out), "--aliases", "/work/annot-kit/aliases.jsonl"], capture_output=True, text=True)
    print(r.stdout.strip())
    return 0 if r.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
