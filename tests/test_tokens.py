"""`corpus_tools.tokens` and the `tokens` config: tokens and IOB2 tags from records (`to_bio`),
records from tags (`from_bio`), the round trip on generated records and on the bundled corpus,
and the config as `datasets` loads it offline."""

from __future__ import annotations

import functools
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corpus_tools.layers import LAYERS, Layer, PredictionRecord, Record
from corpus_tools.publish import publish
from corpus_tools.tokens import TagStats, decode, from_bio, tag_names, tags_column, to_bio, tokenize
from corpus_tools.validate.lines import check_line

from factory import record
from publish_helpers import card_yaml, gold_corpus, make_split_dir

ROOT = Path(__file__).resolve().parent.parent


def typed_spans(layer: Layer, item: Any) -> list[tuple[str, int, int]]:
    """What the layer's tags say about an item: its key span by label, or each part by name."""
    if layer.token_tags == "label":
        if isinstance(item, dict):
            key = item if layer.key is None else item[layer.key]
            return [(item[layer.label], key["start"], key["end"])]
        return [(getattr(item, layer.label), *layer.key_span(item))]
    out = []
    for part in layer.parts:
        span = part.of(item)
        if span is not None:
            bounds = (span["start"], span["end"]) if isinstance(span, dict) else (span.start, span.end)
            out.append((part.name, *bounds))
    return out


def overlaps(a: tuple[str, int, int], b: tuple[str, int, int]) -> bool:
    return a[1] < b[2] and b[1] < a[2]


def alone(layer: Layer, items: list[Any]) -> set[tuple[str, int, int]]:
    """The typed spans of the items none of whose spans overlaps another item's, or each other."""
    out: set[tuple[str, int, int]] = set()
    spans = [typed_spans(layer, item) for item in items]
    for i, mine in enumerate(spans):
        others = [s for j, theirs in enumerate(spans) if j != i for s in theirs]
        if any(overlaps(a, b) for a in mine for b in others):
            continue
        if any(overlaps(a, b) for n, a in enumerate(mine) for b in mine[n + 1 :]):
            continue
        out |= set(mine)
    return out


def recovered(layer: Layer, record_: dict[str, Any]) -> set[tuple[str, int, int]]:
    return {s for item in record_.get(layer.name, []) for s in typed_spans(layer, item)}


def bounds(span: Any) -> tuple[int, int] | None:
    if span is None:
        return None
    return (span["start"], span["end"]) if isinstance(span, dict) else (span.start, span.end)


def whole(layer: Layer, item: Any) -> tuple[Any, ...]:
    """What the layer's tags say about an item, as one value: its key span and label, or every
    part's span (None for a part it has not), so that items compare whole."""
    if layer.token_tags == "label":
        label = item[layer.label] if isinstance(item, dict) else getattr(item, layer.label)
        key = item if layer.key is None else layer.parts[0].of(item)
        return (label, bounds(key) if layer.key is not None else bounds(item))
    return tuple((part.name, bounds(part.of(item))) for part in layer.parts)


def alone_items(layer: Layer, items: list[Any]) -> list[Any]:
    """The items none of whose spans overlaps another item's, or each other."""
    spans = [typed_spans(layer, item) for item in items]
    out = []
    for i, mine in enumerate(spans):
        others = [s for j, theirs in enumerate(spans) if j != i for s in theirs]
        if any(overlaps(a, b) for a in mine for b in others):
            continue
        if any(overlaps(a, b) for n, a in enumerate(mine) for b in mine[n + 1 :]):
            continue
        out.append(items[i])
    return out


def test_tokens_cover_the_text_with_code_point_offsets() -> None:
    text = "Café 🙂 said: “report?—neither” (1)"
    tokens = tokenize(text)
    assert all(text[t.start : t.end] == t.text for t in tokens)
    # The added infix rules split what older printed texts glue together.
    assert [t.text for t in tokens][-9:] == ["“", "report", "?", "—", "neither", "”", "(", "1", ")"]
    assert tokenize("Is it? Yes.")[-1].sentence == 1


def test_decode_reads_iob2_leniently() -> None:
    starts, ends = [0, 2, 4, 6, 8], [1, 3, 5, 7, 9]
    assert decode(["B-x", "I-x", "B-x", "O", "I-y"], starts, ends) == [("x", 0, 3), ("x", 4, 5), ("y", 8, 9)]
    assert decode(["I-x", "I-y", "I-y", "O", "O"], starts, ends) == [("x", 0, 1), ("y", 2, 5)]
    with pytest.raises(ValueError, match="not an IOB2 tag"):
        decode(["X-x", "O", "O", "O", "O"], starts, ends)
    with pytest.raises(ValueError, match="2 tags for 5 tokens"):
        decode(["O", "O"], starts, ends)


def test_to_bio_and_from_bio_on_a_record() -> None:
    gold = Record.model_validate(record())
    row = to_bio(gold)
    assert set(row) == {
        "doc_id",
        "text",
        "tokens",
        "token_starts",
        "token_ends",
        "sentence_ids",
        *(tags_column(layer) for layer in LAYERS.values()),
    }
    tags = dict(zip(row["tokens"], row["stances_tags"], strict=True))
    assert tags["lunacy"] == "B-against" and tags["What"] == "O"
    back = from_bio(row)
    assert back["rhetorical_questions"] == [
        {"start": 62, "end": 89, "text": "Is this the end of the war?", "kind": "hypophora"}
    ]
    assert back["attributions"] == [
        {
            "content": {"start": 28, "end": 60, "text": "The active phase is nearly over."},
            "source": {"start": 11, "end": 20, "text": "Gerasimov"},
            "cue": {"start": 21, "end": 25, "text": "said"},
        }
    ]
    assert back["stances"] == [{"start": 149, "end": 155, "text": "lunacy", "polarity": "against"}]
    # A valid prediction record, which `corpus validate --predictions` passes.
    findings, _key = check_line(
        PredictionRecord.model_validate(back).model_dump_json(exclude_unset=True).encode(), predictions=True
    )
    assert findings == []
    # A model's tags for one layer, as ClassLabel indices: only that layer is predicted.
    names = tag_names(LAYERS["stances"])
    only = from_bio(row, {"stances_tags": [names.index(t) for t in row["stances_tags"]]})
    assert set(only) == {"doc_id", "text", "stances"} and only["stances"] == back["stances"]
    # What a NumPy model gives (argmax over scores: numpy.int64), as an array or a list.
    import numpy as np

    scores = np.eye(len(names))[[names.index(t) for t in row["stances_tags"]]]
    predicted = scores.argmax(axis=1)
    assert from_bio(row, {"stances": predicted})["stances"] == back["stances"]
    assert from_bio(row, {"stances": list(predicted)})["stances"] == back["stances"]
    # A real non-tag is named, with what tags may be.
    with pytest.raises(ValueError, match=r"0.5 \(float\) is not a tag of stances: give tag names"):
        from_bio(row, {"stances": [0.5] * len(row["tokens"])})
    with pytest.raises(
        ValueError, match="5 is not a tag index of stances: ClassLabel indices run from 0 to 4"
    ):
        from_bio(row, {"stances": [np.int64(5)] * len(row["tokens"])})
    with pytest.raises(ValueError, match=r"True \(bool\) is not a tag of stances"):
        from_bio(row, {"stances": [True] * len(row["tokens"])})
    with pytest.raises(ValueError, match="'B-neutral' is not a tag of stances"):
        from_bio(row, {"stances": ["B-neutral"] * len(row["tokens"])})
    with pytest.raises(ValueError, match="not a layer"):
        from_bio(row, {"stance": row["stances_tags"]})


def test_overlapping_items_are_resolved_in_document_order_and_counted() -> None:
    text = 'He said: "She said: we lost." What lunacy!'
    tokens = tokenize(text)

    def at(needle: str) -> dict[str, Any]:
        start = text.index(needle)
        return {"start": start, "end": start + len(needle), "text": needle}

    outer = {
        "id": "t1",
        "type": "direct",
        "source": at("He"),
        "cue": at("said"),
        "content": at("She said: we lost."),
    }
    inner = {
        "id": "t2",
        "type": "indirect",
        "source": at("She"),
        "content": at("we lost."),
        "nested_in": "t1",
    }
    rec = Record.model_validate(
        record(
            text=text,
            rhetorical_questions=[],
            attributions=[inner, outer],
            stances=[
                {"id": "s1", **at("lunacy"), "target": "x", "polarity": "against", "holder": "author"},
                {"id": "s2", **at("lunacy"), "target": "y", "polarity": "against", "holder": "author"},
            ],
        )
    )
    stats = TagStats()
    row = to_bio(rec, tokens=tokens, stats=stats)
    # The outer attribution comes first in document order; the one nested in it is not tagged.
    assert [t for t in row["attributions_tags"] if t != "O"][:3] == ["B-source", "B-cue", "B-content"]
    assert (stats.items["attributions"], stats.lost["attributions"], stats.spans["attributions"]) == (2, 1, 3)
    assert stats.parts_lost["attributions"] == 0
    # Two stances on one span: one is tagged.
    assert (stats.items["stances"], stats.lost["stances"]) == (2, 1)
    assert from_bio(row)["attributions"][0]["source"]["text"] == "He"
    # A source and cue inside their own content ("X, she said, Y"): the content is tagged, they
    # are not (and are counted).
    text = "We lost, she said, the war."
    interrupted = {
        "id": "t1",
        "type": "direct",
        "source": at2(text, "she"),
        "cue": at2(text, "said"),
        "content": at2(text, text),
    }
    stats = TagStats()
    row = to_bio(
        Record.model_validate(
            record(text=text, rhetorical_questions=[], attributions=[interrupted], stances=[])
        ),
        stats=stats,
    )
    assert (stats.lost["attributions"], stats.parts_lost["attributions"]) == (0, 2)
    assert from_bio(row)["attributions"] == [{"content": at2(text, text), "source": None, "cue": None}]


def attribution(text: str, id_: str, source: str | None, cue: str | None, content: str) -> dict[str, Any]:
    """An attribution of spans given as strings (`said#1`: the second `said`)."""
    return {
        "id": id_,
        "type": "indirect",
        "source": span_at(text, source),
        "cue": span_at(text, cue),
        "content": span_at(text, content),
    }


def span_at(text: str, needle: str | None) -> dict[str, Any] | None:
    """The span of `needle` in `text`, or of its n-th occurrence (`said#1`, from 0)."""
    if needle is None:
        return None
    needle, _, n = needle.partition("#")
    start = -1
    for _ in range(int(n or 0) + 1):
        start = text.index(needle, start + 1)
    return {"start": start, "end": start + len(needle), "text": needle}


@pytest.mark.parametrize(
    ("text", "items"),
    [
        # The review's case: by characters, the second source is nearer the first content.
        (
            "Too many of us think it is impossible. Too many think it unreal.",
            [("Too many of us", "think", "it is impossible"), ("Too many#1", "think#1", "it unreal")],
        ),
        # Two reports in one sentence: each cue with the content it introduces.
        (
            "The minister said that the war is lost, and they said that it is unreal.",
            [("The minister", "said", "the war is lost"), ("they", "said#1", "it is unreal")],
        ),
        # A cue after its content, a source between a cue and its content, and a stand-alone
        # quotation whose speaker the sentence before names (A10).
        (
            "“We lost,” Anna said. According to him, it is over. Check this out from NPR: “It is not.”",
            [
                ("Anna", "said", "We lost,"),
                ("him", "According to", "it is over"),
                ("NPR", None, "It is not."),
            ],
        ),
        # The same persons who tell us ..., inform us ...: each cue before its content.
        (
            "The same persons who tell us in one breath, that the powers are unlimited, inform us in the next, that it has no authority.",
            [
                ("The same persons", "tell", "the powers are unlimited"),
                (None, "inform", "it has no authority"),
            ],
        ),
    ],
)
def test_from_bio_pairs_each_source_and_cue_with_its_own_content(
    text: str, items: list[tuple[str | None, str | None, str]]
) -> None:
    layer = LAYERS["attributions"]
    attributions = [attribution(text, f"t{k}", *item) for k, item in enumerate(items)]
    rec = Record.model_validate(
        record(text=text, rhetorical_questions=[], attributions=attributions, stances=[])
    )
    stats = TagStats()
    back = from_bio(to_bio(rec, stats=stats))
    # Whole items: each content with its own source and cue (None where it has none).
    assert sorted(map(repr, (whole(layer, a) for a in back["attributions"]))) == sorted(
        map(repr, (whole(layer, a) for a in rec.attributions))
    )
    assert (stats.parts_misattached["attributions"], stats.parts_unpaired["attributions"]) == (0, 0)


def test_the_counts_of_parts_paired_wrongly_or_not_at_all() -> None:
    # Items the tags cannot give back: a source and cue two sentences from their content (and
    # whose sentence's neighbour has its own) pair with none; a source before two contents
    # goes to the first.
    text = "Anna said that it is over. Bob said. One. He, it is lost, it is won."
    rec = Record.model_validate(
        record(
            text=text,
            rhetorical_questions=[],
            attributions=[
                attribution(text, "t1", "Anna", "said", "it is over"),
                attribution(text, "t2", "Bob", "said#1", "it is lost"),
                attribution(text, "t3", "He", None, "it is won"),
            ],
            stances=[],
        )
    )
    stats = TagStats()
    row = to_bio(rec, stats=stats)
    back = {a["content"]["text"]: a for a in from_bio(row)["attributions"]}
    assert back["it is over"]["source"]["text"] == "Anna"
    assert (back["it is lost"]["source"] or {}).get("text") == "He" and back["it is won"]["source"] is None
    assert (stats.parts_misattached["attributions"], stats.parts_unpaired["attributions"]) == (1, 2)


def at2(text: str, needle: str) -> dict[str, Any]:
    start = text.index(needle)
    return {"start": start, "end": start + len(needle), "text": needle}


WORDS = st.sampled_from(
    ["said", "war", "Is", "it", "so", "?", ".", ",", "“", "”", "lunacy", "don't", "U.S.", "—", "Café", "🙂"]
)


@st.composite
def tagged_records(draw: Any) -> Record:
    """A record whose spans begin and end on token boundaries, overlapping at random."""
    text = " ".join(draw(st.lists(WORDS, min_size=1, max_size=30)))
    tokens = tokenize(text)
    n = len(tokens)

    def span() -> dict[str, Any] | None:
        if not n:
            return None
        i = draw(st.integers(0, n - 1))
        j = draw(st.integers(i + 1, min(n, i + 4)))
        start, end = tokens[i].start, tokens[j - 1].end
        return {"start": start, "end": end, "text": text[start:end]}

    questions, attributions, stances = [], [], []
    for k in range(draw(st.integers(0, 3)) if n else 0):
        s = span()
        questions.append(
            {"id": f"q{k}", **s, "kind": draw(st.sampled_from(LAYERS["rhetorical_questions"].names))}
        )
    for k in range(draw(st.integers(0, 3)) if n else 0):
        item = {"id": f"t{k}", "type": "direct", "content": span()}
        for part in ("source", "cue"):
            if draw(st.booleans()):
                item[part] = span()
        attributions.append(item)
    for k in range(draw(st.integers(0, 4)) if n else 0):
        s = span()
        stances.append(
            {
                "id": f"s{k}",
                **s,
                "target": "x",
                "holder": "author",
                "polarity": draw(st.sampled_from(["favor", "against"])),
            }
        )
    return Record.model_validate(
        {
            "doc_id": "d",
            "annotator": "a",
            "text": text,
            "rhetorical_questions": questions,
            "attributions": attributions,
            "stances": stances,
        }
    )


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tagged_records())
def test_from_bio_gives_back_the_tagged_spans_and_counts_what_it_pairs_wrongly(rec: Record) -> None:
    # Spans placed at random, overlapping or not, and far from their items: what comes back is
    # what was tagged, and the statistics own up to every part paired with another item or none.
    stats = TagStats()
    back = from_bio(to_bio(rec, stats=stats))
    for name, layer in LAYERS.items():
        items = getattr(rec, name)
        everything = {s for item in items for s in typed_spans(layer, item)}
        got = recovered(layer, back)
        # Every span of an item that overlaps no other comes back exactly, but the parts counted
        # as paired with no item; nothing is made up.
        assert len(alone(layer, items) - got) <= stats.parts_unpaired[name] and got <= everything, name
        assert stats.unaligned[name] == 0
        # What was not tagged is counted, item by item; every tagged span comes back, or is
        # counted as paired with no item.
        assert len(back[name]) == len(items) - stats.lost[name]
        returned = sum(len(typed_spans(layer, item)) for item in back[name])
        assert returned + stats.parts_unpaired[name] == stats.spans[name]
        if layer.token_tags == "parts":
            # A part returned with an item that has no such part in gold is counted wrong.
            mine: dict[Any, set[tuple[str, int, int]]] = {}
            for i in items:
                mine.setdefault(whole_key(layer, i), set()).update(typed_spans(layer, i))
            wrong = sum(
                1
                for item in back[name]
                for s in typed_spans(layer, item)
                if s not in mine.get(whole_key(layer, item), set())
            )
            assert wrong <= stats.parts_misattached[name]


def whole_key(layer: Layer, item: Any) -> tuple[int, int] | None:
    return bounds(layer.parts[[p.field for p in layer.parts].index(layer.key)].of(item))


SOURCES = st.sampled_from(["Anna", "The minister", "Too many of us", "He", "they", "NPR’s Ruth Sherlock"])
CONTENT = st.lists(
    st.sampled_from(["it", "is", "over", "the", "war", "lost", "unreal", "we", "won"]), min_size=1, max_size=5
)


@st.composite
def reported_speech(draw: Any) -> Record:
    """A text of sentences shaped as the guidelines describe reports (A1-A12), with their
    attributions: `S said that C.`, `“C,” S said.`, `“C,” said S.`, `According to S, C.`,
    `S wrote: “C.”`, two reports in one sentence, a quotation after the sentence that names its
    speaker, and sentences with no report between them."""
    text = ""
    items: list[dict[str, Any]] = []

    def add(piece: str) -> tuple[int, int]:
        nonlocal text
        start = len(text)
        text += piece
        return start, len(text)

    def sp(b: tuple[int, int]) -> dict[str, Any]:
        return {"start": b[0], "end": b[1], "text": text[b[0] : b[1]]}

    def report(kind: str, source: str, content: str) -> None:
        if kind == "said that":
            s, c = add(source), (add(" "), add("said"))[1]
            add(" that ")
            t = add(content)
            add(".")
        elif kind == "quote, S said":
            add("“")
            t = add(content + ",")
            add("” ")
            s = add(source)
            add(" ")
            c = add("said")
            add(".")
        elif kind == "quote, said S":
            add("“")
            t = add(content + ",")
            add("” ")
            c = add("said")
            add(" ")
            s = add(source)
            add(".")
        elif kind == "according to":
            c = add("According to")
            add(" ")
            s = add(source)
            add(", ")
            t = add(content)
            add(".")
        elif kind == "wrote":
            s = add(source)
            add(" ")
            c = add("wrote")
            add(": “")
            t = add(content + ".")
            add("”")
        else:  # a stand-alone quotation; the sentence before names the speaker (A10)
            add("Check this out from ")
            s = add(source)
            add(". “")
            t = add(content + ".")
            add("”")
            items.append({"source": sp(s), "cue": None, "content": sp(t)})
            return
        items.append({"source": sp(s), "cue": sp(c), "content": sp(t)})

    kinds = [
        "said that",
        "quote, S said",
        "quote, said S",
        "according to",
        "wrote",
        "stand-alone",
        "two",
        "none",
    ]
    for n in range(draw(st.integers(1, 6))):
        if n:
            add(" ")
        kind = draw(st.sampled_from(kinds))
        if kind == "none":
            add("The war is long.")
        elif kind == "two":  # two reports in one sentence, each cue before its content
            s1, c1 = add(draw(SOURCES)), (add(" "), add("said"))[1]
            add(" that ")
            t1 = add(" ".join(draw(CONTENT)))
            add(", and ")
            s2, c2 = add(draw(SOURCES)), (add(" "), add("said"))[1]
            add(" that ")
            t2 = add(" ".join(draw(CONTENT)))
            add(".")
            items += [
                {"source": sp(s1), "cue": sp(c1), "content": sp(t1)},
                {"source": sp(s2), "cue": sp(c2), "content": sp(t2)},
            ]
        else:
            report(kind, draw(SOURCES), " ".join(draw(CONTENT)))
    attributions = [{"id": f"t{k}", "type": "indirect", **item} for k, item in enumerate(items)]
    return Record.model_validate(
        {
            "doc_id": "d",
            "annotator": "a",
            "text": text,
            "rhetorical_questions": [],
            "attributions": attributions,
            "stances": [],
        }
    )


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(reported_speech())
def test_from_bio_gives_back_whole_attributions_in_the_shapes_of_the_guidelines(rec: Record) -> None:
    layer = LAYERS["attributions"]
    stats = TagStats()
    back = from_bio(to_bio(rec, stats=stats))
    assert sorted(repr(whole(layer, a)) for a in back["attributions"]) == sorted(
        repr(whole(layer, a)) for a in rec.attributions
    ), rec.text
    assert (stats.parts_misattached["attributions"], stats.parts_unpaired["attributions"]) == (0, 0)


@functools.cache
def bundled_records() -> list[Record]:
    from corpus_tools.validate import iter_records, require_valid

    return [rec for _p, _l, rec in iter_records(require_valid([ROOT / "annotations"]).files)]


def test_the_round_trip_on_every_record_of_the_bundled_corpus() -> None:
    # The real corpus: every annotator's record of annotations/ (read only). Whole items come
    # back: each attribution's source, cue and content together, each question with its kind.
    widened = 0
    stats = TagStats()
    for rec in bundled_records():
        tokens = tokenize(rec.text)
        starts, ends = {t.start for t in tokens}, {t.end for t in tokens}
        back = from_bio(to_bio(rec, tokens=tokens, stats=stats))
        for name, layer in LAYERS.items():
            got = [whole(layer, item) for item in back[name]]
            for item in alone_items(layer, getattr(rec, name)):
                spans = typed_spans(layer, item)
                if all(s in starts and e in ends for _k, s, e in spans):
                    assert whole(layer, item) in got, (rec.doc_id, rec.annotator, name, item)
                else:  # a boundary inside a token: it comes back widened to the token
                    widened += 1
                    assert all(
                        any(g[0] == k and g[1] <= s and e <= g[2] for g in recovered(layer, back))
                        for k, s, e in spans
                    )
    # Spans cut inside a token are rare (the validator warns about spans cutting words).
    assert widened <= 0.005 * sum(len(getattr(r, n)) for r in bundled_records() for n in LAYERS)
    # What the card reports: no tagged source or cue of the corpus comes back with another
    # attribution than its own, or with none.
    assert (stats.parts_misattached["attributions"], stats.parts_unpaired["attributions"]) == (0, 0)


def test_the_tokens_config_loads_offline_with_its_class_label_names(tmp_path: Path) -> None:
    split_dir = make_split_dir(tmp_path / "splits", gold_corpus())
    out = tmp_path / "dataset"
    result = publish(split_dir, output=out, tokens=True)
    assert result.rows("tokens") == {"train": 3, "validation": 1, "test": 1}
    code = f"""
import json, datasets
ds = datasets.load_dataset({str(out)!r}, "tokens", cache_dir={str(tmp_path / "cache")!r})
f = ds["train"].features
rows = [r for split in ds.values() for r in split]
print(json.dumps({{"names": {{c: f[c].feature.names for c in f if c.endswith("_tags")}}, "rows": rows}}))
"""
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    import json

    data = json.loads(loaded.stdout)
    assert data["names"] == {tags_column(layer): list(tag_names(layer)) for layer in LAYERS.values()}
    gold = {r["doc_id"]: Record.model_validate(r) for rows in gold_corpus().values() for r in rows}
    for row in data["rows"]:
        assert all(
            row["text"][s:e] == t
            for t, s, e in zip(row["tokens"], row["token_starts"], row["token_ends"], strict=True)
        )
        back = from_bio(row)  # ClassLabel indices, as loaded
        for name, layer in LAYERS.items():
            assert recovered(layer, back) == alone(layer, getattr(gold[row["doc_id"]], name)), (
                row["doc_id"],
                name,
            )
    yaml = card_yaml(out)
    assert [c["config_name"] for c in yaml["configs"]] == ["default", "spans", "tokens"]
    assert yaml["task_categories"] == ["text-classification", "token-classification"]
    assert yaml["task_ids"] == ["multi-class-classification", "sentiment-classification"]
    assert [(e["config"], e["task_id"], e["col_mapping"]) for e in yaml["train-eval-index"]] == [
        ("tokens", "entity_extraction", {"tokens": "tokens", tags_column(layer): "tags"})
        for layer in LAYERS.values()
    ]
    card = (out / "README.md").read_text(encoding="utf-8")
    # Attributions: d1, d3, d5 one each (source, cue, content), d2 and d4 two (3 + 1 spans),
    # every source and cue read back with its own content.
    assert "### The `tokens` configuration" in card
    assert "| `attributions` | 7 | 7 | 0 | 0 | 0 | 0 | 0 | 17 | 0 | 0 |" in card
    # A hypophora's answer is never tagged, and the card counts them.
    questions = [q for rows in gold_corpus().values() for r in rows for q in r["rhetorical_questions"]]
    answers = sum(q.get("answer") is not None for q in questions)
    assert (
        answers
        and f"| `rhetorical_questions` | {len(questions)} | {len(questions)} | 0 | 0 | {answers} |" in card
    )


def test_without_spacy_only_the_tokens_config_is_refused(tmp_path: Path) -> None:
    split_dir = make_split_dir(tmp_path / "splits", gold_corpus())
    code = f"""
import sys
class NoSpacy:  # as if the tokens extra were not installed
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "spacy":
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
sys.meta_path.insert(0, NoSpacy())
from corpus_tools.publish import publish
from corpus_tools.errors import CorpusToolsError
publish({str(split_dir)!r}, output={str(tmp_path / "a")!r})
try:
    publish({str(split_dir)!r}, output={str(tmp_path / "b")!r}, tokens=True)
except CorpusToolsError as e:
    print(e)
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert (
        "tokenizing needs spaCy, which is not installed: pip install 'corpus-tools[tokens]'" in result.stdout
    )
    assert (tmp_path / "a" / "README.md").exists() and not (tmp_path / "b").exists()
