"""The `tokens` config of a published dataset: every gold record as tokens with IOB2 tags per
layer (`corpus_tools.tokens.to_bio`), one row per document, and what the card says about it.

A row is a whole document, not a sentence: attribution contents often run over a sentence
boundary (a quotation of several sentences), and sentence rows would cut them apart (the card
gives the count). Each token carries its sentence number
(`sentence_ids`), so a model that needs short inputs can window the document by sentence.
Tokenizing needs spaCy (the `tokens` extra); publish asks for it only with `tokens=True`.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
from datasets import ClassLabel, Features, List, Value

from corpus_tools.dataset import TOKENS_CONFIG
from corpus_tools.layers import LAYERS
from corpus_tools.publish.parquet import Sink
from corpus_tools.publish.results import Progress, SplitSummary
from corpus_tools.tokens import TagStats, tag_names, tags_column, to_bio, tokenizer_name
from corpus_tools.validate import iter_records

BATCH_ROWS = 64
"""Documents tokenized at a time (the sink cuts row groups by bytes, as for every config)."""

ROW_FIELDS = {
    "doc_id": "The document's `doc_id`, as in the default config.",
    "text": "The document text; token offsets index into it.",
    "tokens": "The tokens (whitespace is not a token).",
    "token_starts": "Each token's start offset in `text` (code points).",
    "token_ends": "Each token's end offset in `text` (code points, exclusive).",
    "sentence_ids": "Each token's sentence, numbered from 0 in the document.",
}


@functools.cache
def features() -> Features:
    """The features of a `tokens` row: the columns of `to_bio`, tags as `ClassLabel`s."""
    columns: dict[str, Any] = {
        "doc_id": Value("string"),
        "text": Value("string"),
        "tokens": List(Value("string")),
        "token_starts": List(Value("int32")),
        "token_ends": List(Value("int32")),
        "sentence_ids": List(Value("int32")),
    }
    for layer in LAYERS.values():
        columns[tags_column(layer)] = List(ClassLabel(names=list(tag_names(layer))))
    return Features(columns)


def write_tokens(
    sources: Mapping[str, Path], root: Path, progress: Progress | None = None
) -> tuple[dict[str, SplitSummary], TagStats]:
    """Write the `tokens` config from each split's gold JSONL, split by split (`parquet.Sink`:
    `root/data/tokens/<split>-00000-of-00001.parquet`, row groups as `datasets` cuts them).

    Returns:
        The summary of each split with rows, and what tagging kept and lost over all of them.
    """
    schema = features().arrow_schema
    stats = TagStats()
    summaries: dict[str, SplitSummary] = {}
    for split, path in sources.items():
        step = f"write {TOKENS_CONFIG}/{split}"
        if progress:
            progress(step, 0, 1)
        with Sink(root, TOKENS_CONFIG, split, schema) as sink:
            for batch in _batches(path, stats):
                sink.write(pa.Table.from_pylist(batch, schema=schema))
        if progress:
            progress(step, 1, 1)
        if sink.rows:
            summaries[split] = SplitSummary(rows=sink.rows, num_bytes=sink.num_bytes, files=list(sink.files))
    return summaries, stats


def _batches(path: Path, stats: TagStats) -> Iterator[list[dict[str, Any]]]:
    index = {tags_column(layer): {n: i for i, n in enumerate(tag_names(layer))} for layer in LAYERS.values()}
    batch: list[dict[str, Any]] = []
    for _path, _line, record in iter_records([path]):
        row = to_bio(record, stats=stats)
        for column, names in index.items():
            row[column] = [names[t] for t in row[column]]
        batch.append(row)
        if len(batch) == BATCH_ROWS:
            yield batch
            batch = []
    if batch:
        yield batch


def train_eval_index(splits: list[str]) -> list[dict[str, Any]]:
    """The card's `train-eval-index`: one token-classification task per layer's tags, trained on
    train and evaluated on test, as the Hub's AutoTrain reads it (`entity_extraction`,
    `seqeval`)."""
    if "train" not in splits or "test" not in splits:
        return []
    return [
        {
            "config": TOKENS_CONFIG,
            "task": "token-classification",
            "task_id": "entity_extraction",
            "splits": {"train_split": "train", "eval_split": "test"},
            "col_mapping": {"tokens": "tokens", tags_column(layer): "tags"},
            "metrics": [{"type": "seqeval", "name": "seqeval"}],
        }
        for layer in LAYERS.values()
    ]


def card_section(stats: TagStats) -> str:
    """The card's section on the `tokens` config: columns, tags, tokenizer, what is lost."""
    lines = [
        "### The `tokens` configuration\n",
        "One row per document: the gold annotations as tokens with one IOB2 tag sequence per "
        "layer, for token classifiers. A row is a whole document rather than a sentence because "
        f"{sum(stats.crossing.values())} of the {sum(stats.spans.values())} spans tagged run over a "
        "sentence boundary (most are quotations of several sentences; the table below gives them "
        "per layer) and would be cut apart; `sentence_ids` lets a model window a document by "
        "sentence.\n",
        f"Tokens: {tokenizer_name()} (the rules are in `corpus_tools/tokens.py`); whitespace is "
        "not a token. Offsets are code points into `text`, so `text[token_starts[i]:token_ends[i]] "
        "== tokens[i]`.\n",
        "| column | what it holds |",
        "|---|---|",
    ]
    lines += [f"| `{name}` | {what} |" for name, what in ROW_FIELDS.items()]
    for layer in LAYERS.values():
        tagged = (
            "its label"
            if layer.token_tags == "label"
            else "part (" + ", ".join(p.name for p in layer.parts) + ")"
        )
        key = "span" if layer.key is None else f"`{layer.key}` span"
        what = f"the {key} by {tagged}" if layer.token_tags == "label" else f"each {tagged}"
        names = ", ".join(f"`{n}`" for n in tag_names(layer))
        lines.append(f"| `{tags_column(layer)}` | `{layer.name}`: {what}; ClassLabel {names} |")
    lines += [
        "",
        "A token has one tag per layer, so overlapping spans of a layer cannot all be tagged. Key "
        "spans come first (a question's, an attribution's content, a stance's), in document order "
        "(start, then the longer first, so an attribution comes before those nested in it), each "
        "tagged unless it shares a character or a token with a span tagged before; then the other "
        "parts of the items tagged (an attribution's source and cue), on the same condition. A "
        "layer tagged by label tags only its key span, so a hypophora's `answer` is never tagged. "
        "Spans whose ends fall inside a token are tagged on the whole token. Read back with "
        "`from_bio` (as a model's tags are), each cue and then each source is paired with a "
        "content: one in its sentence (or the next), with no other content between them, "
        "preferring a content the cue introduces to one it follows, then the fewest tokens "
        "between (a source goes with the content its cue joined). What all that keeps and loses, "
        "over all splits:\n",
        "| layer | items | items tagged | items not tagged (key span overlaps a tagged span) "
        "| parts of tagged items not tagged (overlap) | parts never tagged (no tag for them) "
        "| tagged parts read back with another item | tagged parts read back with no item "
        "| spans tagged | spans widened to token boundaries | spans over a sentence boundary |",
        "|---|" + "---:|" * 10,
    ]
    for name in LAYERS:
        lines.append(
            f"| `{name}` | {stats.items[name]} | {stats.items[name] - stats.lost[name]} | {stats.lost[name]} | "
            f"{stats.parts_lost[name]} | {stats.parts_never_tagged[name]} | "
            f"{stats.parts_misattached[name]} | {stats.parts_unpaired[name]} | "
            f"{stats.spans[name]} | {stats.unaligned[name]} | {stats.crossing[name]} |"
        )
    lines += [
        "",
        "- *Parts* are the spans of an item other than its key span: an attribution's source and "
        "cue, a hypophora's answer. A part two items share (one source for two reports) is tagged "
        "once, with the first, and counted not tagged for the others.",
        "- *Read back*: `from_bio` on the gold tags (what a perfect tagger would give). A tagged "
        "part read back with another item is attached to an item that does not have it in gold; "
        "one read back with no item is two sentences or more from every content.",
    ]
    lines += [
        "",
        f"{stats.documents} documents, {stats.tokens} tokens. `corpus_tools.tokens.from_bio(row, "
        "{layer: tags})` turns a model's tags for a row back into a prediction record for "
        "`corpus evaluate`.\n",
    ]
    return "\n".join(lines)
