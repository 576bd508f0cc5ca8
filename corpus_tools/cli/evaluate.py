"""`corpus evaluate` and `corpus baseline`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from corpus_tools.cli.app import app, err, handle_errors, out
from corpus_tools.cli.merge import AgreementFormat, MatchMode, print_scores


@app.command()
@handle_errors(writes=False, invalid_status=2, format_param="fmt")
def evaluate(
    gold: Annotated[
        list[Path],
        typer.Option(
            "--gold", "-g", help="Gold JSONL files or folders, or a published dataset folder (with --split)."
        ),
    ],
    pred: Annotated[
        list[Path],
        typer.Option(
            "--pred",
            "-p",
            help="Prediction record files or folders (see `corpus validate --predictions`), or a published dataset folder.",
        ),
    ],
    split: Annotated[
        str | None, typer.Option("--split", help="The split of a published dataset folder (e.g. test).")
    ] = None,
    layer: Annotated[
        list[str] | None, typer.Option("--layer", "-l", help="Score only this layer (repeatable).")
    ] = None,
    match: Annotated[
        MatchMode,
        typer.Option(
            "--match", help="Headline matching (and --min-f1): exact offsets or overlap. Both are reported."
        ),
    ] = MatchMode.exact,
    overlap: Annotated[
        float, typer.Option("--overlap", help="Jaccard threshold of lenient (overlap) matching, in (0, 1].")
    ] = 0.5,
    fmt: Annotated[
        AgreementFormat, typer.Option("--format", "-f", help="Output format (json adds every document).")
    ] = AgreementFormat.text,
    min_f1: Annotated[
        float | None,
        typer.Option("--min-f1", help="Exit 1 if a predicted layer's span F1 (with --match) is below this."),
    ] = None,
) -> None:
    """Score a model's predictions against gold: P, R and F1 per layer, measure, part and label.

    Only what was predicted is scored: a layer or field the predictions leave out is reported
    as not predicted, never as 0. A gold document without a prediction counts as predicting
    nothing (and is listed). Exit status: 0 done, 1 a span F1 below --min-f1, 2 the inputs
    cannot be scored (invalid records, a prediction of an unknown document or on another text:
    the report says where; with --format json, as a JSON object on stdout) or a usage error.
    See docs/evaluate.md.

    Example: corpus evaluate --gold out/dataset --split test --pred predictions.jsonl
    """
    from corpus_tools.agreement import check_threshold
    from corpus_tools.evaluate import evaluate as run_evaluate

    if min_f1 is not None:
        check_threshold(min_f1, "--min-f1")
    report = run_evaluate(
        gold,
        pred,
        split=split,
        layers=layer,
        match=match.value,
        overlap=overlap,
        per_document=fmt is AgreementFormat.json,
    )
    print_scores(report, fmt, min_f1)


@app.command()
@handle_errors
def baseline(
    data: Annotated[
        Path,
        typer.Argument(
            help="A published dataset folder (`corpus publish`), or a split folder (`corpus split`: train/validation/test.jsonl)."
        ),
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="Results file to write, for the card (`corpus publish --results`)."
        ),
    ] = None,
) -> None:
    """Train, tune and score the baselines: the question-mark rule, a token CRF per layer, the
    majority label, and the ceiling of the tokens config.

    Each is trained on train, tuned on validation where it has a setting to tune, and scored on
    test with `corpus evaluate`'s library; prints the results table. Needs the `baselines`
    extra (pip install 'corpus-tools[baselines]'). Exit status: 0 done, 1 invalid inputs, 2
    usage error. See docs/evaluate.md.

    Example: corpus baseline out/dataset --output baselines/results.json
    """
    from corpus_tools.baseline import baselines

    results = baselines(data, output=output, progress=lambda note: err(f"baseline: {note}"))
    out(results.to_markdown())
    if output is not None:
        out(f"wrote {output}")
