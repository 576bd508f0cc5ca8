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
  parts of the items tagged (an attribution's source and cue), on the same condition. A layer
  tagged by label tags its key span only (a hypophora's answer is never tagged). What is left
  out is counted (`TagStats`), and the card reports it.
- **Back.** `from_bio` reads IOB2 leniently (an `I-x` that does not continue an `x` starts one,
  as seqeval does by default), and takes tags as names or `ClassLabel` indices of any integer
  type. An attribution is built from each content span; its cue, then its source, are paired
  with it from the content outward, as the guidelines place them (A9-A12): in the same
  sentence, or the next one for a quotation whose speaker the sentence before names (A10);
  with no other content between; a cue before its content ("X said that ...") before one after
  it; the fewest tokens between (`_pair`). A source or cue that pairs with no content is left
  out. `to_bio` reads its own tags back the same way and counts the parts that would come back
  with another item, or with none (`TagStats.parts_misattached`, `parts_unpaired`).

`from_bio(to_bio(record))` gives back exactly every span of an item that shares no character
with another item of its layer and whose ends fall on token boundaries (but a source or cue two
sentences or more from every content, which is counted); on the bundled corpus, and on reports
shaped as the guidelines describe, it gives back every such item whole, each attribution with
its own source and cue (tested on generated records and on the bundled corpus).
"""

from __future__ import annotations

import bisect
import functools
import operator
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from corpus_tools.errors import CorpusToolsError
from corpus_tools.layers import LAYERS, Layer, Part, document_order
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
    inside its own content: "X, he said, Y"; a source two items share, tagged with the first)."""
    parts_never_tagged: Counter[str] = field(default_factory=Counter)
    """Other parts that the layer's tags cannot hold: a layer tagged by label tags its key span
    only (a hypophora's `answer`)."""
    parts_misattached: Counter[str] = field(default_factory=Counter)
    """Other parts tagged that `from_bio` pairs with another item than their own (reading the
    tags back, as a model's would be)."""
    parts_unpaired: Counter[str] = field(default_factory=Counter)
    """Other parts tagged that `from_bio` pairs with no item (too far from every key span)."""
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

    def tokens_of(start: int, end: int) -> Bounds:
        return bisect.bisect_right(ends, start), bisect.bisect_left(starts, end)

    def place(kind: str, start: int, end: int) -> Bounds | None:
        """Tag a span unless it shares a character or a token with one tagged before; its
        tokens `[first, last + 1)` when tagged."""
        i, j = tokens_of(start, end)
        if i >= j or any(start < e and s < end for s, e in taken) or any(t != "O" for t in tags[i:j]):
            return None
        taken.append((start, end))
        tags[i] = f"B-{kind}"
        tags[i + 1 : j] = [f"I-{kind}"] * (j - i - 1)
        stats.spans[layer.name] += 1
        stats.unaligned[layer.name] += starts[i] != start or ends[j - 1] != end
        stats.crossing[layer.name] += tokens[i].sentence != tokens[j - 1].sentence
        return i, j

    stats.items[layer.name] += len(items)
    fields = {p.name: p.field for p in layer.parts}
    order = sorted(items, key=lambda it: (document_order(layer.key_span(it)), repr(_spans(layer, it))))
    tagged: list[tuple[list[tuple[str, int, int]], Bounds]] = []
    for item in order:  # key spans first, in document order
        spans = _spans(layer, item)
        if layer.token_tags == "label":
            stats.parts_never_tagged[layer.name] += sum(
                1 for p, span in layer.spans(item) if p.field != layer.key and span is not None
            )
        if (key := place(*spans[0])) is not None:
            tagged.append((spans[1:], key))
        else:
            stats.lost[layer.name] += 1
    placed: list[tuple[str | None, Bounds]] = []
    owners: dict[tuple[str | None, Bounds], set[Bounds]] = {}
    for rest, key in tagged:  # then the other parts of the items tagged, where they are free
        for kind, start, end in rest:
            owners.setdefault((fields[kind], tokens_of(start, end)), set()).add(key)
            if (bounds := place(kind, start, end)) is not None:
                placed.append((fields[kind], bounds))
            else:
                stats.parts_lost[layer.name] += 1
    if layer.token_tags == "parts":
        _count_pairing(layer, tags, [t.sentence for t in tokens], placed, owners, stats)
    return tags


def _count_pairing(
    layer: Layer,
    tags: Sequence[str],
    sentences: Sequence[int],
    placed: Sequence[tuple[str | None, Bounds]],
    owners: Mapping[tuple[str | None, Bounds], set[Bounds]],
    stats: TagStats,
) -> None:
    """Read the tags back as `from_bio` does and count the tagged parts it pairs with an item
    that does not have them (a part several items share, tagged once, is right with any of
    them), or with none."""
    paired = {
        (name, bounds): group[layer.key]
        for group, _label in _items(layer, _token_spans(tags), sentences)
        for name, bounds in group.items()
        if name != layer.key and bounds is not None
    }
    for part in placed:
        key = paired.get(part)
        if key is None:
            stats.parts_unpaired[layer.name] += 1
        elif key not in owners[part]:
            stats.parts_misattached[layer.name] += 1


def decode(tags: Sequence[str], starts: Sequence[int], ends: Sequence[int]) -> list[tuple[str, int, int]]:
    """The typed spans `(type, start, end)` of an IOB2 tag sequence over tokens with these
    offsets; an `I-x` that does not continue an `x` starts one.

    Raises:
        ValueError: when the sequences differ in length or a tag is neither `O` nor `B-`/`I-`.
    """
    if not len(tags) == len(starts) == len(ends):
        raise ValueError(f"{len(tags)} tags for {len(starts)} tokens")
    return [(kind, starts[i], ends[j - 1]) for kind, i, j in _token_spans(tags)]


def _token_spans(tags: Sequence[str]) -> list[tuple[str, int, int]]:
    """The typed spans of an IOB2 tag sequence as token indices `(type, first, last + 1)`."""
    out: list[list[Any]] = []
    current: list[Any] | None = None
    for n, tag in enumerate(tags):
        if tag == "O":
            current = None
            continue
        prefix, sep, kind = tag.partition("-")
        if not sep or prefix not in ("B", "I") or not kind:
            raise ValueError(f"{tag!r} is not an IOB2 tag (O, B-<type>, I-<type>)")
        if prefix == "I" and current is not None and current[0] == kind:
            current[2] = n + 1
            continue
        current = [kind, n, n + 1]
        out.append(current)  # its end moves on with each `I-` tag that continues it
    return [(kind, i, j) for kind, i, j in out]


def from_bio(row: Mapping[str, Any], tags: Mapping[str, Sequence[Any]] | None = None) -> dict[str, Any]:
    """A prediction record (`layers.PredictionRecord`) from token tags.

    Args:
        row: a row of the `tokens` config (as `datasets` loads it, or as `to_bio` returns it):
            `doc_id`, `text`, `token_starts`, `token_ends`, and `sentence_ids` (without it, an
            attribution's parts are paired as if the document were one sentence).
        tags: one tag per token for each predicted layer, keyed by layer (`stances`) or tags
            column (`stances_tags`), as names (`B-against`) or `ClassLabel` indices (any
            integer: Python's, NumPy's from `argmax`, PyTorch's). None: the row's own
            `<layer>_tags` columns (gold's, for a round trip).

    Returns:
        The record as a JSON object: `doc_id`, `text`, and the predicted layers only (a layer
        without tags is left out: not predicted). Items carry what tags can say: spans, the
        label of a label-tagged layer, an attribution's source and cue (null when none pairs
        with its content); no ids, targets or holders.

    Raises:
        ValueError: for an unknown layer, a tag that is not one of the layer's (an index out of
            range, a name not in the layer's, or neither a name nor an integer), or a sequence
            whose length is not the number of tokens.
    """
    if tags is None:
        tags = {name: row[tags_column(layer)] for name, layer in LAYERS.items() if tags_column(layer) in row}
    text: str = row["text"]
    starts, ends = list(row["token_starts"]), list(row["token_ends"])
    sentences = list(row["sentence_ids"]) if row.get("sentence_ids") is not None else [0] * len(starts)
    if not len(starts) == len(ends) == len(sentences):
        raise ValueError(
            f"the row has {len(starts)} token_starts, {len(ends)} token_ends and {len(sentences)} sentence_ids"
        )
    record: dict[str, Any] = {"doc_id": row["doc_id"], "text": text}
    by_column = {tags_column(layer): layer for layer in LAYERS.values()}
    for key, sequence in tags.items():
        layer = LAYERS.get(key) or by_column.get(key)
        if layer is None:
            raise ValueError(f"{key!r} is not a layer or a tags column")
        names = tag_names(layer)
        as_names = [_tag_name(t, names, layer) for t in sequence]
        if len(as_names) != len(starts):
            raise ValueError(f"{layer.name}: {len(as_names)} tags for {len(starts)} tokens")
        spans = _token_spans(as_names)

        def span(bounds: Bounds | None) -> dict[str, Any] | None:
            if bounds is None:
                return None
            start, end = starts[bounds[0]], ends[bounds[1] - 1]
            return {"start": start, "end": end, "text": text[start:end]}

        items = []
        for group, label in _items(layer, spans, sentences):
            # The key span first, then the other parts in the layer's order, then the label.
            item: dict[str, Any] = dict(span(group[None]) or {}) if layer.key is None else {}
            fields = (layer.key, *(p.field for p in layer.parts))
            item.update({f: span(group[f]) for f in fields if f is not None and f in group})
            if label is not None:
                item[layer.label] = label
            items.append(item)
        record[layer.name] = items
    return record


def _tag_name(tag: Any, names: tuple[str, ...], layer: Layer) -> str:
    """A tag as a name: a name of the layer's, or a `ClassLabel` index (any integer type)."""
    if isinstance(tag, str):
        if tag in names:
            return tag
        raise ValueError(f"{tag!r} is not a tag of {layer.name} ({', '.join(names)})")
    if not isinstance(tag, bool):
        try:
            index = operator.index(tag)  # int, numpy.int64, a 0-d integer tensor
        except TypeError:
            pass
        else:
            if 0 <= index < len(names):
                return names[index]
            raise ValueError(
                f"{index} is not a tag index of {layer.name}: ClassLabel indices run from 0 to "
                f"{len(names) - 1} ({', '.join(names)})"
            )
    raise ValueError(
        f"{tag!r} ({type(tag).__name__}) is not a tag of {layer.name}: give tag names "
        f"({', '.join(names)}) or their ClassLabel indices as integers"
    )


Group = dict[str | None, Bounds | None]
"""An item being rebuilt from tags: each part's field (None: the item's own span) to its token
span `[first, last + 1)`, or None when no span of that part pairs with it."""


def _items(
    layer: Layer, spans: Sequence[tuple[str, int, int]], sentences: Sequence[int]
) -> list[tuple[Group, str | None]]:
    """The items of a layer's decoded token spans, each with its label (None when the tags do
    not name labels)."""
    if layer.token_tags == "label":
        return [({layer.key: (i, j)}, kind) for kind, i, j in spans]
    key = next(p for p in layer.parts if p.field == layer.key)
    keys = [(i, j) for kind, i, j in spans if kind == key.name]
    groups: list[Group] = [{key.field: k} for k in keys]
    for part in _pairing_order(layer):
        found: list[Bounds] = [(i, j) for kind, i, j in spans if kind == part.name]
        for group in groups:
            group[part.field] = None
        for p, g in _pair(found, groups, keys, sentences):
            groups[g][part.field] = found[p]
    return [(g, None) for g in groups]


def _pairing_order(layer: Layer) -> list[Part]:
    """The parts other than the key, in the order `from_bio` pairs them with the key spans: from
    the key outward in the layer's list of parts (an attribution's cue, then its source)."""
    position = next(n for n, p in enumerate(layer.parts) if p.field == layer.key)
    others = [(abs(n - position), n, p) for n, p in enumerate(layer.parts) if n != position and p.field]
    return [p for _d, _n, p in sorted(others, key=lambda x: (x[0], x[1]))]


def _pair(
    parts: Sequence[Bounds], groups: Sequence[Group], keys: Sequence[Bounds], sentences: Sequence[int]
) -> Iterable[tuple[int, int]]:
    """One-to-one pairs `(part, group)`: each span of a part goes to the item it reads with.

    An item's extent is its key span and the parts paired with it so far (so an attribution's
    source is placed from its cue outward). Pairs are made best first, the best being a part
    (1) in a sentence the extent covers, else in the sentence next to it (a quotation after the
    sentence that names its speaker, guideline A10), never farther; (2) with no other key span
    between it and the extent in reading order; (3) before the extent rather than after it (a
    cue introduces its content, "X said that ...", more often than it follows it, "'A,' she
    said."; in a split quotation, "'A,' she said, 'B.'", whose two items share the source and
    cue (A3) that the tags hold once, they go with 'B'); (4) with the fewest tokens between
    them; then in document order.

    `keys` are the groups' key spans, in document order (decoded tags do not overlap).
    """
    key_starts, key_ends = [k[0] for k in keys], [k[1] for k in keys]
    candidates = []
    for g, group in enumerate(groups):
        bounds = [b for b in group.values() if b is not None]
        lo, hi = min(b[0] for b in bounds), max(b[1] for b in bounds)
        first, last = sentences[lo], sentences[hi - 1]
        for p, (i, j) in enumerate(parts):
            apart = max(0, first - sentences[j - 1], sentences[i] - last)
            if apart > 1:
                continue
            if j <= lo:  # before the extent
                after, left, right = False, j, lo
            elif i >= hi:  # after it
                after, left, right = True, hi, i
            else:  # between its spans ("according to X, ...": X between the cue and the content)
                after, left, right = False, i, i
            between = max(0, bisect.bisect_right(key_ends, right) - bisect.bisect_left(key_starts, left))
            candidates.append((apart, between, after, right - left, lo, i, p, g))
    used_p: set[int] = set()
    used_g: set[int] = set()
    for *_rank, p, g in sorted(candidates):
        if p not in used_p and g not in used_g:
            used_p.add(p)
            used_g.add(g)
            yield p, g
