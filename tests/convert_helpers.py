"""Shared helpers for the converter tests: fixture paths and checks every import must pass."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import corpus_tools
from corpus_tools.convert import ImportResult
from corpus_tools.files import write_jsonl
from corpus_tools.schema import Record

from factory import record

DATA = Path(__file__).parent / "data" / "convert"


def assert_records_validate(records: list[dict[str, Any]], tmp_path: Path) -> None:
    """The imported records, written as the CLI writes them, pass `corpus validate` without a
    warning about the format (the guidelines' warnings, such as a target the tool's label map
    gives that the text does not use, are the annotators' business, not the importer's)."""
    out = tmp_path / "imported.jsonl"
    write_jsonl(out, records)
    report = corpus_tools.validate([out])
    assert report.valid, [str(p) for p in report.problems]
    format_warnings = [p for p in report.problems if corpus_tools.CATALOGUE[p.code].group != "guideline"]
    assert format_warnings == [], [str(p) for p in format_warnings]


def codes(result: ImportResult) -> list[str]:
    return [p.code for p in result.problems]


def only(result: ImportResult, code: str):
    found = [p for p in result.problems if p.code == code]
    assert len(found) == 1, [str(p) for p in result.problems]
    return found[0]


def by_key(records: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    """Records by (doc_id, annotator), through the model so that `null` equals absent."""
    return {
        (r["doc_id"], r["annotator"]): Record.model_validate(r).model_dump(mode="json", exclude_none=True)
        for r in records
    }


def tricky_records() -> list[dict[str, Any]]:
    """Records over a text with CR LF, an emoji and an em dash, using every layer and relation."""
    text = 'Fine 💸 —\r\nGerasimov said: "It is over." Is it? No. They said that Ivanov said "no".\r\nWhat lunacy!'

    def s(needle, occurrence=0):
        start = -1
        for _ in range(occurrence + 1):
            start = text.index(needle, start + 1)
        return {"start": start, "end": start + len(needle), "text": needle}

    rec = record(doc_id="doc-x", annotator="alice", text=text, meta={"title": "T", "language": "en"})
    rec["rhetorical_questions"] = [
        {"id": "q7", **s("Is it?"), "kind": "hypophora", "answer": s("No."), "note": "answer | right after"}
    ]
    rec["attributions"] = [
        {
            "id": "t1",
            "type": "direct",
            "source": s("Gerasimov"),
            "cue": s("said"),
            "content": s("It is over."),
            "source_name": "Valery Gerasimov",
        },
        {
            "id": "t2",
            "type": "indirect",
            "source": s("They"),
            "cue": s("said", 1),
            "content": s('that Ivanov said "no"'),
        },
        {
            "id": "t3",
            "type": "mixed",
            "source": s("Ivanov"),
            "cue": s("said", 2),
            "content": s('"no"'),
            "nested_in": "t2",
        },
    ]
    rec["stances"] = [
        {"id": "s1", **s("no", 1), "target": "Ivanov", "polarity": "against", "holder": "t3"},
        {"id": "s2", **s("Fine"), "target": "it", "polarity": "favor", "holder": "author"},
    ]
    return [rec, record(doc_id="doc1", annotator="alice"), record(doc_id="doc1", annotator="bob")]
