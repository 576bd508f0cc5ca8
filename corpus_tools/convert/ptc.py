"""SemEval-2020 Task 11 (Propaganda Techniques Corpus): `article<ID>.txt` plus labels TSV.

Format: the PTC README ("Folder content and Data format") and the task's `tools/README.md`.
An article is `article<ID>.txt`; its technique spans are TAB-separated lines
`<ID> <TAB> <technique> <TAB> <begin> <TAB> <end>` (technique-classification files, per article
or aggregated; technique names contain commas, so only TAB separates). Span-identification files
(`<ID> <TAB> <begin> <TAB> <end>`) carry no technique; their spans get the label `SI`. The
templates the task gave out (`?` for the technique) are not annotations and are left out.

Labels files go by many names across the corpus's versions and its scorer:
`article<ID>.task1-SI.labels`, `.task2-TC.labels` (SemEval-2020), `.task-si.labels`,
`.task-flc-tc.labels` (v2), `.labels-task-TC`, `.task-SI.labels`, `.task-FLC.labels` (the
scorer's examples) and the aggregated `train-task2-TC.labels`: in a folder, every file whose name
holds `labels` is read as a labels file. A file named directly is read as one whatever its name
(a template such as `dev-task-TC-template.out`, a submission `*.tsv`). Any other file of a
folder (a technique list, a system's submission) is reported as not read.

Offsets are code points from the start of the file, a leading BOM counted as one character (so
the article is read as UTF-8, not UTF-8-SIG). There are no relations and no annotators: the
annotator is `ptc` unless `--annotator` says otherwise. The techniques are not our layers: map
them with `--label-map` (and `SI`, e.g. to `ignore` when the technique files are given too), and
give a default stance `target` there if techniques become stances. An article whose own labels
file is empty has no spans, and becomes a record without items.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from corpus_tools.convert.assemble import Read, ReadOptions, ToolDoc, ToolSpan, file_problem, left_out
from corpus_tools.files import display, input_files, utf8_error

TOOL = "PTC"
UNITS = ("codepoint", "utf16", "utf8")
_ARTICLE = re.compile(r"^article(\d+)\.txt$")
_LABELS = re.compile(r"(?i)labels")
_OFFSET = re.compile(r"[0-9]+")
TEMPLATE = "?"
"""The technique column of the task's templates (`dev-task-TC-template.out`)."""


def read(paths: list[Path], opts: ReadOptions) -> Iterator[Read]:
    """Yield one `ToolDoc` per article that has labels, in the order its labels first appear."""
    articles: dict[str, Path] = {}
    label_files: list[Path] = []
    own_files: dict[str, list[Path]] = {}  # article id -> its own labels files (maybe empty)
    for p in paths:
        folder = p.is_dir()
        for f in input_files([p], None) if folder else [p]:
            match = _ARTICLE.match(f.name)
            if match:
                articles[match.group(1)] = f
            elif not folder or _LABELS.search(f.name):
                label_files.append(f)
                own = re.match(r"^article(\d+)\.", f.name)
                if own:
                    own_files.setdefault(own.group(1), []).append(f)
            else:
                yield left_out(
                    f,
                    None,
                    None,
                    "not read: neither an article (article<ID>.txt) nor a labels file "
                    "(a name with `labels`); name it on the command line to read it",
                    "files not read",
                )
    docs: dict[str, ToolDoc] = {}
    seen: dict[str, dict[tuple[int, int, str], str]] = {}

    def doc_of(article: str, lf: Path) -> ToolDoc:
        if article in docs:
            return docs[article]
        try:
            # Not utf-8-sig: PTC offsets count a leading BOM as a character.
            text = articles[article].read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError) as e:
            docs[article] = ToolDoc(
                tool=TOOL,
                file=display(lf),
                line=None,
                where=f"article{article}",
                doc_id=f"article{article}",
                annotator=opts.annotator or "ptc",
                text="",
                units=UNITS,
            )
            docs[article].problems.append(
                file_problem(
                    "unreadable-file", articles[article], None, None, f"cannot read the article: {e}"
                )
            )
            return docs[article]
        docs[article] = ToolDoc(
            tool=TOOL,
            file=display(lf),
            line=None,
            where=f"article{article}",
            doc_id=f"article{article}",
            annotator=opts.annotator or "ptc",
            text=text,
            units=UNITS,
        )
        seen[article] = {}
        return docs[article]

    for lf in label_files:
        try:
            # A BOM at the start of a labels file is not part of the first article id.
            lines = lf.read_bytes().decode("utf-8-sig").split("\n")
        except OSError as e:
            yield file_problem("unreadable-file", lf, None, None, f"cannot read: {e.strerror}")
            continue
        except UnicodeDecodeError as e:
            yield file_problem(
                "invalid-utf8",
                lf,
                e.object[: e.start].count(b"\n") + 1,
                None,
                f"not UTF-8: {utf8_error(e.object, e, ' of the file')}; the PTC's files are UTF-8",
            )
            continue
        for n, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            cols = line.rstrip("\r").split("\t")
            if len(cols) == 3:
                cols.insert(1, "SI")
            if len(cols) != 4 or not (_OFFSET.fullmatch(cols[2]) and _OFFSET.fullmatch(cols[3])):
                yield file_problem(
                    "import-bad-format",
                    lf,
                    n,
                    None,
                    "expected `ID<TAB>technique<TAB>begin<TAB>end` (or "
                    "`ID<TAB>begin<TAB>end`), the offsets in digits",
                )
                continue
            article, label, start, end = cols[0], cols[1], int(cols[2]), int(cols[3])
            where = f"{lf.name}:{n}"
            if article not in articles:
                yield file_problem(
                    "import-bad-format",
                    lf,
                    n,
                    None,
                    f"article{article}.txt is not among the paths given; pass the articles folder too",
                )
                continue
            if label == TEMPLATE:
                yield left_out(
                    lf,
                    n,
                    None,
                    "a template line (technique `?`) is not an annotation",
                    "template lines (technique ?)",
                    spans=1,
                )
                continue
            doc = doc_of(article, lf)
            key = (start, end, label)
            if key in seen.get(article, {}):
                yield left_out(
                    lf,
                    n,
                    None,
                    f"the same span and technique are at {seen[article][key]} (the PTC "
                    "has exact duplicates); imported once",
                    "exact duplicate lines",
                    spans=1,
                )
                continue
            seen.setdefault(article, {})[key] = where
            # Keyed by file and line: an article's SI and TC files (or a TC file in parts) have
            # the same line numbers, and no span may take another's place.
            doc.spans.append(
                ToolSpan(
                    key=where, labels=[label], fragments=[(start, end)], where=where, line=n, file=display(lf)
                )
            )
    for article, files in own_files.items():
        if article in articles and article not in docs:
            doc_of(article, files[0])  # its own labels file is empty: no spans
    for article, path in articles.items():
        if article not in docs:
            yield left_out(
                path,
                None,
                None,
                f"not read: no labels file given has a line for article {article}",
                "articles without labels",
            )
    yield from docs.values()
