"""`corpus agreement`: inter-annotator agreement per layer, pairwise and over all annotators.

For every pair of annotators, over the documents both annotated, and per layer:

- span F1, strict (exact offsets) and lenient (Jaccard overlap >= `overlap`), unlabelled and
  labelled (the layer's label must be equal too): `2·matched / (items of A + items of B)`,
  which is symmetric in A and B;
- Cohen's kappa on the label of the items matched leniently;
- tuple F1 for whole attributions (source, cue, content, type) and whole stances (span, target,
  polarity, holder, the holder compared by its attribution's content span);

and over all annotators Krippendorff's alpha (nominal, `krippendorff` package) on the label of
leniently matched items. With `gold`, every annotator is paired with the gold record of each
document instead (agreement after adjudication: how far each pass is from gold), and alpha is
not computed. Items are reduced, matched one-to-one and counted by `corpus_tools.scoring`, which
`corpus evaluate` counts with too. `docs/agreement.md` defines every figure, including what is
reported when a figure is undefined (None).
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from itertools import combinations
from pathlib import Path

import orjson
from pydantic import BaseModel

from corpus_tools import scoring
from corpus_tools.dataset import ANNOTATORS_CONFIG, DEFAULT_CONFIG
from corpus_tools.errors import CorpusToolsError
from corpus_tools.layers import LAYERS, TUPLE_LAYERS
from corpus_tools.matching import cluster
from corpus_tools.schema import RecordBase
from corpus_tools.validate import Validated, require_valid

MEASURES = ("strict", "lenient", "strict_labelled", "lenient_labelled")
"""The span F1 measures, computed for every layer."""
TUPLE_MEASURES = ("tuple_strict", "tuple_lenient")
"""The tuple F1 measures, computed for attributions and stances."""


class F1(BaseModel):
    """Matched items and item counts of one annotator pair; F1 = 2·matched / (a + b)."""

    matched: int = 0
    a: int = 0
    """Items of the first annotator of the pair."""
    b: int = 0
    """Items of the second annotator of the pair."""

    @property
    def f1(self) -> float | None:
        """None when neither annotator has an item (nothing to agree on)."""
        total = self.a + self.b
        return 2 * self.matched / total if total else None


class PairAgreement(BaseModel):
    """Agreement of two annotators in one layer, over the documents both annotated."""

    a: str
    b: str
    documents: int = 0
    f1: dict[str, F1] = {}
    """Per measure (`strict`, `lenient`, `strict_labelled`, ...): counts and F1."""
    confusion: dict[str, int] = {}
    """Label pairs of the leniently matched items, `"label of a|label of b" -> count`."""
    kappa: float | None = None
    """Cohen's kappa on the labels of the leniently matched items; None when undefined."""
    observed: float | None = None
    """Share of leniently matched items with the same label (None without matches)."""

    def scores(self) -> dict[str, float | None]:
        """F1 per measure."""
        return {m: c.f1 for m, c in self.f1.items()}


class LayerAgreement(BaseModel):
    """Agreement in one layer."""

    layer: str
    label: str
    """The categorical attribute the labelled figures, kappa and alpha use."""
    items: dict[str, int] = {}
    """Items per annotator (over all their documents)."""
    pairs: list[PairAgreement] = []
    f1: dict[str, float | None] = {}
    """Per measure: the mean of the pairs' F1 (pairs where it is undefined are left out)."""
    kappa: float | None = None
    """Mean of the pairs' Cohen's kappa (undefined ones left out)."""
    alpha: float | None = None
    """Krippendorff's alpha (nominal) over all annotators; None when undefined."""
    alpha_units: int = 0
    """Matched items labelled by at least two annotators: the units alpha is computed over."""


class AgreementReport(BaseModel):
    """Agreement figures for a set of annotator files."""

    overlap: float
    documents: int = 0
    """Documents in the inputs."""
    shared_documents: int = 0
    """Documents annotated by at least two annotators (the only ones agreement is measured on)."""
    annotators: list[str] = []
    layers: dict[str, LayerAgreement] = {}
    gold: str | None = None
    """The gold annotator every annotator was paired with (None: annotator pairs)."""
    excluded: list[str] = []
    """Documents left out (`exclude`), or `only` the documents kept: `["only: doc1"]`."""

    def below(self, min_f1: float) -> list[str]:
        """Why the report fails a gate of `min_f1` on each layer's strict span F1 (empty: it
        passes). A gate that compared nothing fails: a mistyped path or a single annotator must
        not pass CI."""
        check_threshold(min_f1, "--min-f1")
        strict = {layer: la.f1.get("strict") for layer, la in self.layers.items()}
        if all(f1 is None for f1 in strict.values()):
            return ["no strict F1 could be computed: --min-f1 needs two annotators of a shared document"]
        return [
            f"{layer}: strict span F1 {f1:.3f} is below --min-f1 {min_f1:g}"
            for layer, f1 in strict.items()
            if f1 is not None and f1 < min_f1
        ]

    def to_json(self) -> str:
        """The report as indented JSON, every F1 value included."""
        data = self.model_dump(mode="json")
        for layer, la in self.layers.items():
            for pair, pd in zip(la.pairs, data["layers"][layer]["pairs"], strict=True):
                for m, counts in pair.f1.items():
                    pd["f1"][m]["f1"] = counts.f1
        return orjson.dumps(data, option=orjson.OPT_INDENT_2).decode()

    def to_text(self) -> str:
        """A plain-text summary with one block per layer and one line per pair."""
        lines = [
            f"{len(self.annotators)} annotator(s), {self.documents} document(s), "
            f"{self.shared_documents} annotated by two or more; lenient overlap >= {self.overlap:g}"
        ]
        for la in self.layers.values():
            lines.append("")
            lines.append(f"{la.layer} (label: {la.label})")
            lines.append("  items: " + ", ".join(f"{a} {n}" for a, n in la.items.items()))
            measures = [m for m in (*MEASURES, *TUPLE_MEASURES) if m in la.f1]
            lines.append("  F1 (mean over pairs): " + ", ".join(f"{m} {_fmt(la.f1[m])}" for m in measures))
            lines.append(
                f"  Cohen's kappa (mean) {_fmt(la.kappa)}; Krippendorff's alpha {_fmt(la.alpha)} "
                f"over {la.alpha_units} item(s)"
            )
            for p in la.pairs:
                s = p.scores()
                lines.append(
                    f"  {p.a} / {p.b} ({p.documents} doc): "
                    + ", ".join(f"{m} {_fmt(s[m])}" for m in measures)
                    + f", kappa {_fmt(p.kappa)}"
                )
        return "\n".join(lines)

    def to_markdown(self) -> str:
        """Tables for a dataset card: figures per layer, then items per annotator."""
        header = (
            "| Layer | Span F1 strict | Span F1 lenient | Labelled F1 strict | Labelled F1 lenient "
            "| Tuple F1 strict | Tuple F1 lenient | Cohen's κ | Krippendorff's α |"
        )
        lines = [header, "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for la in self.layers.values():
            cells = [_fmt(la.f1.get(m)) if m in la.f1 else "–" for m in (*MEASURES, *TUPLE_MEASURES)]
            lines.append(
                f"| {la.layer} ({la.label}) | "
                + " | ".join(cells)
                + f" | {_fmt(la.kappa)} | {_fmt(la.alpha)} |"
            )
        lines += ["", "| Annotator | " + " | ".join(self.layers) + " |", "|---|" + "---:|" * len(self.layers)]
        for a in self.annotators:
            lines.append(
                f"| {a} | " + " | ".join(str(la.items.get(a, 0)) for la in self.layers.values()) + " |"
            )
        pairs = len(next(iter(self.layers.values())).pairs) if self.layers else 0
        if self.gold is None:
            over = (
                f"F1 and κ are means over {pairs} annotator pair(s) on the {self.shared_documents} "
                f"document(s) annotated by two or more of {len(self.annotators)} annotator(s)"
            )
        else:
            over = (
                f"F1 and κ are means over {pairs} annotator(s), each paired with gold (`{self.gold}`) "
                f"on the {self.shared_documents} document(s) both have; α is not computed against gold"
            )
        lines += [
            "",
            f"{over}; lenient matching: Jaccard overlap ≥ {self.overlap:g}; labelled: the label in "
            "brackets must agree too; κ and α are on that label for leniently matched items; "
            "n/a: undefined.",
        ]
        return "\n".join(lines)


def check_threshold(value: float, option: str) -> float:
    """`value`, checked to be a score threshold in [0, 1] (NaN compares false with everything,
    so a gate of NaN would pass anything).

    Raises:
        CorpusToolsError: when it is not.
    """
    if not 0.0 <= value <= 1.0:
        raise CorpusToolsError(f"{option} must be a number from 0 to 1, not {value}")
    return value


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def agreement(
    paths: Iterable[Path | str] | Validated,
    *,
    overlap: float = 0.5,
    gold: Iterable[Path | str] | Validated | None = None,
    exclude: Collection[str] = (),
    only: Collection[str] | None = None,
) -> AgreementReport:
    """Compute agreement figures for annotator files.

    Args:
        paths: annotator JSONL files, or folders searched for `*.jsonl`, published dataset
            folders (their `annotators` config) or parquet files, or a `Validated` handle.
        overlap: the Jaccard threshold of lenient matching, in (0, 1].
        gold: gold files (one annotator name, as `corpus merge` writes them), or a published
            dataset (its `default` config): pair every annotator with gold instead of with each
            other (agreement after adjudication).
        exclude: documents to leave out (e.g. one the guidelines' examples annotate).
        only: when given, the only documents measured.

    Returns:
        An `AgreementReport`; `to_text()`, `to_json()` and `to_markdown()` render it.

    Raises:
        InvalidInputError: when the inputs do not validate (carries the report).
        CorpusToolsError: on a bad option or a path that does not exist.
    """
    if not 0 < overlap <= 1:
        raise CorpusToolsError(f"--overlap must be in (0, 1], not {overlap}")
    valid = require_valid(paths, configs=(ANNOTATORS_CONFIG,), passes=True)
    reference = None
    golds: dict[str, RecordBase] = {}
    if gold is not None:
        gold_valid = require_valid(gold, configs=(DEFAULT_CONFIG,))
        names = set()
        for _path, _line, rec in gold_valid.records():
            names.add(rec.annotator)
            golds[rec.doc_id] = rec
        if len(names) != 1:
            raise CorpusToolsError(
                "the gold files must hold one annotator name (as `corpus merge` writes them), "
                f"not {sorted(names) or 'none'}"
            )
        reference = names.pop()
    acc = _Accumulator(overlap, reference)
    with valid.index() as index:
        for doc_id, records in index:
            if doc_id in exclude or (only is not None and doc_id not in only):
                continue
            if reference is not None:
                if doc_id not in golds:
                    continue
                _check_same_text(records, golds[doc_id])
                records = [r for r in records if r.annotator != reference] + [golds[doc_id]]
            acc.add(records)
    rep = acc.report()
    rep.gold = reference
    rep.excluded = sorted(exclude) if only is None else [f"only: {d}" for d in sorted(only)]
    return rep


def records_agreement(records: Sequence[RecordBase], *, overlap: float = 0.5) -> AgreementReport:
    """Agreement among the records of one document, one per annotator (what `agreement` computes
    with `only={doc_id}`, without reading files): for a page that shows one document.

    Raises:
        CorpusToolsError: on a bad `overlap`, or records of different documents.
    """
    if not 0 < overlap <= 1:
        raise CorpusToolsError(f"--overlap must be in (0, 1], not {overlap}")
    if len({r.doc_id for r in records}) > 1:
        raise CorpusToolsError("records_agreement takes the records of one document")
    acc = _Accumulator(overlap)
    if records:
        acc.add(list(records))
    rep = acc.report()
    rep.excluded = [f"only: {records[0].doc_id}"] if records else []
    return rep


def _check_same_text(records: list[RecordBase], gold: RecordBase) -> None:
    for r in records:
        if r.text != gold.text:
            raise CorpusToolsError(
                f"{gold.doc_id}: the gold text differs from {r.annotator}'s; gold must be merged "
                "from these annotations"
            )


# -- computation ------------------------------------------------------------------------------

_MEASURES = {
    "strict": ("span", False),
    "lenient": ("span", True),
    "strict_labelled": ("labelled", False),
    "lenient_labelled": ("labelled", True),
    "tuple_strict": ("tuple", False),
    "tuple_lenient": ("tuple", True),
}
"""Agreement's measure names -> the `scoring` measure and whether matching is lenient."""


class _Accumulator:
    def __init__(self, overlap: float, reference: str | None = None) -> None:
        self.overlap = overlap
        self.reference = reference
        self.documents = 0
        self.shared = 0
        self.annotators: set[str] = set()
        self.items: dict[str, Counter[str]] = {layer: Counter() for layer in LAYERS}
        self.pairs: dict[tuple[str, str], dict[str, PairAgreement]] = {}
        self.confusion: dict[tuple[str, str], dict[str, Counter[tuple[str, str]]]] = {}
        self.units: dict[str, list[Counter[str]]] = {layer: [] for layer in LAYERS}

    def add(self, records: list[RecordBase]) -> None:
        self.documents += 1
        names = [r.annotator for r in records]
        self.annotators.update(names)
        entries = {
            r.annotator: {name: scoring.entries(layer, r) for name, layer in LAYERS.items()} for r in records
        }
        for layer in LAYERS:
            for a in names:
                self.items[layer][a] += len(entries[a][layer])
        if len(records) < 2:
            return
        self.shared += 1
        if self.reference is None:
            pairs = list(combinations(sorted(names), 2))
        else:
            pairs = [(a, self.reference) for a in sorted(names) if a != self.reference]
        for a, b in pairs:
            pair = self.pairs.setdefault((a, b), {layer: PairAgreement(a=a, b=b) for layer in LAYERS})
            confusion = self.confusion.setdefault((a, b), {layer: Counter() for layer in LAYERS})
            for layer in LAYERS:
                self._pair(layer, entries[a][layer], entries[b][layer], pair[layer], confusion[layer])
        if self.reference is None:
            for layer in LAYERS:
                self._units(layer, {a: entries[a][layer] for a in names})

    def _pair(
        self,
        layer: str,
        xs: list[scoring.Entry],
        ys: list[scoring.Entry],
        out: PairAgreement,
        confusion: Counter[tuple[str, str]],
    ) -> None:
        out.documents += 1
        spec = LAYERS[layer]
        names = MEASURES + (TUPLE_MEASURES if layer in TUPLE_LAYERS else ())
        for name in names:
            kind, lenient = _MEASURES[name]
            score = scoring.scorer(spec, scoring.measure(spec, kind), lenient, self.overlap)
            pairs = scoring.pairs(xs, ys, score)
            counts = out.f1.setdefault(name, F1())
            counts.matched += len(pairs)
            counts.a += len(xs)
            counts.b += len(ys)
            if name == "lenient":
                confusion.update((str(xs[i].label), str(ys[j].label)) for i, j in pairs)

    def _units(self, layer: str, per_annotator: dict[str, list[scoring.Entry]]) -> None:
        spec = LAYERS[layer]
        score = scoring.scorer(spec, scoring.measure(spec, "span"), True, self.overlap)
        # The span measure scores by key span alone: equal spans score highest.
        for group in cluster(
            per_annotator, score, scoring.tiebreak, lambda e: e.key, equal_bounds_first=True
        ):
            if len(group) >= 2:
                self.units[layer].append(Counter(str(e.label) for e in group.values()))

    def report(self) -> AgreementReport:
        rep = AgreementReport(
            overlap=self.overlap,
            documents=self.documents,
            shared_documents=self.shared,
            annotators=sorted(self.annotators),
        )
        for layer in LAYERS:
            label_field, names = LAYERS[layer].label, LAYERS[layer].names
            la = LayerAgreement(
                layer=layer, label=label_field, items={a: self.items[layer][a] for a in rep.annotators}
            )
            measures = MEASURES + (TUPLE_MEASURES if layer in TUPLE_LAYERS else ())
            for key in sorted(self.pairs):
                pair = self.pairs[key][layer]
                conf = self.confusion[key][layer]
                pair.confusion = {f"{x}|{y}": n for (x, y), n in sorted(conf.items())}
                pair.kappa, pair.observed = cohen_kappa(conf)
                la.pairs.append(pair)
            la.f1 = {m: _mean([p.f1[m].f1 for p in la.pairs]) for m in measures}
            la.kappa = _mean([p.kappa for p in la.pairs])
            la.alpha, la.alpha_units = _alpha(self.units[layer], names)
            rep.layers[layer] = la
        return rep


def _mean(values: list[float | None]) -> float | None:
    defined = [v for v in values if v is not None]
    return sum(defined) / len(defined) if defined else None


def cohen_kappa(pairs: Counter[tuple[str, str]]) -> tuple[float | None, float | None]:
    """Cohen's kappa and observed agreement of two raters from counts of their label pairs.

    kappa = (p_o - p_e) / (1 - p_e), with p_o the share of pairs with equal labels and
    p_e = sum over labels k of p_a(k)·p_b(k), from each rater's own label distribution.

    Returns:
        `(kappa, p_o)`; kappa is None when there are no pairs or p_e = 1 (both raters used one
        and the same label throughout: agreement is perfect but not informative), p_o is None
        when there are no pairs.
    """
    n = sum(pairs.values())
    if n == 0:
        return None, None
    observed = sum(c for (x, y), c in pairs.items() if x == y) / n
    left: Counter[str] = Counter()
    right: Counter[str] = Counter()
    for (x, y), c in pairs.items():
        left[x] += c
        right[y] += c
    expected = sum(left[k] * right[k] for k in left) / (n * n)
    if expected >= 1:
        return None, observed
    return (observed - expected) / (1 - expected), observed


def _alpha(units: list[Counter[str]], names: tuple[str, ...]) -> tuple[float | None, int]:
    """Krippendorff's alpha (nominal) from per-unit label counts; None when undefined."""
    if not units:
        return None, 0
    used = {label for u in units for label in u}
    if len(used) < 2:  # every value the same: expected disagreement 0, alpha is 0/0
        return None, len(units)
    import krippendorff  # numpy and krippendorff load only when alpha is computed
    import numpy as np

    counts = np.array([[u.get(label, 0) for label in names] for u in units], dtype=float)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        value = krippendorff.alpha(value_counts=counts, level_of_measurement="nominal")
    return (None if np.isnan(value) else float(value)), len(units)
