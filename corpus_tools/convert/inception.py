"""INCEpTION (and WebAnno): read UIMA CAS JSON, one file per document and annotator.

Format: "JSON serialization of the Apache UIMA CAS" (apache/uima-uimaj-io-jsoncas
`SPECIFICATION.adoc`). `%FEATURE_STRUCTURES` holds the `uima.cas.Sofa` (its `sofaString` is the
text) and the annotations: span layers are `webanno.custom.<Name>` types with `begin`/`end`
(or `^begin`/`^end`) and a string feature holding the label (`label` or `value`, else the only
string feature, else the layer name); relation layers carry `@Governor` (from) and `@Dependent`
(to) and their own `begin`/`end`, which repeat the dependent's and are not a span. Segmentation
and metadata types (Token, Sentence, DocumentMetaData...) are not annotations. Offsets are
UTF-16 code units.

In a project export the file is `annotation/<document>/<user>.json`: the folder names the
document and the file the annotator (`INITIAL_CAS`, the pre-annotation state, is skipped).
Other string features of a span (e.g. `target`, `note`) are fields, mapped like brat
attributes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson

from corpus_tools.convert import mapping as m
from corpus_tools.convert.assemble import ReadOptions, ToolDoc, ToolRelation, ToolSpan, file_problem
from corpus_tools.problems import Problem

TOOL = "INCEpTION"
UNITS = ("utf16", "codepoint")
_NOT_ANNOTATIONS = ("uima.cas.", "uima.tcas.DocumentAnnotation",
                    "de.tudarmstadt.ukp.dkpro.core.api.segmentation.type.",
                    "de.tudarmstadt.ukp.dkpro.core.api.metadata.type.")
_LABEL_FEATURES = ("label", "value", "role")


def expand(paths: list[Path]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        out.extend(sorted(p.rglob("*.json")) if p.is_dir() else [p])
    return out


def read(paths: list[Path], opts: ReadOptions) -> Iterator[ToolDoc | Problem]:
    """Yield one `ToolDoc` per CAS JSON file."""
    for path in expand(paths):
        if path.stem == "INITIAL_CAS":
            yield file_problem("import-skipped", path, None, None,
                               "INITIAL_CAS is the pre-annotation state, not an annotator's work")
            continue
        try:
            cas = orjson.loads(path.read_bytes())
        except OSError as e:
            yield file_problem("unreadable-file", path, None, None, f"cannot read: {e.strerror}")
            continue
        except orjson.JSONDecodeError as e:
            yield file_problem("import-bad-format", path, None, None, f"not valid JSON: {e}")
            continue
        fss = cas.get("%FEATURE_STRUCTURES") if isinstance(cas, dict) else None
        if not isinstance(fss, list):
            yield file_problem("import-bad-format", path, None, None,
                               "no %FEATURE_STRUCTURES array; is this UIMA CAS JSON?")
            continue
        sofa = next((fs for fs in fss if isinstance(fs, dict) and fs.get("%TYPE") == "uima.cas.Sofa"
                     and isinstance(fs.get("sofaString"), str)), None)
        if sofa is None:
            yield file_problem("import-bad-format", path, None, None,
                               "no uima.cas.Sofa with a sofaString (the document text)")
            continue
        in_project = path.parent.parent.name == "annotation"
        doc_id = m.safe_name(Path(path.parent.name).stem if in_project else path.stem)
        annotator = opts.annotator or (opts.lmap.annotator(path.stem) if in_project else "inception")
        doc = ToolDoc(tool=TOOL, file=str(path), line=None, where=path.name, doc_id=doc_id,
                      annotator=annotator, text=sofa["sofaString"], units=UNITS)
        for i, fs in enumerate(fss):
            if not isinstance(fs, dict) or fs is sofa:
                continue
            type_name = str(fs.get("%TYPE", ""))
            if type_name.startswith(_NOT_ANNOTATIONS):
                continue
            where = f"%FEATURE_STRUCTURES[{i}] (%ID {fs.get('%ID')})"
            strings = {k: v for k, v in fs.items() if isinstance(v, str) and not k.startswith("%")}
            label_key = next((k for k in _LABEL_FEATURES if k in strings),
                             next(iter(strings)) if len(strings) == 1 else None)
            label = strings.pop(label_key) if label_key else type_name.rsplit(".", 1)[-1]
            if "@Governor" in fs or "@Dependent" in fs:
                doc.relations.append(ToolRelation(label, str(fs.get("@Governor")),
                                                  str(fs.get("@Dependent")), where))
                continue
            begin, end = fs.get("begin", fs.get("^begin")), fs.get("end", fs.get("^end"))
            if begin is None and end is None:
                continue  # not an annotation over the text
            if type(begin) is not int or type(end) is not int:
                yield file_problem("import-bad-format", path, None, where,
                                   f"begin {begin!r} and end {end!r} must both be integers; the "
                                   "span is not imported")
                continue
            doc.spans.append(ToolSpan(key=str(fs.get("%ID")), labels=[label],
                                      fragments=[(begin, end)], fields=strings, where=where))
        yield doc
