"""Shared inputs of the merge, corrections and adjudication tests: three annotators who agree and
disagree in known ways, and the lines an adjudicator writes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from corpus_tools.layers import LAYERS, Record
from corpus_tools.matching import span_score
from corpus_tools.merge import merge

from factory import TEXT, record, span, write_jsonl

QUESTION = "Is this the end of the war?"
REPORT = 'officials "had no plan"'


def rq(id: str, kind: str = "hypophora", answer: bool = True, needle: str = QUESTION) -> dict[str, Any]:
    item = {"id": id, **span(TEXT, needle), "kind": kind}
    return {**item, "answer": span(TEXT, "Hardly.")} if answer else item


def gerasimov(id: str, type: str = "direct") -> dict[str, Any]:
    return {
        "id": id,
        "type": type,
        "source": span(TEXT, "Gerasimov"),
        "cue": span(TEXT, "said"),
        "content": span(TEXT, "The active phase is nearly over."),
    }


def report(id: str, type: str) -> dict[str, Any]:
    return {
        "id": id,
        "type": type,
        "source": span(TEXT, "The report"),
        "cue": span(TEXT, "said", 1),
        "content": span(TEXT, REPORT),
    }


def stance(
    id: str, needle: str, polarity: str = "against", target: str = "officials", holder: str = "author"
) -> dict[str, Any]:
    return {"id": id, **span(TEXT, needle), "target": target, "polarity": polarity, "holder": holder}


def three_annotators(tmp_path: Path) -> Path:
    """doc1 by three annotators (ids differ across them on purpose), doc2 by ann-a alone.

    Expected with the default majority (2 of 3):
    - gold: the question (hypophora 2:1, answer 2:1), Gerasimov's attribution (direct 2:1),
      the stance on "lunacy" (against 2:1, holder author 3:0);
    - conflicts: ann-a's question on "What lunacy!" (item, 1 of 3); the report attribution
      (attribute: type mixed vs indirect, 1:1); ann-c's stance on "Hardly" (item, 1 of 3);
      the stance on "no plan" (2 votes, but its holder is the report attribution, which is not
      in gold: reference).
    """
    a = record(
        annotator="ann-a",
        rhetorical_questions=[rq("q1"), rq("q2", "open", False, "What lunacy!")],
        attributions=[gerasimov("t1"), report("t2", "mixed")],
        stances=[stance("s1", "lunacy"), stance("s2", "no plan", holder="t2")],
    )
    b = record(
        annotator="ann-b",
        rhetorical_questions=[rq("Q-1")],
        attributions=[gerasimov("a1"), report("a2", "indirect")],
        stances=[stance("x1", "lunacy"), stance("x2", "no plan", holder="a2")],
    )
    c = record(
        annotator="ann-c",
        rhetorical_questions=[rq("q9", "assertive", answer=False)],
        attributions=[gerasimov("t1", "indirect")],
        stances=[
            stance("s1", "lunacy", polarity="favor"),
            stance("s2", "Hardly", target="the end of the war"),
        ],
    )
    solo = record(doc_id="doc2", annotator="ann-a")
    write_jsonl(tmp_path / "in" / "ann-a.jsonl", [a, solo])
    write_jsonl(tmp_path / "in" / "ann-b.jsonl", [b])
    write_jsonl(tmp_path / "in" / "ann-c.jsonl", [c])
    return tmp_path / "in"


def read(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def run(tmp_path: Path, inputs: Path, **kwargs: Any):
    return merge([inputs], output=tmp_path / "gold.jsonl", conflicts=tmp_path / "conflicts.jsonl", **kwargs)


def decide(
    conflicts: list[dict[str, Any]], choices: dict[tuple[str, str], dict[str, Any] | None]
) -> list[dict[str, Any]]:
    """Fill decisions, keyed by (layer, kind), as an adjudicator editing the file would."""
    for c in conflicts:
        c["decision"] = choices.get((c["layer"], c["kind"]))
        if c["decision"] is not None:
            c["reason"] = "checked the guidelines"
    return conflicts


GERASIMOV = "The active phase is nearly over."


def at(needle: str) -> str:
    """A reference to the gold attribution whose content is `needle`, as corrections write it."""
    s = span(TEXT, needle)
    return f"@{s['start']}-{s['end']}"


def match(needle: str) -> dict[str, int]:
    s = span(TEXT, needle)
    return {"start": s["start"], "end": s["end"]}


def correction(
    layer: str, match: dict[str, int] | None, decision: dict[str, Any], doc_id: str = "doc1", **extra: Any
) -> dict[str, Any]:
    return {
        "kind": "correction",
        "doc_id": doc_id,
        "layer": layer,
        "match": match,
        "decision": decision,
        "adjudicator": "alice",
        "reason": "S2",
        **extra,
    }


def item(it: dict[str, Any]) -> dict[str, Any]:
    """An annotator's item as an adjudicator writes it (no id)."""
    return {k: v for k, v in it.items() if k != "id"}


# -- generated annotations, for "nothing is lost" properties -------------------------------------

QUESTION_SPANS = [QUESTION, "this the end of the war?", "What lunacy!"]
STANCE_SPANS = ["lunacy", "What lunacy", "Hardly", "no plan", "had no plan"]
TARGETS = ["officials", "Officials", "the war"]


@st.composite
def annotator_record(draw: Any, name: str, doc_id: str) -> dict[str, Any]:
    """A valid record drawn from a small pool of spans, so that annotators often coincide."""
    questions = [
        {
            "id": f"q{i}",
            **span(TEXT, draw(st.sampled_from(QUESTION_SPANS))),
            "kind": draw(st.sampled_from(["assertive", "hypophora", "echo", "open"])),
        }
        for i in range(draw(st.integers(0, 3)))
    ]
    attributions: list[dict[str, Any]] = []
    for i in range(draw(st.integers(0, 4))):
        shape = draw(st.sampled_from(["gerasimov", "report", "inner"]))
        item: dict[str, Any] = {"id": f"t{i}", "type": draw(st.sampled_from(["direct", "indirect", "mixed"]))}
        if shape == "gerasimov":
            item.update(content=span(TEXT, "The active phase is nearly over."))
            if draw(st.booleans()):
                item["source"] = span(TEXT, "Gerasimov")
            if draw(st.booleans()):
                item["cue"] = span(TEXT, "said")
        elif shape == "report":
            item.update(content=span(TEXT, draw(st.sampled_from([REPORT, 'that officials "had no plan"']))))
            if draw(st.booleans()):
                item["source"] = span(TEXT, "The report")
        else:
            item.update(content=span(TEXT, "had no plan"), source=span(TEXT, "officials"))
            parents = [a["id"] for a in attributions if "officials" in a["content"]["text"]]
            if parents and draw(st.booleans()):
                item["nested_in"] = draw(st.sampled_from(parents))
        attributions.append(item)
    holders = ["author", *(a["id"] for a in attributions)]
    stances = [
        {
            "id": f"s{i}",
            **span(TEXT, draw(st.sampled_from(STANCE_SPANS))),
            "target": draw(st.sampled_from(TARGETS)),
            "polarity": draw(st.sampled_from(["favor", "against"])),
            "holder": draw(st.sampled_from(holders)),
        }
        for i in range(draw(st.integers(0, 4)))
    ]
    return record(
        doc_id=doc_id,
        annotator=name,
        rhetorical_questions=questions,
        attributions=attributions,
        stances=stances,
    )


@st.composite
def corpus(draw: Any) -> list[dict[str, Any]]:
    records = []
    for doc_id in ("doc1", "doc2"):
        names = draw(
            st.lists(
                st.sampled_from(["ann-a", "ann-b", "ann-c", "ann-d"]), min_size=1, max_size=4, unique=True
            )
        )
        records += [draw(annotator_record(name, doc_id)) for name in names]
    return records


def assert_nothing_lost(
    records: list[dict[str, Any]], gold: list[dict[str, Any]], log: list[dict[str, Any]], match: str
) -> None:
    """Each input item counts towards a gold item that matches it, is a version in a conflict, or
    is accounted for by a correction line of the log that removed or replaced its gold item."""
    gold_by_doc = {g["doc_id"]: Record.model_validate(g) for g in gold}
    assert sorted(gold_by_doc) == sorted({r["doc_id"] for r in records})
    conflicts = [c for c in log if c.get("kind") != "correction"]
    in_conflicts = {
        (c["doc_id"], c["layer"], v["annotator"], json.dumps(v["item"], sort_keys=True))
        for c in conflicts
        for v in c["versions"]
        if v["item"] is not None
    }
    corrected = [
        (c["doc_id"], c["layer"], (c["match"]["start"], c["match"]["end"]))
        for c in log
        if c.get("kind") == "correction" and c["status"] == "applied" and c["match"] is not None
    ]
    for rec in records:
        model = Record.model_validate(rec)
        g = gold_by_doc[rec["doc_id"]]
        for layer in LAYERS:
            for item in getattr(model, layer):
                counted = any(
                    rec["annotator"] in (gi.annotators or [])
                    and span_score(LAYERS[layer].key_span(gi), LAYERS[layer].key_span(item), match, 0.5)
                    is not None
                    for gi in getattr(g, layer)
                )
                counted = counted or any(
                    (doc, lay) == (rec["doc_id"], layer)
                    and span_score(key, LAYERS[layer].key_span(item), match, 0.5) is not None
                    for doc, lay, key in corrected
                )
                dumped = json.dumps(item.model_dump(mode="json", exclude_none=True), sort_keys=True)
                assert counted or (rec["doc_id"], layer, rec["annotator"], dumped) in in_conflicts, (
                    rec["doc_id"],
                    layer,
                    rec["annotator"],
                    dumped,
                )
