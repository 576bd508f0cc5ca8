"""`corpus publish` and `corpus build`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from corpus_tools.cli.app import app, err, handle_errors, jobs_option, out
from corpus_tools.cli.engine import (
    EngineName,
    EngineOption,
    SchedulerOption,
    engine_context,
    progress_display,
)
from corpus_tools.cli.merge import render_merge


@app.command()
@handle_errors
def publish(
    split_dir: Annotated[
        Path,
        typer.Argument(help="Folder written by `corpus split` (train/validation/test.jsonl, splits.json)."),
    ],
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            help="Folder to write the dataset repository to; replaced only after the new one loads.",
        ),
    ],
    annotators: Annotated[
        list[Path] | None,
        typer.Option(
            "--annotators",
            help="The annotator files or folders gold was merged from: the `annotators` config, each document's passes and the agreement tables (repeatable).",
        ),
    ] = None,
    conflicts: Annotated[
        Path | None,
        typer.Option(
            "--conflicts",
            help="The conflicts file `corpus merge` wrote (the adjudication log): the `conflicts` config and each document's `adjudicated`.",
        ),
    ] = None,
    guidelines: Annotated[
        Path | None,
        typer.Option(
            "--guidelines",
            help="The annotation guidelines (Markdown with a `Guidelines version: N` line): shipped as GUIDELINES.md, version on the card.",
        ),
    ] = None,
    push: Annotated[
        str | None,
        typer.Option("--push", help="Upload the result to this Hub dataset (user/name), in one commit."),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="With --push: replace the contents of an existing Hub dataset.")
    ] = False,
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            help="Hub token [default: HF_TOKEN or the stored login]; never printed.",
            envvar="HF_TOKEN",
            show_envvar=False,
        ),
    ] = None,
    jobs: Annotated[
        int,
        typer.Option(
            "--jobs", "-j", help="Validate the inputs in N processes (the workers of a local Dask cluster)."
        ),
    ] = 1,
    name: Annotated[str | None, typer.Option("--name", help="The dataset's name on its card.")] = None,
    license_id: Annotated[
        str | None,
        typer.Option("--license", help="Licence of the annotations, a Hub licence id [default: cc-by-4.0]."),
    ] = None,
    guidelines_version: Annotated[
        str | None,
        typer.Option(
            "--guidelines-version",
            help="The version of the annotation guidelines gold follows, for the card.",
        ),
    ] = None,
    headline_exclude: Annotated[
        list[str] | None,
        typer.Option(
            "--headline-exclude",
            help="Leave this document out of the card's headline agreement and report it on its own (repeatable).",
        ),
    ] = None,
    tokens: Annotated[
        bool,
        typer.Option(
            "--tokens",
            help="Add the `tokens` config: gold as tokens with IOB2 tags (needs the tokens extra).",
        ),
    ] = False,
    results: Annotated[
        Path | None,
        typer.Option("--results", help="Results file of `corpus baseline`: its table goes on the card."),
    ] = None,
    aliases: Annotated[
        Path | None,
        typer.Option(
            "--aliases",
            help="Alias file of stance targets (guideline S7): the inputs are validated against it, and its lines of the dataset's documents ship as aliases.jsonl.",
        ),
    ] = None,
    engine: EngineOption = EngineName.local,
    scheduler: SchedulerOption = None,
) -> None:
    """Write a Hugging Face dataset (parquet + dataset card) from a split folder.

    Loads the result back with `datasets` before replacing OUTPUT. Exit status: 0 done, 1 invalid
    input (nothing written), 2 usage error.

    Example: corpus publish out/splits -o out/dataset --annotators annotations/ --conflicts out/conflicts.jsonl
    """
    from corpus_tools.publish import CardMetadata
    from corpus_tools.publish import publish as publish_dataset

    defaults = CardMetadata()
    metadata = CardMetadata(
        pretty_name=name or defaults.pretty_name,
        license=license_id or defaults.license,
        guidelines_version=guidelines_version,
        headline_exclude=tuple(headline_exclude or ()),
    )
    with progress_display() as progress, engine_context(engine, scheduler, jobs, progress) as cluster:
        result = publish_dataset(
            split_dir,
            output=output,
            annotators=annotators,
            conflicts=conflicts,
            guidelines=guidelines,
            push=push,
            force=force,
            token=token,
            jobs=jobs_option(jobs),
            metadata=metadata,
            progress=progress,
            tokens=tokens,
            results=results,
            aliases=aliases,
            engine=cluster,
        )
    out(render_publish(result))


@app.command()
@handle_errors
def build(
    config: Annotated[
        Path | None,
        typer.Option(
            "--config", "-c", help="TOML file with the settings [default: [tool.corpus] in ./pyproject.toml]."
        ),
    ] = None,
) -> None:
    """Validate, merge, split and publish the corpus, with the settings in [tool.corpus].

    With `site` set, it also writes the static site of `corpus view` (the passes, gold and the
    decisions) and prints where to open it.

    Exit status: 0 done, 1 invalid input, 2 usage error (bad settings, a step cannot run).

    Example: corpus build --config corpus.toml
    """
    from corpus_tools.build import build as build_corpus
    from corpus_tools.build import load_config

    settings = load_config(config)
    with progress_display() as progress:
        result = build_corpus(settings, progress=progress)
    merged, splitted = result.merge, result.split
    if result.validation.summary.warnings:
        err(
            f"note: the annotations have {result.validation.summary.warnings} validation "
            "warning(s); see `corpus validate`"
        )
    if settings.decisions is not None and not result.decisions_applied:
        err(f"note: no decisions file at {settings.decisions} yet; open conflicts are left out of gold")
    if settings.baselines is not None and not result.baselines_applied:
        err(
            f"note: no baseline results at {settings.baselines} yet; the card has no baseline table (make baselines)"
        )
    render_merge(merged, settings.decisions)
    out(
        "split: "
        + ", ".join(f"{s} {c.documents}" for s, c in splitted.counts.items())
        + f" document(s) -> {splitted.output}"
    )
    for leak in splitted.leakage:
        err(f"warning: leakage: {leak}")
    out(render_publish(result.publish))
    if result.view is not None:
        site = result.view
        out(
            f"site: {site.pages} record page(s), {site.comparisons} comparison page(s) of "
            f"{site.documents} document(s); open {site.index}"
        )


def render_publish(result: Any) -> str:
    """Rows per config and split, the card's licence, and where it went."""
    lines = []
    for config, splits in result.configs.items():
        lines.append(f"{config}: " + ", ".join(f"{s} {v.rows}" for s, v in splits.items()) + " row(s)")
    if result.empty_splits:
        lines.append(f"left out (no documents): {', '.join(result.empty_splits)}")
    for config, splits in result.missing_splits.items():
        lines.append(
            f"{config}: no rows in {', '.join(splits)}, so no such split (datasets cannot load an empty one)"
        )
    if result.conflicts_left_out:
        lines.append(
            f"conflicts: left out {result.conflicts_left_out} stale line(s) about documents outside the dataset"
        )
    if result.guidelines:
        lines.append(f"guidelines: version {result.guidelines_version}, shipped as {result.guidelines}")
    if result.aliases:
        lines.append(
            f"aliases: the stance targets' aliases of {result.aliases_documents} document(s), shipped as {result.aliases}"
        )
    lines.append(f"{len(result.documents)} document(s); card licence: {result.license}")
    lines.append(f"wrote {result.output} (loads with datasets; offsets checked on a sample)")
    if result.pushed:
        lines.append(f"pushed: {result.pushed}")
    return "\n".join(lines)
