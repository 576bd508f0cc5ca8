#!/usr/bin/env python3
"""Adjudication kit: worksheets of conflicts and agreed gold items, and decision lines built from
specs that quote spans instead of counting.

Usage:
    python adjudicate.py show DOC_ID [DOC_ID ...]      print the worksheet of each document
    python adjudicate.py build ADJ                      build ADJ's decision lines and check them

The worksheet lists, for one document:
  - every OPEN CONFLICT (id, layer, kind, why) with every annotator's version, references shown
    as the referenced attribution's content;
  - every GOLD item the annotators agreed on (gold id, spans, labels, references as gold ids).

Spec file /work/adj-work/<ADJ>/<DOC_ID>.decisions.json:
{
  "doc_id": "henry-liberty-or-death",
  "adjudicator": "adj-2",
  "conflicts": [
    {"id": "c-1234abcd5678", "accept": "ann-e", "reason": "S2: ... (cite the rule)"},
    {"id": "c-...", "reject": true, "reason": "Q2: ..."},
    {"id": "c-...", "replace": ITEM, "reason": "S7: ..."}
  ],
  "corrections": [
    {"layer": "stances", "gold": "s12", "remove": true, "reason": "S2: ..."},
    {"layer": "stances", "gold": "s12", "replace": ITEM, "reason": "S7: ..."},
    {"layer": "attributions", "add": ITEM, "reason": "A1: ..."}
  ]
}
Every open conflict of the document must get exactly one decision. `gold` names an agreed item
by its id in the worksheet. ITEM is written as in build_record.py's specs (spans quoted: a string,
or {"text", "ctx", "n"}, or {"from", "to"}):
  question:    {"span": ..., "kind": "hypophora", "answer": ... or null, "note": "..."}
  attribution: {"type": "direct", "source": ... or null, "cue": ... or null, "content": ...,
                "source_name": "..." or null, "nested_in": REF or null, "note": "..."}
  stance:      {"span": ..., "target": "...", "polarity": "favor", "holder": REF, "note": "..."}
REF (the attribution a stance's holder or an attribution's nested_in refers to) is "author" (for
holder), a gold attribution id of the worksheet ("t3"), or {"content": <span>}: the content span of
the attribution meant (for one that enters gold through a decision or an added correction).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from build_record import SpecError, span_obj  # noqa: E402

MAIN = Path("/work/main")
CORPUS = "/work/kit-base/.venv/bin/corpus"
DOCS = MAIN / "documents"
BASE = Path("/work/adj-work/base")
WORK = Path("/work/adj-work")
LAYER_OF = {"q": "rhetorical_questions", "t": "attributions", "s": "stances"}


def jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def clip(s: str, n: int = 90) -> str:
    s = " ".join(s.split())
    return s if len(s) <= n else s[: n - 20] + " … " + s[-17:]


def sp(span: dict[str, Any] | None) -> str:
    if not span:
        return "null"
    return f"[{span['start']},{span['end']}) \"{clip(span['text'])}\""


class Doc:
    def __init__(self, doc_id: str) -> None:
        self.doc_id = doc_id
        self.gold = next(r for r in jsonl(BASE / "gold.jsonl") if r["doc_id"] == doc_id)
        self.text = self.gold["text"]
        self.conflicts = [c for c in jsonl(BASE / "conflicts.jsonl")
                          if c.get("doc_id") == doc_id and c.get("status") == "open"]
        self.records = {}
        for f in sorted((MAIN / "annotations").glob(f"*/{doc_id}.jsonl")):
            r = jsonl(f)[0]
            self.records[r["annotator"]] = r

    def ann_content(self, annotator: str, ref: str | None) -> str:
        if ref in (None, "author"):
            return str(ref)
        for t in self.records[annotator]["attributions"]:
            if t["id"] == ref:
                return f"{ref}:content{sp(t['content'])}"
        return f"{ref}:?"

    def gold_content(self, ref: str | None) -> str:
        if ref in (None, "author"):
            return str(ref)
        return ref

    def item_line(self, layer: str, item: dict[str, Any], ref) -> str:
        note = f"\n        note: {clip(item['note'], 300)}" if item.get("note") else ""
        if layer == "rhetorical_questions":
            ans = f" answer={sp(item.get('answer'))}" if item.get("answer") else ""
            return f"{sp(item)} kind={item['kind']}{ans}{note}"
        if layer == "attributions":
            return (f"{item['type']} content={sp(item['content'])} source={sp(item.get('source'))} "
                    f"cue={sp(item.get('cue'))} source_name={item.get('source_name')!r} "
                    f"nested_in={ref(item.get('nested_in'))}{note}")
        return (f"{sp(item)} {item['polarity']} target={item['target']!r} holder={ref(item['holder'])}"
                f"{note}")

    def show(self) -> str:
        out = [f"=== {self.doc_id} ===  text: {DOCS / (self.doc_id + '.txt')}  "
               f"annotators: {', '.join(self.records)}",
               f"--- OPEN CONFLICTS ({len(self.conflicts)}) ---"]
        for c in self.conflicts:
            out.append(f"{c['id']}  {c['layer']}  {c['kind']}  {c['why']}")
            for v in c["versions"]:
                if v["item"] is None:
                    out.append(f"    {v['annotator']}: (none)")
                else:
                    line = self.item_line(c["layer"], v["item"], lambda r, a=v["annotator"]: self.ann_content(a, r))
                    out.append(f"    {v['annotator']}: {line}")
        out.append("--- AGREED GOLD ITEMS (review against guidelines 2.1) ---")
        for layer in LAYER_OF.values():
            for item in self.gold[layer]:
                out.append(f"  {item['id']}: " + self.item_line(layer, item, self.gold_content))
        return "\n".join(out)


def resolve_ref(doc: Doc, ref: Any, what: str) -> Any:
    if ref is None or ref == "author":
        return ref
    if isinstance(ref, str):
        for t in doc.gold["attributions"]:
            if t["id"] == ref:
                return f"@{t['content']['start']}-{t['content']['end']}"
        raise SpecError(f"{what}: {ref!r} is not a gold attribution id of the worksheet")
    if isinstance(ref, dict) and set(ref) == {"content"}:
        s = span_obj(doc.text, ref["content"], what)
        return f"@{s['start']}-{s['end']}"
    raise SpecError(f"{what}: a reference is 'author', a gold id like 't3' or {{'content': <span>}}")


def build_item(doc: Doc, layer: str, spec: dict[str, Any], what: str) -> dict[str, Any]:
    t = doc.text
    if not isinstance(spec, dict):
        raise SpecError(f"{what}: an item is an object")
    note = {"note": spec["note"]} if spec.get("note") else {}
    if layer == "rhetorical_questions":
        extra = set(spec) - {"span", "kind", "answer", "note"}
        if extra:
            raise SpecError(f"{what}: unknown keys {sorted(extra)}")
        item = {**span_obj(t, spec["span"], what + ".span"), "kind": spec["kind"]}
        if spec.get("answer") is not None:
            item["answer"] = span_obj(t, spec["answer"], what + ".answer")
        return item | note
    if layer == "attributions":
        extra = set(spec) - {"type", "source", "cue", "content", "source_name", "nested_in", "note"}
        if extra:
            raise SpecError(f"{what}: unknown keys {sorted(extra)}")
        return {"type": spec["type"], "source": span_obj(t, spec.get("source"), what + ".source"),
                "cue": span_obj(t, spec.get("cue"), what + ".cue"),
                "content": span_obj(t, spec["content"], what + ".content"),
                "source_name": spec.get("source_name"),
                "nested_in": resolve_ref(doc, spec.get("nested_in"), what + ".nested_in")} | note
    extra = set(spec) - {"span", "target", "polarity", "holder", "note"}
    if extra:
        raise SpecError(f"{what}: unknown keys {sorted(extra)}")
    return {**span_obj(t, spec["span"], what + ".span"), "target": spec["target"],
            "polarity": spec["polarity"], "holder": resolve_ref(doc, spec["holder"], what + ".holder")} | note


def key_span(layer: str, item: dict[str, Any]) -> dict[str, int]:
    s = item["content"] if layer == "attributions" else item
    return {"start": s["start"], "end": s["end"]}


def build_doc(spec: dict[str, Any], adj: str) -> list[dict[str, Any]]:
    doc = Doc(spec["doc_id"])
    if spec.get("adjudicator") != adj:
        raise SpecError(f"{spec['doc_id']}: `adjudicator` must be {adj!r}")
    lines: list[dict[str, Any]] = []
    open_ids = {c["id"]: c for c in doc.conflicts}
    seen: set[str] = set()
    for i, d in enumerate(spec.get("conflicts", [])):
        what = f"{doc.doc_id}: conflicts[{i}] ({d.get('id')})"
        cid = d.get("id")
        if cid not in open_ids:
            raise SpecError(f"{what}: not an open conflict of this document")
        if cid in seen:
            raise SpecError(f"{what}: decided twice")
        seen.add(cid)
        if not d.get("reason"):
            raise SpecError(f"{what}: give a `reason` citing the rule")
        c = open_ids[cid]
        if "accept" in d:
            if not any(v["annotator"] == d["accept"] and v["item"] is not None for v in c["versions"]):
                raise SpecError(f"{what}: {d['accept']!r} has no version in this conflict")
            decision = {"accept": d["accept"]}
        elif d.get("reject") is True:
            decision = {"reject": True}
        elif "replace" in d:
            decision = {"replace": build_item(doc, c["layer"], d["replace"], what + ".replace")}
        else:
            raise SpecError(f"{what}: give accept, reject or replace")
        lines.append({"id": cid, "doc_id": doc.doc_id, "layer": c["layer"], "decision": decision,
                      "adjudicator": adj, "reason": d["reason"]})
    missing = sorted(set(open_ids) - seen)
    if missing:
        raise SpecError(f"{doc.doc_id}: {len(missing)} open conflict(s) without a decision: {', '.join(missing)}")
    for i, d in enumerate(spec.get("corrections", [])):
        what = f"{doc.doc_id}: corrections[{i}]"
        layer = d.get("layer")
        if layer not in LAYER_OF.values():
            raise SpecError(f"{what}: layer is rhetorical_questions, attributions or stances")
        if not d.get("reason"):
            raise SpecError(f"{what}: give a `reason` citing the rule")
        match = None
        if "gold" in d:
            found = [it for it in doc.gold[layer] if it["id"] == d["gold"]]
            if not found:
                raise SpecError(f"{what}: {d['gold']!r} is not a gold {layer} id of the worksheet")
            match = key_span(layer, found[0])
        if d.get("remove") is True and match:
            decision: dict[str, Any] = {"remove": True}
        elif "replace" in d and match:
            decision = {"replace": build_item(doc, layer, d["replace"], what + ".replace")}
        elif "add" in d and "gold" not in d:
            decision = {"add": build_item(doc, layer, d["add"], what + ".add")}
        else:
            raise SpecError(f"{what}: give gold + remove, gold + replace, or add")
        lines.append({"kind": "correction", "doc_id": doc.doc_id, "layer": layer, "match": match,
                      "decision": decision, "adjudicator": adj, "reason": d["reason"]})
    return lines


def build(adj: str) -> int:
    folder = WORK / adj
    specs = sorted(folder.glob("*.decisions.json"))
    if not specs:
        print(f"no spec files in {folder}")
        return 1
    lines: list[dict[str, Any]] = []
    docs = []
    ok = True
    for path in specs:
        try:
            spec = json.loads(path.read_text(encoding="utf-8"))
            docs.append(spec["doc_id"])
            lines += build_doc(spec, adj)
        except (SpecError, KeyError, json.JSONDecodeError) as e:
            ok = False
            print(f"ERROR {path.name}: {e}")
    if not ok:
        return 1
    out = WORK / "out" / f"{adj}.jsonl"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines), encoding="utf-8")
    print(f"wrote {out}: {len(lines)} line(s) for {len(docs)} document(s)")
    check = WORK / "check" / adj
    check.mkdir(parents=True, exist_ok=True)
    r = subprocess.run([CORPUS, "merge", str(MAIN / "annotations"), "--output", str(check / "gold.jsonl"),
                        "--conflicts", str(check / "conflicts.jsonl"), "--decisions", str(out)],
                       capture_output=True, text=True)
    if r.returncode not in (0, 1):
        print("merge refused the decisions:\n" + r.stderr.strip())
        return 1
    conflicts = jsonl(check / "conflicts.jsonl")
    left = [c for c in conflicts if c.get("doc_id") in docs and c.get("status") == "open"]
    stale = [c for c in conflicts if c.get("doc_id") in docs and c.get("status") == "stale"]
    for c in left:
        print(f"STILL OPEN {c['doc_id']} {c['id']} {c['layer']} {c['kind']}: {c['why']}")
    for c in stale:
        print(f"STALE {c.get('doc_id')} {c.get('id')}: {c.get('why')}")
    gold = [g for g in jsonl(check / "gold.jsonl") if g["doc_id"] in docs]
    mine = check / "mine.jsonl"
    mine.write_text("".join(json.dumps(g, ensure_ascii=False) + "\n" for g in gold), encoding="utf-8")
    v = subprocess.run([CORPUS, "validate", str(mine), "--aliases", str(DOCS / "aliases.jsonl")],
                       capture_output=True, text=True)
    print("gold of your documents:", v.stdout.strip().replace(str(mine), "gold"))
    counts = defaultdict(int)
    for g in gold:
        for layer in LAYER_OF.values():
            counts[layer] += len(g[layer])
    print("gold items:", dict(counts))
    print(f"resulting gold: {mine} (one line per document; read it to check your decisions)")
    return 0 if not left and not stale and v.returncode == 0 else 1


def main() -> int:
    if len(sys.argv) >= 3 and sys.argv[1] == "show":
        for doc_id in sys.argv[2:]:
            print(Doc(doc_id).show())
            print()
        return 0
    if len(sys.argv) == 3 and sys.argv[1] == "build":
        return build(sys.argv[2])
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
