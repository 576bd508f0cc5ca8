"""`corpus validate` and `corpus problems`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

import corpus_tools
from corpus_tools.cli.app import ReportFormat, app, handle_errors, jobs_option, out
from corpus_tools.cli.engine import EngineName, EngineOption, SchedulerOption, engine_context
from corpus_tools.cli.render import report_github, report_json, report_text
from corpus_tools.problems import CATALOGUE, catalogue_markdown


@app.command()
@handle_errors
def validate(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="JSONL files, folders to search for *.jsonl, published datasets or their parquet files."
        ),
    ],
    fmt: Annotated[ReportFormat, typer.Option("--format", "-f", help="Output format.")] = ReportFormat.text,
    ignore: Annotated[
        list[str], typer.Option("--ignore", help="Skip problems with this code (repeatable).")
    ] = [],  # noqa: B006
    max_problems: Annotated[
        int, typer.Option("--max-problems", help="Show at most N problems per code; 0 shows all.")
    ] = 100,
    strict: Annotated[bool, typer.Option("--strict", help="Fail on warnings too.")] = False,
    jobs: Annotated[
        int,
        typer.Option(
            "--jobs",
            "-j",
            help="Check files and chunks of large files in N processes (the workers of a local Dask cluster).",
        ),
    ] = 1,
    aliases: Annotated[
        Path | None,
        typer.Option(
            "--aliases",
            help="Alias file of stance targets: forms a target may take that do not occur in the text. Default: the file `[tool.corpus] aliases` names in ./pyproject.toml, if any, and the aliases.jsonl a published dataset ships.",
        ),
    ] = None,
    predictions: Annotated[
        bool,
        typer.Option(
            "--predictions",
            help="Check a model's prediction records (what `corpus evaluate --pred` reads): what a model does not predict may be left out.",
        ),
    ] = False,
    engine: EngineOption = EngineName.local,
    scheduler: SchedulerOption = None,
) -> None:
    """Check annotation files against the format and the corpus rules.

    Reports every problem with file, line, field and a fix. With --predictions, checks a model's
    prediction records instead (docs/evaluate.md). Exit status: 0 valid, 1 problems found, 2
    usage error.

    Example: corpus validate annotations/ --format github
    """
    given = aliases is not None
    if aliases is None:
        from corpus_tools.build import project_aliases

        aliases = project_aliases()
    with engine_context(engine, scheduler, jobs) as cluster:
        report = corpus_tools.validate(
            paths,
            ignore=ignore,
            max_problems=None if max_problems == 0 else max_problems,
            strict=strict,
            jobs=jobs_option(jobs),
            aliases=aliases,
            dataset_aliases=not given,
            predictions=predictions,
            engine=cluster,
        )
    render = {
        ReportFormat.text: report_text,
        ReportFormat.json: report_json,
        ReportFormat.github: report_github,
    }[fmt]
    out(render(report))
    raise typer.Exit(code=int(not report.valid))


@app.command()
def problems(
    markdown: Annotated[
        bool, typer.Option("--markdown", help="Print the catalogue as Markdown (docs/problems.md).")
    ] = False,
) -> None:
    """List every problem code with its severity and how to fix it.

    Example: corpus problems --markdown > docs/problems.md
    """
    if markdown:
        out(catalogue_markdown())
        return
    for c in CATALOGUE.values():
        out(f"{c.code:<26} {c.severity:<8} {c.title}")
