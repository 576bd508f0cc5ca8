"""Property tests: generated valid records pass; one corruption is reported on its own line."""

from __future__ import annotations

import json
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import corpus_tools

from strategies import records


def _corrupt(rec: dict[str, Any], how: int) -> str:
    """Break one record in one of several ways; return its JSON line."""
    if how == 0:
        return json.dumps(rec)[:-1]  # truncated JSON
    if how == 1:
        rec["attributons"] = []
    elif how == 2:
        rec.pop("text")
    elif how == 3:
        rec["rhetorical_questions"].append(
            {"id": "bad", "start": 0, "end": 1, "text": rec["text"][0] + "#", "kind": "open"}
        )
    elif how == 4:
        rec["stances"].append(
            {
                "id": "bad",
                "start": 0,
                "end": len(rec["text"]) + 1,
                "text": "",
                "target": "x",
                "polarity": "favor",
                "holder": "author",
            }
        )
    elif how == 5:
        rec["stances"].append(
            {
                "id": "bad",
                "start": 0,
                "end": 1,
                "text": rec["text"][0],
                "target": "x",
                "polarity": "favour",
                "holder": "author",
            }
        )
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
@given(st.integers(2, 4).flatmap(lambda n: st.tuples(*[records(f"d{i}") for i in range(n)])), st.data())
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
