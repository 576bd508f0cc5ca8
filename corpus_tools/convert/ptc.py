"""SemEval-2020 Task 11 (Propaganda Techniques Corpus): `article<ID>.txt` plus labels TSV.

Format: the PTC README ("Folder content and Data format") and the task's `tools/README.md`.
An article is `article<ID>.txt`; its technique spans are TAB-separated lines
`<ID> <TAB> <technique> <TAB> <begin> <TAB> <end>` (task 2 / flc-tc files, per article or
aggregated; technique names contain commas, so only TAB separates). Span-identification files
(`<ID> <TAB> <begin> <TAB> <end>`) carry no technique; their spans get the label `SI`. Offsets
are code points from the start of the file, a leading BOM counted as one character (so the file
is read as UTF-8, not UTF-8-SIG). There are no relations and no annotators: the annotator is
`ptc` unless `--annotator` says otherwise. The techniques are not our layers: map them with
`--label-map`, and give a default stance `target` there if techniques become stances.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from corpus_tools.convert.assemble import ReadOptions, ToolDoc, ToolSpan, file_problem
from corpus_tools.problems import Problem

TOOL = "PTC"
UNITS = ("codepoint", "utf16", "utf8")
_ARTICLE = re.compile(r"^article(\d+)\.txt$")


def read(paths: list[Path], opts: ReadOptions) -> Iterator[ToolDoc | Problem]:
    """Yield one `ToolDoc` per article that has label lines, in the order they first appear."""
    articles: dict[str, Path] = {}
    label_files: list[Path] = []
    for p in paths:
        files = sorted(q for q in p.rglob("*") if q.is_file()) if p.is_dir() else [p]
        for f in files:
            match = _ARTICLE.match(f.name)
            if match:
                articles[match.group(1)] = f
            elif f.suffix in (".labels", ".out", ".tsv"):
                label_files.append(f)
    docs: dict[str, ToolDoc] = {}
    for lf in label_files:
        try:
            lines = lf.read_text(encoding="utf-8").split("\n")
        except (OSError, UnicodeDecodeError) as e:
            yield file_problem("unreadable-file", lf, None, None, f"cannot read: {e}")
            continue
        for n, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            cols = line.rstrip("\r").split("\t")
            if len(cols) == 3:
                cols.insert(1, "SI")
            if len(cols) != 4 or not (cols[2].isdigit() and cols[3].isdigit()):
                yield file_problem("import-bad-format", lf, n, None,
                                   "expected `ID<TAB>technique<TAB>begin<TAB>end` (or "
                                   "`ID<TAB>begin<TAB>end`)")
                continue
            article, label, start, end = cols[0], cols[1], int(cols[2]), int(cols[3])
            if article not in docs:
                if article not in articles:
                    yield file_problem("import-bad-format", lf, n, None,
                                       f"article{article}.txt is not among the paths given; pass "
                                       "the articles folder too")
                    continue
                try:
                    # Not utf-8-sig: PTC offsets count a leading BOM as a character.
                    text = articles[article].read_bytes().decode("utf-8")
                except (OSError, UnicodeDecodeError) as e:
                    yield file_problem("unreadable-file", articles[article], None, None,
                                       f"cannot read: {e}")
                    continue
                docs[article] = ToolDoc(tool=TOOL, file=str(lf), line=None,
                                        where=f"article{article}", doc_id=f"article{article}",
                                        annotator=opts.annotator or "ptc", text=text, units=UNITS)
            doc = docs[article]
            if any(s.fragments == [(start, end)] and s.labels == [label] for s in doc.spans):
                yield file_problem("import-skipped", lf, n, None,
                                   "the same span and technique are on an earlier line (the "
                                   "PTC has exact duplicates); imported once")
                continue
            doc.spans.append(ToolSpan(key=f"line {n}", labels=[label],
                                      fragments=[(start, end)], where=f"{lf.name}:{n}", line=n))
    yield from docs.values()
