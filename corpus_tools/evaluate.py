"""`corpus evaluate`: score a model's predictions against gold, layer by layer.

For every layer, over the gold documents: precision, recall and F1 of the predicted items, with
strict (equal offsets) and lenient (Jaccard overlap >= `overlap`) matching, for each measure of
`corpus_tools.scoring` (`span`, `labelled`, `tuple`, and for stances the tuple without target or
holder), for each part of a layer with several (an attribution's source, cue and content, a
question's answer), and per label with micro and macro averages. The matching and the measures
are `corpus agreement`'s: one implementation (`scoring`) serves both. docs/evaluate.md defines
every figure.

Only what was predicted is scored. A layer that no prediction record holds is "not predicted"
(None), never 0; so is a measure that needs a field no predicted item of its layer gives (a
stance's `target`, an attribution's `type`). A gold document without a prediction, or a
prediction record without a layer that other records have, predicts nothing there: its gold
items count as missed, and it is listed. A prediction of a document gold does not have, or on
another text than gold's, is a problem in the data (`unknown-document`, `text-drift`).
"""

from __future__ import annotations

import itertools
import os
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import orjson
from pydantic import BaseModel, computed_field

from corpus_tools import scoring
from corpus_tools.agreement import check_threshold
from corpus_tools.dataset import DEFAULT_CONFIG, is_dataset, open_dataset
from corpus_tools.errors import CorpusToolsError, InvalidInputError
from corpus_tools.files import display, line_numbers
from corpus_tools.layers import LAYERS, Layer, PredictionRecord
from corpus_tools.problems import Problem, Report, ReportBuilder, make_problem
from corpus_tools.schema import RecordBase
from corpus_tools.validate import Validated, require_valid
from corpus_tools.validate.run import first_difference

Match = Literal["strict", "lenient"]
MATCHES: tuple[Match, ...] = ("strict", "lenient")


class Score(BaseModel):
    """Counts of one measure: matched items (`tp`), gold items, predicted items; P, R, F1."""

    tp: int = 0
    gold: int = 0
    pred: int = 0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def precision(self) -> float | None:
        """tp / pred; None without predicted items."""
        return self.tp / self.pred if self.pred else None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def recall(self) -> float | None:
        """tp / gold; None without gold items."""
        return self.tp / self.gold if self.gold else None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def f1(self) -> float | None:
        """2·tp / (gold + pred); None when there are neither gold nor predicted items."""
        total = self.gold + self.pred
        return 2 * self.tp / total if total else None

    def add(self, other: Score) -> None:
        """Add `other`'s counts to these."""
        self.tp += other.tp
        self.gold += other.gold
        self.pred += other.pred


class Scores(BaseModel):
    """One measure with strict and with lenient matching."""

    strict: Score = Score()
    lenient: Score = Score()

    def of(self, match: Match) -> Score:
        """The score with `match`ing."""
        return self.strict if match == "strict" else self.lenient

    def add(self, other: Scores) -> None:
        """Add `other`'s counts to these."""
        self.strict.add(other.strict)
        self.lenient.add(other.lenient)


class LayerEvaluation(BaseModel):
    """The figures of one layer. A value of None means "not predicted"."""

    layer: str
    label: str
    """The layer's label field (what `labelled` compares)."""
    predicted: bool = True
    """False when no prediction record holds the layer: then every figure is None."""
    measures: dict[str, Scores | None] = {}
    """Per measure (`span`, `labelled`, `tuple`, `tuple_without_target`, ...)."""
    compares: dict[str, list[str]] = {}
    """What each measure compares besides the key span."""
    parts: dict[str, Scores | None] = {}
    """Per part of a layer with several parts (`source`, `cue`, `content`; `question`,
    `answer`): that part's spans alone, matched one-to-one."""
    labels: dict[str, Scores] | None = None
    """Per label, with labelled matching (None when the label is not predicted)."""
    macro_f1: dict[str, float | None] | None = None
    """Strict and lenient: the mean of the labels' labelled F1 (labels with an F1)."""
    confusion: dict[str, int] = {}
    """`"gold label|predicted label" -> count` over the items matched leniently, labels aside."""
    not_predicted: list[str] = []
    """The fields no predicted item gives (so the measures and parts that need them are None)."""
    items_without: dict[str, int] = {}
    """Predicted fields that some predicted items leave out: how many (those cannot match on it)."""
    absent_in: list[str] = []
    """Documents whose prediction record leaves the layer out while others have it (counted as
    predicting nothing there)."""


class DocumentEvaluation(BaseModel):
    """The counts of one gold document."""

    doc_id: str
    missing: bool = False
    """True when the predictions have no record of this document."""
    layers: dict[str, dict[str, Scores]] = {}
    """Layer -> measure (or `part:<name>`) -> counts; what is not predicted is left out."""


class EvaluationReport(BaseModel):
    """The figures of one evaluation. None stands for "not predicted" or undefined (0/0)."""

    gold: str
    pred: str
    split: str | None = None
    match: Literal["exact", "overlap"] = "exact"
    """The headline matching (the `--min-f1` gate and the text summary): exact is strict."""
    overlap: float = 0.5
    documents: int = 0
    """Gold documents."""
    predicted_documents: int = 0
    """Gold documents with a prediction record."""
    missing: list[str] = []
    """Gold documents without a prediction record (counted as predicting nothing)."""
    layers: dict[str, LayerEvaluation] = {}
    micro: dict[str, Scores | None] = {}
    """`span` and `labelled` summed over the layers where they are predicted."""
    macro: dict[str, dict[str, float | None]] = {}
    """`span` and `labelled`: strict and lenient mean F1 over those layers."""
    per_document: list[DocumentEvaluation] | None = None
    """With `per_document=True`: the counts of every gold document."""

    @property
    def headline(self) -> Match:
        """`strict` for `--match exact`, `lenient` for `--match overlap`."""
        return "strict" if self.match == "exact" else "lenient"

    def below(self, min_f1: float) -> list[str]:
        """Why the report fails a gate of `min_f1` on each predicted layer's span F1 with the
        headline matching (empty: it passes). A gate that scored nothing fails."""
        check_threshold(min_f1, "--min-f1")
        figures = {
            name: scores.of(self.headline).f1
            for name, la in self.layers.items()
            if (scores := la.measures.get("span")) is not None
        }
        if all(f1 is None for f1 in figures.values()):
            return [
                "no span F1 could be computed: --min-f1 needs a predicted layer with gold or predicted items"
            ]
        return [
            f"{layer}: {self.headline} span F1 {f1:.3f} is below --min-f1 {min_f1:g}"
            for layer, f1 in figures.items()
            if f1 is not None and f1 < min_f1
        ]

    def to_json(self) -> str:
        """Every figure and count as indented JSON (P, R and F1 included)."""
        return orjson.dumps(self.model_dump(mode="json"), option=orjson.OPT_INDENT_2).decode()

    def to_text(self) -> str:
        """A plain-text summary: per layer, every measure, part and label."""
        lines = [
            f"gold: {self.gold}, {self.documents} document(s); predictions: {self.pred}, "
            f"{self.predicted_documents} of them predicted",
            f"matching: strict = equal offsets; lenient = Jaccard overlap >= {self.overlap:g}; "
            f"headline: {self.headline}",
        ]
        for la in self.layers.values():
            lines += ["", f"{la.layer} (label: {la.label})"]
            if not la.predicted:
                lines.append("  not predicted")
                continue
            lines.append(
                f"  {'':<26}{'strict P / R / F1':<24}{'lenient P / R / F1':<24}{'gold':>6}{'pred':>6}"
            )
            rows = [(m, s) for m, s in la.measures.items()]
            rows += [(f"part {p}", s) for p, s in la.parts.items()]
            rows += [(f"label {lab}", s) for lab, s in (la.labels or {}).items()]
            for name, s in rows:
                lines.append(f"  {name:<26}" + _text_cells(s))
            if la.macro_f1 is not None:
                lines.append(
                    f"  macro F1 over labels: strict {_fmt(la.macro_f1['strict'])}, "
                    f"lenient {_fmt(la.macro_f1['lenient'])}"
                )
            if la.not_predicted:
                lines.append(f"  not predicted: {', '.join(la.not_predicted)} (no predicted item gives it)")
            for f, n in la.items_without.items():
                lines.append(f"  {n} predicted item(s) without {f}")
            if la.absent_in:
                lines.append(f"  left out of the prediction records of: {', '.join(la.absent_in)}")
        lines.append("")
        for name, s in self.micro.items():
            mac = self.macro.get(name, {})
            lines.append(
                f"all layers, {name}: micro F1 strict {_fmt(s.strict.f1 if s else None)}, lenient "
                f"{_fmt(s.lenient.f1 if s else None)}; macro F1 strict {_fmt(mac.get('strict'))}, "
                f"lenient {_fmt(mac.get('lenient'))}"
            )
        if self.missing:
            lines.append(
                f"gold documents without a prediction ({len(self.missing)}): {', '.join(self.missing)}"
            )
        return "\n".join(lines)

    def to_markdown(self) -> str:
        """Tables: F1 per layer and measure, then each layer's P/R/F1 per measure, part and label."""
        names = ["span", "labelled", "tuple"]
        lines = [
            "| Layer | "
            + " | ".join(f"{n.capitalize()} F1 strict | {n.capitalize()} F1 lenient" for n in names)
            + " |",
            "|---|" + "---:|" * (2 * len(names)),
        ]
        for la in self.layers.values():
            cells = []
            for n in names:
                if n not in la.measures:
                    cells += ["–", "–"]
                    continue
                s = la.measures[n]
                cells += [_md(s, "strict"), _md(s, "lenient")]
            lines.append(f"| {la.layer} ({la.label}) | " + " | ".join(cells) + " |")
        for la in self.layers.values():
            if not la.predicted:
                continue
            lines += [
                "",
                f"**{la.layer}**",
                "",
                "| | P strict | R strict | F1 strict | P lenient | R lenient | F1 lenient | gold | pred |",
                "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
            ]
            rows = [(m, s) for m, s in la.measures.items()]
            rows += [(f"part `{p}`", s) for p, s in la.parts.items()]
            rows += [(f"label `{lab}`", s) for lab, s in (la.labels or {}).items()]
            for name, s in rows:
                if s is None:
                    lines.append(f"| {name} | " + " | ".join(["not predicted"] + [""] * 7) + " |")
                    continue
                cells = [_fmt(getattr(s.of(m), f)) for m in MATCHES for f in ("precision", "recall", "f1")]
                lines.append(f"| {name} | " + " | ".join(cells) + f" | {s.strict.gold} | {s.strict.pred} |")
        lines += [
            "",
            f"Strict: equal offsets; lenient: Jaccard overlap ≥ {self.overlap:g}; n/a: undefined (0/0); "
            "–: the layer has no such measure.",
        ]
        return "\n".join(lines)


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _md(scores: Scores | None, match: Match) -> str:
    return "not predicted" if scores is None else _fmt(scores.of(match).f1)


def _text_cells(s: Scores | None) -> str:
    if s is None:
        return "not predicted"
    cells = ""
    for m in MATCHES:
        sc = s.of(m)
        cells += f"{_fmt(sc.precision)} {_fmt(sc.recall)} {_fmt(sc.f1)}".ljust(24)
    return cells + f"{s.strict.gold:>6}{s.strict.pred:>6}"


# -- the run ----------------------------------------------------------------------------------


Inputs = Path | str | Mapping[str, Any] | BaseModel | Iterable[Any]
"""What `evaluate` reads as GOLD or PRED: a path, paths, or records (dicts or models)."""


def evaluate(
    gold: Inputs,
    pred: Inputs,
    *,
    split: str | None = None,
    layers: Iterable[str] | None = None,
    match: Literal["exact", "overlap"] = "exact",
    overlap: float = 0.5,
    per_document: bool = False,
) -> EvaluationReport:
    """Score predictions against gold.

    Args:
        gold: gold record files, folders of them, parquet files of records, or a published
            dataset folder (then `split`: its `default` config's split). One record per document
            (`corpus merge`'s output, a split file, a published split). Or the records
            themselves: one record, or an iterable of them, each a dict (a JSON object) or a
            model (`Record`).
        pred: prediction record files or folders (`layers.PredictionRecord`, checked as
            `corpus validate --predictions` does), parquet files of records, or a published
            dataset folder (its `default` config's `split`); or prediction records themselves,
            as for `gold` (what `tokens.from_bio` returns, one or a list). Records given
            directly are validated like a file's lines; a problem names them `<pred records>`
            and the record's position, counted from 1, as its line.
        split: the split of a published dataset folder to read (see `corpus_tools.dataset`).
        layers: the layers to score (default: all).
        match: the headline matching, `exact` (strict) or `overlap` (lenient); both are computed.
        overlap: the Jaccard threshold of lenient matching, in (0, 1].
        per_document: keep every document's counts (`EvaluationReport.per_document`).

    Returns:
        An `EvaluationReport`; `to_text()`, `to_json()` and `to_markdown()` render it.

    Raises:
        InvalidInputError: when an input does not validate, or a prediction names a document gold
            does not have or carries another text (the report says where).
        CorpusToolsError: on a bad option, a missing path, an input that is neither paths nor
            records, a record that is not JSON, gold with several records of a document, or a
            published folder without the split.
    """
    if not 0 < overlap <= 1:
        raise CorpusToolsError(f"--overlap must be in (0, 1], not {overlap}")
    if match not in ("exact", "overlap"):
        raise CorpusToolsError(f"--match must be exact or overlap, not {match!r}")
    chosen = _layers(layers)
    with ExitStack() as stack:
        gold_input = _Input.open(gold, split, "--gold", stack)
        pred_input = _Input.open(pred, split, "--pred", stack)
        try:
            return _evaluate(gold_input, pred_input, chosen, split, match, overlap, per_document)
        except InvalidInputError as e:
            raise InvalidInputError(_relabel(e.report, (gold_input, pred_input))) from None


def _evaluate(
    gold_input: _Input,
    pred_input: _Input,
    chosen: list[Layer],
    split: str | None,
    match: Literal["exact", "overlap"],
    overlap: float,
    per_document: bool,
) -> EvaluationReport:
    if split is not None and not (gold_input.published or pred_input.published):
        raise CorpusToolsError(
            "--split chooses a split of a published dataset folder; neither --gold nor "
            "--pred is one (give the split's JSONL file instead)"
        )
    gold_valid = gold_input.validate(predictions=False)
    pred_valid = pred_input.validate(predictions=True)
    report = EvaluationReport(
        gold=gold_input.shown, pred=pred_input.shown, split=split, match=match, overlap=overlap
    )
    acc = _Accumulator(chosen, overlap, per_document)
    problems = _Problems(pred_valid)
    with gold_valid.index() as gold_index, pred_valid.index() as pred_index:
        gold_ids = set(gold_index.index)
        for doc_id in sorted(set(pred_index.index) - gold_ids):
            problems.add(
                "unknown-document",
                pred_index.index[doc_id][0],
                "doc_id",
                f"doc_id {doc_id!r} is not in the gold data ({gold_input.shown}); predict only its documents",
            )
        for doc_id in gold_index.doc_ids():
            golds = gold_index.records(doc_id)
            if len(golds) > 1:
                raise CorpusToolsError(
                    f"{gold_input.shown}: doc_id {doc_id!r} has {len(golds)} records (annotators "
                    f"{', '.join(r.annotator for r in golds)}); gold has one record per document "
                    "(corpus merge's output, a split file, a published dataset)"
                )
            (gold_record,) = golds
            predicted = None
            if doc_id in pred_index.index:
                (line,) = pred_index.lines(doc_id)
                predicted = PredictionRecord.model_validate_json(line)
                if predicted.text != gold_record.text:
                    problems.add(
                        "text-drift",
                        pred_index.index[doc_id][0],
                        "text",
                        f"the text of doc_id {doc_id!r} differs from gold's (lengths "
                        f"{len(predicted.text)} here and {len(gold_record.text)} in gold; "
                        f"{first_difference(predicted.text, gold_record.text)}); predict on "
                        "gold's exact text: offsets index into it",
                    )
                    continue
            acc.add(gold_record, predicted)
    problems.raise_any()
    acc.fill(report)
    return report


def _layers(names: Iterable[str] | None) -> list[Layer]:
    if names is None:
        return list(LAYERS.values())
    chosen = list(dict.fromkeys(names))
    unknown = [n for n in chosen if n not in LAYERS]
    if unknown:
        raise CorpusToolsError(f"--layer: unknown layer {unknown[0]!r} (layers: {', '.join(LAYERS)})")
    if not chosen:
        raise CorpusToolsError("--layer: name at least one layer")
    return [LAYERS[n] for n in chosen]


@dataclass
class _Input:
    """GOLD or PRED as given: JSONL files or folders and parquet files of records, or one split of
    a published dataset folder (the parquet files of its `default` config), all read through
    `corpus_tools.dataset`, or records given directly (written to a temporary JSONL file, so
    that they are validated and read as a file's lines are); and how to name it in the report."""

    paths: list[Path]
    shown: str
    published: bool = False
    split: str | None = None
    """The split of a published dataset folder (`paths` is the folder)."""
    records: tuple[Path, str] | None = None
    """Records given directly: the temporary file holding them, and their name in reports
    (`<pred records>`)."""

    @classmethod
    def open(cls, given: Inputs, split: str | None, option: str, stack: ExitStack) -> _Input:
        paths, records = _paths_or_records(given, option)
        if records is not None:
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=".corpus-evaluate-")))
            path = tmp / f"{option.lstrip('-')}.jsonl"
            count = _write_records(records, path, option)
            label = f"<{option.lstrip('-')} records>"
            return cls([path], f"{label} ({count})", records=(path, label))
        items = paths
        if not items:
            raise CorpusToolsError(f"{option}: name a file or folder")
        folders = [p for p in items if is_dataset(p)]
        if not folders:
            return cls(items, ", ".join(display(p) for p in items))
        if len(items) > 1:
            raise CorpusToolsError(
                f"{option}: a published dataset folder is read on its own, not with other paths"
            )
        folder = folders[0]
        dataset = open_dataset(folder)
        splits = dataset.configs.get(DEFAULT_CONFIG)
        if splits is None:
            raise CorpusToolsError(
                f"{option} {display(folder)}: the dataset has no {DEFAULT_CONFIG!r} config (it has "
                f"{', '.join(dataset.configs)}); name the parquet files to read instead"
            )
        if split is None:
            raise CorpusToolsError(
                f"{option} {display(folder)} is a published dataset: choose a split with --split "
                f"({', '.join(splits)})"
            )
        if split not in splits:
            raise CorpusToolsError(
                f"{option} {display(folder)}: no split {split!r} in config {DEFAULT_CONFIG!r} (it has "
                f"{', '.join(splits)})"
            )
        return cls([folder], f"{display(folder)} [{split}]", True, split)

    def validate(self, *, predictions: bool) -> Validated:
        """The input, validated (a problem in a parquet file names the file and row)."""
        return require_valid(self.paths, predictions=predictions, configs=(DEFAULT_CONFIG,), split=self.split)


_WHAT = (
    "a path, a list of paths, a record (a dict, as tokens.from_bio returns, or a Record) or an "
    "iterable of records"
)


def _is_path(value: Any) -> bool:
    return isinstance(value, str | os.PathLike)


def _is_record(value: Any) -> bool:
    return isinstance(value, Mapping | BaseModel)


def _paths_or_records(given: Any, option: str) -> tuple[list[Path], Iterator[Any] | None]:
    """The paths given, or an iterator over the records given (checked one by one as written)."""
    if _is_path(given):
        return [Path(given)], None
    if _is_record(given):
        return [], iter([given])
    if isinstance(given, bytes | bytearray) or not isinstance(given, Iterable):
        raise CorpusToolsError(f"{option}: expected {_WHAT}, not {type(given).__name__}")
    items = iter(given)
    first = next(items, None)
    if first is None:
        raise CorpusToolsError(f"{option}: name a file or folder, or give records")
    if _is_record(first):
        return [], itertools.chain([first], items)
    if not _is_path(first):
        raise CorpusToolsError(
            f"{option}: expected {_WHAT}, not a {type(given).__name__} of {type(first).__name__}"
        )
    paths = [Path(first)]
    for n, item in enumerate(items, 2):
        if not _is_path(item):
            raise CorpusToolsError(
                f"{option}: item {n} is of type {type(item).__name__}, not a path like the first"
            )
        paths.append(Path(item))
    return paths, None


def _write_records(records: Iterator[Any], path: Path, option: str) -> int:
    """Write records given directly as JSONL lines; how many there were."""
    count = 0
    with open(path, "wb") as f:
        for count, record in enumerate(records, 1):
            if isinstance(record, BaseModel):
                record = record.model_dump(mode="json", exclude_unset=True)
            elif not isinstance(record, Mapping):
                raise CorpusToolsError(
                    f"{option}: item {count} is of type {type(record).__name__}, not a record like the first "
                    "(a dict, as tokens.from_bio returns, or a Record)"
                )
            try:
                f.write(
                    orjson.dumps(dict(record), option=orjson.OPT_APPEND_NEWLINE | orjson.OPT_SERIALIZE_NUMPY)
                )
            except TypeError as e:
                raise CorpusToolsError(f"{option}: record {count} cannot be written as JSON: {e}") from None
    if not count:
        raise CorpusToolsError(f"{option}: name a file or folder, or give records")
    return count


def _relabel(report: Report, inputs: Sequence[_Input]) -> Report:
    """The report with the temporary file of records given directly named as they were given:
    `<pred records>`, its lines being the records' positions."""
    names = {}
    for given in inputs:
        if given.records is not None:
            path, label = given.records
            names[str(path)] = names[display(path)] = label
    if not names:
        return report
    problems = [p.model_copy(update={"file": names.get(p.file, p.file)}) for p in report.problems]
    return report.model_copy(update={"problems": problems})


class _Problems:
    """Problems found while reading the predictions against gold, reported together at the end."""

    def __init__(self, pred: Validated) -> None:
        self.pred = pred
        self.found: list[tuple[str, tuple[int, int, int], str, str]] = []

    def add(self, code: str, where: tuple[int, int, int], path: str, message: str) -> None:
        self.found.append((code, where, path, message))

    def raise_any(self) -> None:
        if not self.found:
            return
        by_file: dict[int, set[int]] = {}
        for _code, (number, offset, _n), _p, _m in self.found:
            by_file.setdefault(number, set()).add(offset)
        lines = {n: line_numbers(self.pred.files[n], offsets) for n, offsets in by_file.items()}
        # The counts and warnings of validating the predictions, with these errors added: the
        # report covers every prediction record read, as `corpus validate --predictions` would.
        validated = self.pred.report
        builder = ReportBuilder()
        builder.files, builder.records = validated.summary.files, validated.summary.records
        problems: list[Problem] = list(validated.problems)
        for code, (number, offset, _n), path, message in self.found:
            at = self.pred.where(self.pred.files[number], lines[number][offset])
            problems.append(make_problem(code, at.file, at.line, path, message, row=at.row))
        for p in sorted(problems, key=lambda p: (p.file, p.line or 0, p.row or 0)):
            builder.add(p)
        raise InvalidInputError(builder.build())


@dataclass
class _LayerCounts:
    measures: dict[str, Scores]
    parts: dict[str, Scores]
    labels: dict[str, Scores]
    confusion: Counter[str] = field(default_factory=Counter)
    records: int = 0
    """Prediction records that hold the layer."""
    items: int = 0
    """Predicted items."""
    given: Counter[str] = field(default_factory=Counter)
    """Predicted items giving each field that a measure or part compares."""
    absent_in: list[str] = field(default_factory=list)


class _Accumulator:
    def __init__(self, layers: Sequence[Layer], overlap: float, per_document: bool) -> None:
        self.layers = layers
        self.overlap = overlap
        self.measures = {layer.name: scoring.measures(layer) for layer in layers}
        self.scorers = {
            layer.name: {
                (m.name, match): scoring.scorer(layer, m, match == "lenient", overlap)
                for m in self.measures[layer.name]
                for match in MATCHES
            }
            for layer in layers
        }
        self.counts = {
            layer.name: _LayerCounts(
                measures={m.name: Scores() for m in self.measures[layer.name]},
                parts={p.name: Scores() for p in _scored_parts(layer)},
                labels={label: Scores() for label in layer.names},
            )
            for layer in layers
        }
        self.documents: list[DocumentEvaluation] | None = [] if per_document else None
        self.doc_count = 0
        self.predicted = 0
        self.missing: list[str] = []

    def add(self, gold: RecordBase, pred: Any | None) -> None:
        self.doc_count += 1
        doc_id = gold.doc_id
        if pred is None:
            self.missing.append(doc_id)
        else:
            self.predicted += 1
        doc = DocumentEvaluation(doc_id=doc_id, missing=pred is None)
        for layer in self.layers:
            counts = self.counts[layer.name]
            if pred is not None and layer.name in pred.model_fields_set:
                counts.records += 1
                pred_items = getattr(pred, layer.name)
                ys = scoring.entries(layer, pred)
                self._note_fields(layer, pred_items, counts)
            else:
                if pred is not None:
                    counts.absent_in.append(doc_id)
                pred_items, ys = [], []
            xs = scoring.entries(layer, gold)
            doc.layers[layer.name] = self._score(layer, xs, ys, getattr(gold, layer.name), pred_items, counts)
        if self.documents is not None:
            self.documents.append(doc)

    def _note_fields(self, layer: Layer, items: Sequence[Any], counts: _LayerCounts) -> None:
        # A field a record may leave out (an answer, a source) is given by an item that has it,
        # even as null: leaving it out means "none", as in a record, unless no item has it.
        # A field every record has (a label, a target) is given only with a value.
        fields = [(f, not layer.model.model_fields[f].is_required()) for f in _compared_fields(layer)]
        for item in items:
            counts.items += 1
            for f, nullable in fields:
                if getattr(item, f) is not None or (nullable and f in item.model_fields_set):
                    counts.given[f] += 1

    def _score(
        self,
        layer: Layer,
        xs: list[scoring.Entry],
        ys: list[scoring.Entry],
        gold_items: Sequence[Any],
        pred_items: Sequence[Any],
        counts: _LayerCounts,
    ) -> dict[str, Scores]:
        doc: dict[str, Scores] = {}
        for m in self.measures[layer.name]:
            here = Scores()
            for match in MATCHES:
                pairs = scoring.pairs(xs, ys, self.scorers[layer.name][(m.name, match)])
                here.of(match).add(Score(tp=len(pairs), gold=len(xs), pred=len(ys)))
                if m.name == "labelled":
                    self._labels(xs, ys, pairs, match, counts)
                if m.name == "span" and match == "lenient":
                    counts.confusion.update(f"{xs[i].label}|{ys[j].label or '-'}" for i, j in pairs)
            counts.measures[m.name].add(here)
            doc[m.name] = here
        for part in _scored_parts(layer):
            gs, ps = scoring.part_spans(part, gold_items), scoring.part_spans(part, pred_items)
            here = Scores()
            for match in MATCHES:
                pairs = scoring.span_pairs(gs, ps, match == "lenient", self.overlap)
                here.of(match).add(Score(tp=len(pairs), gold=len(gs), pred=len(ps)))
            counts.parts[part.name].add(here)
            doc[f"part:{part.name}"] = here
        return doc

    @staticmethod
    def _labels(
        xs: list[scoring.Entry],
        ys: list[scoring.Entry],
        pairs: list[tuple[int, int]],
        match: Match,
        counts: _LayerCounts,
    ) -> None:
        tp = Counter(str(xs[i].label) for i, _j in pairs)
        gold = Counter(str(x.label) for x in xs)
        pred = Counter(str(y.label) for y in ys if y.label is not None)
        for label, scores in counts.labels.items():
            scores.of(match).add(Score(tp=tp[label], gold=gold[label], pred=pred[label]))

    def fill(self, report: EvaluationReport) -> None:
        report.documents = self.doc_count
        report.predicted_documents = self.predicted
        report.missing = self.missing
        hidden: dict[str, set[str]] = {}
        for layer in self.layers:
            la, hide = self._layer(layer)
            report.layers[layer.name] = la
            hidden[layer.name] = hide
        for name in ("span", "labelled"):
            scored = [la.measures[name] for la in report.layers.values() if la.measures.get(name) is not None]
            total = None
            if scored:
                total = Scores()
                for s in scored:
                    if s is not None:
                        total.add(s)
            report.micro[name] = total
            report.macro[name] = {m: _mean([s.of(m).f1 for s in scored if s is not None]) for m in MATCHES}
        if self.documents is not None:
            for doc in self.documents:
                doc.layers = {
                    name: {k: v for k, v in figures.items() if k not in hidden[name]}
                    for name, figures in doc.layers.items()
                    if report.layers[name].predicted
                }
            report.per_document = self.documents

    def _layer(self, layer: Layer) -> tuple[LayerEvaluation, set[str]]:
        counts = self.counts[layer.name]
        la = LayerEvaluation(
            layer=layer.name,
            label=layer.label,
            compares={m.name: list(m.fields) for m in self.measures[layer.name]},
        )
        every = {m.name for m in self.measures[layer.name]} | {f"part:{p.name}" for p in _scored_parts(layer)}
        if counts.records == 0:
            la.predicted = False
            la.measures = dict.fromkeys(counts.measures)
            la.parts = dict.fromkeys(counts.parts)
            return la, every
        compared = _compared_fields(layer)
        missing = {f for f in compared if counts.items and not counts.given[f]}
        la.not_predicted = sorted(missing)
        la.items_without = {
            f: counts.items - counts.given[f]
            for f in compared
            if f not in missing
            and counts.given[f] < counts.items
            and layer.model.model_fields[f].is_required()
        }
        la.absent_in = counts.absent_in
        hide = set()
        for m in self.measures[layer.name]:
            if missing & set(m.fields):
                hide.add(m.name)
        for p in _scored_parts(layer):
            if p.field in missing:
                hide.add(f"part:{p.name}")
        la.measures = {name: None if name in hide else s for name, s in counts.measures.items()}
        la.parts = {name: None if f"part:{name}" in hide else s for name, s in counts.parts.items()}
        if layer.label not in missing:
            la.labels = counts.labels
            la.macro_f1 = {m: _mean([s.of(m).f1 for s in counts.labels.values()]) for m in MATCHES}
            la.confusion = dict(sorted(counts.confusion.items()))
        return la, hide


def _scored_parts(layer: Layer) -> list[Any]:
    """The parts scored on their own: every part of a layer that has several."""
    return list(layer.parts) if len(layer.parts) > 1 else []


def _compared_fields(layer: Layer) -> list[str]:
    """The fields a measure or a part compares, which a prediction may leave out."""
    fields = {f for m in scoring.measures(layer) for f in m.fields}
    fields |= {p.field for p in _scored_parts(layer) if p.field is not None and p.field != layer.key}
    return sorted(fields)


def _mean(values: Iterable[float | None]) -> float | None:
    defined = [v for v in values if v is not None]
    return sum(defined) / len(defined) if defined else None
