"""`corpus baseline`: three reference systems, each trained on train, tuned on validation and
scored on test with `corpus evaluate`'s library, and the results table of the dataset card.

- **Question-mark rule** (rhetorical questions): every question a sentence asks, from the
  sentence's start (or the previous `?`) to its `?`, is a rhetorical question. No label. Tuned:
  which start (the sentence's; without a leading conjunction; after the last clause break).
- **Token CRF** (every layer): a linear-chain CRF (python-crfsuite) over the layer's IOB2 tags
  of the `tokens` config, with features from the tokens only (word, shape, affixes, neighbours,
  the sentence's end, quotation marks); its tags become a prediction record through
  `tokens.from_bio`. Tuned: the L1 and L2 penalties, on a 2×2 grid.
- **Majority label** (every layer): gold's spans, each given the label most frequent in train:
  what the label is worth when the spans are known.

Tuning picks the setting with the best strict span F1 on validation (ties: the first of the
grid). Everything is deterministic: no sampling, fixed settings, documents in `doc_id` order.
The results file records the data it was computed on (`fingerprint`: a hash of the split
files), the command, the tokenizer and the library versions; `corpus publish --results` puts
its table on the card, and says so when the data has changed since.

Training needs the `baselines` extra (python-crfsuite, and spaCy for tokens); reading a results
file and rendering its table need neither.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import orjson
from pydantic import BaseModel, ValidationError

from corpus_tools.errors import CorpusToolsError
from corpus_tools.files import atomic_open, display, dumps, read_input
from corpus_tools.layers import LAYERS, Layer
from corpus_tools.schema import RecordBase

SPLIT_NAMES = ("train", "validation", "test")
GRID = ({"c1": 0.05, "c2": 0.01}, {"c1": 0.05, "c2": 0.1}, {"c1": 0.5, "c2": 0.01}, {"c1": 0.5, "c2": 0.1})
"""The CRF's settings tried on validation: L1 and L2 penalties."""
MAX_ITERATIONS = 100
RULE_STARTS = ("sentence", "without-conjunction", "last-clause")
"""Where the question-mark rule starts a question: the sentence's start, the same without a
leading coordinating conjunction, or after the last `,` `;` `:` or dash before the `?`."""
_CONJUNCTIONS = frozenset({"and", "but", "or", "nor", "for", "so", "yet"})
_BREAKS = frozenset({",", ";", ":", "—", "–", "--"})
_QUOTES = frozenset({'"', "“", "”", "'", "‘", "’"})
FIGURES = ("span_p", "span_r", "span_f1", "span_f1_lenient", "labelled_f1", "labelled_f1_lenient", "macro_f1")
"""The figures a row keeps: span P, R and F1 (strict), span F1 lenient, labelled F1 strict and
lenient, and the macro F1 over labels (strict)."""


class BaselineRow(BaseModel):
    """One baseline on one layer."""

    baseline: str
    layer: str
    predicts: str
    """What it predicts (and so what is scored)."""
    setting: dict[str, Any] = {}
    """The setting chosen on validation."""
    validation: dict[str, float | None]
    test: dict[str, float | None]


class BaselineResults(BaseModel):
    """What `corpus baseline` writes: every row, and what it was computed on."""

    fingerprint: str
    """SHA-256 of the split files (`train.jsonl`, `validation.jsonl`, `test.jsonl`)."""
    command: str
    tokenizer: str
    versions: dict[str, str]
    documents: dict[str, int]
    rows: list[BaselineRow]

    def to_markdown(self, *, stale: bool = False) -> str:
        """The card's section: the results table on test, the command and the settings. Every
        value comes from the results file, which may have been edited by hand: each is escaped
        for where it goes (`corpus_tools.markdown`)."""
        from corpus_tools.markdown import cell, code, fenced, md, prose

        lines = [
            "## Baselines\n",
            "Each baseline is trained on train, tuned on validation (best strict span F1) and scored "
            "on test with `corpus evaluate` (strict: equal offsets; lenient: Jaccard overlap ≥ 0.5). "
            "`not predicted`: the baseline does not predict what the figure needs, so it is not "
            "scored (never 0). Produced by:\n",
            fenced(self.command, "sh") + "\n",
        ]
        if stale:
            lines.append(
                "**These results were computed on other data than this dataset's** (the split "
                "files have changed since): run the command again to refresh them.\n"
            )
        lines += [
            "| Baseline | Layer | Predicts | Val. span F1 | Span P | Span R | Span F1 | Span F1 lenient "
            "| Labelled F1 | Labelled F1 lenient | Macro F1 (labels) |",
            "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for row in self.rows:
            cells = [_cell(row.test.get(f)) for f in FIGURES]
            # `predicts` and `tokenizer` are prose with inline code (`?`, `spacy.blank("en")`).
            predicts = prose(" ".join(row.predicts.split())).replace("|", "\\|")
            layer = code(row.layer).replace("|", "\\|")
            lines.append(
                f"| {cell(row.baseline)} | {layer} | {predicts} | "
                f"{_cell(row.validation.get('span_f1'))} | " + " | ".join(cells) + " |"
            )
        settings = "; ".join(
            f"{md(row.baseline)} on {code(row.layer)}: "
            + ", ".join(f"{md(k)} {md(str(v))}" for k, v in row.setting.items())
            for row in self.rows
            if row.setting
        )
        versions = ", ".join(f"{md(k)} {md(v)}" for k, v in self.versions.items())
        docs = ", ".join(f"{md(k)} {v}" for k, v in self.documents.items())
        lines += [
            "",
            f"Documents: {docs}. Tokens: {prose(' '.join(self.tokenizer.split()))}. Chosen on "
            f"validation: {settings}. Versions: {versions}.\n",
        ]
        return "\n".join(lines)


def _cell(value: float | None) -> str:
    return "not predicted" if value is None else f"{value:.3f}"


def fingerprint(split_dir: Path | str) -> str:
    """SHA-256 over the split files' names and bytes: what the results were computed on.

    Raises:
        CorpusToolsError: when a split file is missing or unreadable.
    """
    digest = hashlib.sha256()
    for name in SPLIT_NAMES:
        data = read_input(Path(split_dir) / f"{name}.jsonl", "split file")
        digest.update(f"{name}.jsonl {len(data)}\n".encode())
        digest.update(data)
    return digest.hexdigest()


def load_results(path: Path | str) -> BaselineResults:
    """A results file written by `corpus baseline`.

    Raises:
        CorpusToolsError: naming the file, when it is missing or not a results file.
    """
    data = read_input(path, "baseline results file")
    try:
        return BaselineResults.model_validate_json(data)
    except ValidationError as e:
        first = e.errors(include_url=False)[0]
        where = ".".join(map(str, first["loc"]))
        raise CorpusToolsError(
            f"{display(path)}: not a results file of `corpus baseline` ({where}: {first['msg']})"
        ) from None


def results_section(path: Path | str, split_dir: Path | str) -> str:
    """The card's baseline section from a results file, marked stale when the split files
    differ from those the results were computed on."""
    results = load_results(path)
    return results.to_markdown(stale=results.fingerprint != fingerprint(split_dir))


# -- running the baselines -----------------------------------------------------------------------


def baselines(
    split_dir: Path | str,
    *,
    output: Path | str | None = None,
    command: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> BaselineResults:
    """Train, tune and score the three baselines on a split folder; write the results file.

    Args:
        split_dir: a folder written by `corpus split` (`train.jsonl`, `validation.jsonl`,
            `test.jsonl`).
        output: the results file to write (atomically); none when None.
        command: the command line recorded in the results (the `corpus baseline` one when None).
        progress: called with a short note as each model is trained.

    Returns:
        The `BaselineResults`.

    Raises:
        InvalidInputError: when a split file does not validate.
        CorpusToolsError: when a split file is missing or empty, or the `baselines` extra is
            not installed.
    """
    from corpus_tools.tokens import tokenize, tokenizer_name
    from corpus_tools.validate import require_valid

    split_dir = Path(split_dir)
    crfsuite = _crfsuite()
    files = {name: split_dir / f"{name}.jsonl" for name in SPLIT_NAMES}
    valid = require_valid(files.values())
    records: dict[str, list[RecordBase]] = {name: [] for name in SPLIT_NAMES}
    for path, _line, record in valid.records():
        records[path.stem].append(record)
    for name, recs in records.items():
        if not recs:
            raise CorpusToolsError(f"{display(files[name])}: holds no records; every split needs documents")
        recs.sort(key=lambda r: r.doc_id)
    say = progress or (lambda note: None)
    say("tokenizing")
    rows = {name: [_row(r, tokenize(r.text)) for r in recs] for name, recs in records.items()}
    results: list[BaselineRow] = []
    with tempfile.TemporaryDirectory(prefix=".corpus-baseline-") as tmp:
        scorer = _Scorer(files, Path(tmp))
        say("question-mark rule")
        results.append(_question_rule(rows, scorer))
        for layer in LAYERS.values():
            say(f"CRF {layer.name}")
            results.append(_crf(layer, rows, scorer, crfsuite, Path(tmp)))
        for layer in LAYERS.values():
            results.append(_majority(layer, records, scorer))
    from importlib.metadata import version

    out = BaselineResults(
        fingerprint=fingerprint(split_dir),
        command=command
        or f"corpus baseline {display(split_dir)}" + (f" --output {display(output)}" if output else ""),
        tokenizer=tokenizer_name(),
        versions={"corpus-tools": version("corpus-tools"), "python-crfsuite": version("python-crfsuite")},
        documents={name: len(recs) for name, recs in records.items()},
        rows=results,
    )
    if output is not None:
        with atomic_open(output, "wb", command="corpus baseline") as f:
            f.write(orjson.dumps(out.model_dump(mode="json"), option=orjson.OPT_INDENT_2) + b"\n")
    return out


def _crfsuite() -> Any:
    try:
        import pycrfsuite
    except ImportError:
        raise CorpusToolsError(
            "the baselines need python-crfsuite, which is not installed: pip install 'corpus-tools[baselines]'"
        ) from None
    return pycrfsuite


def _row(record: RecordBase, tokens: Sequence[Any]) -> dict[str, Any]:
    from corpus_tools.tokens import to_bio

    return to_bio(record, tokens=tokens)


class _Scorer:
    """Scores prediction records of one split with `corpus_tools.evaluate` (through a file, as
    `corpus evaluate` reads them)."""

    def __init__(self, files: dict[str, Path], tmp: Path) -> None:
        self.files = files
        self.tmp = tmp

    def __call__(
        self, split: str, layer: Layer, predictions: Iterable[dict[str, Any]]
    ) -> dict[str, float | None]:
        from corpus_tools.evaluate import evaluate

        path = self.tmp / f"{split}-{layer.name}.jsonl"
        with open(path, "wb") as f:
            for record in predictions:
                f.write(dumps(record))
        report = evaluate(self.files[split], path, layers=[layer.name])
        la = report.layers[layer.name]
        span, labelled = la.measures.get("span"), la.measures.get("labelled")
        return {
            "span_p": span.strict.precision if span else None,
            "span_r": span.strict.recall if span else None,
            "span_f1": span.strict.f1 if span else None,
            "span_f1_lenient": span.lenient.f1 if span else None,
            "labelled_f1": labelled.strict.f1 if labelled else None,
            "labelled_f1_lenient": labelled.lenient.f1 if labelled else None,
            "macro_f1": la.macro_f1["strict"] if la.macro_f1 else None,
        }


def _best(
    candidates: list[tuple[dict[str, Any], dict[str, float | None]]],
) -> tuple[dict[str, Any], dict[str, float | None]]:
    """The candidate with the best validation span F1; the first on a tie."""
    return max(candidates, key=lambda c: c[1]["span_f1"] or 0.0)


# -- (a) the question-mark rule -------------------------------------------------------------------


def _question_rule(rows: dict[str, list[dict[str, Any]]], scorer: _Scorer) -> BaselineRow:
    layer = LAYERS["rhetorical_questions"]

    def predict(split: str, start: str) -> list[dict[str, Any]]:
        return [
            {
                "doc_id": row["doc_id"],
                "text": row["text"],
                layer.name: [
                    {"start": s, "end": e, "text": row["text"][s:e]} for s, e in question_spans(row, start)
                ],
            }
            for row in rows[split]
        ]

    tried = [
        ({"start": start}, scorer("validation", layer, predict("validation", start))) for start in RULE_STARTS
    ]
    setting, validation = _best(tried)
    return BaselineRow(
        baseline="question-mark rule",
        layer=layer.name,
        predicts="spans of sentences ending in `?`",
        setting=setting,
        validation=validation,
        test=scorer("test", layer, predict("test", setting["start"])),
    )


def question_spans(row: dict[str, Any], start: str = "sentence") -> list[tuple[int, int]]:
    """The question-mark rule on a `tokens` row: each `?` token ends a question that begins at
    its sentence's start or the token after the previous `?` of the sentence; `start` moves the
    beginning past a leading coordinating conjunction or quotation mark (`without-conjunction`),
    or also past the last clause break before the `?` (`last-clause`)."""
    tokens, starts, ends, sentences = (
        row["tokens"],
        row["token_starts"],
        row["token_ends"],
        row["sentence_ids"],
    )
    out = []
    begin = 0
    for i, token in enumerate(tokens):
        if i and sentences[i] != sentences[i - 1]:
            begin = i
        if token != "?":
            continue
        first = begin
        if start == "last-clause":
            breaks = [k for k in range(begin, i) if tokens[k] in _BREAKS]
            first = breaks[-1] + 1 if breaks else begin
        if start != "sentence":
            while first < i and (tokens[first] in _QUOTES or tokens[first].lower() in _CONJUNCTIONS):
                first += 1
        out.append((starts[first], ends[i]))
        begin = i + 1
    return out


# -- (b) the token CRF ----------------------------------------------------------------------------


def _crf(
    layer: Layer, rows: dict[str, list[dict[str, Any]]], scorer: _Scorer, crfsuite: Any, tmp: Path
) -> BaselineRow:
    from corpus_tools.tokens import from_bio, tags_column

    column = tags_column(layer)
    features = {split: [token_features(row) for row in split_rows] for split, split_rows in rows.items()}

    def train(setting: dict[str, Any]) -> Any:
        trainer = crfsuite.Trainer(verbose=False)
        for xseq, row in zip(features["train"], rows["train"], strict=True):
            trainer.append(xseq, row[column])
        trainer.set_params(
            {**setting, "max_iterations": MAX_ITERATIONS, "feature.possible_transitions": True}
        )
        path = tmp / f"{layer.name}-{setting['c1']}-{setting['c2']}.crfsuite"
        trainer.train(str(path))
        tagger = crfsuite.Tagger()
        tagger.open(str(path))
        return tagger

    def predict(tagger: Any, split: str) -> list[dict[str, Any]]:
        return [
            from_bio(row, {layer.name: tagger.tag(xseq)})
            for xseq, row in zip(features[split], rows[split], strict=True)
        ]

    tried = []
    for setting in GRID:
        tagger = train(setting)
        tried.append((setting, scorer("validation", layer, predict(tagger, "validation")), tagger))
    setting, validation = _best([(s, v) for s, v, _t in tried])
    tagger = next(t for s, _v, t in tried if s is setting)
    kinds = "labels" if layer.token_tags == "label" else "parts"
    return BaselineRow(
        baseline="token CRF",
        layer=layer.name,
        predicts=f"IOB2 tags ({kinds})",
        setting=dict(setting),
        validation=validation,
        test=scorer("test", layer, predict(tagger, "test")),
    )


def token_features(row: dict[str, Any]) -> list[dict[str, Any]]:
    """The CRF's features of each token of a `tokens` row, from the tokens alone: the word, its
    shape and affixes, its neighbours, its place in the sentence, how the sentence ends, and
    whether it is inside quotation marks."""
    tokens, sentences = row["tokens"], row["sentence_ids"]
    last: dict[int, str] = {}
    for token, sentence in zip(tokens, sentences, strict=True):
        last[sentence] = token
    quoted = False
    out = []
    for i, token in enumerate(tokens):
        lower = token.lower()
        f: dict[str, Any] = {
            "bias": 1.0,
            "w": lower,
            "suffix3": lower[-3:],
            "prefix3": lower[:3],
            "shape": _shape(token),
            "sentence_end": last[sentences[i]],
            "quoted": float(quoted),
        }
        if i == 0 or sentences[i - 1] != sentences[i]:
            f["sentence_start"] = 1.0
        for d in (-2, -1, 1, 2):
            j = i + d
            inside = 0 <= j < len(tokens) and sentences[j] == sentences[i]
            f[f"{d}:w"] = tokens[j].lower() if inside else "<none>"
            if abs(d) == 1:
                f[f"{d}:shape"] = _shape(tokens[j]) if inside else "<none>"
        if token in ('"', "“", "”"):
            quoted = token == "“" or (token == '"' and not quoted)
        out.append(f)
    return out


def _shape(token: str) -> str:
    shape = "".join("X" if c.isupper() else "x" if c.islower() else "d" if c.isdigit() else c for c in token)
    # Runs collapsed: "Xxxxx" -> "Xx", so the shape generalises over lengths.
    return "".join(c for k, c in enumerate(shape) if k == 0 or c != shape[k - 1])


# -- (c) the majority label -----------------------------------------------------------------------


def _majority(layer: Layer, records: dict[str, list[RecordBase]], scorer: _Scorer) -> BaselineRow:
    counts = Counter(getattr(item, layer.label) for r in records["train"] for item in getattr(r, layer.name))
    # The most frequent label; a tie goes to the label listed first in the model.
    label = max(layer.names, key=lambda n: (counts[n], -layer.names.index(n)))

    def predict(split: str) -> list[dict[str, Any]]:
        out = []
        for r in records[split]:
            items = []
            for item in getattr(r, layer.name):
                start, end = layer.key_span(item)
                span = {"start": start, "end": end}
                items.append(
                    {**span, layer.label: label}
                    if layer.key is None
                    else {layer.key: span, layer.label: label}
                )
            out.append({"doc_id": r.doc_id, "text": r.text, layer.name: items})
        return out

    return BaselineRow(
        baseline="majority label",
        layer=layer.name,
        predicts=f"gold spans, each `{label}`",
        setting={"label": label},
        validation=scorer("validation", layer, predict("validation")),
        test=scorer("test", layer, predict("test")),
    )
