"""`corpus validate`: check annotator and gold files against the format and the corpus rules.

- `run.py`: the run (files cut into chunks of whole lines, checked in order or in parallel) and
  the checks across lines and files (duplicate records, text drift);
- `lines.py`: the checks of one line (syntax, duplicate keys, structure through the models);
- `rules.py`: the rules of one record that the models cannot express (offsets, span text,
  references, language);
- `mirror.py`: the fast path, msgspec structs mirroring the models, which says "clean" or "look
  closer" for each line; its rules and repeated-key scan are C, in `_native.c`.

Commands that consume annotation files (merge, agreement, split, publish, export) call
`require_valid` once and pass on the `Validated` handle it returns: the files, the report and the
document index built while validating, so nothing is read twice to validate.

A published dataset folder, or a parquet file of one, is read wherever JSONL is (see
`corpus_tools.dataset`): its rows are converted to JSONL lines first, and every problem names
the parquet file and the row instead of a line.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from corpus_tools.dataset import Inputs, Location
from corpus_tools.errors import InvalidInputError
from corpus_tools.files import DocIndex, display, is_blank, iter_lines
from corpus_tools.problems import Report
from corpus_tools.schema import GOLD
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
    dataset_aliases: bool = True,
    predictions: bool = False,
    engine: Engine | None = None,
) -> Report:
    """Validate annotator (or gold) JSONL files and folders of them, or a model's predictions.

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
            without it (and without a dataset's), every target must occur in its text.
        dataset_aliases: also use the alias file a published dataset among `paths` ships
            (`aliases.jsonl`), so that a dataset is checked as the corpus it came from (the CLI
            turns this off when `--aliases` is given).
        predictions: check prediction records (`layers.PredictionRecord`, what
            `corpus evaluate` reads): what a model does not predict may be left out, a document
            has one line, and the guidelines' warnings do not apply.
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
        dataset_aliases=dataset_aliases,
        predictions=predictions,
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
    predictions: bool = False
    """Whether the files hold prediction records (`layers.PredictionRecord`), not records."""
    passes: bool = False
    """Whether the files were checked as annotators' passes (no annotator named `gold`)."""

    @classmethod
    def trusted(cls, files: Iterable[Path]) -> Validated:
        """Files the toolkit itself wrote from validated input (gold, split files), which are
        valid by construction and are not validated again."""
        return cls(tuple(files), Report())

    def index(self) -> DocIndex:
        """A document index of the files (the one validation built, or a fresh one)."""
        return DocIndex(self.files, locations=self.locations)

    def records(self) -> Iterator[tuple[Path, int, RecordBase]]:
        """Stream `(file, line, record)` in file order (prediction records for predictions)."""
        return iter_records(self.files, predictions=self.predictions)

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
    split: str | None = None,
    predictions: bool = False,
    passes: bool = False,
    engine: Engine | None = None,
) -> Validated:
    """Validate `paths` (unless they already are a `Validated` handle), building the document
    index on the way; with `strict`, warnings fail too; with `predictions`, as prediction
    records; with `passes`, as annotators' passes, which may not be named `gold` (the name of
    gold records: merge, publish and agreement would take such a pass for gold). A published
    dataset folder among them gives its `configs` (both record configs when None), of one `split`
    or all (see `corpus_tools.dataset`).

    A handle is returned as it is, but for `passes`: one not yet checked for it (a trusted
    handle, say) has its annotator names read and checked first.

    Raises:
        InvalidInputError: carrying the report, when there are errors.
        CorpusToolsError: when a path does not exist or is not a regular file, or a dataset
            lacks the configs asked for.
    """
    if isinstance(paths, Validated):
        if passes and not paths.passes:
            _check_passes(paths)
            return dataclasses.replace(paths, passes=True)
        return paths
    options: dict[str, Any] = dict(
        jobs=jobs,
        aliases=aliases,
        strict=strict,
        configs=configs,
        split=split,
        predictions=predictions,
        passes=passes,
    )
    # The local run builds the document index as it reads; an engine's run has none.
    result = (
        check_files(paths, index=True, **options) if engine is None else engine.check_files(paths, **options)
    )
    if not result.report.valid:
        raise InvalidInputError(result.report)
    return Validated(tuple(result.files), result.report, result.locations, result.inputs, predictions, passes)


def _check_passes(valid: Validated) -> None:
    """Read the annotator of every line of `valid`'s files (only that field is decoded) and
    refuse a pass named like gold, with the file and line, as validation reports it."""
    import msgspec

    from corpus_tools.problems import ReportBuilder, make_problem
    from corpus_tools.validate.run import reserved_annotator

    class _Annotator(msgspec.Struct):
        annotator: str = ""

    decode = msgspec.json.Decoder(_Annotator).decode
    builder = ReportBuilder()
    builder.files = len(valid.files)
    for path in valid.files:
        for number, raw in iter_lines(path):
            if is_blank(raw):
                continue
            builder.records += 1
            if decode(raw).annotator == GOLD:
                code, field, message = reserved_annotator()
                at = valid.where(path, number)
                builder.add(make_problem(code, at.file, at.line, field, message, row=at.row))
    report = builder.build()
    if not report.valid:
        raise InvalidInputError(report)


def iter_records(
    files: Iterable[Path], *, predictions: bool = False
) -> Iterator[tuple[Path, int, RecordBase]]:
    """Stream `(file, line, record)` from files that have passed validation, in file order
    (`layers.PredictionRecord`s with `predictions`)."""
    from corpus_tools.layers import PredictionRecord, Record

    model = PredictionRecord if predictions else Record
    for path in files:
        with open(path, "rb") as f:
            for number, raw in enumerate(f, start=1):
                if not is_blank(raw):
                    yield path, number, model.model_validate_json(raw)
