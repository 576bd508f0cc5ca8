"""Token-level views of records: tokens, sentences and IOB2 tags per layer (`to_bio`), and a
model's tags back into a prediction record (`from_bio`).

The `tokens` config of a published dataset is `to_bio` of every gold record, and `from_bio` of a
row of it (with a model's tags in place of gold's) is what `corpus evaluate --pred` reads, so a
token classifier is scored in the corpus's own terms (character spans).

- **Tokens.** spaCy's rule-based English tokenizer (`spacy.blank("en")`, no model to download)
  with a few infix rules added for punctuation that older printed texts glue to words (dashes
  between words, a quotation mark or bracket right after punctuation: `report?—neither`,
  `clause 7—"Judgment`), and spaCy's rule-based sentencizer. Whitespace is not a token. Offsets
  are code points into the text, half-open, as everywhere.
- **Tags.** One IOB2 sequence per layer (`Layer.token_tags`): a question's span by its kind
  (`B-hypophora`), an attribution's source, cue and content by part (`B-source`), a stance's span
  by its polarity (`B-against`). A span is tagged on every token it touches.
- **Overlaps.** A token has one tag per layer, so overlapping spans of a layer cannot all be
  tagged. Key spans come first (a question's, an attribution's content, a stance's), in document
  order (start, then the longer first, so an attribution comes before those nested in it), each
  tagged unless it shares a character or a token with a span tagged before; then the other
  parts of the items tagged (an attribution's source and cue), on the same condition. What is
  left out is counted (`TagStats.lost`, `TagStats.parts_lost`), and the card reports it.
- **Back.** `from_bio` reads IOB2 leniently (an `I-x` that does not continue an `x` starts one,
  as seqeval does by default). An attribution is built from each content span; each source and
  cue goes to the nearest content (by the characters between them), one each, nearest pairs
  first. A source or cue left over when there are more of them than contents is left out.

`from_bio(to_bio(record))` gives back exactly every span of an item that shares no character
with another item of its layer and whose ends fall on token boundaries (tested on generated
records and on the bundled corpus).
"""

from __future__ import annotations

import bisect
import functools
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from corpus_tools.errors import CorpusToolsError
from corpus_tools.layers import LAYERS, Layer, document_order
from corpus_tools.matching import Bounds, span_bounds

EXTRA_INFIXES = (
    r"—",
    r"–",
    r"--",
    r"(?<=[?!.;:,)\]])[\"“”‘’'(\[]",
    r"(?<=[a-z])\.(?=[(\[])",
    r"(?<=[—–-])[\"“”‘'(\[]",
    r"(?<=[?!])-(?=\w)",
    r"(?<=\w)[?!.,;:](?=[—–-])",
)
"""Infix rules added to spaCy's English ones: dashes between words, a quotation mark or bracket
right after punctuation or a dash, a full stop before a bracket, a hyphen after `?` or `!`,
punctuation before a dash."""

INSTALL_HINT = "pip install 'corpus-tools[tokens]'"


@dataclass(frozen=True, slots=True)
class Token:
    """A token: its text, its code-point offsets `[start, end)` and its sentence (0-based)."""

    text: str
    start: int
    end: int
    sentence: int


@functools.cache
def _nlp() -> Any:
    try:
        import spacy
        from spacy.util import compile_infix_regex
    except ImportError:
        raise CorpusToolsError(f"tokenizing needs spaCy, which is not installed: {INSTALL_HINT}") from None
    nlp = spacy.blank("en")
    tokenizer: Any = nlp.tokenizer
    infixes: list[Any] = list(nlp.Defaults.infixes or ())
    tokenizer.infix_finditer = compile_infix_regex([*infixes, *EXTRA_INFIXES]).finditer
    nlp.add_pipe("sentencizer")
    return nlp


def require_tokenizer() -> None:
    """Load the tokenizer now, so that a command needing it stops before doing any work.

    Raises:
        CorpusToolsError: when spaCy is not installed (the `tokens` extra).
    """
    _nlp()


def tokenizer_name() -> str:
    """What tokenized, for the card: spaCy's version and the rules added."""
    from importlib.metadata import version

    return f'spaCy {version("spacy")} `spacy.blank("en")` tokenizer with {len(EXTRA_INFIXES)} added infix rules, and its `sentencizer`'


def tokenize(text: str) -> list[Token]:
    """The tokens of `text`, whitespace left out, each with its sentence number.

    Raises:
        CorpusToolsError: when spaCy is not installed (the `tokens` extra).
    """
    doc = _nlp()(text)
    out = []
    for number, sentence in enumerate(doc.sents):
        for t in sentence:
            if not t.is_space:
                out.append(Token(t.text, t.idx, t.idx + len(t.text), number))
    return out


def tag_types(layer: Layer) -> tuple[str, ...]:
    """What the layer's tags name: its labels, or its parts' names (`Layer.token_tags`)."""
    return layer.names if layer.token_tags == "label" else tuple(p.name for p in layer.parts)


def tag_names(layer: Layer) -> tuple[str, ...]:
    """The layer's IOB2 tags, in `ClassLabel` order: `O`, then `B-x`, `I-x` for each type."""
    return ("O", *(f"{prefix}-{t}" for t in tag_types(layer) for prefix in "BI"))


def tags_column(layer: Layer) -> str:
    """The column of the `tokens` config holding the layer's tags: `<layer>_tags`."""
    return f"{layer.name}_tags"


@dataclass
class TagStats:
    """What tagging kept and lost, per layer: the figures the card reports."""

    items: Counter[str] = field(default_factory=Counter)
    """Items of each layer."""
    lost: Counter[str] = field(default_factory=Counter)
    """Items not tagged: their key span overlaps one tagged before."""
    parts_lost: Counter[str] = field(default_factory=Counter)
    """Other parts of tagged items not tagged: they overlap a span tagged before (a source
    inside its own content: "X, he said, Y")."""
    spans: Counter[str] = field(default_factory=Counter)
    """Spans tagged."""
    unaligned: Counter[str] = field(default_factory=Counter)
    """Tagged spans whose start or end falls inside a token (they come back widened to it)."""
    crossing: Counter[str] = field(default_factory=Counter)
    """Tagged spans over a sentence boundary (so a sentence-level view would cut them)."""
    documents: int = 0
    tokens: int = 0


def _spans(layer: Layer, item: Any) -> list[tuple[str, int, int]]:
    """The typed spans an item is tagged with, its key span first."""
    start, end = layer.key_span(item)
    if layer.token_tags == "label":
        return [(getattr(item, layer.label), start, end)]
    key = next(p for p in layer.parts if p.field == layer.key)
    rest = [
        (p.name, *bounds) for p, span in layer.spans(item) if p is not key and (bounds := span_bounds(span))
    ]
    return [(key.name, start, end), *rest]


def to_bio(
    record: Any, *, tokens: Sequence[Token] | None = None, stats: TagStats | None = None
) -> dict[str, Any]:
    """A record as a row of the `tokens` config: `doc_id`, `text`, `tokens`, `token_starts`,
    `token_ends`, `sentence_ids` and one `<layer>_tags` column of IOB2 tag names per layer.

    Args:
        record: a record (`Record`) or prediction record.
        tokens: its tokens (`tokenize(record.text)` when None).
        stats: counts of what was tagged and lost, added to.

    Raises:
        CorpusToolsError: when tokens are needed and spaCy is not installed.
    """
    tokens = list(tokens) if tokens is not None else tokenize(record.text)
    row: dict[str, Any] = {
        "doc_id": record.doc_id,
        "text": record.text,
        "tokens": [t.text for t in tokens],
        "token_starts": [t.start for t in tokens],
        "token_ends": [t.end for t in tokens],
        "sentence_ids": [t.sentence for t in tokens],
    }
    stats = stats if stats is not None else TagStats()
    stats.documents += 1
    stats.tokens += len(tokens)
    for name, layer in LAYERS.items():
        row[tags_column(layer)] = _encode(layer, getattr(record, name), tokens, stats)
    return row


def _encode(layer: Layer, items: Sequence[Any], tokens: Sequence[Token], stats: TagStats) -> list[str]:
    starts = [t.start for t in tokens]
    ends = [t.end for t in tokens]
    tags = ["O"] * len(tokens)
    taken: list[Bounds] = []

    def place(kind: str, start: int, end: int) -> bool:
        """Tag a span unless it shares a character or a token with one tagged before."""
        i, j = bisect.bisect_right(ends, start), bisect.bisect_left(starts, end)
        if i >= j or any(start < e and s < end for s, e in taken) or any(t != "O" for t in tags[i:j]):
            return False
        taken.append((start, end))
        tags[i] = f"B-{kind}"
        tags[i + 1 : j] = [f"I-{kind}"] * (j - i - 1)
        stats.spans[layer.name] += 1
        stats.unaligned[layer.name] += starts[i] != start or ends[j - 1] != end
        stats.crossing[layer.name] += tokens[i].sentence != tokens[j - 1].sentence
        return True

    stats.items[layer.name] += len(items)
    order = sorted(items, key=lambda it: (document_order(layer.key_span(it)), repr(_spans(layer, it))))
    tagged = []
    for item in order:  # key spans first, in document order
        spans = _spans(layer, item)
        if place(*spans[0]):
            tagged.append(spans[1:])
        else:
            stats.lost[layer.name] += 1
    for rest in tagged:  # then the other parts of the items tagged, where they are free
        for span in rest:
            if not place(*span):
                stats.parts_lost[layer.name] += 1
    return tags


def decode(tags: Sequence[str], starts: Sequence[int], ends: Sequence[int]) -> list[tuple[str, int, int]]:
    """The typed spans `(type, start, end)` of an IOB2 tag sequence over tokens with these
    offsets; an `I-x` that does not continue an `x` starts one.

    Raises:
        ValueError: when the sequences differ in length or a tag is neither `O` nor `B-`/`I-`.
    """
    if not len(tags) == len(starts) == len(ends):
        raise ValueError(f"{len(tags)} tags for {len(starts)} tokens")
    out: list[list[Any]] = []
    current: list[Any] | None = None
    for tag, start, end in zip(tags, starts, ends, strict=True):
        if tag == "O":
            current = None
            continue
        prefix, sep, kind = tag.partition("-")
        if not sep or prefix not in ("B", "I") or not kind:
            raise ValueError(f"{tag!r} is not an IOB2 tag (O, B-<type>, I-<type>)")
        if prefix == "I" and current is not None and current[0] == kind:
            current[2] = end
            continue
        current = [kind, start, end]
        out.append(current)  # its end moves on with each `I-` tag that continues it
    return [(kind, start, end) for kind, start, end in out]


def from_bio(row: Mapping[str, Any], tags: Mapping[str, Sequence[str | int]] | None = None) -> dict[str, Any]:
    """A prediction record (`layers.PredictionRecord`) from token tags.

    Args:
        row: a row of the `tokens` config (as `datasets` loads it, or as `to_bio` returns it):
            `doc_id`, `text`, `token_starts`, `token_ends`.
        tags: one tag per token for each predicted layer, keyed by layer (`stances`) or tags
            column (`stances_tags`), as names (`B-against`) or `ClassLabel` indices. None: the
            row's own `<layer>_tags` columns (gold's, for a round trip).

    Returns:
        The record as a JSON object: `doc_id`, `text`, and the predicted layers only (a layer
        without tags is left out: not predicted). Items carry what tags can say: spans, the
        label of a label-tagged layer, an attribution's source and cue (null when none is
        near); no ids, targets or holders.

    Raises:
        ValueError: for an unknown layer, a tag that is not one of the layer's, or a sequence
            whose length is not the number of tokens.
    """
    if tags is None:
        tags = {name: row[tags_column(layer)] for name, layer in LAYERS.items() if tags_column(layer) in row}
    text: str = row["text"]
    starts, ends = list(row["token_starts"]), list(row["token_ends"])
    record: dict[str, Any] = {"doc_id": row["doc_id"], "text": text}
    by_column = {tags_column(layer): layer for layer in LAYERS.values()}
    for key, sequence in tags.items():
        layer = LAYERS.get(key) or by_column.get(key)
        if layer is None:
            raise ValueError(f"{key!r} is not a layer or a tags column")
        names = tag_names(layer)
        as_names = [_tag_name(t, names, layer) for t in sequence]
        spans = decode(as_names, starts, ends)
        record[layer.name] = _items(layer, spans, text)
    return record


def _tag_name(tag: str | int, names: tuple[str, ...], layer: Layer) -> str:
    if isinstance(tag, int) and not isinstance(tag, bool) and 0 <= tag < len(names):
        return names[tag]
    if isinstance(tag, str) and tag in names:
        return tag
    raise ValueError(f"{tag!r} is not a tag of {layer.name} ({', '.join(names)})")


def _span(text: str, start: int, end: int) -> dict[str, Any]:
    return {"start": start, "end": end, "text": text[start:end]}


def _items(layer: Layer, spans: list[tuple[str, int, int]], text: str) -> list[dict[str, Any]]:
    def item(start: int, end: int) -> dict[str, Any]:
        return _span(text, start, end) if layer.key is None else {layer.key: _span(text, start, end)}

    if layer.token_tags == "label":
        return [{**item(s, e), layer.label: kind} for kind, s, e in spans]
    key = next(p for p in layer.parts if p.field == layer.key)
    keys = [(s, e) for kind, s, e in spans if kind == key.name]
    items = [item(s, e) for s, e in keys]
    for part in layer.parts:
        if part is key or part.field is None:
            continue
        found = [(s, e) for kind, s, e in spans if kind == part.name]
        for it in items:
            it[part.field] = None
        for i, j in _nearest(found, keys):
            items[j][part.field] = _span(text, *found[i])
    return items


def _nearest(parts: Sequence[Bounds], keys: Sequence[Bounds]) -> Iterable[tuple[int, int]]:
    """One-to-one pairs `(part, key)`, nearest first (characters between them; then position)."""
    candidates = sorted(
        (max(0, max(p[0], k[0]) - min(p[1], k[1])), p, k, i, j)
        for i, p in enumerate(parts)
        for j, k in enumerate(keys)
    )
    used_p: set[int] = set()
    used_k: set[int] = set()
    for _gap, _p, _k, i, j in candidates:
        if i not in used_p and j not in used_k:
            used_p.add(i)
            used_k.add(j)
            yield i, j
