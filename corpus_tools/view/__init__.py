"""`corpus view`: a static site to read the annotations in their text, and the disagreements.

The site is one folder of self-contained HTML pages (the stylesheet and the script are inlined
and allowed by hash; nothing is fetched from anywhere):

    SITE/index.html                           the documents: counts per layer, annotators,
                                              agreement, links
    SITE/doc/<doc_id>/<annotator>.html        one record (gold or a pass) with every layer drawn
    SITE/compare/<doc_id>.html                the passes side by side, what they agree and
                                              disagree on, and the decisions (with a decisions file)

- `inputs.py`: reading JSONL files and published dataset folders into documents;
- `marks.py`: a record's items and spans, and the text cut into segments at every boundary;
- `compare.py`: matching the passes of a document, and placing the decisions;
- `site.py`: the templates (`templates/`), the inlined assets (`static/`) and their policy.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

from pydantic import BaseModel

from corpus_tools.agreement import records_agreement
from corpus_tools.errors import CorpusToolsError
from corpus_tools.files import Outputs, display, recover
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
    """Decided conflicts shown on a comparison page, beside the items they decide."""
    corrections: int = 0
    """Correction lines shown with their document."""
    unplaced: int = 0
    """Decisions shown apart, as no pass holds the items they were made on any more, and
    corrections of documents without a comparison page (which is where corrections are shown)."""
    warnings: int = 0
    """Validation warnings in the inputs (they do not stop the site)."""


def view(
    paths: Iterable[Source],
    *,
    output: Path | str,
    decisions: Path | str | None = None,
    title: str = "Annotated corpus",
    progress: Progress | None = None,
) -> ViewResult:
    """Write a static site showing every record of the inputs, and comparing passes.

    Args:
        paths: annotator or gold JSONL files, folders searched for `*.jsonl`, published dataset
            folders (what `corpus publish` writes), or `Validated` handles.
        output: the site folder; replaced as a whole once every page is written. It must be new,
            empty, or a site this command wrote.
        decisions: a conflicts / decisions file (`corpus merge --conflicts`): comparison pages
            show each decided conflict and correction with its decision and reason.
        title: the index page's heading.
        progress: called as `progress("view", done, total)` as documents are written.

    Returns:
        A `ViewResult`.

    Raises:
        InvalidInputError: when an input fails validation (nothing is written).
        CorpusToolsError: when a path does not exist, the inputs hold no record or disagree on a
            document's text, the decisions file is malformed, or the output cannot be written or
            lies among the inputs.
    """
    output = Path(output)
    sources = list(paths)
    corpus = read_corpus(sources)
    decided: Decisions | None = None
    if decisions is not None:
        decided = read_decisions(Path(decisions))
    _check_output(output, [*corpus.inputs, *([Path(decisions)] if decisions is not None else [])])
    result = ViewResult(output=str(output), index=str(output / "index.html"), warnings=corpus.warnings)
    doc_ids = corpus.doc_ids()
    rows: list[site.IndexRow] = []
    with Outputs(COMMAND) as out:
        folder = out.folder(output, option="--output")
        for number, doc in enumerate(corpus.documents()):
            if progress is not None:
                progress("view", number, len(doc_ids))
            rows.append(_write_document(folder, doc, decided, decisions, result))
        (folder / "index.html").write_text(
            site.index_page(rows=rows, title=title, decisions=_shown(decisions)), encoding="utf-8"
        )
        out.commit()
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


def page_path(doc_id: str, annotator: str) -> str:
    """Where a record's page is, relative to the site folder (names are safe as file names:
    the models allow only `A-Z a-z 0-9 . _ -`, starting with a letter or digit)."""
    return f"doc/{doc_id}/{annotator}.html"


def compare_path(doc_id: str) -> str:
    """Where a document's comparison page is, relative to the site folder."""
    return f"compare/{doc_id}.html"


def _write_document(
    folder: Path, doc: Document, decided: Decisions | None, decisions: Path | str | None, result: ViewResult
) -> site.IndexRow:
    """Write the pages of one document; return its row of the index."""
    has_compare = len(doc.passes) >= 2
    golds = {id(r) for r in doc.gold}
    links = [
        site.Link(
            f"{r.annotator} (gold)" if id(r) in golds and r.annotator != GOLD else r.annotator,
            page_path(doc.doc_id, r.annotator),
        )
        for r in doc.records
    ]
    if has_compare:
        links.append(site.Link("compare the passes", compare_path(doc.doc_id)))

    def nav(current: str, root: str) -> list[site.Link]:
        return [site.Link(link.text, root + link.href, link.href == current) for link in links]

    records = []
    for record in doc.records:
        views = item_views(record, "p0")
        column = site.Column(record, views, tokens(record.text, views), "p0")
        path = page_path(doc.doc_id, record.annotator)
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
        comparison = compare(doc.passes, [c.views for c in columns], decided)
        compare_href = compare_path(doc.doc_id)
        html = site.compare_page(
            doc_id=doc.doc_id,
            meta=doc.meta,
            columns=columns,
            comparison=comparison,
            agreement=agreement,
            decisions=_shown(decisions),
            nav=nav(compare_href, "../"),
            root="../",
        )
        _write(folder / compare_href, html)
        result.comparisons += 1
        result.decisions += sum(len(d.decisions) for d in comparison.disagreements)
        result.unplaced += len(comparison.unplaced)
        result.corrections += len(comparison.corrections)
    elif decided is not None:
        # Corrections are shown on comparison pages; a document without one cannot show them.
        result.unplaced += len(decided.corrections.get(doc.doc_id, []))
    return site.IndexRow(doc.doc_id, doc.meta, len(doc.text), records, compare_href, agreement)


def _write(path: Path, html: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8", newline="\n")
