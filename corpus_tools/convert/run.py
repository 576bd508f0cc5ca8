"""Import and export: the work behind `corpus import` and `corpus export` (see the package's docstring)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from corpus_tools.convert import EXPORT_CONFIGS, EXPORT_FORMATS, IMPORT_FORMATS, brat, labelstudio, mapping
from corpus_tools.convert.assemble import (
    LANGUAGE_TAG,
    UNDETERMINED,
    Conversion,
    LeftOut,
    Read,
    ReadOptions,
    Refused,
    ToolDoc,
    assemble,
)
from corpus_tools.convert.mapping import load_label_map
from corpus_tools.errors import CorpusToolsError
from corpus_tools.files import (
    Outputs,
    check_target,
    collision_key,
    display,
    input_files,
    is_stdout,
    same_file,
    write_jsonl,
)
from corpus_tools.problems import Problem, make_problem
from corpus_tools.validate import iter_records, require_valid

Reader = Callable[[list[Path], ReadOptions], Iterator[Read]]


def reader_of(fmt: str) -> tuple[Reader, str | None]:
    """The reader of an import format (its module is imported now) and the files it takes from a
    folder (None: the reader decides)."""
    module = importlib.import_module(f"corpus_tools.convert.{fmt}")
    return module.read, IMPORT_FORMATS[fmt]


@dataclass
class Tally:
    """What became of the records, spans or relations of an export: every one read is
    converted, left out on purpose (and why) or refused, so `read == accounted`."""

    read: int = 0
    converted: int = 0
    """In a record that converted cleanly (for records: the clean records)."""
    left_out: dict[str, int] = field(default_factory=dict)
    """Deliberately not imported, by why: `cancelled in Label Studio`, `mapped to ignore`..."""
    refused: int = 0
    """In a record with errors (withheld), or in a part of the export that could not be read."""

    def leave_out(self, reason: str, n: int) -> None:
        if n:
            self.read += n
            self.left_out[reason] = self.left_out.get(reason, 0) + n

    @property
    def accounted(self) -> int:
        return self.converted + sum(self.left_out.values()) + self.refused


@dataclass
class ImportResult:
    """What `import_records` made of a tool's files."""

    records: list[dict[str, Any]] = field(default_factory=list)
    """Records that converted without an error, ready for `jsonl.write_jsonl`."""
    problems: list[Problem] = field(default_factory=list)
    """Every problem, in file order; errors name the file, the record and the span."""
    conversions: list[Conversion] = field(default_factory=list)
    """Every span whose offsets changed (other unit, CR LF), for `--report`."""
    withheld: list[str] = field(default_factory=list)
    """The records left out of `records` because they had errors (`file: doc (annotator)`)."""
    documents: int = 0
    """How many (document, annotator) records the files held."""
    written: Path | None = None
    """Where the records were written (None: nothing was written)."""
    not_written: str | None = None
    """Why nothing was written, when an output was given (`fix the errors, or pass --partial`)."""
    record_tally: Tally = field(default_factory=Tally)
    """Records: one per (document, annotator), plus the tool's annotations left out whole."""
    spans: Tally = field(default_factory=Tally)
    """Every span of the export: converted, left out (and why) or refused."""
    relations: Tally = field(default_factory=Tally)
    """Every relation of the export, likewise."""

    @property
    def errors(self) -> int:
        return sum(p.severity == "error" for p in self.problems)

    @property
    def warnings(self) -> int:
        return sum(p.severity == "warning" for p in self.problems)

    @property
    def valid(self) -> bool:
        """True when there is no error: every record in the files is in `records`."""
        return self.errors == 0


@dataclass
class ExportResult:
    """What an export wrote."""

    output: Path
    files: list[Path] = field(default_factory=list)
    records: int = 0
    documents: int = 0
    notes: list[str] = field(default_factory=list)
    """What the user should know about the output (extra layers that cannot be imported back)."""


def import_records(
    fmt: str,
    paths: Iterable[Path | str],
    *,
    annotator: str | None = None,
    label_map: Path | None = None,
    predictions: bool = False,
    language: str | None = None,
    output: Path | str | None = None,
    partial: bool = False,
) -> ImportResult:
    """Read a tool's export files into records, checking and converting every span; with
    `output`, write them there (atomically).

    Args:
        fmt: one of `IMPORT_FORMATS`.
        paths: export files, or folders to search (brat: folders of `.txt`/`.ann`, one per
            annotator; PTC: the articles and the labels files or their folders).
        annotator: the annotator of every record, overriding what the files say.
        label_map: a JSON or TOML file mapping the project's labels, relations, fields, values
            and annotator ids onto the convention (docs/convert.md); None uses the defaults.
        predictions: Label Studio only: import `predictions` too, with `model_version` as the
            annotator (this is how `corpus export labelstudio` stores records).
        language: the BCP 47 tag (`de`, `zh-Hant`) of documents whose export names no
            language; without it they get `und` (undetermined), never a guess.
        output: the JSONL file to write the records to. It is written when every record
            converted cleanly, or with `partial` when some did; an empty result never replaces
            anything (`result.not_written` says why nothing was written).
        partial: on errors, still write the records that converted cleanly.

    Returns:
        An `ImportResult`: the clean records, the problems, the offset conversions, and where
        the records were written.

    Raises:
        CorpusToolsError: on an unknown format, a missing path, an unusable label map, a
            `language` that is not a language tag, an `output` that is one of the export files
            or not a writable file path, or when the files hold no document at all.
    """
    if fmt not in IMPORT_FORMATS:
        raise CorpusToolsError(f"unknown import format {fmt!r}; use one of {', '.join(IMPORT_FORMATS)}")
    if language is not None and not LANGUAGE_TAG.match(language):
        raise CorpusToolsError(
            f"--language {language!r}: give a BCP 47 language tag such as en, de, "
            "nb, zh-Hant (und: undetermined)"
        )
    reader, pattern = reader_of(fmt)
    paths = list(paths)
    files: list[Path] = []
    for p in map(Path, paths):
        if not p.exists():
            raise CorpusToolsError(f"{display(p)}: no such file or folder")
        # A folder goes to a reader that finds its own files (brat, PTC, INCEpTION) as it is.
        files.extend(input_files([p], pattern) if pattern or not p.is_dir() else [p])
    if not files:
        raise CorpusToolsError(
            f"no {fmt} export file found in {', '.join(map(display, paths))}{_format_hint(fmt, paths)}"
        )
    if output is not None and not is_stdout(output):
        for f in files:
            inner = input_files([f], None) if f.is_dir() else [f]
            if any(same_file(output, g) for g in inner):
                raise CorpusToolsError(
                    f"--output {display(output)} is one of the export files; write elsewhere"
                )
        check_target(output, "file", "corpus import")  # before reading: a read-only output, stdout
    lmap = load_label_map(label_map)
    opts = ReadOptions(lmap=lmap, annotator=annotator, predictions=predictions)
    result = ImportResult()
    first: ToolDoc | None = None
    suspects: list[tuple[ToolDoc, dict[str, Any]]] = []  # clean records without the tool's place for spans
    made_from: dict[int, str] = {}  # each clean record's tool file, by the record's identity
    pairs: dict[tuple[str, str], str] = {}
    texts: dict[str, tuple[str, str]] = {}
    for item in reader(files, opts):
        if isinstance(item, Problem):
            result.problems.append(item)
            continue
        if isinstance(item, LeftOut):
            result.problems.append(item.problem)
            result.record_tally.leave_out(item.reason, item.records)
            result.spans.leave_out(item.reason, item.spans)
            result.relations.leave_out(item.reason, item.relations)
            continue
        if isinstance(item, Refused):
            result.problems.extend(item.problems)
            result.withheld.append(f"{item.place}: cannot be read")
            for tally, n in (
                (result.record_tally, 1),
                (result.spans, item.spans),
                (result.relations, item.relations),
            ):
                tally.read += n
                tally.refused += n
            continue
        result.documents += 1
        first = first or item
        built = assemble(item, lmap, language or UNDETERMINED)
        ident = f"doc {item.doc_id!r} ({item.annotator})"
        place = f"{item.file}: {item.where}"
        pair = (item.doc_id, item.annotator)
        if pair in pairs:
            if not any(p.code == "duplicate-record" for p in item.problems):  # the reader's is better
                built.problems.append(
                    make_problem(
                        "duplicate-record",
                        item.file,
                        item.line,
                        item.where,
                        f"{ident} is also at {pairs[pair]}; one record per document and annotator "
                        "(pass --annotator only when the files hold one annotator)",
                    )
                )
        else:
            pairs[pair] = place
        seen = texts.setdefault(item.doc_id, (item.text, place))
        if seen[0] != item.text:
            built.problems.append(
                make_problem(
                    "text-drift",
                    item.file,
                    item.line,
                    item.where,
                    f"{ident}: the text differs from the one at {seen[1]}; every record of a "
                    "document must carry the same text",
                )
            )
        result.problems.extend(built.problems)
        result.conversions.extend(built.conversions)
        ignored = "label mapped to ignore"
        result.spans.leave_out(ignored, built.ignored_spans)
        result.relations.leave_out(ignored, built.ignored_relations)
        spans = len(item.spans) + item.unread_spans - built.ignored_spans
        relations = len(item.relations) + item.unread_relations - built.ignored_relations
        result.record_tally.read += 1
        result.spans.read += spans
        result.relations.read += relations
        if built.clean:
            result.records.append(built.record)
            made_from[id(built.record)] = item.file
            if item.without_spans is not None:
                suspects.append((item, built.record))
            result.record_tally.converted += 1
            result.spans.converted += spans
            result.relations.converted += relations
        else:
            result.withheld.append(f"{place}: {ident}")
            result.record_tally.refused += 1
            result.spans.refused += spans
            result.relations.refused += relations
    if first is not None and not result.spans.read:
        _nothing_read(result, first, suspects)
    _wrong_format(result, fmt, files, {made_from[id(r)] for r in result.records})
    if output is not None:
        _write_import(result, Path(output), partial, paths, fmt)
    return result


def _wrong_format(result: ImportResult, fmt: str, files: list[Path], kept: set[str]) -> None:
    """An `import-wrong-format` error, first, for each input that gave no clean record and looks
    like another tool's export: the likely cause of every other problem about it."""
    from corpus_tools.convert.detect import guess

    kept_paths = [Path(k) for k in kept]
    hints = []
    for f in files:
        if any(k == f or f in k.parents for k in kept_paths):
            continue
        found = guess(f)
        if found is not None and found.fmt != fmt:
            hints.append(
                make_problem("import-wrong-format", display(f), None, None, found.hint(f, named=False))
            )
    result.problems[0:0] = hints


def _format_hint(fmt: str, paths: Iterable[Path | str]) -> str:
    """`; x.jsonl looks like a Prodigy export (...)`: for a message saying nothing was found."""
    from corpus_tools.convert.detect import guess

    for p in map(Path, paths):
        found = guess(p)
        if found is not None and found.fmt != fmt:
            return f"; {found.hint(p)}"
    return ""


def _nothing_read(
    result: ImportResult, first: ToolDoc, suspects: list[tuple[ToolDoc, dict[str, Any]]]
) -> None:
    """An import that read no span at all. When records lack the place where the
    tool keeps spans, the files are probably another tool's (or our own records): those records
    are withheld with an error, since writing them would replace annotations with records whose
    content the reader could not see. Otherwise the export really holds no annotation: a warning."""
    if not suspects:
        result.problems.append(
            make_problem(
                "import-no-spans",
                first.file,
                None,
                None,
                f"no span was read from the {result.documents} record(s): the export holds no "
                "annotation, so the records have no items; if the project does hold annotations, "
                f"export them from {first.tool} again",
            )
        )
        return
    doc = suspects[0][0]
    result.problems.append(
        make_problem(
            "import-bad-format",
            doc.file,
            doc.line,
            None,
            f"no span was read from the {result.documents} record(s): {doc.without_spans}; "
            f"is this {doc.tool}'s export? Import it as the format of the tool that wrote it; the "
            f"{len(suspects)} record(s) without spans are withheld, since writing them would "
            "lose whatever they hold",
        )
    )
    withheld = {id(record) for _doc, record in suspects}
    result.records = [r for r in result.records if id(r) not in withheld]
    result.withheld += [f"{d.file}: {d.where}: doc {d.doc_id!r} ({d.annotator})" for d, _r in suspects]
    result.record_tally.converted -= len(suspects)
    result.record_tally.refused += len(suspects)


def _write_import(
    result: ImportResult, output: Path, partial: bool, paths: Iterable[Path | str], fmt: str
) -> None:
    if not result.documents and result.valid:
        raise CorpusToolsError(
            f"no document found in {', '.join(map(display, paths))}; nothing written"
            + _format_hint(fmt, paths)
        )
    if not result.valid and not partial:
        result.not_written = "fix the errors, or pass --partial"
    elif not result.records:
        # An empty file must never replace a good earlier import.
        result.not_written = "no record converted cleanly" + (
            f"; {display(output)} is left as it was" if not is_stdout(output) and output.exists() else ""
        )
    else:
        write_jsonl(output, result.records)
        result.written = output


def export_records(fmt: str, paths: Iterable[Path | str], *, output: Path) -> ExportResult:
    """Write validated records for a tool: a Label Studio task file or a brat collection.

    `labelstudio` writes `tasks.json` (one task per document, one prediction per record, its
    `model_version` the annotator) and `label_config.xml`. `brat` writes one folder per
    annotator holding `<doc_id>.txt`, `.ann` and `.meta.json` with its own `annotation.conf` and
    `visual.conf` (so no annotator name can collide with them). The folder is built beside
    `output` and moved into place whole; an existing `output` must be empty or an earlier
    export (see `corpus_tools.files.Outputs`).

    Raises:
        InvalidInputError: when the input files do not validate (carrying the report).
        CorpusToolsError: on an unknown format, a missing path, an `output` that holds files
            the toolkit did not write, or (brat) names that differ only in case.
    """
    if fmt not in EXPORT_FORMATS:
        raise CorpusToolsError(
            f"unknown export format {fmt!r}; use one of {', '.join(EXPORT_FORMATS + EXPORT_CONFIGS)}"
        )
    valid = require_valid(paths)
    files = valid.files
    result = ExportResult(output=Path(output), notes=_import_notes())
    with Outputs("corpus export") as outputs:
        tmp = outputs.folder(output)
        if fmt == "labelstudio":
            # One task per document gathers every annotator's record of it, so records are
            # grouped in memory (the task file is one JSON array anyway).
            by_doc: dict[str, list[dict[str, Any]]] = {}
            for _path, _line, rec in iter_records(files):
                by_doc.setdefault(rec.doc_id, []).append(rec.model_dump(mode="json", exclude_none=True))
                result.records += 1
            tasks = [labelstudio.task_for(recs) for recs in by_doc.values()]
            (tmp / "tasks.json").write_bytes(orjson.dumps(tasks, option=orjson.OPT_INDENT_2))
            (tmp / "label_config.xml").write_text(labelstudio.config_xml(), encoding="utf-8")
            result.documents = len(by_doc)
            names = ["tasks.json", "label_config.xml"]
        else:
            docs: set[str] = set()
            names = []
            taken: dict[str, str] = {}
            for path, line, rec in iter_records(files):
                data = rec.model_dump(mode="json", exclude_none=True)
                # One folder per annotator, each with its own configuration (brat looks in the
                # document's folder first), so no annotator's name can collide with it; names
                # that differ only in case would overwrite each other on macOS and Windows.
                for name in (rec.annotator, f"{rec.annotator}/{rec.doc_id}"):
                    other = taken.setdefault(collision_key(name), name)
                    if other != name:
                        raise CorpusToolsError(
                            f"{valid.where(path, line)}: {name!r} and {other!r} differ only in case; "
                            "their brat files would overwrite each other on a case-insensitive file "
                            "system (macOS, Windows): rename one"
                        )
                folder = tmp / rec.annotator
                if not folder.exists():
                    folder.mkdir()
                    (folder / "annotation.conf").write_text(brat.annotation_conf(), encoding="utf-8")
                    (folder / "visual.conf").write_text(brat.visual_conf(), encoding="utf-8")
                    names += [f"{rec.annotator}/annotation.conf", f"{rec.annotator}/visual.conf"]
                base = folder / rec.doc_id
                # Bytes, so that CR LF stays CR LF: brat's offsets count it as one.
                Path(f"{base}.txt").write_bytes(rec.text.encode("utf-8"))
                Path(f"{base}.ann").write_text(brat.ann_for(data), encoding="utf-8", newline="\n")
                Path(f"{base}{brat.META_SUFFIX}").write_bytes(
                    orjson.dumps(data.get("meta", {}), option=orjson.OPT_INDENT_2)
                )
                names += [f"{rec.annotator}/{rec.doc_id}{ext}" for ext in (".txt", ".ann", brat.META_SUFFIX)]
                docs.add(rec.doc_id)
                result.records += 1
            result.documents = len(docs)
        outputs.commit()
    result.files = [Path(output) / n for n in names]
    return result


def export_config(tool: str, output: Path) -> ExportResult:
    """Write a tool's labelling configuration generated from the models into folder `output`.

    `labelstudio-config` writes `label_config.xml`; `brat-config` writes `annotation.conf` and
    `visual.conf` (put them at the top of the brat collection). Existing files of those names
    are never replaced (a project may have customised them); other files are left alone.

    Raises:
        CorpusToolsError: on an unknown tool name, or when a file to write exists.
    """
    contents = {
        "labelstudio-config": {"label_config.xml": labelstudio.config_xml},
        "brat-config": {"annotation.conf": brat.annotation_conf, "visual.conf": brat.visual_conf},
    }
    if tool not in contents:
        raise CorpusToolsError(f"unknown configuration {tool!r}; use one of {', '.join(contents)}")
    result = ExportResult(output=Path(output), notes=_import_notes())
    existing = [Path(output) / n for n in contents[tool] if (Path(output) / n).exists()]
    if existing:
        raise CorpusToolsError(
            f"{', '.join(map(str, existing))}: already exists; remove it or "
            "choose another folder (a customised configuration is not replaced)"
        )
    with Outputs(f"corpus export {tool}") as outputs:
        for name, make in contents[tool].items():
            path = Path(output) / name
            outputs.file(path).write_text(make(), encoding="utf-8")
            result.files.append(path)
        outputs.commit()
    return result


def _import_notes() -> list[str]:
    note = mapping.import_note()
    return [] if note is None else [note]
