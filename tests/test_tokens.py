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
def test_from_bio_gives_back_every_span_that_overlaps_no_other(rec: Record) -> None:
    stats = TagStats()
    back = from_bio(to_bio(rec, stats=stats))
    for name, layer in LAYERS.items():
        items = getattr(rec, name)
        everything = {s for item in items for s in typed_spans(layer, item)}
        got = recovered(layer, back)
        # Every span of an item that overlaps no other comes back exactly; nothing is made up.
        assert alone(layer, items) <= got <= everything, name
        assert stats.unaligned[name] == 0
    # What was not tagged is counted, item by item; every tagged span comes back as one.
    for name, layer in LAYERS.items():
        assert len(back[name]) == len(getattr(rec, name)) - stats.lost[name]
        assert sum(len(typed_spans(layer, item)) for item in back[name]) == stats.spans[name]


@functools.cache
def bundled_records() -> list[Record]:
    from corpus_tools.validate import iter_records, require_valid

    return [rec for _p, _l, rec in iter_records(require_valid([ROOT / "annotations"]).files)]


def test_the_round_trip_on_every_record_of_the_bundled_corpus() -> None:
    # The real corpus: every annotator's record of annotations/ (read only).
    widened = 0
    for rec in bundled_records():
        tokens = tokenize(rec.text)
        starts, ends = {t.start for t in tokens}, {t.end for t in tokens}
        back = from_bio(to_bio(rec, tokens=tokens))
        for name, layer in LAYERS.items():
            got = recovered(layer, back)
            for span in alone(layer, getattr(rec, name)):
                if span[1] in starts and span[2] in ends:
                    assert span in got, (rec.doc_id, rec.annotator, name, span)
                else:  # a boundary inside a token: it comes back widened to the token
                    widened += 1
                    assert any(g[0] == span[0] and g[1] <= span[1] and span[2] <= g[2] for g in got)
    # Spans cut inside a token are rare (the validator warns about spans cutting words).
    assert widened <= 0.005 * sum(len(getattr(r, n)) for r in bundled_records() for n in LAYERS)


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
    # Attributions: d1, d3, d5 one each (source, cue, content), d2 and d4 two (3 + 1 spans).
    assert "### The `tokens` configuration" in card and "| `attributions` | 7 | 0 | 0 | 17 | 0 | 0 |" in card


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
