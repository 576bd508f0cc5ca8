"""brat standoff: read `.txt` + `.ann` pairs, write a collection and `annotation.conf`/`visual.conf`.

Format: brat.nlplab.org "brat standoff format". One annotation per line, the id then a TAB:
`T1<TAB>Label 0 18;20 25<TAB>text` (text-bound, fragments joined by one space in the text),
`R1<TAB>Label Arg1:T2 Arg2:T3` (relation, role names free), `A1<TAB>Name T4 [Value]` (attribute;
`M` is the legacy alias), `#1<TAB>AnnotatorNotes T4<TAB>free text` (note). Offsets are code
points of the text as brat reads it: universal newlines, so CR LF (and a lone CR) count as one
character. The annotator is not recorded: a collection keeps one folder per annotator, and the
folder's name is the annotator.

What brat cannot hold goes beside it: the record's `meta` in `<doc>.meta.json` (brat ignores
the file), an item's `id` (when it is not q1, t1, s1... in order), a stance's `target`, an
attribution's `source_name` and an item's `note` in the span's AnnotatorNotes,
`target: ... | source_name: ... | note: ...`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from corpus_tools.convert import mapping as m
from corpus_tools.convert.assemble import (
    Read,
    ReadOptions,
    Refused,
    ToolDoc,
    ToolRelation,
    ToolSpan,
    file_problem,
    json_problem,
    left_out,
)
from corpus_tools.convert.offsets import UNITS as ALL_UNITS
from corpus_tools.convert.offsets import OffsetMap
from corpus_tools.convert.shapes import found
from corpus_tools.files import JsonInputError, display, parse_json, utf8_error

TOOL = "brat"
UNITS = ("codepoint+crlf", "utf16+crlf", "codepoint", "utf16")
META_SUFFIX = ".meta.json"
_T = re.compile(r"^(\S+) ([0-9]+ [0-9]+(?:;[0-9]+ [0-9]+)*)$")


def matcher(covered: list[str], given: str) -> bool:
    """brat's reference text: fragments joined by a space; older files join without one."""

    def flat(s: str) -> str:
        return re.sub(r"\r\n|\r|\n", " ", s)

    return flat(" ".join(covered)) == flat(given) or flat("".join(covered)) == flat(given)


def expand(paths: list[Path]) -> list[Path]:
    """The `.ann` files named by `paths` (folders are searched recursively)."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out.extend(sorted(p.rglob("*.ann")))
        elif p.suffix == ".txt":
            out.append(p.with_suffix(".ann"))
        else:
            out.append(p)
    return out


def read(paths: list[Path], opts: ReadOptions) -> Iterator[Read]:
    """Yield one `ToolDoc` per `.ann` file; its folder's name is the annotator."""
    for ann in expand(paths):
        txt = ann.with_suffix(".txt")
        texts: list[str] = []
        for f in (txt, ann):
            try:
                # Bytes, decoded by hand: the record keeps the text exactly, CR LF included.
                texts.append(f.read_bytes().decode("utf-8"))
            except OSError as e:
                yield Refused(
                    [
                        file_problem(
                            "unreadable-file",
                            e.filename or f,
                            None,
                            None,
                            f"cannot read: {e.strerror} (a brat document is a .txt and a .ann)",
                        )
                    ],
                    display(ann),
                )
                break
            except UnicodeDecodeError as e:
                yield Refused(
                    [
                        file_problem(
                            "invalid-utf8",
                            f,
                            e.object[: e.start].count(b"\n") + 1,
                            None,
                            f"not UTF-8: {utf8_error(e.object, e, ' of the file')}; brat reads UTF-8",
                        )
                    ],
                    display(ann),
                )
                break
        if len(texts) != 2:
            continue
        text, ann_text = texts
        annotator = opts.annotator or opts.lmap.annotator(ann.parent.resolve().name)
        doc = ToolDoc(
            tool=TOOL,
            file=display(ann),
            line=None,
            where=ann.stem,
            doc_id=ann.stem,
            annotator=annotator,
            text=text,
            units=UNITS,
            matcher=matcher,
        )
        meta_path = Path(str(ann)[: -len(".ann")] + META_SUFFIX)
        if meta_path.exists():
            try:
                meta = parse_json(meta_path.read_bytes(), display(meta_path))
            except OSError as e:
                meta = None
                doc.problems.append(
                    file_problem(
                        "unreadable-file",
                        meta_path,
                        None,
                        None,
                        f"cannot read the document's metadata: {e.strerror}",
                    )
                )
            except JsonInputError as e:
                meta = None
                doc.problems.append(json_problem(meta_path, None, "", e))
            if isinstance(meta, dict):
                doc.meta = meta
            elif meta is not None:
                doc.problems.append(
                    file_problem(
                        "import-bad-format",
                        meta_path,
                        None,
                        None,
                        f"expected an object of metadata (title, author, ...), found {found(meta)}",
                    )
                )
        # brat reads the .ann with universal newlines too: CR LF, CR and LF end a line.
        yield from _parse(ann, re.split(r"\r\n|\r|\n", ann_text), doc)
        yield doc


def _parse(path: Path, lines: list[str], doc: ToolDoc) -> Iterator[Read]:
    spans: dict[str, ToolSpan] = {}
    others: dict[str, str] = {}  # ids of relations, events, ... -> what they are
    pending: list[tuple[str, str, str, dict[str, str], int]] = []  # (target, kind, id, fields, line)
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        ann_id, _, rest = line.partition("\t")
        head, _, tail = rest.partition("\t")

        def bad(msg: str, n: int = n, ann_id: str = ann_id) -> None:
            doc.problems.append(file_problem("import-bad-format", path, n, ann_id or None, msg))
            # What the line would have been, for the summary's count of refused spans.
            if ann_id[:1] == "T":
                doc.unread_spans += 1
            elif ann_id[:1] == "R":
                doc.unread_relations += 1

        kind = ann_id[:1]
        if kind == "T":
            match = _T.match(head)
            if not match:
                bad("a T line reads `T1<TAB>Label START END[;START END...]<TAB>text`")
                continue
            frags = [tuple(map(int, f.split())) for f in match.group(2).split(";")]
            if ann_id in spans:
                bad(f"the id {ann_id} is used twice")
                continue
            spans[ann_id] = ToolSpan(
                key=ann_id,
                labels=[match.group(1)],
                fragments=[(a, b) for a, b in frags],
                text=tail if "\t" in rest else None,
                where=ann_id,
                line=n,
            )
        elif kind == "R":
            parts = head.split()
            args = [p.partition(":")[2] for p in parts[1:]]
            if len(parts) != 3 or not all(args):
                bad("an R line reads `R1<TAB>Label Arg1:T1 Arg2:T2`")
                continue
            doc.relations.append(ToolRelation(parts[0], args[0], args[1], ann_id, n))
            others[ann_id] = "relation"
        elif kind in ("A", "M"):
            parts = head.split()
            if len(parts) not in (2, 3):
                bad("an A line reads `A1<TAB>Name T1 [Value]`")
                continue
            pending.append(
                (parts[1], "attribute", ann_id, {parts[0]: parts[2] if len(parts) == 3 else "true"}, n)
            )
        elif kind == "#":
            parts = head.split()
            if len(parts) != 2:
                bad("a note reads `#1<TAB>AnnotatorNotes T1<TAB>text`")
                continue
            if parts[0] != "AnnotatorNotes":
                yield left_out(
                    path,
                    n,
                    ann_id,
                    f"note type {parts[0]!r} is not imported (only AnnotatorNotes)",
                    "brat notes of other types",
                )
                continue
            pending.append((parts[1], "note", ann_id, m.parse_note(tail), n))
        else:
            what = {"E": "event", "N": "normalisation", "*": "equivalence"}.get(kind)
            if what is None:
                bad(
                    "not a brat annotation line: a line starts with an id (T1, R1, E1, A1, N1, "
                    "#1 or *) and a TAB"
                )
                continue
            others[ann_id] = what
            yield left_out(
                path,
                n,
                ann_id or None,
                f"a brat {what} is not imported; our layers use T, R, A and notes",
                f"brat {what}s",
                relations=1,
            )
    for target, kind, ann_id, fields, n in pending:
        if target in spans:
            spans[target].fields.update(fields)
        elif target in others:
            # An attribute or note on a relation or event: our relations carry no fields.
            yield left_out(
                path,
                n,
                ann_id,
                f"{ann_id}, a{'n' if kind[0] in 'aeiou' else ''} {kind} of the "
                f"{others[target]} {target}, is not imported; only spans (T lines) carry "
                "fields",
                f"brat {kind}s of relations and events",
            )
        else:
            doc.problems.append(
                file_problem(
                    "import-bad-format",
                    path,
                    n,
                    ann_id,
                    f"the {kind} refers to {target}, which is not an annotation of this file",
                )
            )
    doc.spans.extend(spans.values())


# -- export ---------------------------------------------------------------------------------


def ann_for(rec: dict[str, Any]) -> str:
    """The `.ann` content of one record, in brat's offsets (CR LF counted as one)."""
    text = rec["text"]
    omap = OffsetMap(text, ALL_UNITS["codepoint+crlf"])
    lines: list[str] = []
    counters = {"T": 0, "R": 0, "#": 0}

    def next_id(kind: str) -> str:
        counters[kind] += 1
        return f"{kind}{counters[kind]}"

    def tline(span: dict[str, Any], label: str, fields: dict[str, Any]) -> str:
        tid = next_id("T")
        start, end = omap.from_codepoint(span["start"]), omap.from_codepoint(span["end"])
        covered = re.sub(r"\r\n|\r|\n", " ", span["text"])
        lines.append(f"{tid}\t{label} {start} {end}\t{covered}")
        note = m.format_note({k: v for k, v in fields.items() if v})
        if note:
            lines.append(f"{next_id('#')}\tAnnotatorNotes {tid}\t{note}")
        return tid

    def rline(label: str, a: str, b: str) -> None:
        lines.append(f"{next_id('R')}\t{label} Arg1:{a} Arg2:{b}")

    def explicit_id(item: dict[str, Any], prefix: str, index: int) -> str | None:
        # Import numbers items q1, q2... in order; write the id only where it differs.
        return None if item["id"] == f"{prefix}{index + 1}" else item["id"]

    for i, q in enumerate(rec.get("rhetorical_questions", [])):
        qid = tline(
            q, m.label_of(m.QUESTION, q["kind"]), {"id": explicit_id(q, "q", i), "note": q.get("note")}
        )
        if q.get("answer"):
            rline("answers", tline(q["answer"], m.label_of(m.ANSWER), {}), qid)
    content_t: dict[str, str] = {}
    for i, t in enumerate(rec.get("attributions", [])):
        cid = tline(
            t["content"],
            m.label_of(m.CONTENT, t["type"]),
            {"id": explicit_id(t, "t", i), "source_name": t.get("source_name"), "note": t.get("note")},
        )
        content_t[t["id"]] = cid
        for part, role, rel in (("source", m.SOURCE, "source-of"), ("cue", m.CUE, "cue-of")):
            if t.get(part):
                rline(rel, tline(t[part], m.label_of(role), {}), cid)
    for t in rec.get("attributions", []):
        if t.get("nested_in") in content_t:
            rline("nested-in", content_t[t["id"]], content_t[t["nested_in"]])
    for i, s in enumerate(rec.get("stances", [])):
        sid = tline(
            s,
            m.label_of(m.STANCE, s["polarity"]),
            {"id": explicit_id(s, "s", i), "target": s["target"], "note": s.get("note")},
        )
        if s["holder"] in content_t:
            rline("holds", content_t[s["holder"]], sid)
    for layer in m.extra_layers():
        for i, item in enumerate(rec.get(layer.name, [])):
            x = m.extra_item(layer, item)
            hid = tline(x.head, x.label, {"id": explicit_id(item, layer.prefix, i), **x.fields})
            for label, relation, part_span in x.parts:
                rline(relation, tline(part_span, label, {}), hid)
            if x.attribution in content_t:
                rline("holds", content_t[x.attribution], hid)
    return "".join(line + "\n" for line in lines)


def annotation_conf() -> str:
    """brat's `annotation.conf`: our span labels and the relations between them."""
    labels = m.span_labels()
    by_role: dict[str, list[str]] = {}
    for label in labels:
        role = m.parse_label(label)
        if role is not None:  # None: an extra layer's label
            by_role.setdefault(role.role, []).append(label)
    relations = []
    extra = m.extra_layers()
    for name, (src, dst) in m.RELATIONS.items():
        a = "|".join(label for r in src for label in by_role[r])
        b = "|".join(label for r in dst for label in by_role[r])
        if name == "holds":  # an extra layer's item may refer to an attribution too
            b = "|".join([b, *(f"{x.tool_prefix}-{v}" for x in extra if x.reference for v in x.names)])
        relations.append(f"{name}\tArg1:{a}, Arg2:{b}, <OVL-TYPE>:<ANY>")
    for x in extra:
        heads = "|".join(f"{x.tool_prefix}-{v}" for v in x.names)
        for part in x.parts:
            if part.field not in (None, x.key):
                relations.append(
                    f"{part.name}-of\tArg1:{x.tool_prefix}-{part.name}, Arg2:{heads}, <OVL-TYPE>:<ANY>"
                )
    note = m.import_note()
    return "\n".join(
        [
            "# generated by `corpus export brat-config`; labels follow docs/convert.md",
            "# Notes (AnnotatorNotes) carry free text: `target: ... | source_name: ... | note: ...`",
            *([f"# Note: {note}; an extra layer's other fields are in the note too"] if note else []),
            "[entities]",
            *labels,
            "",
            "[relations]",
            *relations,
            "",
            "[events]",
            "",
            "[attributes]",
            "",
        ]
    )


_COLOURS = {"RQ": "#aec7e8", "ATTR": "#98df8a", "STANCE": "#ff9896"}
_OTHER_COLOUR = "#dbdb8d"


def visual_conf() -> str:
    """brat's `visual.conf`: a readable name and a colour per label."""
    labels = m.span_labels()
    names = [f"{label} | {label.replace('-', ' ')}" for label in labels]
    names += [f"{r} | {r.replace('-', ' ')}" for r in [*m.RELATIONS, *m.extra_relations()]]
    drawing = [f"{label}\tbgColor:{_COLOURS.get(label.split('-')[0], _OTHER_COLOUR)}" for label in labels]
    return "\n".join(
        [
            "# generated by `corpus export brat-config`",
            "[labels]",
            *names,
            "",
            "[drawing]",
            "SPAN_DEFAULT\tfgColor:black, bgColor:lightgreen, borderColor:darken",
            "ARC_DEFAULT\tcolor:black, arrowHead:triangle-5",
            *drawing,
            "",
        ]
    )
