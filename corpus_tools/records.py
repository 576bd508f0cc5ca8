"""Reading validated records: the entry point of every command that consumes annotation files.

Commands that build on annotations (merge, split, publish) first validate their inputs, so that a
bad file stops them with the validator's full report rather than half-way through, then stream the
records one at a time as `Record` models.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from corpus_tools.errors import InvalidInputError
from corpus_tools.files import input_files, is_blank
from corpus_tools.problems import Report
from corpus_tools.schema import Record
from corpus_tools.validate import validate


def require_valid(paths: Iterable[Path | str], *, jobs: int = 1) -> tuple[list[Path], Report]:
    """Validate `paths` (in `jobs` processes); return the files and the report (which may hold
    warnings).

    Raises:
        InvalidInputError: carrying the report, when there are errors.
        CorpusToolsError: when a path does not exist.
    """
    paths = [Path(p) for p in paths]
    report = validate(paths, jobs=jobs)
    if not report.valid:
        raise InvalidInputError(report)
    return input_files(paths), report


def iter_records(files: Iterable[Path]) -> Iterator[tuple[Path, int, Record]]:
    """Stream `(file, line, record)` from files that have passed validation, in file order."""
    for path in files:
        with open(path, "rb") as f:
            for number, raw in enumerate(f, start=1):
                if not is_blank(raw):
                    yield path, number, Record.model_validate_json(raw)
