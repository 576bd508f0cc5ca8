"""Label Studio: read its JSON export, write tasks with predictions and the labelling config.

Format: the "JSON" export, a JSON array of tasks (labelstud.io "Export annotations", section
JSON; label-studio-converter `converter.py`). Each task has `data` (the text under `text`),
`annotations[]` (one per annotator: `completed_by`, `was_cancelled`, `result[]`) and
`predictions[]`. A `result` item of type `labels` is a span (`value.start`, `value.end`,
`value.text`, `value.labels`); items sharing its `id` are per-region controls (`textarea`,
`choices`); items of type `relation` join two region ids. Offsets are code points since the
frontend fix of 2021-10-19 and UTF-16 code units in older exports; both are detected.
`value.text` writes each line break as the two characters backslash-n.

JSON-MIN drops relations and region ids and is not supported.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

import orjson

from corpus_tools.convert import mapping as m
from corpus_tools.convert.assemble import ReadOptions, ToolDoc, ToolRelation, ToolSpan, file_problem
from corpus_tools.problems import Problem

TOOL = "Label Studio"
UNITS = ("codepoint", "utf16")
LABELS_NAME, TEXT_NAME = "label", "text"
TEXT_FIELDS = ("target", "source_name", "note")
"""Per-region text areas of the generated config, and the fields they fill."""


def matcher(covered: list[str], given: str) -> bool:
    """Label Studio's `value.text` is the selection with each CR or LF written as `\\n`."""
    joined = " ".join(covered)
    return joined == given or re.sub(r"[\r\n]", r"\\n", joined) == given


def read(paths: list[Path], opts: ReadOptions) -> Iterator[ToolDoc | Problem]:
    """Yield one `ToolDoc` per non-cancelled annotation of every task in the export files."""
    for path in paths:
        try:
            tasks = orjson.loads(path.read_bytes())
        except OSError as e:
            yield file_problem("unreadable-file", path, None, None, f"cannot read: {e.strerror}")
            continue
        except orjson.JSONDecodeError as e:
            yield file_problem("import-bad-format", path, None, None,
                               f"not valid JSON ({e}); expected Label Studio's JSON export")
            continue
        if isinstance(tasks, dict):
            tasks = [tasks]
        if not isinstance(tasks, list):
            yield file_problem("import-bad-format", path, None, None,
                               "expected a JSON array of tasks (Label Studio's JSON export)")
            continue
        for ti, task in enumerate(tasks):
            yield from _read_task(path, ti, task, opts)


def _read_task(path: Path, ti: int, task: Any, opts: ReadOptions) -> Iterator[ToolDoc | Problem]:
    data = task.get("data") if isinstance(task, dict) else None
    if not isinstance(data, dict):
        yield file_problem("import-bad-format", path, None, f"[{ti}]",
                           "the task has no `data` object; is this a JSON (not JSON-MIN) export?")
        return
    text = data.get("text")
    if not isinstance(text, str):
        strings = [v for v in data.values() if isinstance(v, str)]
        if len(strings) != 1:
            yield file_problem("import-bad-format", path, None, f"[{ti}].data",
                               "cannot tell which `data` field holds the text; name it `text`")
            return
        text = strings[0]
    task_id = task.get("id")
    doc_id = data.get("doc_id") if m.is_name(data.get("doc_id")) else f"task-{task_id}"
    meta = data.get("meta") if isinstance(data.get("meta"), dict) else {}
    annotations = task.get("annotations", task.get("completions")) or []
    sources: list[tuple[str, int, dict[str, Any], str]] = []
    for ai, ann in enumerate(annotations):
        where = f"[{ti}].annotations[{ai}]"
        if not isinstance(ann, dict):
            yield file_problem("import-bad-format", path, None, where, "an annotation is not an object")
            continue
        if ann.get("was_cancelled"):
            yield file_problem("import-skipped", path, None, where,
                               f"task {task_id}: annotation {ann.get('id')} was cancelled "
                               "(skipped) in Label Studio and is not imported")
            continue
        who = ann.get("completed_by")
        if isinstance(who, dict):
            who = who.get("email") or who.get("id")
        sources.append((where, ai, ann, opts.annotator or opts.lmap.annotator(who)))
    for pi, pred in enumerate(task.get("predictions") or []):
        where = f"[{ti}].predictions[{pi}]"
        if not isinstance(pred, dict):
            continue
        if not opts.predictions:
            yield file_problem("import-skipped", path, None, where,
                               f"task {task_id}: a prediction (model output, not an annotator's "
                               "work) is not imported; pass --predictions to import it")
            continue
        name = str(pred.get("model_version") or "prediction")
        sources.append((where, pi, pred, opts.annotator or opts.lmap.annotator(name)))
    for where, _i, ann, annotator in sources:
        doc = ToolDoc(tool=TOOL, file=str(path), line=None,
                      where=f"{where} (task {task_id}, id {ann.get('id')})", doc_id=doc_id,
                      annotator=annotator, text=text, units=UNITS, meta=meta, matcher=matcher,
                      keys_are_ids=True)
        yield from _read_result(path, where, ann.get("result") or [], doc)
        yield doc


def _read_result(path: Path, where: str, result: list[Any], doc: ToolDoc) -> Iterator[Problem]:
    spans: dict[str, ToolSpan] = {}
    extra: dict[str, dict[str, str]] = {}
    for ri, item in enumerate(result):
        here = f"{where}.result[{ri}]"
        if not isinstance(item, dict):
            yield file_problem("import-bad-format", path, None, here, "a result item is not an object")
            continue
        kind, value, rid = item.get("type"), item.get("value") or {}, item.get("id")
        if kind == "relation":
            labels = item.get("labels") or []
            if len(labels) != 1:
                yield file_problem("import-bad-relation", path, None, here,
                                   f"relation from {item.get('from_id')} to {item.get('to_id')} has "
                                   f"{len(labels)} labels; choose exactly one relation label")
                continue
            src, dst = str(item.get("from_id")), str(item.get("to_id"))
            if item.get("direction") == "left":
                src, dst = dst, src
            doc.relations.append(ToolRelation(labels[0], src, dst, here,
                                              undirected=item.get("direction") == "bi"))
        elif kind == "labels" and rid is not None:
            try:
                frag = [(int(value["start"]), int(value["end"]))]
            except (KeyError, TypeError, ValueError):
                yield file_problem("import-bad-format", path, None, here,
                                   "a labels region has no integer value.start and value.end")
                continue
            spans[str(rid)] = ToolSpan(key=str(rid), labels=list(value.get("labels") or []),
                                       fragments=frag, text=value.get("text"), where=here)
        elif kind in ("textarea", "choices") and rid is not None:
            got = value.get("text") if kind == "textarea" else value.get("choices")
            got = "\n".join(map(str, got)) if isinstance(got, list) else str(got or "")
            extra.setdefault(str(rid), {})[str(item.get("from_name"))] = got
        else:
            yield file_problem("import-skipped", path, None, here,
                               f"a result item of type {kind!r} is not imported (only labels on "
                               "text, per-region textarea/choices, and relations are)")
    for rid, fields in extra.items():
        if rid in spans:
            spans[rid].fields.update(fields)
        else:
            yield file_problem("import-skipped", path, None, where,
                               f"per-region fields {sorted(fields)} belong to no text region {rid}")
    doc.spans.extend(spans.values())


# -- export ---------------------------------------------------------------------------------


def task_for(records: list[dict[str, Any]]) -> dict[str, Any]:
    """One Label Studio task for one document: each record becomes one prediction.

    The prediction's `model_version` is the annotator, and region ids are item ids (`q1`,
    `t1`, `t1.source`), so an import with `--predictions` gives the records back.
    """
    first = records[0]
    data: dict[str, Any] = {"text": first["text"], "doc_id": first["doc_id"]}
    if first.get("meta"):
        data["meta"] = first["meta"]
    return {"data": data,
            "predictions": [{"model_version": r["annotator"], "result": result_for(r)}
                            for r in records]}


def result_for(rec: dict[str, Any]) -> list[dict[str, Any]]:
    """The `result` list of one record: regions, per-region text areas, relations."""
    out: list[dict[str, Any]] = []
    relations: list[dict[str, Any]] = []

    def region(rid: str, span: dict[str, Any], label: str, fields: dict[str, str | None]) -> None:
        where = {"start": span["start"], "end": span["end"]}
        out.append({"id": rid, "from_name": LABELS_NAME, "to_name": TEXT_NAME, "type": "labels",
                    "value": {**where, "text": span["text"], "labels": [label]}})
        for name in TEXT_FIELDS:
            if fields.get(name):
                out.append({"id": rid, "from_name": name, "to_name": TEXT_NAME, "type": "textarea",
                            "value": {**where, "text": [fields[name]]}})

    def relate(src: str, dst: str, label: str) -> None:
        relations.append({"from_id": src, "to_id": dst, "type": "relation", "direction": "right",
                          "labels": [label]})

    for q in rec.get("rhetorical_questions", []):
        region(q["id"], q, m.label_of(m.QUESTION, q["kind"]), {"note": q.get("note")})
        if q.get("answer"):
            region(f"{q['id']}.answer", q["answer"], m.label_of(m.ANSWER), {})
            relate(f"{q['id']}.answer", q["id"], "answers")
    for t in rec.get("attributions", []):
        region(t["id"], t["content"], m.label_of(m.CONTENT, t["type"]),
               {"source_name": t.get("source_name"), "note": t.get("note")})
        for part, role, rel in (("source", m.SOURCE, "source-of"), ("cue", m.CUE, "cue-of")):
            if t.get(part):
                region(f"{t['id']}.{part}", t[part], m.label_of(role), {})
                relate(f"{t['id']}.{part}", t["id"], rel)
        if t.get("nested_in"):
            relate(t["id"], t["nested_in"], "nested-in")
    for s in rec.get("stances", []):
        region(s["id"], s, m.label_of(m.STANCE, s["polarity"]),
               {"target": s["target"], "note": s.get("note")})
        if s["holder"] != "author":
            relate(s["holder"], s["id"], "holds")
    return out + relations


_COLOURS = {"RQ": "#1f77b4", "ATTR": "#2ca02c", "STANCE": "#d62728"}


def config_xml() -> str:
    """The labelling configuration: our span labels, relations and per-region text areas."""
    labels = "\n".join(
        f'    <Label value={quoteattr(label)} background="{_COLOURS[label.split("-")[0]]}"/>'
        for label in m.span_labels())
    relations = "\n".join(f"    <Relation value={quoteattr(r)}/>" for r in m.RELATIONS)
    areas = "\n".join(
        f'    <TextArea name="{name}" toName="{TEXT_NAME}" perRegion="true" editable="true" '
        f'maxSubmissions="1" rows="1" placeholder={quoteattr(hint)}/>'
        for name, hint in (("target", "target (STANCE spans): what the stance is about"),
                           ("source_name", "source_name (ATTR-content): normalised source"),
                           ("note", "note")))
    return f"""<!-- generated by `corpus export labelstudio-config`; labels follow docs/convert.md -->
<View>
  <Labels name="{LABELS_NAME}" toName="{TEXT_NAME}">
{labels}
  </Labels>
  <Text name="{TEXT_NAME}" value="$text" saveTextResult="yes"/>
  <Relations>
{relations}
  </Relations>
  <View visibleWhen="region-selected">
{areas}
  </View>
</View>
"""
