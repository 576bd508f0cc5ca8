"""`corpus view`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from corpus_tools.cli.app import app, err, handle_errors, out
from corpus_tools.cli.merge import MatchMode

if TYPE_CHECKING:
    from corpus_tools.view import ViewResult


@app.command()
@handle_errors
def view(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="Annotator or gold JSONL files, folders to search for *.jsonl, or a published dataset folder."
        ),
    ],
    output: Annotated[
        Path,
        typer.Option(
            "--output", "-o", help="Folder to write the site to; replaced as a whole when complete."
        ),
    ],
    decisions: Annotated[
        Path | None,
        typer.Option(
            "--decisions",
            "-d",
            help="A conflicts / decisions file: comparison pages show each decision and its reason.",
        ),
    ] = None,
    title: Annotated[
        str, typer.Option("--title", help="The heading of the index page.")
    ] = "Annotated corpus",
    match: Annotated[
        MatchMode,
        typer.Option(
            "--match", help="With --decisions: the --match of the merge the decisions were made on."
        ),
    ] = MatchMode.exact,
    overlap: Annotated[
        float,
        typer.Option("--overlap", help="With --decisions: the --overlap of that merge."),
    ] = 0.5,
    min_votes: Annotated[
        int | None,
        typer.Option("--min-votes", help="With --decisions: the --min-votes of that merge."),
    ] = None,
    adjudicator: Annotated[
        str | None,
        typer.Option("--adjudicator", help="With --decisions: the --adjudicator of that merge."),
    ] = None,
) -> None:
    """Write a static site showing the annotations in their text, and where the passes disagree.

    Every record gets a page with its text and every layer drawn in it; every document with two
    or more annotator passes gets a page comparing them. With --decisions, the passes are merged
    again as `corpus merge` merges them (give the same --match, --overlap, --min-votes and
    --adjudicator), and each conflict is shown with the decision that has its id and the merge's
    status. The pages are self-contained (no network). Exit status: 0 done, 1 invalid input (nothing written), 2 usage error.

    Example: corpus view annotations/ out/gold.jsonl --output out/site --decisions adjudication/decisions.jsonl
    """
    from corpus_tools.view import view as write_site

    result = write_site(
        paths,
        output=output,
        decisions=decisions,
        title=title,
        match=match.value,
        overlap=overlap,
        min_votes=min_votes,
        adjudicator=adjudicator,
    )
    out(render(result))
    if result.warnings:
        err(f"note: the input has {result.warnings} validation warning(s); see `corpus validate`")
    if result.stale or result.refused:
        err(
            f"note: {result.stale} line(s) of the decisions file are stale and {result.refused} are "
            "refused by the merge; the comparison pages say why"
        )
    if result.unplaced:
        err(
            f"note: {result.unplaced} line(s) of the decisions file are shown on no page: their "
            "documents are not among the inputs or have one pass, or they name no document and "
            "match no conflict"
        )


def render(result: ViewResult) -> str:
    """What was written, and the page to open."""
    lines = [
        f"{result.documents} document(s): {result.pages} record page(s), "
        f"{result.comparisons} comparison page(s)"
    ]
    if result.decisions or result.corrections:
        lines.append(f"decisions shown: {result.decisions}; corrections shown: {result.corrections}")
    lines.append(f"wrote {result.output}; open {result.index}")
    return "\n".join(lines)
