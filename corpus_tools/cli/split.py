"""`corpus split`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from corpus_tools.cli.app import app, err, handle_errors, out
from corpus_tools.errors import CorpusToolsError

if TYPE_CHECKING:
    from corpus_tools.split import SplitResult


@app.command()
@handle_errors
def split(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="Gold JSONL files, folders to search for *.jsonl, or a published dataset (its `default` config)."
        ),
    ],
    output: Annotated[
        Path,
        typer.Option(
            "--output", "-o", help="Folder to write train/validation/test.jsonl and splits.json to."
        ),
    ],
    ratios: Annotated[
        str,
        typer.Option("--ratios", help="Shares of documents for train,validation,test; they must sum to 1."),
    ] = "0.8,0.1,0.1",
    seed: Annotated[
        int, typer.Option("--seed", help="Seed for the order in which equal-sized groups are placed.")
    ] = 0,
    group_by: Annotated[
        str | None,
        typer.Option(
            "--group-by",
            help="Keep documents with the same value of this field in one split, e.g. meta.source.",
        ),
    ] = None,
    manifest: Annotated[
        Path | None,
        typer.Option(
            "--manifest",
            help="Manifest to extend and write [default: OUTPUT/splits.json]; documents it lists never move.",
        ),
    ] = None,
    new_split: Annotated[
        bool,
        typer.Option(
            "--new-split",
            help="Re-split a published dataset from scratch instead of keeping the split it ships (documents may move).",
        ),
    ] = False,
) -> None:
    """Split documents into train, validation and test, keeping groups and earlier splits intact.

    Every line of a document goes to one split; with --group-by, every document of a group does.
    An existing manifest keeps every document it lists where it was; only new ones are placed.
    A published dataset keeps the split it ships (its splits.json), unless --new-split.
    Exit status: 0 done, 1 invalid input (nothing written), 2 usage error.

    Example: corpus split gold/ --output splits/ --group-by meta.source
    """
    from corpus_tools.split import split as split_corpus

    try:
        parsed = tuple(float(r) for r in ratios.split(","))
    except ValueError:
        raise CorpusToolsError(
            f"--ratios must be three numbers separated by commas, like 0.8,0.1,0.1; got {ratios!r}"
        ) from None
    result = split_corpus(
        paths,
        output=output,
        ratios=parsed,
        seed=seed,
        group_by=group_by,
        manifest=manifest,
        new_split=new_split,
    )
    out(render(result))
    if result.validation.summary.warnings:
        err(
            f"note: the input has {result.validation.summary.warnings} validation warning(s); "
            "see `corpus validate`"
        )
    for leak in result.leakage:
        err(f"warning: leakage: {leak}")


def render(result: SplitResult) -> str:
    """A table of documents, groups and records per split, then what was written."""
    from corpus_tools.split import SPLITS

    lines = [f"{'split':<11} {'documents':>9} {'share':>7} {'target':>7} {'groups':>7} {'records':>8}"]
    for s in SPLITS:
        c = result.counts[s]
        lines.append(
            f"{s:<11} {c.documents:>9} {result.share(s):>7.1%} {result.ratios[s]:>7.1%} "
            f"{c.groups:>7} {c.records:>8}"
        )
    if result.kept:
        where = f"the dataset's {result.shipped}" if result.shipped is not None else str(result.manifest)
        lines.append(f"{result.kept} document(s) kept where {where} had them, {result.placed} placed now")
    if result.removed:
        lines.append(
            f"{len(result.removed)} document(s) in the manifest are no longer in the input "
            "(kept under `removed`, so they return to their split if they come back)"
        )
    lines.append(f"wrote {', '.join(str(p) for p in result.files.values())} and {result.manifest}")
    if result.leakage:
        lines.append(
            f"{len(result.leakage)} text(s) leak across splits (see the warnings and the "
            "manifest's `leakage`)"
        )
    return "\n".join(lines)
