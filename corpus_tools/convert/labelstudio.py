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

import dataclasses
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal
from xml.sax.saxutils import quoteattr

from pydantic import Field, PlainValidator
from pydantic_core import PydanticCustomError

from corpus_tools.convert import mapping as m
from corpus_tools.convert.assemble import (
    Read,
    ReadOptions,
    ToolDoc,
    ToolRelation,
    ToolSpan,
    file_problem,
    left_out,
    read_json_file,
    refused,
    user_id_warning,
)
from corpus_tools.convert.shapes import Key, Shape, Strings, check, found
from corpus_tools.files import display
from corpus_tools.schema import is_name

TOOL = "Label Studio"
UNITS = ("codepoint", "utf16")
LABELS_NAME, TEXT_NAME = "label", "text"
TEXT_FIELDS = ("target", "source_name", "note")
"""Per-region text areas of the generated config, and the fields they fill."""
WHAT = "expected Label Studio's JSON export (a JSON array of tasks with `data` and `annotations`)"


# -- the shape of the JSON export (labelstud.io "Label Studio JSON format of annotated tasks")


def _user(value: Any) -> str | None:
    # `completed_by` is a user id; some exports and API responses embed the user object.
    if value is None or isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
        return None if value is None else str(value)
    if isinstance(value, dict):
        who = value.get("email") or value.get("id")
        if who is None or isinstance(who, str) or (isinstance(who, int) and not isinstance(who, bool)):
            return None if who is None else str(who)
    raise PydanticCustomError(
        "shape", "expected a user id or a user object with an email, found {found}", {"found": found(value)}
    )


User = Annotated[str | None, PlainValidator(_user)]


class Task(Shape):
    id: Key | None = None
    data: dict[str, Any]
    annotations: list[Any] | None = None
    completions: list[Any] | None = None
    """Label Studio before 1.0 wrote `completions` instead of `annotations`."""
    predictions: list[Any] | None = None


class Annotation(Shape):
    id: Key | None = None
    completed_by: User = None
    was_cancelled: bool | None = None
    model_version: Key | None = None
    """Predictions: the model that made them (our annotator for `--predictions`)."""
    result: list[dict[str, Any]] | None = None


class RegionValue(Shape):
    start: int
    end: int
    text: str | None = None
    labels: list[str] = Field(min_length=1)


class Region(Shape):
    """A `labels` result item: a span."""

    id: Key
    value: RegionValue


class Relation(Shape):
    """A `relation` result item: from_id -> to_id, no id of its own."""

    from_id: Key
    to_id: Key
    direction: Literal["right", "left", "bi"] | None = None
    labels: list[str] | None = None


class TextAreaValue(Shape):
    text: Strings


class ChoicesValue(Shape):
    choices: Strings


class PerRegion(Shape):
    """A per-region `textarea` or `choices` result item: a field of the region with its id."""

    id: Key
    from_name: str
    value: dict[str, Any]


def matcher(covered: list[str], given: str) -> bool:
    """Label Studio's `value.text` is the selection with each CR or LF written as `\\n`."""
    joined = " ".join(covered)
    return joined == given or re.sub(r"[\r\n]", r"\\n", joined) == given


def read(paths: list[Path], opts: ReadOptions) -> Iterator[Read]:
    """Yield one `ToolDoc` per non-cancelled annotation of every task in the export files."""
    for path in paths:
        tasks, bad, unreadable = read_json_file(path, TOOL, WHAT)
        if unreadable is not None:
            yield unreadable
            continue
        if isinstance(tasks, dict) and "data" in tasks:
            tasks = [tasks]  # one task on its own, as the API returns it
        if not isinstance(tasks, list):
            yield refused(path, None, [("", _looks_like(tasks))], WHAT, display(path))
            continue
        for ti, task in enumerate(tasks):
            if ti in bad:  # a key given twice: which value counts is anyone's guess
                spans, relations = _task_counts(task)
                yield dataclasses.replace(bad[ti], spans=spans, relations=relations)
                continue
            yield from _read_task(path, ti, task, opts)
    yield from user_id_warning(opts, TOOL)


def _looks_like(value: Any) -> str:
    """What a file that is not a task array holds, for the message."""
    if isinstance(value, dict):
        keys = ", ".join(repr(k) for k in list(value)[:6]) + (", ..." if len(value) > 6 else "")
        return f"the file is a JSON object with the keys {keys or 'none'}, not an array of tasks"
    return f"the file holds {found(value)}, not an array of tasks"


def _count(result: Any) -> tuple[int, int]:
    """Regions and relations in a result list that could not be read (for the summary)."""
    if not isinstance(result, list):
        return 0, 0
    kinds = [item.get("type") for item in result if isinstance(item, dict)]
    return sum(k == "labels" for k in kinds), sum(k == "relation" for k in kinds)


def _task_counts(raw: Any) -> tuple[int, int]:
    """Regions and relations in the annotations of a task that could not be read."""
    anns = raw.get("annotations") if isinstance(raw, dict) else None
    counts = [_count(a.get("result")) for a in anns if isinstance(a, dict)] if isinstance(anns, list) else []
    return sum(c[0] for c in counts), sum(c[1] for c in counts)


def _read_task(path: Path, ti: int, raw: Any, opts: ReadOptions) -> Iterator[Read]:
    task, errors = check(Task, raw, f"[{ti}]")
    if task is None:
        if not isinstance(raw, dict) or ("data" not in raw and ti == 0):
            errors = [(f"[{ti}]", _looks_like_task(raw))]
        spans, relations = _task_counts(raw)
        yield refused(
            path, None, errors, WHAT, f"{display(path)}: [{ti}] (a task)", spans=spans, relations=relations
        )
        return
    data = task.data
    text = data.get("text")
    if not isinstance(text, str):
        strings = [v for v in data.values() if isinstance(v, str)]
        if len(strings) != 1:
            yield refused(
                path,
                None,
                [(f"[{ti}].data", "cannot tell which `data` field holds the text; name it `text`")],
                WHAT,
                f"{display(path)}: [{ti}]",
            )
            return
        text = strings[0]
    task_id = task.id
    doc_id = data["doc_id"] if is_name(data.get("doc_id")) else f"task-{task_id}"
    given_meta = data.get("meta")
    meta: dict[str, Any] = given_meta if isinstance(given_meta, dict) else {}
    annotations = task.annotations if task.annotations is not None else task.completions or []
    sources: list[tuple[str, Annotation, str]] = []
    for ai, raw_ann in enumerate(annotations):
        where = f"[{ti}].annotations[{ai}]"
        ann, errors = check(Annotation, raw_ann, where)
        if ann is None:
            spans, relations = _count(raw_ann.get("result") if isinstance(raw_ann, dict) else None)
            yield refused(
                path,
                None,
                errors,
                WHAT,
                f"{display(path)}: {where} (task {task_id})",
                spans=spans,
                relations=relations,
            )
            continue
        if ann.was_cancelled:
            spans, relations = _count(ann.result)
            yield left_out(
                path,
                None,
                where,
                f"task {task_id}: annotation {ann.id} was cancelled (skipped) in Label "
                "Studio and is not imported",
                "cancelled in Label Studio",
                records=1,
                spans=spans,
                relations=relations,
            )
            continue
        sources.append((where, ann, opts.annotator_of(ann.completed_by, path, f"{where}.completed_by")))
    for pi, raw_pred in enumerate(task.predictions or []):
        where = f"[{ti}].predictions[{pi}]"
        if isinstance(raw_pred, int) and not isinstance(raw_pred, bool):
            # Current exports write the predictions' database ids, not the predictions
            # (HumanSignal/label-studio#5654, #9709): their regions are not in the file.
            yield left_out(
                path,
                None,
                where,
                f"task {task_id}: prediction {raw_pred} is exported as its id only, so "
                "its regions are not in the file; to import predictions, export them "
                "with the tasks (e.g. through the API or `corpus export labelstudio`)",
                "predictions exported as ids only",
                records=1,
            )
            continue
        pred, errors = check(Annotation, raw_pred, where)
        if pred is None:
            spans, relations = _count(raw_pred.get("result") if isinstance(raw_pred, dict) else None)
            yield refused(
                path,
                None,
                errors,
                WHAT,
                f"{display(path)}: {where} (task {task_id})",
                spans=spans,
                relations=relations,
            )
            continue
        if not opts.predictions:
            spans, relations = _count(pred.result)
            yield left_out(
                path,
                None,
                where,
                f"task {task_id}: a prediction (model output, not an annotator's "
                "work) is not imported; pass --predictions to import it",
                "predictions (without --predictions)",
                records=1,
                spans=spans,
                relations=relations,
            )
            continue
        name = pred.model_version or "prediction"
        sources.append((where, pred, opts.annotator or opts.lmap.annotator(name)))
    for where, ann, annotator in sources:
        doc = ToolDoc(
            tool=TOOL,
            file=display(path),
            line=None,
            where=f"{where} (task {task_id}, id {ann.id})",
            doc_id=doc_id,
            annotator=annotator,
            text=text,
            units=UNITS,
            meta=meta,
            matcher=matcher,
            keys_are_ids=True,
        )
        yield from _read_result(path, where, ann.result or [], doc)
        yield doc


def _looks_like_task(raw: Any) -> str:
    if isinstance(raw, dict):
        keys = ", ".join(repr(k) for k in list(raw)[:6]) + (", ..." if len(raw) > 6 else "")
        return (
            f"the first element is an object with the keys {keys or 'none'} and no `data`; "
            "a task has `data` (with the text) and `annotations` (is this a JSON-MIN or "
            "CSV-like export?)"
        )
    return f"the first element is {found(raw)}, not a task object"


def _read_result(path: Path, where: str, result: list[dict[str, Any]], doc: ToolDoc) -> Iterator[Read]:
    spans: dict[str, ToolSpan] = {}
    extra: dict[str, dict[str, str]] = {}
    for ri, item in enumerate(result):
        here = f"{where}.result[{ri}]"
        kind = item.get("type")
        if kind == "relation":
            rel, errors = check(Relation, item, here)
            if rel is None:
                doc.problems.extend(refused(path, None, errors, WHAT, here).problems)
                doc.unread_relations += 1
                continue
            labels = rel.labels or []
            if len(labels) != 1:
                doc.problems.append(
                    file_problem(
                        "import-bad-relation",
                        path,
                        None,
                        here,
                        f"relation from {rel.from_id} to {rel.to_id} has {len(labels)} labels; "
                        "choose exactly one relation label",
                    )
                )
                doc.unread_relations += 1
                continue
            src, dst = rel.from_id, rel.to_id
            if rel.direction == "left":
                src, dst = dst, src
            doc.relations.append(ToolRelation(labels[0], src, dst, here, undirected=rel.direction == "bi"))
        elif kind == "labels":
            region, errors = check(Region, item, here)
            if region is None:
                doc.problems.extend(refused(path, None, errors, WHAT, here).problems)
                doc.unread_spans += 1
                continue
            value = region.value
            span = ToolSpan(
                key=region.id,
                labels=list(value.labels),
                fragments=[(value.start, value.end)],
                text=value.text,
                where=here,
            )
            same = spans.get(region.id)
            if same is not None and same.fragments == span.fragments and same.text == span.text:
                # One region labelled by two <Labels> controls: two items with one id.
                same.labels.extend(lb for lb in span.labels if lb not in same.labels)
            elif same is not None:
                doc.problems.append(
                    file_problem(
                        "import-bad-format",
                        path,
                        None,
                        here,
                        f"region {region.id} is also at {same.where} with other offsets; every "
                        "region needs its own id",
                    )
                )
                doc.unread_spans += 1
            else:
                spans[region.id] = span
        elif kind in ("textarea", "choices") and "id" in item:
            per, errors = check(PerRegion, item, here)
            value_model: type[TextAreaValue | ChoicesValue] = (
                TextAreaValue if kind == "textarea" else ChoicesValue
            )
            got, more = check(value_model, per.value if per else None, f"{here}.value")
            if per is None or got is None:
                doc.problems.extend(refused(path, None, errors or more, WHAT, here).problems)
                continue
            texts = got.text if isinstance(got, TextAreaValue) else got.choices
            extra.setdefault(per.id, {})[per.from_name] = "\n".join(texts)
        else:
            label = f"type {kind!r}" if isinstance(kind, str) else f"no type ({found(kind)})"
            region_like = isinstance(kind, str) and kind.endswith("labels")
            yield left_out(
                path,
                None,
                here,
                f"a result item of {label} is not imported (only labels on text, "
                "per-region textarea/choices, and relations are)",
                f"result items of {label}",
                spans=int(region_like),
            )
    for rid, fields in extra.items():
        if rid in spans:
            spans[rid].fields.update(fields)
        else:
            yield left_out(
                path,
                None,
                where,
                f"per-region fields {sorted(fields)} belong to no text region {rid}",
                "per-region fields without a region",
            )
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
    return {
        "data": data,
        "predictions": [{"model_version": r["annotator"], "result": result_for(r)} for r in records],
    }


def result_for(rec: dict[str, Any]) -> list[dict[str, Any]]:
    """The `result` list of one record: regions, per-region text areas, relations."""
    out: list[dict[str, Any]] = []
    relations: list[dict[str, Any]] = []

    def region(rid: str, span: dict[str, Any], label: str, fields: Mapping[str, str | None]) -> None:
        where = {"start": span["start"], "end": span["end"]}
        out.append(
            {
                "id": rid,
                "from_name": LABELS_NAME,
                "to_name": TEXT_NAME,
                "type": "labels",
                "value": {**where, "text": span["text"], "labels": [label]},
            }
        )
        for name in [*TEXT_FIELDS, *sorted(set(fields) - set(TEXT_FIELDS))]:
            if fields.get(name):
                out.append(
                    {
                        "id": rid,
                        "from_name": name,
                        "to_name": TEXT_NAME,
                        "type": "textarea",
                        "value": {**where, "text": [fields[name]]},
                    }
                )

    def relate(src: str, dst: str, label: str) -> None:
        relations.append(
            {"from_id": src, "to_id": dst, "type": "relation", "direction": "right", "labels": [label]}
        )

    for q in rec.get("rhetorical_questions", []):
        region(q["id"], q, m.label_of(m.QUESTION, q["kind"]), {"note": q.get("note")})
        if q.get("answer"):
            region(f"{q['id']}.answer", q["answer"], m.label_of(m.ANSWER), {})
            relate(f"{q['id']}.answer", q["id"], "answers")
    for t in rec.get("attributions", []):
        region(
            t["id"],
            t["content"],
            m.label_of(m.CONTENT, t["type"]),
            {"source_name": t.get("source_name"), "note": t.get("note")},
        )
        for part, role, rel in (("source", m.SOURCE, "source-of"), ("cue", m.CUE, "cue-of")):
            if t.get(part):
                region(f"{t['id']}.{part}", t[part], m.label_of(role), {})
                relate(f"{t['id']}.{part}", t["id"], rel)
        if t.get("nested_in"):
            relate(t["id"], t["nested_in"], "nested-in")
    for s in rec.get("stances", []):
        region(
            s["id"], s, m.label_of(m.STANCE, s["polarity"]), {"target": s["target"], "note": s.get("note")}
        )
        if s["holder"] != "author":
            relate(s["holder"], s["id"], "holds")
    for layer in m.extra_layers():
        for item in rec.get(layer.name, []):
            x = m.extra_item(layer, item)
            region(item["id"], x.head, x.label, x.fields)
            for label, relation, part_span in x.parts:
                name = f"{item['id']}.{label.rsplit('-', 1)[-1]}"
                region(name, part_span, label, {})
                relate(name, item["id"], relation)
            if x.attribution is not None:
                relate(x.attribution, item["id"], "holds")
    return out + relations


_COLOURS = {"RQ": "#1f77b4", "ATTR": "#2ca02c", "STANCE": "#d62728"}
_OTHER_COLOUR = "#bcbd22"


def config_xml() -> str:
    """The labelling configuration: our span labels, relations and per-region text areas."""
    labels = "\n".join(
        f'    <Label value={quoteattr(label)} background="{_COLOURS.get(label.split("-")[0], _OTHER_COLOUR)}"/>'
        for label in m.span_labels()
    )
    relations = "\n".join(
        f"    <Relation value={quoteattr(r)}/>" for r in [*m.RELATIONS, *m.extra_relations()]
    )
    hints = {
        "target": "target (STANCE spans): what the stance is about",
        "source_name": "source_name (ATTR-content): normalised source",
    }
    for layer in m.extra_layers():  # their fields are per-region text areas too
        for name in m.extra_fields(layer):
            hints.setdefault(name, f"{name} ({layer.tool_prefix} spans)")
    hints["note"] = "note"
    areas = "\n".join(
        f'    <TextArea name="{name}" toName="{TEXT_NAME}" perRegion="true" editable="true" '
        f'maxSubmissions="1" rows="1" placeholder={quoteattr(hint)}/>'
        for name, hint in hints.items()
    )
    note = m.import_note()
    extra = f"\n<!-- note: {note.replace('--', '- -')} -->" if note else ""  # "--" ends a comment
    return f"""<!-- generated by `corpus export labelstudio-config`; labels follow docs/convert.md -->{extra}
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
