"""`corpus merge` and `corpus agreement`."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Protocol

import typer

from corpus_tools.cli.app import app, err, handle_errors, out
from corpus_tools.cli.engine import EngineName, EngineOption, SchedulerOption, engine_context

if TYPE_CHECKING:
    from corpus_tools.merge import MergeResult


class MatchMode(str, Enum):
    """How items are matched across annotators."""

    exact = "exact"
    overlap = "overlap"


class AgreementFormat(str, Enum):
    """How the agreement report is printed."""

    text = "text"
    json = "json"
    markdown = "markdown"


class ScoreReport(Protocol):
    """What `corpus agreement` and `corpus evaluate` print: a report in three formats, and the
    figures below a `--min-f1` threshold."""

    def to_text(self) -> str: ...
    def to_json(self) -> str: ...
    def to_markdown(self) -> str: ...
    def below(self, min_f1: float) -> list[str]: ...


def print_scores(report: ScoreReport, fmt: AgreementFormat, min_f1: float | None) -> None:
    """Print `report` in `fmt`; with `min_f1`, name every figure below it on stderr and exit 1."""
    render = {
        AgreementFormat.text: report.to_text,
        AgreementFormat.json: report.to_json,
        AgreementFormat.markdown: report.to_markdown,
    }[fmt]
    out(render())
    if min_f1 is not None:
        failures = report.below(min_f1)
        for failure in failures:
            err(failure)
        if failures:
            raise typer.Exit(code=1)


@app.command()
@handle_errors
def merge(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="Annotator JSONL files, folders to search for *.jsonl, or a published dataset (its `annotators` config)."
        ),
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="Gold JSONL file to write.")],
    conflicts: Annotated[
        Path, typer.Option("--conflicts", "-c", help="Conflicts JSONL file to write (the adjudication log).")
    ],
    decisions: Annotated[
        Path | None,
        typer.Option(
            "--decisions",
            "-d",
            help="Conflicts file with decisions filled in, to apply (may be the --conflicts file).",
        ),
    ] = None,
    match: Annotated[
        MatchMode, typer.Option("--match", help="Match items by exact offsets, or by span overlap.")
    ] = MatchMode.exact,
    overlap: Annotated[
        float, typer.Option("--overlap", help="Jaccard threshold of --match overlap, in (0, 1].")
    ] = 0.5,
    min_votes: Annotated[
        int | None,
        typer.Option(
            "--min-votes",
            help="Annotators needed to accept an item (default: more than half of the document's annotators).",
        ),
    ] = None,
    adjudicator: Annotated[
        str | None,
        typer.Option("--adjudicator", help="Name recorded on applied decisions that name no adjudicator."),
    ] = None,
    engine: EngineOption = EngineName.local,
    scheduler: SchedulerOption = None,
    jobs: Annotated[
        int, typer.Option("--jobs", "-j", help="With --engine dask: the workers of a local cluster.")
    ] = 1,
) -> None:
    """Merge annotators into gold by majority vote; write what they disagree on as conflicts.

    Fill in the `decision` of each conflict ({"accept": "<annotator>"}, {"reject": true} or
    {"replace": <item>}), add correction lines to fix gold items the annotators agreed on, and
    merge again with --decisions to apply them. Exit status: 0 merged (open conflicts
    included), 1 invalid inputs, 2 usage error (also a correction that is ambiguous or makes
    gold invalid). See docs/merge.md.

    Example: corpus merge annotations/ -o gold/gold.jsonl -c adjudication/conflicts.jsonl -d adjudication/conflicts.jsonl --adjudicator alice
    """
    from corpus_tools.merge import merge as run_merge

    with engine_context(engine, scheduler, jobs) as cluster:
        result = run_merge(
            paths,
            output=output,
            conflicts=conflicts,
            decisions=decisions,
            match=match.value,
            overlap=overlap,
            min_votes=min_votes,
            adjudicator=adjudicator,
            engine=cluster,
        )
    render_merge(result, decisions)


def render_merge(result: MergeResult, decisions: Path | None) -> None:
    """Print what a merge did: stale decisions to stderr, counts per layer to stdout."""
    for stale in result.stale:
        what = "correction" if stale.id is None else f"decision {stale.id}"
        err(
            f"{decisions}:{stale.line}: stale {what} ({stale.doc_id}, {stale.layer}): {stale.why}; "
            "kept in the conflicts file, marked stale"
        )
    out(
        f"merge: {result.documents} document(s) from {result.records} record(s) by "
        f"{len(result.annotators)} annotator(s) -> {result.output}"
    )
    for layer, c in result.layers.items():
        out(
            f"  {layer}: {c.gold} in gold, {c.conflicts} open conflict(s), {c.decided} decided, "
            f"{c.stale} stale decision(s); corrections: {c.replaced} replaced, {c.removed} removed, "
            f"{c.added} added"
        )
    out(f"  conflicts and decisions: {result.conflicts_file}")
    if result.open_conflicts:
        out(f"  {result.open_conflicts} conflict(s) await a decision in {result.conflicts_file}")


@app.command()
@handle_errors(writes=False)
def agreement(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="Annotator JSONL files, folders to search for *.jsonl, or a published dataset (its `annotators` config)."
        ),
    ],
    fmt: Annotated[
        AgreementFormat, typer.Option("--format", "-f", help="Output format.")
    ] = AgreementFormat.text,
    overlap: Annotated[
        float, typer.Option("--overlap", help="Jaccard threshold of lenient matching, in (0, 1].")
    ] = 0.5,
    min_f1: Annotated[
        float | None, typer.Option("--min-f1", help="Exit 1 if any layer's strict span F1 is below this.")
    ] = None,
    gold: Annotated[
        list[Path] | None,
        typer.Option(
            "--gold",
            help="Gold file(s) from `corpus merge`, or a published dataset (its `default` config): pair each annotator with gold instead (after adjudication).",
        ),
    ] = None,
    exclude: Annotated[
        list[str] | None, typer.Option("--exclude", help="Leave out this document (repeatable).")
    ] = None,
    only: Annotated[
        list[str] | None, typer.Option("--only", help="Measure only this document (repeatable).")
    ] = None,
) -> None:
    """Report inter-annotator agreement per layer: span F1, tuple F1, kappa and alpha.

    With --gold, each annotator is compared with the adjudicated gold instead of with the other
    annotators: how far the passes are from what was published. Exit status: 0 done, 1 invalid
    inputs or a strict F1 below --min-f1, 2 usage error. See docs/agreement.md for how each
    figure is computed.

    Example: corpus agreement annotations/ --format markdown --exclude isis-last-stand
    """
    from corpus_tools.agreement import agreement as compute_agreement
    from corpus_tools.agreement import check_threshold

    if min_f1 is not None:
        check_threshold(min_f1, "--min-f1")
    report = compute_agreement(paths, overlap=overlap, gold=gold, exclude=exclude or (), only=only)
    print_scores(report, fmt, min_f1)
