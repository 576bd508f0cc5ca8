"""`corpus import` and `corpus export`: to and from the annotation tools annotators use."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import orjson
import typer

from corpus_tools.cli.app import ReportFormat, app, err, handle_errors, out
from corpus_tools.convert import EXPORT_CONFIGS, EXPORT_FORMATS, IMPORT_FORMATS
from corpus_tools.errors import CorpusToolsError
from corpus_tools.files import display, is_stdout, output_name

if TYPE_CHECKING:
    from corpus_tools.convert.run import ImportResult, Tally

    # What the type checker can know of the two enums below: string enums, whose members are
    # made at run time from the format registry.
    class ImportFormat(str, Enum):
        _value_: str

    class ExportFormat(str, Enum):
        _value_: str

else:
    ImportFormat = Enum("ImportFormat", {name: name for name in IMPORT_FORMATS}, type=str)
    ExportFormat = Enum("ExportFormat", {n: n for n in EXPORT_FORMATS + EXPORT_CONFIGS}, type=str)


@app.command("import")
@handle_errors
def import_(
    fmt: Annotated[ImportFormat, typer.Argument(metavar="FORMAT", help="The tool whose export to read.")],
    paths: Annotated[
        list[Path], typer.Argument(help="Export files, or folders of them (brat: one folder per annotator).")
    ],
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            help="The JSONL file to write the records to; - for standard output (the report then goes to stderr).",
        ),
    ],
    annotator: Annotated[
        str | None,
        typer.Option("--annotator", help="Annotator name for every record, overriding what the files say."),
    ] = None,
    label_map: Annotated[
        Path | None,
        typer.Option(
            "--label-map",
            help="JSON or TOML file mapping the project's labels, relations, fields and user ids onto the convention.",
        ),
    ] = None,
    report: Annotated[
        bool, typer.Option("--report", help="Also list every span whose offsets were converted.")
    ] = False,
    partial: Annotated[
        bool,
        typer.Option(
            "--partial",
            help="On errors, still write the records that converted cleanly (exit status stays 1).",
        ),
    ] = False,
    predictions: Annotated[
        bool,
        typer.Option(
            "--predictions",
            help="Label Studio: import predictions too (as `corpus export labelstudio` writes records).",
        ),
    ] = False,
    language: Annotated[
        str | None,
        typer.Option(
            "--language",
            help="BCP 47 language tag (de, nb, zh-Hant) of documents whose export names none; default und (undetermined).",
        ),
    ] = None,
    fmt_out: Annotated[
        ReportFormat,
        typer.Option(
            "--format",
            "-f",
            help="How to print problems, conversions and the summary: text, json, or github "
            "(each problem as a GitHub Actions annotation, then the summary as text).",
        ),
    ] = ReportFormat.text,
) -> None:
    """Convert an annotation tool's export into records, checking every span.

    Offsets are converted to code points (UTF-16 units, bytes and brat's CR LF are detected) and
    every span is checked against the document text. When there is any error nothing is
    written, unless --partial is given: then the records without errors are written and the
    others are listed. The import ends with a summary: how many spans and relations were read,
    converted, left out (and why) and refused. Exit status: 0 written, 1 errors found, 2 usage
    error.

    Example: corpus import labelstudio export.json --output annotations/ls.jsonl --label-map map.toml
    """
    from corpus_tools.convert.run import import_records

    result = import_records(
        fmt.value,
        paths,
        annotator=annotator,
        label_map=label_map,
        predictions=predictions,
        language=language,
        output=output,
        partial=partial,
    )
    # With the records on standard output (`-o -`), the report goes to stderr.
    say = err if is_stdout(output) else out
    if fmt_out is ReportFormat.json:
        say(render_json(result, report))
    elif fmt_out is ReportFormat.github:
        from corpus_tools.cli.render import github_annotations

        say("\n".join([*github_annotations(result.problems), render_text(result, report, problems=False)]))
    else:
        say(render_text(result, report))
    raise typer.Exit(code=int(not result.valid))


def render_text(result: ImportResult, report: bool, *, problems: bool = True) -> str:
    """Problems, then (with --report) conversions, then what became of everything read."""
    lines = [str(p) for p in result.problems] if problems else []
    if report:
        lines += [f"converted: {c}" for c in result.conversions]
    written = result.written
    lines += [f"withheld: {w}" for w in result.withheld] if written else []
    lines.append(f"spans: {_tally_text(result.spans)}")
    lines.append(f"relations: {_tally_text(result.relations)}")
    records = result.record_tally
    verdict = "imported" if result.valid else "INVALID"
    lines.append(
        f"{verdict}: {records.read} record(s) read, {records.converted} clean, "
        + (
            f"{sum(records.left_out.values())} left out ({_reasons(records.left_out)}), "
            if records.left_out
            else ""
        )
        + (f"{records.refused} withheld, " if records.refused else "")
        + f"{result.errors} error(s), {result.warnings} warning(s), "
        f"{len(result.conversions)} offset conversion(s)"
    )
    if written:
        lines.append(f"wrote {len(result.records)} record(s) to {output_name(written)}")
    else:
        lines.append(f"nothing was written: {result.not_written}")
    return "\n".join(lines)


def _reasons(left_out: dict[str, int]) -> str:
    return ", ".join(f"{n} {why}" for why, n in left_out.items())


def _tally_text(tally: Tally) -> str:
    left = sum(tally.left_out.values())
    return (
        f"{tally.read} read, {tally.converted} converted, {left} left out"
        + (f" ({_reasons(tally.left_out)})" if left else "")
        + f", {tally.refused} refused"
        + (" (in records with errors, or unreadable)" if tally.refused else "")
    )


def _tally_json(tally: Tally) -> dict[str, object]:
    return {
        "read": tally.read,
        "converted": tally.converted,
        "left_out": tally.left_out,
        "refused": tally.refused,
    }


def render_json(result: ImportResult, report: bool) -> str:
    """`{"problems", "conversions", "withheld", "summary"}` as JSON."""
    data = {
        "problems": [p.model_dump() for p in result.problems],
        "conversions": [
            {
                "file": c.file,
                "line": c.line,
                "where": c.where,
                "doc_id": c.doc_id,
                "annotator": c.annotator,
                "span": c.span,
                "unit": c.unit,
                "before": list(c.before),
                "after": list(c.after),
            }
            for c in result.conversions
        ]
        if report
        else [],
        "withheld": result.withheld,
        "summary": {
            "records_read": result.documents,
            "clean": len(result.records),
            "errors": result.errors,
            "warnings": result.warnings,
            "conversions": len(result.conversions),
            "valid": result.valid,
            "written": display(result.written) if result.written else None,
            "not_written": result.not_written,
            "records": _tally_json(result.record_tally),
            "spans": _tally_json(result.spans),
            "relations": _tally_json(result.relations),
        },
    }
    return orjson.dumps(data, option=orjson.OPT_INDENT_2).decode()


@app.command("export")
@handle_errors
def export(
    fmt: Annotated[
        ExportFormat,
        typer.Argument(
            metavar="FORMAT",
            help="labelstudio or brat (records), labelstudio-config or brat-config (configuration only).",
        ),
    ],
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Annotator or gold JSONL files, folders of them, or a published dataset (not for the -config formats)."
        ),
    ] = None,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Folder to write; for records it must be new or empty.")
    ] = Path("export"),
) -> None:
    """Write records for an annotation tool, or the tool's labelling configuration.

    `labelstudio` writes tasks.json (records as predictions, so annotation or adjudication
    starts from them) and label_config.xml; `brat` writes a collection, one folder per
    annotator, with annotation.conf and visual.conf. The -config formats write only the
    configuration, generated from the models' labels. Extra layers (CORPUS_TOOLS_LAYERS) are
    exported too, but `corpus import` cannot read them back yet (a note on stderr says so).
    Exit status: 0 written, 1 invalid input (nothing written), 2 usage error.

    Example: corpus export brat annotations/ --output brat-collection/
    """
    from corpus_tools.convert.run import export_config, export_records

    if fmt.value in EXPORT_CONFIGS:
        if paths:
            raise CorpusToolsError(f"{fmt.value} takes no input files; it is generated from the models")
        result = export_config(fmt.value, output)
    else:
        if not paths:
            raise CorpusToolsError(f"{fmt.value} needs the JSONL files to export")
        result = export_records(fmt.value, paths, output=output)
        out(f"exported {result.records} record(s) of {result.documents} document(s)")
    for path in result.files:
        out(f"wrote {path}")
    for note in result.notes:
        err(f"note: {note}")
