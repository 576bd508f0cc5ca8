"""Hypothesis strategies shared by the property tests: valid records, and the ways annotators
break them."""

from __future__ import annotations

import copy
import functools
import json
from typing import Any

from hypothesis import strategies as st

from corpus_tools.layers import LAYERS

WORD = st.text(alphabet=st.sampled_from("abcdeé—😀 ?\"'"), min_size=1, max_size=8)


@st.composite
def spans(draw: Any, text: str, lo: int = 0, hi: int | None = None, clean: bool = False) -> dict[str, Any]:
    """A span of `text` within `[lo, hi)`; `clean`: from a word's start to a word's end, which no
    rule objects to."""
    hi = len(text) if hi is None else hi
    if clean:
        starts = [i for i in range(lo, hi) if not text[i].isspace() and (i == 0 or text[i - 1].isspace())]
        ends = [
            i
            for i in range(lo + 1, hi + 1)
            if not text[i - 1].isspace() and (i == len(text) or text[i].isspace())
        ]
        if starts and ends and max(ends) > min(starts):
            start = draw(st.sampled_from(starts))
            end = draw(st.sampled_from([e for e in ends if e > start] or [max(ends)]))
            if end > start:
                return {"start": start, "end": end, "text": text[start:end]}
    start = draw(st.integers(lo, hi - 1))
    end = draw(st.integers(start + 1, hi))
    if draw(st.integers(0, 9)):  # mostly trimmed, as annotators are asked to; sometimes not
        while end - start > 1 and text[start].isspace():
            start += 1
        while end - start > 1 and text[end - 1].isspace():
            end -= 1
    return {"start": start, "end": end, "text": text[start:end]}


@st.composite
def records(draw: Any, doc_id: str, clean: bool = False) -> dict[str, Any]:
    """A valid record: spans anywhere, some answers, nested attributions, gold `annotators`.

    With `clean`, one that no rule warns about either: spans on word boundaries, questions that
    end on their `?` with the answer right after, a stance held by the innermost attribution
    around it (or the author outside any), targets in the text.
    """
    text = draw(st.lists(WORD, min_size=1, max_size=20).map(" ".join))
    if clean:
        # A word at each end, so every span has word boundaries to use, and a question with
        # its answer, which a clean question needs.
        text = "w" + text + "w Is it so? Yes."
    spans_ = functools.partial(spans, clean=clean)
    label = {name: st.sampled_from(layer.names) for name, layer in LAYERS.items()}
    gold = draw(st.booleans())
    voters = st.lists(st.sampled_from(["ann-a", "b.2", "C_3"]), min_size=1, max_size=3, unique=True)

    def item(prefix: str, i: int) -> dict[str, Any]:
        return {"id": f"{prefix}{i}", **({"annotators": draw(voters)} if gold else {})}

    def fixed(needle: str) -> dict[str, Any]:
        start = text.rindex(needle)
        return {"start": start, "end": start + len(needle), "text": needle}

    questions = []
    for i in range(draw(st.integers(0, 1 if clean else 3))):
        span = fixed("Is it so?") if clean else draw(spans_(text))
        q = {**item("q", i), **span, "kind": draw(label["rhetorical_questions"])}
        if q["kind"] == "hypophora" and draw(st.booleans()):
            q["answer"] = fixed("Yes.") if clean else draw(spans_(text))
        questions.append(q)
    attributions: list[dict[str, Any]] = []
    for i in range(draw(st.integers(0, 3))):
        parent = draw(st.none() | st.sampled_from(attributions)) if attributions else None
        lo, hi = (parent["content"]["start"], parent["content"]["end"]) if parent else (0, len(text))
        attributions.append(
            {
                **item("t", i),
                "type": draw(label["attributions"]),
                "source": draw(st.none() | spans_(text, lo, hi)),
                "cue": draw(st.none() | spans_(text, lo, hi)),
                "content": draw(spans_(text, lo, hi)),
                "nested_in": parent["id"] if parent else None,
            }
        )
    holders = ["author"] + [a["id"] for a in attributions]
    stances = []
    for i in range(draw(st.integers(0, 3))):
        span = draw(spans_(text))
        holder = draw(st.sampled_from(holders))
        target = "x"
        if clean:
            around = [
                a
                for a in attributions
                if a["content"]["start"] <= span["start"] and span["end"] <= a["content"]["end"]
            ]
            holder = (
                min(around, key=lambda a: a["content"]["end"] - a["content"]["start"])["id"]
                if around
                else "author"
            )
            target = draw(spans_(text))["text"]
        stances.append(
            {**item("s", i), **span, "target": target, "polarity": draw(label["stances"]), "holder": holder}
        )
    meta = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "title": st.text(max_size=5),
                "published": st.sampled_from(["2017", "2017-11", "2017-11-26"]),
                "language": st.sampled_from(["en", "de"]),
            },
        )
    )
    return {
        "doc_id": doc_id,
        "annotator": "gen",
        "text": text,
        "meta": meta,
        "rhetorical_questions": questions,
        "attributions": attributions,
        "stances": stances,
    }


# Drawn through copy.deepcopy: sampled_from returns the same objects each time, and a shared
# {} or [] placed twice could be added into itself, making a cyclic record.
TRICKY = st.sampled_from(
    [
        None,
        True,
        False,
        0,
        -1,
        1.0,
        3.5,
        10**20,
        "",
        " ",
        "a\n",
        "q 1",
        "-q",
        "é",
        "😀",
        "x" * 129,
        "2017\n",
        "author",
        "t0",
        "q0",
        "favor",
        "hypophora",
        "direct",
        "2017-11-26",
        "2017-1",
        [],
        {},
        [1],
        {"start": 0, "end": 1, "text": "x"},
    ]
)


def _paths(obj: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += _paths(v, (*prefix, i))
    return out


LABELS = [
    "assertive",
    "hypophora",
    "echo",
    "open",
    "direct",
    "indirect",
    "mixed",
    "favor",
    "against",
    "neutral",
]


@st.composite
def mutated_lines(draw: Any) -> bytes:
    """A generated valid record, then up to three random edits of the kinds annotators make."""
    rec = json.loads(json.dumps(draw(records("d0"))))
    for _ in range(draw(st.integers(0, 3))):
        paths = _paths(rec)[1:] or [("doc_id",)]
        action = draw(st.sampled_from(["replace", "delete", "add", "shift", "retarget", "relabel"]))
        if action in ("retarget", "relabel"):
            keys = ("nested_in", "holder") if action == "retarget" else ("kind", "type", "polarity")
            paths = [p for p in paths if p and p[-1] in keys] or paths
        path = draw(st.sampled_from(paths))
        parent = rec
        for part in path[:-1]:
            parent = parent[part]
        key = path[-1]
        if action == "replace":
            parent[key] = draw(TRICKY.map(copy.deepcopy))
        elif action == "delete":
            del parent[key]
        elif action == "add" and isinstance(parent, dict):
            parent[draw(st.sampled_from(["extra", "Start", "kind", "id", "answer"]))] = draw(
                TRICKY.map(copy.deepcopy)
            )
        elif action == "shift" and isinstance(parent, dict) and type(parent.get(key)) is int:
            parent[key] += draw(st.sampled_from([-1, 1]))
        elif action == "retarget":
            ids = [
                i["id"]
                for layer in ("rhetorical_questions", "attributions", "stances")
                if isinstance(rec.get(layer), list)
                for i in rec[layer]
                if isinstance(i, dict) and isinstance(i.get("id"), str)
            ]
            parent[key] = draw(st.sampled_from(["author", "nobody", *ids]))
        elif action == "relabel":
            parent[key] = draw(st.sampled_from(LABELS))
    return json.dumps(rec, ensure_ascii=draw(st.booleans())).encode()
