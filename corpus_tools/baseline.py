"""`corpus baseline`: reference systems trained on train, tuned on validation where they have
something to tune, and scored on test with `corpus evaluate`'s library; and the results table
of the dataset card.

- **Question-mark rule** (rhetorical questions): every question a sentence asks, from the
  sentence's start (or the previous `?`) to its `?`, is a rhetorical question. No label. Tuned:
  which start (the sentence's; without a leading conjunction; after the last clause break).
- **Token CRF** (every layer): a linear-chain CRF (python-crfsuite) over the layer's IOB2 tags
  of the `tokens` config, with features from the tokens only (word, shape, affixes, neighbours,
  the sentence's end, quotation marks); its tags become a prediction record through
  `tokens.from_bio`. Tuned: the L1 and L2 penalties, on a 2×2 grid.
- **Majority label** (every layer): gold's spans, each given the label most frequent in train:
  what the label is worth when the spans are known. Nothing is tuned.
- **Tokens-config ceiling** (every layer): gold's own tags of the test split read back by
  `tokens.from_bio`: what a perfect token tagger scores, the upper bound of token models (what
  one tag per token loses: overlapping and nested items, a hypophora's answer, the type).

Tuning picks the setting with the best strict span F1 on validation (ties: the first of the
grid). Everything is deterministic: no sampling, fixed settings, documents in `doc_id` order.
The data is a split folder (`corpus split`'s `train.jsonl`, `validation.jsonl`, `test.jsonl`) or
a published dataset folder (its `default` config, read through `corpus_tools.dataset`), so the
table can be reproduced from the dataset alone. The results file records what it was computed
on (`fingerprint`: a hash of the records of each split, the same for a split folder and the
dataset published from it), the command, the tokenizer and the library versions; `corpus
publish --results` puts its table on the card, and says so when the data has changed since.

Training needs the `baselines` extra (python-crfsuite, and spaCy for tokens); reading a results
file and rendering its table need neither.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from pydantic import BaseModel, ValidationError

from corpus_tools.errors import CorpusToolsError
from corpus_tools.files import atomic_open, display, read_input, require_file
from corpus_tools.layers import LAYERS, Layer
from corpus_tools.schema import RecordBase

if TYPE_CHECKING:
    from corpus_tools.validate import Validated

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
FIGURES = (
    "span_p",
    "span_r",
    "span_f1",
    "span_f1_lenient",
    "labelled_f1",
    "labelled_f1_lenient",
    "macro_f1",
    "tuple_f1",
)
"""The figures a row keeps: span P, R and F1 (strict), span F1 lenient, labelled F1 strict and
lenient, the macro F1 over labels (strict), and for a layer with tuples the tuple F1 (strict:
whole items; without the label when the baseline predicts none, an attribution's
`tuple_without_type`)."""
INSTALL = "pip install 'corpus-tools[baselines]'"


class BaselineRow(BaseModel):
    """One baseline on one layer."""

    baseline: str
    layer: str
    predicts: str
    """What it predicts (and so what is scored)."""
    setting: dict[str, Any] = {}
    """The setting chosen on validation (empty when nothing is tuned)."""
    validation: dict[str, float | None] | None = None
    """The figures of the chosen setting on validation; None when nothing is tuned."""
    test: dict[str, float | None]


class BaselineResults(BaseModel):
    """What `corpus baseline` writes: every row, and what it was computed on."""

    fingerprint: str
    """SHA-256 of the records of each split (`fingerprint`)."""
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
            "Each baseline is trained on train and scored on test with `corpus evaluate` (strict: "
            "equal offsets; lenient: Jaccard overlap ≥ 0.5). The question-mark rule and the token "
            "CRF are tuned on validation (best strict span F1; *Val. span F1* is the chosen "
            "setting's); the majority label is the label most frequent in train, with nothing to "
            "tune. The *tokens-config ceiling* is gold's own tags of the `tokens` config read back "
            "by `from_bio`: what a perfect token tagger scores, the upper bound of a token model. "
            "*Tuple F1*: whole items (an attribution's source, cue and content; a stance's target, "
            "polarity and holder), without the label when the baseline predicts none. `not "
            "predicted`: the baseline does not predict what the figure needs, so it is not scored "
            "(never 0); –: the layer has no such figure. Produced by:\n",
            fenced(self.command, "sh") + "\n",
            "To reproduce it from this dataset (this card's folder, or the Hub repository "
            "downloaded with `huggingface_hub.snapshot_download`):\n",
            fenced(f"{INSTALL}\ncorpus baseline DATASET_FOLDER --output results.json", "sh") + "\n",
        ]
        if stale:
            lines.append(
                "**These results were computed on other data than this dataset's** (the records "
                "of a split have changed since): run the command again to refresh them.\n"
            )
        lines += [
            "| Baseline | Layer | Predicts | Val. span F1 | Span P | Span R | Span F1 | Span F1 lenient "
            "| Labelled F1 | Labelled F1 lenient | Macro F1 (labels) | Tuple F1 |",
            "|---|---|---|" + "---:|" * (1 + len(FIGURES)),
        ]
        for row in self.rows:
            cells = [_cell(row.test[f]) if f in row.test else "–" for f in FIGURES]
            tuned = _cell(row.validation.get("span_f1")) if row.validation is not None else "not tuned"
            # `predicts` and `tokenizer` are prose with inline code (`?`, `spacy.blank("en")`).
            predicts = prose(" ".join(row.predicts.split())).replace("|", "\\|")
            layer = code(row.layer).replace("|", "\\|")
            lines.append(
                f"| {cell(row.baseline)} | {layer} | {predicts} | {tuned} | " + " | ".join(cells) + " |"
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


def fingerprint(data: Path | str, *, validate: bool = True) -> str:
    """SHA-256 over the records of each split, as their models dump them: what the results were
    computed on. A split folder and the dataset published from it give the same. It streams: what
    it holds is one 32-byte digest per record. Without `validate`, a split folder's files are
    taken as the toolkit wrote them (`Validated.trusted`), as `corpus publish` takes them.

    Raises:
        CorpusToolsError: when a split is missing or unreadable.
        InvalidInputError: when a split does not validate.
    """
    files, valid = _split_inputs(data, validate=validate)
    split_of = {display(f): name for name, fs in files.items() for f in fs}
    return _fingerprint(
        (split_of[valid.where(path, None).file], record) for path, _line, record in valid.records()
    )


def _fingerprint(records: Iterable[tuple[str, RecordBase]]) -> str:
    """The digest of (split, record) pairs, whatever their order: each split's sorted record
    digests, hashed in split order."""
    digests: dict[str, list[bytes]] = {name: [] for name in SPLIT_NAMES}
    for name, record in records:
        digests[name].append(hashlib.sha256(record.model_dump_json().encode()).digest())
    digest = hashlib.sha256()
    for name in SPLIT_NAMES:
        digest.update(f"{name} {len(digests[name])}\n".encode())
        for one in sorted(digests[name]):
            digest.update(one)
    return digest.hexdigest()


def read_splits(data: Path | str) -> dict[str, list[RecordBase]]:
    """The gold records of each split (`train`, `validation`, `test`), in `doc_id` order, from a
    split folder (`corpus split`'s JSONL files) or a published dataset folder (the splits of its
    `default` config, read through `corpus_tools.dataset`), validated together.

    Raises:
        CorpusToolsError: when the folder is neither, a split is missing or holds no records.
        InvalidInputError: when a split does not validate.
    """
    files, valid = _split_inputs(data, validate=True)
    split_of = {display(f): name for name, fs in files.items() for f in fs}
    records: dict[str, list[RecordBase]] = {name: [] for name in SPLIT_NAMES}
    for path, _line, record in valid.records():
        records[split_of[valid.where(path, None).file]].append(record)
    for name, recs in records.items():
        if not recs:
            shown = ", ".join(display(f) for f in files[name])
            raise CorpusToolsError(f"{shown}: holds no records; every split needs documents")
        recs.sort(key=lambda r: r.doc_id)
    return records


def _split_inputs(data: Path | str, *, validate: bool) -> tuple[dict[str, list[Path]], Validated]:
    """The files of each split of a split folder or a published dataset folder, and the handle
    that reads them (a published dataset is always read through validation)."""
    from corpus_tools.dataset import DEFAULT_CONFIG, is_dataset, open_dataset
    from corpus_tools.validate import Validated, require_valid

    data = Path(data)
    files: dict[str, list[Path]]
    if is_dataset(data):
        splits = open_dataset(data).configs.get(DEFAULT_CONFIG, {})
        missing = [name for name in SPLIT_NAMES if name not in splits]
        if missing:
            raise CorpusToolsError(
                f"{display(data)}: the dataset's {DEFAULT_CONFIG!r} config has no {', '.join(missing)} "
                f"split (it has {', '.join(splits) or 'none'}); the baselines need train, validation and test"
            )
        files = {name: list(splits[name]) for name in SPLIT_NAMES}
    elif data.is_dir() and not any((data / f"{name}.jsonl").exists() for name in SPLIT_NAMES):
        raise CorpusToolsError(
            f"{display(data)}: neither a split folder (train.jsonl, validation.jsonl, test.jsonl, "
            "as `corpus split` writes) nor a published dataset folder (as `corpus publish` writes)"
        )
    else:
        files = {name: [require_file(data / f"{name}.jsonl", "split file")] for name in SPLIT_NAMES}
    flat = [f for fs in files.values() for f in fs]
    if validate or is_dataset(data):
        return files, require_valid(flat, configs=(DEFAULT_CONFIG,))
    return files, Validated.trusted(flat)


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


def results_section(path: Path | str, split_dir: Path | str, *, validate: bool = True) -> str:
    """The card's baseline section from a results file, marked stale when the records of the
    splits differ from those the results were computed on (`validate` as for `fingerprint`)."""
    results = load_results(path)
    return results.to_markdown(stale=results.fingerprint != fingerprint(split_dir, validate=validate))


# -- running the baselines -----------------------------------------------------------------------


def baselines(
    data: Path | str,
    *,
    output: Path | str | None = None,
    command: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> BaselineResults:
    """Train, tune and score the baselines on the splits of `data`; write the results file.

    Args:
        data: a folder written by `corpus split` (`train.jsonl`, `validation.jsonl`,
            `test.jsonl`) or by `corpus publish` (its `default` config's splits).
        output: the results file to write (atomically); none when None.
        command: the command line recorded in the results (the `corpus baseline` one when None).
        progress: called with a short note as each model is trained.

    Returns:
        The `BaselineResults`.

    Raises:
        InvalidInputError: when a split does not validate.
        CorpusToolsError: when a split is missing or empty, or the `baselines` extra is not
            installed.
    """
    from corpus_tools.tokens import tokenize, tokenizer_name

    crfsuite = _crfsuite()
    records = read_splits(data)
    say = progress or (lambda note: None)
    say("tokenizing")
    rows = {name: [_row(r, tokenize(r.text)) for r in recs] for name, recs in records.items()}
    results: list[BaselineRow] = []
    scorer = _Scorer(records)
    say("question-mark rule")
    results.append(_question_rule(rows, scorer))
    with tempfile.TemporaryDirectory(prefix=".corpus-baseline-") as tmp:
        for layer in LAYERS.values():
            say(f"CRF {layer.name}")
            results.append(_crf(layer, rows, scorer, crfsuite, Path(tmp)))
    for layer in LAYERS.values():
        results.append(_majority(layer, records, scorer))
    for layer in LAYERS.values():
        results.append(_ceiling(layer, rows, scorer))
    from importlib.metadata import version

    out = BaselineResults(
        fingerprint=_fingerprint((name, r) for name, recs in records.items() for r in recs),
        command=command
        or f"corpus baseline {display(data)}" + (f" --output {display(output)}" if output else ""),
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
    """Scores prediction records of one split against its gold records with
    `corpus_tools.evaluate` (records in, as from `tokens.from_bio`)."""

    def __init__(self, records: dict[str, list[RecordBase]]) -> None:
        self.records = records

    def __call__(
        self, split: str, layer: Layer, predictions: Iterable[dict[str, Any]]
    ) -> dict[str, float | None]:
        from corpus_tools.evaluate import evaluate

        report = evaluate(self.records[split], list(predictions), layers=[layer.name])
        la = report.layers[layer.name]
        span, labelled = la.measures.get("span"), la.measures.get("labelled")
        whole = la.measures.get("tuple") or la.measures.get(f"tuple_without_{layer.label}")
        tuples = {"tuple_f1": whole.strict.f1 if whole else None} if "tuple" in la.measures else {}
        return {
            "span_p": span.strict.precision if span else None,
            "span_r": span.strict.recall if span else None,
            "span_f1": span.strict.f1 if span else None,
            "span_f1_lenient": span.lenient.f1 if span else None,
            "labelled_f1": labelled.strict.f1 if labelled else None,
            "labelled_f1_lenient": labelled.lenient.f1 if labelled else None,
            "macro_f1": la.macro_f1["strict"] if la.macro_f1 else None,
            **tuples,
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
        predicts=f"gold spans, each `{label}` (most frequent in train)",
        test=scorer("test", layer, predict("test")),
    )


# -- (d) the ceiling of the tokens config ---------------------------------------------------------


def _ceiling(layer: Layer, rows: dict[str, list[dict[str, Any]]], scorer: _Scorer) -> BaselineRow:
    from corpus_tools.tokens import from_bio, tags_column

    column = tags_column(layer)
    return BaselineRow(
        baseline="tokens-config ceiling",
        layer=layer.name,
        predicts="gold's tags read back (`from_bio`)",
        test=scorer("test", layer, [from_bio(row, {layer.name: row[column]}) for row in rows["test"]]),
    )
