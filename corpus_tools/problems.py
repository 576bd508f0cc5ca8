"""Problems found in annotation files: the closed catalogue of codes, `Problem` and `Report`.

Every check in the toolkit reports through a code listed in `CATALOGUE`. Codes are stable: tools
and CI configurations refer to them (`--ignore span-whitespace`), so a code is never renamed or
reused. `docs/problems.md` is generated from this catalogue and a test keeps the two in sync.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict

from corpus_tools.schema import NAME_RULE

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Check:
    """One entry of the catalogue: what a code means and how to fix what it reports."""

    code: str
    severity: Severity
    group: str
    title: str
    fix: str
    command: str = "validate"
    """The command that reports it; `validate` codes are checked by `corpus validate` itself."""
    predictions: bool = True
    """Whether it is checked in a model's prediction records (`corpus validate --predictions`,
    `corpus evaluate --pred`): False for the rules of the annotation guidelines (a model's
    output is scored, not adjudicated), which `applies_to_predictions` reads."""


CATALOGUE: dict[str, Check] = {
    c.code: c
    for c in [
        # -- files and lines
        Check(
            "unreadable-file",
            "error",
            "file",
            "The file cannot be read.",
            "Check that the path exists, is a regular file and is readable.",
        ),
        Check(
            "invalid-utf8",
            "error",
            "file",
            "The line is not valid UTF-8.",
            "Save the file as UTF-8; the message gives the byte position of the first bad byte.",
        ),
        Check(
            "lone-surrogate",
            "error",
            "file",
            "A string holds a lone UTF-16 surrogate escape such as \\ud83d.",
            "Write the character itself, or both halves of the surrogate pair; a lone half "
            "cannot be stored as UTF-8. Tools that count UTF-16 code units cause this.",
        ),
        Check(
            "invalid-json",
            "error",
            "file",
            "The line is not valid JSON.",
            "Fix the syntax at the column given; each line must hold exactly one JSON object.",
        ),
        Check(
            "not-an-object",
            "error",
            "file",
            "The line is valid JSON but not an object.",
            "Each line must be one JSON object (one annotator's record of one document).",
        ),
        Check(
            "too-deep",
            "error",
            "file",
            "Objects and lists in the line are nested far more deeply than a record can be.",
            "A record nests a few levels (record, layer list, item, span); the line is not a "
            "record, or was produced by a broken tool.",
        ),
        Check(
            "duplicate-key",
            "error",
            "file",
            "An object in the line has the same key twice.",
            "Keep one of the two; JSON readers disagree on which value counts (most keep the "
            "last, Arrow refuses the line), so the record would mean different things to "
            "different tools.",
        ),
        Check(
            "blank-line",
            "warning",
            "file",
            "The line is empty.",
            "Remove blank lines; JSONL has one record per line.",
        ),
        # -- structure (from the Pydantic models)
        Check(
            "missing-field",
            "error",
            "structure",
            "A required field is missing.",
            "Add the field; `corpus schema` shows every field and whether it is required.",
        ),
        Check(
            "unknown-field",
            "error",
            "structure",
            "A field is not part of the format (often a typo).",
            "Rename it to the field you meant or remove it; unknown fields are never ignored.",
        ),
        Check(
            "wrong-type",
            "error",
            "structure",
            "A field has the wrong JSON type.",
            "Use the type the schema gives: offsets are integers (not strings or 3.0), spans "
            "are objects, layers are lists.",
        ),
        Check(
            "invalid-label",
            "error",
            "structure",
            "A label is not in its closed vocabulary.",
            "Use one of the values listed in the message (see CONTRIBUTING.md for their definitions).",
        ),
        Check(
            "invalid-name",
            "error",
            "structure",
            "A `doc_id`, `annotator` or `id` has characters that are not allowed.",
            f"Use {NAME_RULE}.",
        ),
        Check(
            "invalid-language",
            "error",
            "structure",
            "`meta.language` is not a BCP 47 language tag.",
            "Use a tag such as `en`, `en-GB`, `de`, `zh-Hant` (hyphens, registered subtags), or "
            "`und` when the language is not known; the dataset card lists the languages.",
        ),
        Check(
            "invalid-value",
            "error",
            "structure",
            "A field's value is not allowed.",
            "Follow the constraint given in the message.",
        ),
        # -- spans and offsets
        Check(
            "offset-out-of-range",
            "error",
            "span",
            "A span's start or end lies outside the document text.",
            "Offsets are Unicode code points into `text`, with 0 <= start < end <= len(text). "
            "Offsets counted in UTF-16 units or bytes drift after non-ASCII characters: "
            "import through `corpus import`, which converts them.",
        ),
        Check(
            "empty-span",
            "error",
            "span",
            "A span's end is not after its start.",
            "Spans are half-open [start, end): end must be greater than start.",
        ),
        Check(
            "span-text-mismatch",
            "error",
            "span",
            "A span's `text` differs from the document text at its offsets.",
            "Make `text` equal to text[start:end]; the message shows both and, where the "
            "span text occurs nearby, the offsets it occurs at.",
        ),
        Check(
            "span-whitespace",
            "warning",
            "span",
            "A span starts or ends with whitespace.",
            "Trim the span so that it starts and ends on a non-space character.",
            predictions=False,
        ),
        Check(
            "span-splits-word",
            "warning",
            "span",
            "A span starts or ends inside a word (guideline G3).",
            "Move the boundary to the word's edge; a span cut inside a word is often a sign of "
            "offsets counted in another unit.",
            predictions=False,
        ),
        # -- items and references
        Check(
            "duplicate-id",
            "error",
            "reference",
            "Two annotations in one line share an `id`.",
            "Give every annotation in the line its own id (q1, t1, s1, ...).",
        ),
        Check(
            "unknown-holder",
            "error",
            "reference",
            "A stance's `holder` is neither `author` nor the id of an attribution in the line.",
            "Set `holder` to `author` or to the id of the attribution whose source holds it.",
        ),
        Check(
            "holder-outside-content",
            "warning",
            "reference",
            "A stance's holder is an attribution, but the stance lies outside its content.",
            "A stance outside any quotation or report belongs to `author` (guideline S9); "
            "set the holder to `author`, or to the attribution whose content holds the span.",
            predictions=False,
        ),
        Check(
            "unknown-parent",
            "error",
            "reference",
            "An attribution's `nested_in` names no attribution in the line.",
            "Set `nested_in` to the id of the enclosing attribution, or null.",
        ),
        Check(
            "nesting-cycle",
            "error",
            "reference",
            "Attributions are nested in each other in a cycle.",
            "An attribution cannot (indirectly) contain itself; fix the `nested_in` chain.",
        ),
        Check(
            "nested-outside-parent",
            "error",
            "reference",
            "A nested attribution does not lie inside its parent's content span.",
            "Its source, cue and content must lie within the content of the attribution "
            "named by `nested_in`, or `nested_in` is wrong.",
        ),
        Check(
            "answer-without-hypophora",
            "warning",
            "reference",
            "A rhetorical question has an `answer` but its kind is not `hypophora`.",
            "Only a hypophora is answered by its author: change the kind or drop the answer.",
            predictions=False,
        ),
        # -- the guidelines (CONTRIBUTING.md) that a machine can check
        Check(
            "question-without-mark",
            "warning",
            "guideline",
            "A rhetorical question's span does not end with its '?' (Q1, Q9).",
            "End the span on the question mark; a clause that does not end in '?' is not "
            "annotated as a question.",
            predictions=False,
        ),
        Check(
            "answer-not-next",
            "warning",
            "guideline",
            "A hypophora's answer does not come right after the question or its run of "
            "questions (Q4: position).",
            "Mark as the answer the first sentence after the question (or after the run it "
            "belongs to); a later answer makes the question `assertive` or `open`.",
            predictions=False,
        ),
        Check(
            "attribution-order",
            "warning",
            "guideline",
            "A nested attribution is numbered before the attribution it is nested in (G6).",
            "Number attributions in document order, the outer one first: the parent's id has "
            "the smaller number.",
            predictions=False,
        ),
        Check(
            "holder-not-innermost",
            "warning",
            "guideline",
            "A stance's holder is not the innermost attribution whose content holds it, or "
            "is `author` inside a direct quotation (S9).",
            "Set the holder to the attribution the message names: the innermost one, and "
            "always the attribution for words inside quotation marks.",
            predictions=False,
        ),
        Check(
            "target-not-in-text",
            "warning",
            "guideline",
            "A stance's target does not occur in the document (S7), nor in the alias file.",
            "Write the target in the document's own words (a leading 'the', case and spacing "
            "do not matter); a form that does not occur, such as the author's name, goes in "
            "the alias file (`--aliases documents/aliases.jsonl`).",
            predictions=False,
        ),
        # -- across lines and files
        Check(
            "duplicate-record",
            "error",
            "corpus",
            "The same (`doc_id`, `annotator`) occurs on more than one line (with "
            "`--predictions`: the same `doc_id`).",
            "Keep one line per annotator and document (one prediction per document); the "
            "message names the other place.",
        ),
        Check(
            "reserved-annotator",
            "error",
            "corpus",
            "An annotator's pass is named `gold`, the name of the adjudicated records `corpus "
            "merge` writes (reported where annotator files are read as passes: merge, publish's "
            "--annotators, agreement).",
            "Give the annotator another name in every line of the file: a pass named `gold` "
            "would be taken for gold, and a published dataset would hold its rows twice.",
            command="merge",
        ),
        Check(
            "text-drift",
            "error",
            "corpus",
            "The same `doc_id` has a different `text` elsewhere (or, in `corpus evaluate`, in gold).",
            "Every record of a document must carry exactly the same text (see `documents/`); "
            "the message names the first differing position and the other place. A model "
            "predicts on gold's exact text, since offsets index into it.",
        ),
        # -- corpus evaluate
        Check(
            "unknown-document",
            "error",
            "corpus",
            "A prediction names a `doc_id` that the gold data does not have.",
            "Predict only documents of the gold data you evaluate against (with a published "
            "dataset, of the split given with --split); a mistyped or renamed `doc_id` shows here.",
            command="evaluate",
        ),
        # -- corpus split
        Check(
            "missing-group",
            "error",
            "corpus",
            "A document has no value for the field `corpus split --group-by` groups by.",
            "Fill the field (e.g. `meta.source`) in every record of the document, or group by "
            "another field; a document without a group cannot be kept apart from its source.",
            command="split",
        ),
        Check(
            "group-mismatch",
            "error",
            "corpus",
            "Records of one document disagree on the field `corpus split --group-by` uses.",
            "Give every record of the document the same value (the message names the other "
            "place); a document's lines always go to one split.",
            command="split",
        ),
        # -- corpus import (annotation tools' exports; see docs/convert.md)
        Check(
            "import-bad-format",
            "error",
            "file",
            "A tool's export file does not have the shape of its format.",
            "Export again from the tool in the format named on the command line; "
            "docs/convert.md says which export each format expects.",
            command="import",
        ),
        Check(
            "import-wrong-format",
            "error",
            "file",
            "A file that gave no clean record looks like another tool's export (the format named "
            "on the command line is not the one that wrote it).",
            "Import it as the format the message names (`corpus import FORMAT FILE`); nothing "
            "from that file was imported.",
            command="import",
        ),
        Check(
            "import-skipped",
            "warning",
            "file",
            "Part of a tool's export is deliberately not imported (a cancelled or rejected "
            "annotation, an event, a field that is not ours).",
            "Nothing to do if that is intended; the message says what was left out and why.",
            command="import",
        ),
        Check(
            "import-pooled-annotations",
            "warning",
            "file",
            "The export pools several annotators' work into one file (doccano `all.jsonl`).",
            "Export one file per annotator (doccano: turn off collaborative annotation), or "
            "pass --annotator to name the pooled work.",
            command="import",
        ),
        Check(
            "import-no-spans",
            "warning",
            "file",
            "The import read no span and no relation at all: every record it writes has no items.",
            "Nothing to do if the tool's project holds no annotation yet; otherwise export again "
            "with the annotations (files that are not the tool's export at all are refused with "
            "an import-bad-format error naming the keys they have).",
            command="import",
        ),
        Check(
            "import-user-id",
            "warning",
            "file",
            "A tool's numeric user id became the annotator's name (Label Studio `completed_by`, "
            "doccano `user`).",
            "Map each id to the annotator's name in the label map's `[annotators]` section "
            '(`"1" = "alice"`), or pass --annotator when the files hold one annotator.',
            command="import",
        ),
        Check(
            "import-span-mismatch",
            "error",
            "span",
            "A span from a tool does not fit the document text in any offset unit.",
            "Correct the span in the tool and export again; the message names the file, the "
            "record, the span and what its offsets cover.",
            command="import",
        ),
        Check(
            "import-offset-unit",
            "warning",
            "span",
            "A tool's offsets are in another unit than the one it documents (UTF-16 units, "
            "bytes, CR LF counted as one); they were converted.",
            "Nothing to do; `corpus import --report` lists every converted offset.",
            command="import",
        ),
        Check(
            "import-discontinuous-span",
            "warning",
            "span",
            "A discontinuous span (brat `s e;s e`) was joined into one span over its gaps.",
            "Our spans are contiguous: annotate one continuous span, or accept the joined one.",
            command="import",
        ),
        Check(
            "import-unknown-label",
            "error",
            "structure",
            "A tool label is not part of the label convention.",
            "Use the labels of `corpus export labelstudio-config` / `brat-config`, or map the "
            "project's names with --label-map (docs/convert.md).",
            command="import",
        ),
        Check(
            "import-missing-value",
            "error",
            "structure",
            "A span lacks a value its layer requires (question kind, attribution type, "
            "polarity, stance target).",
            "Use a label that carries the value (`RQ-echo`, `STANCE-against`), or give it in a "
            "field; a stance's target goes in its target field or a linked STANCE-target span.",
            command="import",
        ),
        Check(
            "import-bad-relation",
            "error",
            "reference",
            "A tool relation has an unknown label, a missing end, or joins the wrong kinds of span.",
            "Draw the relation between the kinds of span the message names, in that "
            "direction, or map its label with --label-map.",
            command="import",
        ),
        Check(
            "import-missing-relation",
            "error",
            "reference",
            "A source, cue, answer or target span is not linked to the span it belongs to.",
            "Draw the relation the message names (e.g. source-of from the source to the content).",
            command="import",
        ),
    ]
}

ProblemCode = str
"""A key of `CATALOGUE`."""


class Problem(BaseModel):
    """One problem in one place: a file, a 1-based line (or, in a parquet file, a row), and a
    field path inside the record."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: ProblemCode
    severity: Severity
    file: str
    line: int | None
    """1-based line of a JSONL file; None for a parquet file, or a problem of the whole file."""
    path: str | None
    message: str
    row: int | None = None
    """0-based row of a parquet file (a published dataset's), as `datasets`, pandas and DuckDB
    number rows; None for a JSONL file."""

    def __str__(self) -> str:
        if self.row is not None:
            where = f"{self.file}, row {self.row}"
        else:
            where = self.file if self.line is None else f"{self.file}:{self.line}"
        field = f" {self.path}:" if self.path else ""
        return f"{where}: {self.severity} [{self.code}]{field} {self.message}"


def make_problem(
    code: str, file: str, line: int | None, path: str | None, message: str, *, row: int | None = None
) -> Problem:
    """A `Problem` whose severity comes from the catalogue (the one place it is decided)."""
    return Problem(
        code=code,
        severity=CATALOGUE[code].severity,
        file=file,
        line=line,
        path=path,
        message=message,
        row=row,
    )


class Summary(BaseModel):
    """Counts over the whole run, including problems left out of the report by a cap."""

    files: int = 0
    records: int = 0
    errors: int = 0
    warnings: int = 0
    by_code: dict[str, int] = {}
    omitted: dict[str, int] = {}
    """Problems counted but not listed, per code, because of `max_problems`."""


class Report(BaseModel):
    """The result of a validation run: the problems found, in file and line order."""

    problems: list[Problem] = []
    summary: Summary = Summary()
    strict: bool = False
    """Whether warnings make the report invalid."""

    @property
    def valid(self) -> bool:
        """True when there are no errors (and, under `strict`, no warnings)."""
        return self.summary.errors == 0 and not (self.strict and self.summary.warnings)


class ReportBuilder:
    """Collects problems, skipping ignored codes and capping how many of each code are kept."""

    def __init__(self, ignore: frozenset[str] = frozenset(), max_per_code: int | None = None):
        self.ignore = ignore
        self.max_per_code = max_per_code
        self.problems: list[Problem] = []
        self.counts: Counter[str] = Counter()
        self.files = 0
        self.records = 0

    def shown(self, code: str) -> bool:
        """Whether the next problem of `code` would be listed (not ignored, not over the cap)."""
        return code not in self.ignore and (
            self.max_per_code is None or self.counts[code] < self.max_per_code
        )

    def add(self, problem: Problem) -> None:
        if problem.code in self.ignore:
            return
        self.counts[problem.code] += 1
        if self.max_per_code is None or self.counts[problem.code] <= self.max_per_code:
            self.problems.append(problem)

    def build(self, strict: bool = False) -> Report:
        errors = sum(n for c, n in self.counts.items() if CATALOGUE[c].severity == "error")
        omitted = {}
        if self.max_per_code is not None:
            omitted = {c: n - self.max_per_code for c, n in self.counts.items() if n > self.max_per_code}
        summary = Summary(
            files=self.files,
            records=self.records,
            errors=errors,
            warnings=sum(self.counts.values()) - errors,
            by_code=dict(sorted(self.counts.items())),
            omitted=omitted,
        )
        return Report(problems=self.problems, summary=summary, strict=strict)


def applies_to_predictions(code: str) -> bool:
    """Whether a problem code is checked in prediction records (`Check.predictions`): the one
    place that decides which rules a model's output is held to."""
    return CATALOGUE[code].predictions


def catalogue_markdown() -> str:
    """The problem catalogue as Markdown: the content of `docs/problems.md`."""
    out = [
        "# Problem codes",
        "",
        "<!-- generated by `corpus problems --markdown`; do not edit by hand -->",
        "",
        "Every problem `corpus validate` (and the commands built on it) reports has one of these",
        "stable codes. Errors make validation fail (exit 1); warnings fail it only under",
        "`--strict`. Skip a check with `--ignore CODE`.",
        "",
        "A model's prediction records (`corpus validate --predictions`, `corpus evaluate --pred`)",
        "are checked for every code but those marked *not in predictions*: the rules of the",
        "annotation guidelines, since a model's output is scored, not adjudicated.",
        "",
    ]
    groups: dict[str, list[Check]] = {}
    for c in CATALOGUE.values():
        groups.setdefault(c.group, []).append(c)
    titles = {
        "file": "Files and lines",
        "structure": "Structure",
        "span": "Spans and offsets",
        "reference": "Items and references",
        "guideline": "The guidelines (warnings)",
        "corpus": "Across lines and files",
    }
    for group, checks in groups.items():
        out += [
            f"## {titles[group]}",
            "",
            "| code | severity | what is wrong | how to fix it |",
            "|---|---|---|---|",
        ]
        out += [
            f"| `{c.code}` | {c.severity}{'' if c.predictions else ', not in predictions'} | {c.title} | {c.fix} |"
            for c in checks
        ]
        out.append("")
    return "\n".join(out)
