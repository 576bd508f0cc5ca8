"""`corpus validate`: check annotator and gold files against the format and the corpus rules.

- `run.py`: the run (files cut into chunks of whole lines, checked in order or in parallel) and
  the checks across lines and files (duplicate records, text drift);
- `lines.py`: the checks of one line (syntax, duplicate keys, structure through the models);
- `rules.py`: the rules of one record that the models cannot express (offsets, span text,
  references, language);
- `mirror.py`: the fast path, msgspec structs mirroring the models, which says "clean" or "look
  closer" for each line.

Commands that consume annotation files (merge, agreement, split, publish, export) call
`require_valid` once and pass on the `Validated` handle it returns: the files, the report and the
document index built while validating, so nothing is read twice to validate.

A published dataset folder, or a parquet file of one, is read wherever JSONL is (see
`corpus_tools.dataset`): its rows are converted to JSONL lines first, and every problem names
the parquet file and the row instead of a line.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from corpus_tools.dataset import Inputs, Location
from corpus_tools.errors import InvalidInputError
from corpus_tools.files import DocIndex, display, is_blank
from corpus_tools.problems import Report
from corpus_tools.validate.run import check_files, cpu_count, usable_jobs

if TYPE_CHECKING:
    from corpus_tools.engines import Engine
    from corpus_tools.schema import RecordBase

__all__ = ["Validated", "cpu_count", "iter_records", "require_valid", "usable_jobs", "validate"]


def validate(
    paths: Iterable[Path | str],
    *,
    ignore: Iterable[str] = (),
    max_problems: int | None = None,
    strict: bool = False,
    jobs: int = 1,
    aliases: Path | str | None = None,
    engine: Engine | None = None,
) -> Report:
    """Validate annotator (or gold) JSONL files and folders of them.

    Args:
        paths: files, or folders searched recursively for `*.jsonl` (hidden entries skipped),
            published dataset folders (their `default` and `annotators` configs) and parquet
            files of records.
        ignore: problem codes to skip.
        max_problems: keep at most this many problems of each code in the report (all are
            counted, and the summary says how many were left out); None keeps all.
        strict: make warnings fail the report.
        jobs: processes to check lines with (files and chunks of large files in parallel;
            the report is the same as with one). Capped at the CPU count.
        aliases: the alias file of stance targets (`documents/aliases.jsonl`, guideline S7);
            without it, every target must occur in its text.
        engine: where to check the lines (`corpus_tools.engines`, e.g. a Dask cluster); this
            process (and `jobs`) when None. The report is the same.

    Returns:
        A `Report`; `report.valid` tells whether the files passed.

    Raises:
        CorpusToolsError: when a path does not exist or is not a regular file, a code in
            `ignore` is unknown, or `jobs` is less than 1.
    """
    check = check_files if engine is None else engine.check_files
    return check(
        paths,
        ignore=ignore,
        max_problems=max_problems,
        strict=strict,
        jobs=jobs,
        aliases=Path(aliases) if aliases is not None else None,
    ).report


@dataclass(frozen=True)
class Validated:
    """Files that passed validation, and what validating them learnt: pass it on instead of
    paths, and the next command neither validates nor indexes them again."""

    files: tuple[Path, ...]
    report: Report
    """The validation report (warnings only: errors stop `require_valid`)."""
    locations: dict[str, list[tuple[int, int, int]]] | None = None
    """Where each document's lines are, when known (see `files.DocIndex`)."""
    inputs: Inputs | None = None
    """Where the files came from, when some are converted parquet files (kept alive here)."""

    @classmethod
    def trusted(cls, files: Iterable[Path]) -> Validated:
        """Files the toolkit itself wrote from validated input (gold, split files), which are
        valid by construction and are not validated again."""
        return cls(tuple(files), Report())

    def index(self) -> DocIndex:
        """A document index of the files (the one validation built, or a fresh one)."""
        return DocIndex(self.files, locations=self.locations)

    def records(self) -> Iterator[tuple[Path, int, RecordBase]]:
        """Stream `(file, line, record)` in file order."""
        return iter_records(self.files)

    def where(self, path: Path, line: int | None) -> Location:
        """Where line `line` of one of `files` came from: the file and line, or for a converted
        parquet file, the parquet file and row (for messages)."""
        return self.inputs.where(path, line) if self.inputs is not None else Location(display(path), line)


def require_valid(
    paths: Iterable[Path | str] | Validated,
    *,
    jobs: int = 1,
    aliases: Path | None = None,
    strict: bool = False,
    configs: tuple[str, ...] | None = None,
    engine: Engine | None = None,
) -> Validated:
    """Validate `paths` (unless they already are a `Validated` handle), building the document
    index on the way; with `strict`, warnings fail too. A published dataset folder among them
    gives its `configs` (both record configs when None; see `corpus_tools.dataset`).

    Raises:
        InvalidInputError: carrying the report, when there are errors.
        CorpusToolsError: when a path does not exist or is not a regular file, or a dataset
            lacks the configs asked for.
    """
    if isinstance(paths, Validated):
        return paths
    if engine is None:
        result = check_files(paths, jobs=jobs, index=True, aliases=aliases, strict=strict, configs=configs)
    else:
        result = engine.check_files(paths, jobs=jobs, aliases=aliases, strict=strict, configs=configs)
    if not result.report.valid:
        raise InvalidInputError(result.report)
    return Validated(tuple(result.files), result.report, result.locations, result.inputs)


def iter_records(files: Iterable[Path]) -> Iterator[tuple[Path, int, RecordBase]]:
    """Stream `(file, line, record)` from files that have passed validation, in file order."""
    from corpus_tools.schema import Record

    for path in files:
        with open(path, "rb") as f:
            for number, raw in enumerate(f, start=1):
                if not is_blank(raw):
                    yield path, number, Record.model_validate_json(raw)
