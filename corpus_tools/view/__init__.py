"""`corpus view`: a static site to read the annotations in their text, and the disagreements.

The site is one folder of self-contained HTML pages (the stylesheet and the script are inlined
and allowed by hash; nothing is fetched from anywhere):

    SITE/index.html                           the documents: counts per layer, annotators,
                                              agreement, links
    SITE/doc/<doc_id>/<annotator>.html        one record (gold or a pass) with every layer drawn
    SITE/compare/<doc_id>.html                the passes side by side, what they agree and
                                              disagree on, and the decisions (with a decisions file)

(`doc_id` and `annotator` as file names that cannot collide: `files.portable_names`.)

- `inputs.py`: reading JSONL files and published dataset folders into documents;
- `marks.py`: a record's items and spans, and the text cut into segments at every boundary;
- `compare.py`: matching the passes of a document, and placing the merge's conflicts and the
  decisions on them;
- `site.py`: the templates (`templates/`), the inlined assets (`static/`) and their policy.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel

from corpus_tools.agreement import records_agreement
from corpus_tools.errors import CorpusToolsError
from corpus_tools.files import Outputs, display, portable_names, recover
from corpus_tools.merge import DocumentMerge, check_options, merge_records
from corpus_tools.merge.decisions import Decisions, read_decisions
from corpus_tools.schema import GOLD
from corpus_tools.view import site
from corpus_tools.view.compare import compare
from corpus_tools.view.inputs import Document, Source, read_corpus
from corpus_tools.view.marks import item_views, tokens

__all__ = ["ViewResult", "view"]

COMMAND = "corpus view"
"""The command recorded in the site folder: `corpus build` writes the same site."""

Progress = Callable[[str, int, int], None]


class ViewResult(BaseModel):
    """What `view` wrote."""

    output: str
    """The site folder."""
    index: str
    """Its first page (`index.html`)."""
    documents: int = 0
    pages: int = 0
    """Record pages (one per gold record and per pass)."""
    comparisons: int = 0
    """Comparison pages (one per document with two or more passes)."""
    decisions: int = 0
    """Decision lines shown on a comparison page: beside the conflict with their id, or apart
    when they match none (stale)."""
    corrections: int = 0
    """Correction lines shown with their document."""
    stale: int = 0
    """Of the lines shown, those the merge reports stale: decisions that match no conflict of
    their document, corrections that match no gold item."""
    refused: int = 0
    """Of the lines shown, those the merge refuses (it would stop on them): each is shown with
    the merge's message."""
    unplaced: int = 0
    """Lines of the decisions file shown on no page: of documents that are not among the inputs
    or have no comparison page (one pass), or without a `doc_id` and matching no conflict."""
    warnings: int = 0
    """Validation warnings in the inputs (they do not stop the site)."""


def view(
    paths: Iterable[Source],
    *,
    output: Path | str,
    decisions: Path | str | None = None,
    title: str = "Annotated corpus",
    match: str = "exact",
    overlap: float = 0.5,
    min_votes: int | None = None,
    adjudicator: str | None = None,
    progress: Progress | None = None,
) -> ViewResult:
    """Write a static site showing every record of the inputs, and comparing passes.

    Args:
        paths: annotator or gold JSONL files, folders searched for `*.jsonl`, published dataset
            folders (what `corpus publish` writes), or `Validated` handles.
        output: the site folder; replaced as a whole once every page is written. It must be new,
            empty, or a site this command wrote.
        decisions: a decisions file (`corpus merge --decisions`): the passes of each document
            are merged again as `corpus merge` merges them (nothing written), and comparison
            pages show each conflict with the decision that has its id, the decisions that match
            no conflict (stale), and the correction lines, each with the merge's status.
        title: the index page's heading.
        match, overlap, min_votes: the options of the merge the decisions were made on (as
            `corpus merge` takes them); they decide which conflicts arise, hence their ids.
        adjudicator: as `corpus merge --adjudicator`: the name given to decisions that name
            none (without one, an adjudicator's item that names nobody is refused, as the
            merge refuses it).
        progress: called as `progress("view", done, total)` as documents are written.

    Returns:
        A `ViewResult`.

    Raises:
        InvalidInputError: when an input fails validation (nothing is written).
        CorpusToolsError: when a path does not exist, the inputs hold no record or disagree on a
            document's text, the decisions file is malformed, a merge option is wrong, or the
            output cannot be written or lies among the inputs.
    """
    output = Path(output)
    sources = list(paths)
    corpus = read_corpus(sources)
    merging: Merging | None = None
    if decisions is not None:
        merging = Merging(
            read_decisions(Path(decisions)), Path(decisions), match, overlap, min_votes, adjudicator
        )
        merging.check()
    _check_output(output, [*corpus.inputs, *([Path(decisions)] if decisions is not None else [])])
    result = ViewResult(output=str(output), index=str(output / "index.html"), warnings=corpus.warnings)
    doc_ids = corpus.doc_ids()
    names = portable_names(doc_ids)
    rows: list[site.IndexRow] = []
    shown: set[int] = set()
    with Outputs(COMMAND) as out:
        folder = out.folder(output, option="--output")
        for number, doc in enumerate(corpus.documents()):
            if progress is not None:
                progress("view", number, len(doc_ids))
            rows.append(_write_document(folder, doc, names[doc.doc_id], merging, result, shown))
        (folder / "index.html").write_text(
            site.index_page(rows=rows, title=title, decisions=_shown(decisions)), encoding="utf-8"
        )
        out.commit()
    if merging is not None:
        result.unplaced = merging.lines() - len(shown)
    if progress is not None:
        progress("view", len(doc_ids), len(doc_ids))
    result.documents = len(rows)
    return result


def _shown(path: Path | str | None) -> str | None:
    return display(path) if path is not None else None


def _check_output(output: Path, inputs: list[Path]) -> None:
    """The site folder is replaced as a whole: it must not be, hold or lie inside an input."""
    recover(output)
    target = Path(os.path.realpath(output))
    for path in inputs:
        real = Path(os.path.realpath(path))
        if real == target or target in real.parents or real in target.parents:
            raise CorpusToolsError(
                f"--output {display(output)}: overlaps the input {display(path)}; write the site elsewhere"
            )


@dataclass
class Merging:
    """A decisions file, and the options of the merge its decisions were made on."""

    decisions: Decisions
    path: Path
    match: str
    overlap: float
    min_votes: int | None
    adjudicator: str | None = None

    def check(self) -> None:
        """Raises `CorpusToolsError` when an option is wrong, before anything is read further."""
        check_options(self.match, self.overlap, self.min_votes, self.adjudicator)

    def merge(self, doc: Document) -> DocumentMerge:
        """The passes of `doc` merged as `corpus merge` merges them; lines it would stop on are
        left out and noted (`DocumentMerge.refused`)."""
        return merge_records(
            doc.passes,
            decisions=self.decisions,
            source=display(self.path),
            match=self.match,
            overlap=self.overlap,
            min_votes=self.min_votes,
            adjudicator=self.adjudicator,
            keep_going=True,
        )

    def lines(self) -> int:
        """The decision and correction lines of the file."""
        return len(self.decisions.conflicts) + sum(len(c) for c in self.decisions.corrections.values())


def page_path(doc_name: str, annotator_name: str) -> str:
    """Where a record's page is, relative to the site folder, given the file names of its
    document and annotator (`files.portable_names`)."""
    return f"doc/{doc_name}/{annotator_name}.html"


def compare_path(doc_name: str) -> str:
    """Where a document's comparison page is, relative to the site folder."""
    return f"compare/{doc_name}.html"


def _write_document(
    folder: Path, doc: Document, name: str, merging: Merging | None, result: ViewResult, shown: set[int]
) -> site.IndexRow:
    """Write the pages of one document (`name`: its file name); return its row of the index.
    The decisions-file lines shown are added to `shown`."""
    has_compare = len(doc.passes) >= 2
    golds = {id(r) for r in doc.gold}
    files = portable_names(r.annotator for r in doc.records)
    links = [
        site.Link(
            f"{r.annotator} (gold)" if id(r) in golds and r.annotator != GOLD else r.annotator,
            page_path(name, files[r.annotator]),
        )
        for r in doc.records
    ]
    if has_compare:
        links.append(site.Link("compare the passes", compare_path(name)))

    def nav(current: str, root: str) -> list[site.Link]:
        return [site.Link(link.text, root + link.href, link.href == current) for link in links]

    records = []
    for record in doc.records:
        views = item_views(record, "p0")
        column = site.Column(record, views, tokens(record.text, views), "p0")
        path = page_path(name, files[record.annotator])
        html = site.record_page(
            doc_id=doc.doc_id,
            meta=doc.meta,
            column=column,
            gold=id(record) in golds,
            nav=nav(path, "../../"),
            root="../../",
        )
        _write(folder / path, html)
        result.pages += 1
        records.append((record, path, column.counts(), id(record) in golds))
    agreement = None
    compare_href = None
    if has_compare:
        agreement = records_agreement(doc.passes)
        columns = []
        for i, record in enumerate(doc.passes):
            views = item_views(record, f"p{i}")
            columns.append(site.Column(record, views, tokens(record.text, views), f"p{i}"))
        merged = merging.merge(doc) if merging is not None else None
        comparison = compare(
            doc.passes, [c.views for c in columns], merged, merging.decisions if merging else None
        )
        compare_href = compare_path(name)
        html = site.compare_page(
            doc_id=doc.doc_id,
            meta=doc.meta,
            columns=columns,
            comparison=comparison,
            agreement=agreement,
            decisions=_shown(merging.path if merging else None),
            nav=nav(compare_href, "../"),
            root="../",
        )
        _write(folder / compare_href, html)
        result.comparisons += 1
        for line in comparison.lines:
            if line.line is None or line.line in shown:
                continue
            shown.add(line.line)
            if line.correction:
                result.corrections += 1
            else:
                result.decisions += 1
            result.stale += line.status == "stale"
            result.refused += line.status == "refused"
    return site.IndexRow(doc.doc_id, doc.meta, len(doc.text), records, compare_href, agreement)


def _write(path: Path, html: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8", newline="\n")
