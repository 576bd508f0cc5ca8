"""Property tests: generated valid records pass; one corruption is reported on its own line."""

from __future__ import annotations

import json
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import corpus_tools
from corpus_tools.layers import LAYERS

WORD = st.text(alphabet=st.sampled_from("abcdeé—😀 ?\"'"), min_size=1, max_size=8)


@st.composite
def spans(draw: Any, text: str, lo: int = 0, hi: int | None = None) -> dict[str, Any]:
    hi = len(text) if hi is None else hi
    start = draw(st.integers(lo, hi - 1))
    end = draw(st.integers(start + 1, hi))
    if draw(st.integers(0, 9)):  # mostly trimmed, as annotators are asked to; sometimes not
        while end - start > 1 and text[start].isspace():
            start += 1
        while end - start > 1 and text[end - 1].isspace():
            end -= 1
    return {"start": start, "end": end, "text": text[start:end]}


@st.composite
def records(draw: Any, doc_id: str) -> dict[str, Any]:
    """A valid record: spans anywhere, some answers, nested attributions, gold `annotators`."""
    text = draw(st.lists(WORD, min_size=1, max_size=20).map(" ".join))
    label = {name: st.sampled_from(layer.names) for name, layer in LAYERS.items()}
    gold = draw(st.booleans())
    voters = st.lists(st.sampled_from(["ann-a", "b.2", "C_3"]), min_size=1, max_size=3, unique=True)

    def item(prefix: str, i: int) -> dict[str, Any]:
        return {"id": f"{prefix}{i}", **({"annotators": draw(voters)} if gold else {})}

    questions = []
    for i in range(draw(st.integers(0, 3))):
        q = {**item("q", i), **draw(spans(text)), "kind": draw(label["rhetorical_questions"])}
        if q["kind"] == "hypophora" and draw(st.booleans()):
            q["answer"] = draw(spans(text))
        questions.append(q)
    attributions: list[dict[str, Any]] = []
    for i in range(draw(st.integers(0, 3))):
        parent = draw(st.none() | st.sampled_from(attributions)) if attributions else None
        lo, hi = (parent["content"]["start"], parent["content"]["end"]) if parent else (0, len(text))
        attributions.append({**item("t", i), "type": draw(label["attributions"]),
                             "source": draw(st.none() | spans(text, lo, hi)),
                             "cue": draw(st.none() | spans(text, lo, hi)),
                             "content": draw(spans(text, lo, hi)),
                             "nested_in": parent["id"] if parent else None})
    holders = ["author"] + [a["id"] for a in attributions]
    stances = [{**item("s", i), **draw(spans(text)), "target": "x",
                "polarity": draw(label["stances"]), "holder": draw(st.sampled_from(holders))}
               for i in range(draw(st.integers(0, 3)))]
    meta = draw(st.fixed_dictionaries({}, optional={
        "title": st.text(max_size=5), "published": st.sampled_from(["2017", "2017-11", "2017-11-26"]),
        "language": st.sampled_from(["en", "de"])}))
    return {"doc_id": doc_id, "annotator": "gen", "text": text, "meta": meta,
            "rhetorical_questions": questions, "attributions": attributions, "stances": stances}


def _corrupt(rec: dict[str, Any], how: int) -> str:
    """Break one record in one of several ways; return its JSON line."""
    if how == 0:
        return json.dumps(rec)[:-1]  # truncated JSON
    if how == 1:
        rec["attributons"] = []
    elif how == 2:
        rec.pop("text")
    elif how == 3:
        rec["rhetorical_questions"].append({"id": "bad", "start": 0, "end": 1,
                                            "text": rec["text"][0] + "#", "kind": "open"})
    elif how == 4:
        rec["stances"].append({"id": "bad", "start": 0, "end": len(rec["text"]) + 1,
                               "text": "", "target": "x", "polarity": "favor", "holder": "author"})
    elif how == 5:
        rec["stances"].append({"id": "bad", "start": 0, "end": 1, "text": rec["text"][0],
                               "target": "x", "polarity": "favour", "holder": "author"})
    return json.dumps(rec)


SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(st.integers(1, 4).flatmap(lambda n: st.tuples(*[records(f"d{i}") for i in range(n)])))
def test_generated_valid_records_have_no_errors(recs: tuple[dict[str, Any], ...]):
    with TemporaryDirectory() as tmp:
        path = Path(tmp) / "gen.jsonl"
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs), encoding="utf-8")
        report = corpus_tools.validate([path])
    assert report.summary.errors == 0, report.problems
    assert report.summary.records == len(recs)


@SETTINGS
@given(st.integers(2, 4).flatmap(lambda n: st.tuples(*[records(f"d{i}") for i in range(n)])),
       st.data())
def test_a_single_corruption_is_reported_on_its_line(recs: tuple[dict[str, Any], ...], data: Any):
    broken = data.draw(st.integers(0, len(recs) - 1))
    how = data.draw(st.integers(0, 5))
    lines = [json.dumps(r) for r in recs]
    lines[broken] = _corrupt(dict(recs[broken]), how)
    with TemporaryDirectory() as tmp:
        path = Path(tmp) / "gen.jsonl"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        report = corpus_tools.validate([path])
    errors = [p for p in report.problems if p.severity == "error"]
    assert errors, f"corruption {how} was not reported"
    assert {p.line for p in errors} == {broken + 1}
