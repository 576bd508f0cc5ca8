"""Rendering a validation `Report` as text, JSON or GitHub Actions annotations."""

from __future__ import annotations

from collections.abc import Iterable

import orjson

from corpus_tools.problems import Problem, Report


def report_text(report: Report) -> str:
    """One line per problem, then the omissions and a summary line."""
    lines = [str(p) for p in report.problems]
    s = report.summary
    for code, n in s.omitted.items():
        lines.append(f"... {n} more [{code}] problem(s) not shown (raise --max-problems, or 0 for no limit)")
    verdict = "valid" if report.valid else "INVALID"
    lines.append(
        f"{verdict}: {s.files} file(s), {s.records} record(s), {s.errors} error(s), {s.warnings} warning(s)"
    )
    return "\n".join(lines)


def report_json(report: Report) -> str:
    """`{"problems": [...], "summary": {..., "valid": bool}}`."""
    data = {
        "problems": [p.model_dump() for p in report.problems],
        "summary": {**report.summary.model_dump(), "valid": report.valid},
    }
    return orjson.dumps(data, option=orjson.OPT_INDENT_2).decode()


def report_github(report: Report) -> str:
    """GitHub Actions workflow commands: `::error file=F,line=L,title=CODE::message` (in a
    parquet file, `::error file=F,title=CODE::row R: message`)."""
    lines = github_annotations(report.problems)
    lines.append(report_text(Report(summary=report.summary, strict=report.strict)))
    return "\n".join(lines)


def github_annotations(problems: Iterable[Problem]) -> list[str]:
    """One GitHub Actions workflow command per problem, so that CI shows it on the file's line
    (a parquet file has no lines: the row leads the message)."""
    lines = []
    for p in problems:
        props = [f"file={_prop(p.file)}"]
        if p.line is not None:
            props.append(f"line={p.line}")
        props.append(f"title={_prop(p.code)}")
        message = f"{p.path}: {p.message}" if p.path else p.message
        if p.row is not None:  # a parquet file has no line to annotate: the row leads the message
            message = f"row {p.row}: {message}"
        lines.append(f"::{p.severity} {','.join(props)}::{_data(message)}")
    return lines


def _data(s: str) -> str:
    return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _prop(s: str) -> str:
    return _data(s).replace(":", "%3A").replace(",", "%2C")
