"""The validator's fast path must agree with the reference checks on every line.

The fast path may only ever say "clean" for a line on which the models and `rules` find
nothing; `check_line` then returns exactly what `check_line_fully` returns. These tests feed both
generated valid records and the same records broken at a random place in a random way.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel
from test_validate_properties import records

import corpus_tools
from corpus_tools.schema import NAME_PATTERN, Record
from corpus_tools.validate import lines as validate
from corpus_tools.validate import mirror as fastpath
from corpus_tools.validate import run as validate_run

from factory import record, write_jsonl

INVALID = Path(__file__).parent / "data" / "invalid"

# Drawn through copy.deepcopy: sampled_from returns the same objects each time, and a shared
# {} or [] placed twice could be added into itself, making a cyclic record.
TRICKY = st.sampled_from([
    None, True, False, 0, -1, 1.0, 3.5, 10**20, "", " ", "a\n", "q 1", "-q", "é", "😀", "x" * 129, "2017\n",
    "author", "t0", "q0", "favor", "hypophora", "direct", "2017-11-26", "2017-1", [], {}, [1],
    {"start": 0, "end": 1, "text": "x"},
])


def _paths(obj: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += _paths(v, (*prefix, i))
    return out


LABELS = ["assertive", "hypophora", "echo", "open", "direct", "indirect", "mixed", "favor",
          "against", "neutral"]


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
            parent[draw(st.sampled_from(["extra", "Start", "kind", "id", "answer"]))] = draw(TRICKY.map(copy.deepcopy))
        elif action == "shift" and isinstance(parent, dict) and type(parent.get(key)) is int:
            parent[key] += draw(st.sampled_from([-1, 1]))
        elif action == "retarget":
            ids = [i["id"] for layer in ("rhetorical_questions", "attributions", "stances")
                   if isinstance(rec.get(layer), list)
                   for i in rec[layer] if isinstance(i, dict) and isinstance(i.get("id"), str)]
            parent[key] = draw(st.sampled_from(["author", "nobody", *ids]))
        elif action == "relabel":
            parent[key] = draw(st.sampled_from(LABELS))
    return json.dumps(rec, ensure_ascii=draw(st.booleans())).encode()


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_lines())
def test_fast_path_agrees_with_the_reference(raw: bytes):
    assert validate.check_line(raw) == validate.check_line_fully(raw)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=60) | st.text(max_size=60).map(str.encode))
def test_fast_path_agrees_on_arbitrary_bytes(raw: bytes):
    assert validate.check_line(raw) == validate.check_line_fully(raw)


def test_fast_path_accepts_a_clean_record():
    raw = json.dumps(record()).encode()
    rec = fastpath.decode(raw)
    assert rec is not None and fastpath.is_clean(rec)


def test_name_fields_are_the_fields_the_models_constrain_to_names():
    found: set[str] = set()

    def walk(model: type[BaseModel]) -> None:
        for name, info in model.model_fields.items():
            if NAME_PATTERN in repr(info.annotation) + repr(info.metadata):
                found.add(name)
            for sub in _models_in(info.annotation):
                walk(sub)

    walk(Record)
    assert found == fastpath.NAME_FIELDS


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for a in getattr(annotation, "__args__", ()) for m in _models_in(a)]


def test_parallel_validation_reports_the_same_as_one_process(tmp_path: Path, monkeypatch):
    # Small chunks so that one file is cut into many, checked by two processes.
    monkeypatch.setattr(validate_run, "CHUNK_BYTES", 2000)
    recs = [record(doc_id=f"d{i}") for i in range(60)]
    recs[7]["stances"][0]["polarity"] = "pro"
    recs[41]["extra"] = 1
    lines = [json.dumps(r) for r in recs]
    lines.insert(20, "{broken")
    lines.append(json.dumps(record(doc_id="d3", text=recs[3]["text"] + "!", stances=[],
                                   rhetorical_questions=[], attributions=[])))
    path = tmp_path / "big.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    other = write_jsonl(tmp_path / "other.jsonl", [record(doc_id="d5")])
    one = corpus_tools.validate([path, other], jobs=1)
    two = corpus_tools.validate([path, other], jobs=2)
    assert one == two
    assert [(p.code, p.line) for p in one.problems] == [
        ("invalid-label", 8), ("invalid-json", 21), ("unknown-field", 43), ("duplicate-record", 62),
        ("text-drift", 62), ("duplicate-record", 1)]


def _edited(edit: Any) -> bytes:
    rec = record()
    edit(rec)
    return json.dumps(rec).encode()


EDGE_CASES = {
    "bad item id": _edited(lambda r: r["stances"][0].update(id="s 1")),
    "bad question id": _edited(lambda r: r["rhetorical_questions"][0].update(id="-q")),
    "bad name in annotators": _edited(lambda r: r["attributions"][0].update(annotators=["a", "b c"])),
    "name with a final newline": _edited(lambda r: r.update(doc_id="doc\n")),
    "bad answer span": _edited(lambda r: r["rhetorical_questions"][0]["answer"].update(end=10**6)),
    "cue outside the text": _edited(lambda r: r["attributions"][0]["cue"].update(start=-1)),
    "float offset": _edited(lambda r: r["stances"][0].update(start=float(r["stances"][0]["start"]))),
    "boolean offset": _edited(lambda r: r["stances"][0].update(end=True)),
    "empty target": _edited(lambda r: r["stances"][0].update(target="")),
    "null text": _edited(lambda r: r.update(text=None)),
    "date with a final newline": _edited(lambda r: r["meta"].update(published="2017\n")),
}


@pytest.mark.parametrize(
    "raw",
    [path.read_bytes().splitlines()[-1] for path in sorted(INVALID.glob("*.jsonl"))]
    + list(EDGE_CASES.values()),
    ids=[p.stem for p in sorted(INVALID.glob("*.jsonl"))] + list(EDGE_CASES),
)
def test_fast_path_agrees_on_every_kind_of_problem(raw: bytes):
    # One line per problem code (the validator's fixtures) and per tricky value.
    assert validate.check_line(raw) == validate.check_line_fully(raw)
