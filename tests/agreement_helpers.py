"""The three annotators the agreement figures are worked out by hand on (`test_agreement.py`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from factory import TEXT, record, span, write_jsonl

QUESTION = "Is this the end of the war?"
REPORT = 'officials "had no plan"'


def gerasimov(id: str, type: str) -> dict[str, Any]:
    return {
        "id": id,
        "type": type,
        "source": span(TEXT, "Gerasimov"),
        "cue": span(TEXT, "said"),
        "content": span(TEXT, "The active phase is nearly over."),
    }


def report(id: str, type: str, source: str = "The report") -> dict[str, Any]:
    return {
        "id": id,
        "type": type,
        "source": span(TEXT, source),
        "cue": span(TEXT, "said", 1),
        "content": span(TEXT, REPORT),
    }


def stance(
    id: str, needle: str, polarity: str = "against", target: str = "officials", holder: str = "author"
) -> dict[str, Any]:
    return {"id": id, **span(TEXT, needle), "target": target, "polarity": polarity, "holder": holder}


def rq(id: str) -> dict[str, Any]:
    return {"id": id, **span(TEXT, QUESTION), "kind": "hypophora", "answer": span(TEXT, "Hardly.")}


def agreement_files(tmp_path: Path) -> Path:
    """One document, three annotators A, B, C (ids differ across annotators on purpose).

    questions:    A: Q hypophora       B: Q hypophora       C: -
    attributions: A: G direct, R mixed B: G direct, R indirect (source "report", not "The report")
                  C: G indirect, R indirect
    stances:      A: "lunacy" against; "had no plan" against, holder R; "Hardly" against, "the end of the war"
                  B: "lunacy" against; "no plan" against, holder R
                  C: "lunacy" favor;   "Hardly" against, "The end of the war"
    """
    a = record(
        annotator="A",
        rhetorical_questions=[rq("q1")],
        attributions=[gerasimov("t1", "direct"), report("t2", "mixed")],
        stances=[
            stance("s1", "lunacy"),
            stance("s2", "had no plan", holder="t2"),
            stance("s3", "Hardly", target="the end of the war"),
        ],
    )
    b = record(
        annotator="B",
        rhetorical_questions=[rq("x")],
        attributions=[gerasimov("g", "direct"), report("r", "indirect", source="report")],
        stances=[stance("l", "lunacy"), stance("p", "no plan", holder="r")],
    )
    c = record(
        annotator="C",
        rhetorical_questions=[],
        attributions=[gerasimov("t1", "indirect"), report("t2", "indirect")],
        stances=[
            stance("s1", "lunacy", polarity="favor"),
            stance("s2", "Hardly", target="The end of the war"),
        ],
    )
    write_jsonl(tmp_path / "A.jsonl", [a])
    write_jsonl(tmp_path / "B.jsonl", [b])
    write_jsonl(tmp_path / "C.jsonl", [c])
    return tmp_path
