"""INCEpTION (and WebAnno): read UIMA CAS JSON, one file per document and annotator.

Format: "JSON serialization of the Apache UIMA CAS" (apache/uima-uimaj-io-jsoncas
`SPECIFICATION.adoc`). `%FEATURE_STRUCTURES` holds the `uima.cas.Sofa` (its `sofaString` is the
text) and the annotations, as an array of objects with `%ID` and `%TYPE`, or as an object keyed
by id (the serializer's other mode). Span layers are `webanno.custom.<Name>` types with
`begin`/`end` (or `^begin`/`^end`) and a string feature holding the label (`label` or `value`,
else the only string feature, else the layer name); relation layers carry `@Governor` (from) and
`@Dependent` (to) and their own `begin`/`end`, which repeat the dependent's and are not a span.
Segmentation and metadata types (Token, Sentence, DocumentMetaData...) are not annotations; the
document metadata's `language` is the record's language. Offsets are UTF-16 code units.

Slot features (INCEpTION's link features) are references from a span to an `FSArray` of link
structures, each with a `role` and a `@target` span: each link becomes a relation from the span
that owns the slot to its target, labelled with the role (or the feature's name when the role is
empty); map it with `[relations]`, reversed where the slot points the other way. Other
references and non-string features are fields, mapped like brat attributes or reported.

In a project export the file is `annotation/<document>/<user>.json`: the folder names the
document and the file the annotator (`INITIAL_CAS`, the pre-annotation state, is skipped).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeGuard

import orjson

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
)
from corpus_tools.convert.shapes import found
from corpus_tools.files import display

TOOL = "INCEpTION"
UNITS = ("utf16", "codepoint")
WHAT = 'expected UIMA CAS JSON (INCEpTION\'s "UIMA CAS JSON" export)'
_NOT_ANNOTATIONS = (
    "uima.cas.",
    "uima.tcas.DocumentAnnotation",
    "de.tudarmstadt.ukp.dkpro.core.api.segmentation.type.",
    "de.tudarmstadt.ukp.dkpro.core.api.metadata.type.",
)
_METADATA = (
    "uima.tcas.DocumentAnnotation",
    "de.tudarmstadt.ukp.dkpro.core.api.metadata.type.DocumentMetaData",
)
_LABEL_FEATURES = ("label", "value", "role")
_OWN = {"%ID", "%TYPE", "@sofa", "begin", "end", "^begin", "^end", "@Governor", "@Dependent"}


def expand(paths: list[Path]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        out.extend(sorted(p.rglob("*.json")) if p.is_dir() else [p])
    return out


def _is_int(v: Any) -> TypeGuard[int]:
    return isinstance(v, int) and not isinstance(v, bool)


def _structures(cas: Any) -> tuple[list[tuple[str, dict[str, Any]]], list[tuple[str, str]]]:
    """Every feature structure with its place, and what is wrong with the section's shape."""
    fss = cas.get("%FEATURE_STRUCTURES") if isinstance(cas, dict) else None
    out: list[tuple[str, dict[str, Any]]] = []
    errors: list[tuple[str, str]] = []
    if isinstance(fss, dict):
        # The serializer's "feature structures as object" mode: the key is the id.
        for key, fs in fss.items():
            where = f"%FEATURE_STRUCTURES[{key!r}]"
            if not key.isdigit() or not key.isascii():
                errors.append((where, f"expected a feature structure id (digits) as the key, found {key!r}"))
            elif not isinstance(fs, dict):
                errors.append((where, f"expected an object, found {found(fs)}"))
            else:
                out.append((where, {"%ID": int(key), **fs}))
    elif isinstance(fss, list):
        for i, fs in enumerate(fss):
            where = f"%FEATURE_STRUCTURES[{i}]"
            if not isinstance(fs, dict):
                errors.append((where, f"expected an object, found {found(fs)}"))
            else:
                out.append((where, fs))
    else:
        errors.append(
            (
                "%FEATURE_STRUCTURES",
                "expected an array (or object) of feature structures, "
                f"found {'nothing' if not isinstance(cas, dict) or '%FEATURE_STRUCTURES' not in cas else found(fss)}",
            )
        )
        return out, errors
    checked: list[tuple[str, dict[str, Any]]] = []
    for where, fs in out:
        if not _is_int(fs.get("%ID")):
            errors.append((f"{where}.%ID", f"expected an integer, found {found(fs.get('%ID'))}"))
        elif not isinstance(fs.get("%TYPE"), str):
            errors.append((f"{where}.%TYPE", f"expected a type name, found {found(fs.get('%TYPE'))}"))
        else:
            checked.append((f"{where} (%ID {fs['%ID']})", fs))
    return checked, errors


def read(paths: list[Path], opts: ReadOptions) -> Iterator[Read]:
    """Yield one `ToolDoc` per CAS JSON file."""
    for path in expand(paths):
        if path.stem == "INITIAL_CAS":
            yield left_out(
                path,
                None,
                None,
                "INITIAL_CAS is the pre-annotation state, not an annotator's work",
                "INITIAL_CAS files",
                records=1,
            )
            continue
        cas, _bad, unreadable = read_json_file(path, TOOL, WHAT)  # one record: refused whole
        if unreadable is not None:
            yield unreadable
            continue
        fss, errors = _structures(cas)
        sofas = [
            fs for _w, fs in fss if fs["%TYPE"] == "uima.cas.Sofa" and isinstance(fs.get("sofaString"), str)
        ]
        sofa = next((fs for fs in sofas if fs.get("sofaID") == "_InitialView"), sofas[0] if sofas else None)
        if sofa is None:
            errors.append(("", "no uima.cas.Sofa with a sofaString (the document text)"))
            spans = sum(1 for _w, fs in fss if "begin" in fs or "^begin" in fs)
            yield refused(path, None, errors, WHAT, display(path), spans=spans)
            continue
        in_project = path.parent.parent.name == "annotation"
        doc_id = m.safe_name(Path(path.parent.name).stem if in_project else path.stem)
        annotator = opts.annotator or (opts.lmap.annotator(path.stem) if in_project else "inception")
        doc = ToolDoc(
            tool=TOOL,
            file=display(path),
            line=None,
            where=path.name,
            doc_id=doc_id,
            annotator=annotator,
            text=sofa["sofaString"],
            units=UNITS,
        )
        doc.problems.extend(refused(path, None, errors, WHAT, "").problems)
        yield from _annotations(path, fss, sofa, doc)
        yield doc


def _annotations(
    path: Path, fss: list[tuple[str, dict[str, Any]]], sofa: dict[str, Any], doc: ToolDoc
) -> Iterator[Read]:
    by_id = {fs["%ID"]: fs for _w, fs in fss}

    def bad(where: str, message: str) -> None:
        doc.problems.append(file_problem("import-bad-format", path, None, where, message))

    for where, fs in fss:
        type_name = fs["%TYPE"]
        if type_name in _METADATA and isinstance(fs.get("language"), str):
            doc.meta.setdefault("language", fs["language"])
        if fs is sofa or type_name.startswith(_NOT_ANNOTATIONS):
            continue
        strings = {
            k: v for k, v in fs.items() if isinstance(v, str) and k not in _OWN and not k.startswith("%")
        }
        label_key = next(
            (k for k in _LABEL_FEATURES if k in strings), next(iter(strings)) if len(strings) == 1 else None
        )
        label = strings.pop(label_key) if label_key else type_name.rsplit(".", 1)[-1]
        if "@Governor" in fs or "@Dependent" in fs:
            gov, dep = fs.get("@Governor"), fs.get("@Dependent")
            if not (_is_int(gov) and _is_int(dep)):
                bad(
                    where,
                    f"@Governor {gov!r} and @Dependent {dep!r} must both be feature structure "
                    "ids; the relation is not imported",
                )
                doc.unread_relations += 1
                continue
            doc.relations.append(ToolRelation(label, str(gov), str(dep), where))
            continue
        begin, end = fs.get("begin", fs.get("^begin")), fs.get("end", fs.get("^end"))
        if begin is None and end is None:
            if "@target" not in fs:  # a slot's link structure is read with its span
                yield left_out(
                    path,
                    None,
                    where,
                    f"a {type_name} without begin and end is not an "
                    "annotation over the text; it is not imported",
                    "feature structures that are not annotations",
                )
            continue
        if not (_is_int(begin) and _is_int(end)):
            bad(where, f"begin {begin!r} and end {end!r} must both be integers; the span is not imported")
            doc.unread_spans += 1
            continue
        fields = dict(strings)
        for key, value in fs.items():
            if key in _OWN or key.startswith("%") or isinstance(value, str) or value is None:
                continue
            if key.startswith("@"):
                yield from _slot(path, where, fs, key[1:], value, by_id, doc)
            elif isinstance(value, bool | int | float):
                fields[key] = orjson.dumps(value).decode()
            else:
                yield left_out(
                    path,
                    None,
                    where,
                    f"feature {key!r} ({found(value)}) is not imported",
                    "features that are not strings or numbers",
                )
        doc.spans.append(
            ToolSpan(key=str(fs["%ID"]), labels=[label], fragments=[(begin, end)], fields=fields, where=where)
        )


def _slot(
    path: Path,
    where: str,
    host: dict[str, Any],
    feature: str,
    ref: Any,
    by_id: dict[int, dict[str, Any]],
    doc: ToolDoc,
) -> Iterator[Read]:
    """A reference feature of a span: a slot (FSArray of links) or a direct reference."""
    here = f"{where}.@{feature}"
    target = by_id.get(ref) if _is_int(ref) else None
    if target is None:
        doc.problems.append(
            file_problem(
                "import-bad-format",
                path,
                None,
                here,
                f"expected the id of a feature structure, found {found(ref)}",
            )
        )
        return
    elements = target.get("%ELEMENTS") if target["%TYPE"] == "uima.cas.FSArray" else [ref]
    if not isinstance(elements, list):
        doc.problems.append(
            file_problem("import-bad-format", path, None, here, f"the FSArray {ref} has no %ELEMENTS list")
        )
        return
    for i, element in enumerate(elements):
        if element is None:
            continue
        link = by_id.get(element) if _is_int(element) else None
        at = f"{here}[{i}]"
        if link is None:
            doc.problems.append(
                file_problem(
                    "import-bad-format",
                    path,
                    None,
                    at,
                    f"expected the id of a feature structure, found {found(element)}",
                )
            )
            doc.unread_relations += 1
        elif "@target" in link:
            role = link.get("role")
            label = role if isinstance(role, str) and role else feature
            if not _is_int(link["@target"]):
                doc.problems.append(
                    file_problem(
                        "import-bad-format",
                        path,
                        None,
                        at,
                        f"the link's @target must be an id, found {found(link['@target'])}",
                    )
                )
                doc.unread_relations += 1
                continue
            doc.relations.append(ToolRelation(label, str(host["%ID"]), str(link["@target"]), at))
        elif "begin" in link or "^begin" in link:
            doc.relations.append(ToolRelation(feature, str(host["%ID"]), str(element), at))
        else:
            yield left_out(
                path,
                None,
                at,
                f"feature @{feature} refers to a {link['%TYPE']}, which is "
                "neither a span nor a slot link; it is not imported",
                "references that are not slots",
            )
