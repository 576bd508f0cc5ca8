"""Small valid records for tests, built from real text so that offsets are right by construction."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

TEXT = (
    'On Monday, Gerasimov said: "The active phase is nearly over." '
    "Is this the end of the war? Hardly. "
    'The report said that officials "had no plan". What lunacy!'
)


def span(text: str, needle: str, occurrence: int = 0) -> dict[str, Any]:
    """`{start, end, text}` of the `occurrence`-th match of `needle` in `text`."""
    start = -1
    for _ in range(occurrence + 1):
        start = text.index(needle, start + 1)
    return {"start": start, "end": start + len(needle), "text": needle}


def record(doc_id: str = "doc1", annotator: str = "ann-a", text: str = TEXT, **layers: Any) -> dict[str, Any]:
    """A valid record over `TEXT` with one item in each layer unless layers are given."""
    rec: dict[str, Any] = {
        "doc_id": doc_id,
        "annotator": annotator,
        "text": text,
        "meta": {"title": "A test document", "language": "en"},
        "rhetorical_questions": [
            {
                "id": "q1",
                **span(text, "Is this the end of the war?"),
                "kind": "hypophora",
                "answer": span(text, "Hardly."),
            }
        ]
        if text == TEXT
        else [],
        "attributions": [
            {
                "id": "t1",
                "type": "direct",
                "source": span(text, "Gerasimov"),
                "cue": span(text, "said"),
                "content": span(text, "The active phase is nearly over."),
                "source_name": "Valery Gerasimov",
                "nested_in": None,
            }
        ]
        if text == TEXT
        else [],
        "stances": [
            {
                "id": "s1",
                **span(text, "lunacy"),
                "target": "officials",
                "polarity": "against",
                "holder": "author",
            }
        ]
        if text == TEXT
        else [],
    }
    rec.update(layers)
    return rec


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    """Write records as JSONL (UTF-8, one per line) and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path
