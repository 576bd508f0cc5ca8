"""Merge's usual case in C (`corpus_tools/merge/_native.c`) against the Python it mirrors.

With `voting.NATIVE` off, merge clusters, votes and writes gold items in Python (`voting.py`,
`gold.py`): the reference. Each merge here runs both ways and must give the same bytes: gold,
conflicts and the counts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corpus_tools.errors import CorpusToolsError
from corpus_tools.merge import _native, merge, voting
from corpus_tools.merge.voting import _Candidate, _Cluster, _Version
from corpus_tools.native import HEADER, check_built

from factory import TEXT, record, span, write_jsonl
from merge_helpers import corpus

HERE = Path(__file__).parent


def merged(tmp_path: Path, native: bool, inputs: list[Path], **options: Any) -> tuple[bytes, bytes, str]:
    """One merge, in C or in Python: the gold file, the conflicts file and the result."""
    out = tmp_path / ("c" if native else "py")
    out.mkdir(exist_ok=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(voting, "NATIVE", native)
        result = merge(inputs, output=out / "gold.jsonl", conflicts=out / "conflicts.jsonl", **options)
    counts = result.model_dump_json(exclude={"output", "conflicts_file"})
    return (out / "gold.jsonl").read_bytes(), (out / "conflicts.jsonl").read_bytes(), counts


def both_ways(tmp_path: Path, inputs: list[Path], **options: Any) -> tuple[bytes, bytes, str]:
    """The merge in C, checked against the merge in Python: the first line that differs named."""
    native = merged(tmp_path, True, inputs, **options)
    python = merged(tmp_path, False, inputs, **options)
    for what, c, py in zip(("gold", "conflicts", "counts"), native, python, strict=True):
        c_lines = c.splitlines() if isinstance(c, bytes) else [c]
        py_lines = py.splitlines() if isinstance(py, bytes) else [py]
        for n, (a, b) in enumerate(zip(c_lines, py_lines, strict=False), start=1):
            assert a == b, f"{what}, line {n}: in C {a!r}\nin Python {b!r}"
        assert len(c_lines) == len(py_lines), f"{what}: {len(c_lines)} lines in C, {len(py_lines)} in Python"
    return native


@st.composite
def with_notes(draw: Any) -> list[dict[str, Any]]:
    """`corpus()`, with notes on some items (gold items then collect them, in Python)."""
    records = draw(corpus())
    for rec in records:
        for layer in ("rhetorical_questions", "attributions", "stances"):
            for it in rec[layer]:
                if draw(st.integers(0, 9)) == 0:
                    it["note"] = draw(st.sampled_from(["unsure", "see guidelines"]))
    return records


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    records=with_notes(),
    match=st.sampled_from(["exact", "overlap"]),
    overlap=st.sampled_from([0.1, 0.5, 0.6, 1.0]),
    min_votes=st.sampled_from([None, 1, 2, 3]),
    choices=st.randoms(use_true_random=False),
)
def test_c_and_python_give_the_same_merge(
    tmp_path: Path,
    records: list[dict[str, Any]],
    match: str,
    overlap: float,
    min_votes: int | None,
    choices: Any,
) -> None:
    # Generated annotators who often coincide, often differ and often put two items on one
    # span (the general way), with nested attributions, holders, folded targets and notes.
    src = write_jsonl(tmp_path / "in" / "all.jsonl", records)
    options = {"match": match, "overlap": overlap, "min_votes": min_votes}
    _gold, conflicts, _result = both_ways(tmp_path, [src], **options)

    # An adjudicator decides some conflicts (accept, reject, replace): merged again both ways.
    log = [json.loads(line) for line in conflicts.splitlines()]
    for c in log:
        proposed = [v for v in c["versions"] if v["item"] is not None]
        version = choices.choice(proposed)
        options_ = [None, {"reject": True}, {"accept": version["annotator"]}]
        it = version["item"]
        if it.get("holder", "author") == "author" and it.get("nested_in") is None:
            options_.append({"replace": {k: v for k, v in it.items() if k not in ("id", "note")}})
        c["decision"] = choices.choice(options_)
    decisions = write_jsonl(tmp_path / "decisions.jsonl", log)
    both_ways(tmp_path, [src], decisions=decisions, adjudicator="adj-1", **options)


def spans_record(annotator: str, spans: list[str], **fields: Any) -> dict[str, Any]:
    """A record whose stances lie on `spans` (text of `TEXT`), all alike otherwise."""
    stances = [
        {"id": f"s{i}", **span(TEXT, s), "target": "war", "polarity": "against", "holder": "author", **fields}
        for i, s in enumerate(spans)
    ]
    return record(doc_id="d", annotator=annotator, stances=stances)


def document(records: list[dict[str, Any]], match: str, overlap: float) -> voting._Document:
    from corpus_tools.merge import _Merger
    from corpus_tools.merge.decisions import Decisions

    lines = [json.dumps(r).encode() for r in records]
    merger = _Merger(match, overlap, None, Decisions())  # type: ignore[arg-type]
    return voting._Document(merger, [voting._decode(raw) for raw in lines], lines)


def clustered(records: list[dict[str, Any]], match: str, overlap: float) -> tuple[bool, Any]:
    """Whether the stances were grouped by span, and their clusters, in C and in Python (equal)."""
    out = []
    for native in (True, False):
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(voting, "NATIVE", native)
            doc = document(records, match, overlap)
            clusters = doc._clusters()["stances"]
        out.append(("stances" in doc.one_per_span, [(c.number, c.annotators, c.versions) for c in clusters]))
    assert out[0] == out[1]
    return out[0]


# "lunacy" lies at the end of "What lunacy": their Jaccard index is 6 / 11.
@pytest.mark.parametrize(
    ("match", "overlap", "by_span"),
    [
        ("overlap", 6 / 11, False),  # exactly the threshold: they match, the general way
        ("overlap", 6 / 11 + 1e-9, True),  # just above: they do not, one cluster per span
        ("exact", 0.5, True),
    ],
)
def test_spans_that_match_by_overlap_take_the_general_way(match: str, overlap: float, by_span: bool) -> None:
    records = [spans_record("ann-a", ["What lunacy"]), spans_record("ann-b", ["lunacy"])]
    grouped, clusters = clustered(records, match, overlap)
    assert grouped is by_span
    assert len(clusters) == (2 if by_span else 1)


def test_two_items_of_one_annotator_on_one_span_take_the_general_way() -> None:
    records = [spans_record("ann-a", ["lunacy", "lunacy"]), spans_record("ann-b", ["lunacy"])]
    grouped, clusters = clustered(records, "exact", 0.5)
    assert not grouped
    assert [c[1] for c in clusters] == [["ann-a", "ann-b"], ["ann-a"]]


def test_spans_in_order_each_a_cluster_with_its_members_in_annotator_order() -> None:
    records = [
        spans_record("ann-c", ["lunacy", "Hardly"]),
        spans_record("ann-a", ["Hardly"]),
        spans_record("ann-b", ["What lunacy", "lunacy"], target="WAR"),
    ]
    grouped, clusters = clustered(records, "overlap", 0.9)
    assert grouped
    assert [(n, names) for n, names, _v in clusters] == [
        (0, ["ann-a", "ann-c"]),  # "Hardly" comes first in the text
        (1, ["ann-b"]),
        (2, ["ann-b", "ann-c"]),
    ]
    # Targets are compared case-insensitively: ann-b's "WAR" and ann-c's "war" agree.
    assert clusters[2][2][0].values == clusters[2][2][1].values


def cluster(*values: tuple[Any, ...]) -> _Cluster:
    """A cluster of versions with these values, by ann-0, ann-1, ..."""
    vs = [_Version(f"ann-{i}", None, v) for i, v in enumerate(values)]
    return _Cluster("stances", 0, vs, [v.annotator for v in vs])


def voted(c: _Cluster, threshold: int = 1) -> Any:
    [candidate] = _native.candidates([c], threshold, _Candidate)
    return candidate


def test_a_cluster_all_agree_on_goes_in_as_its_first_version() -> None:
    c = cluster(("x", 1), ("x", 1))
    cand = voted(c)
    assert (cand.values, cand.sources, cand.cluster) == (("x", 1), (c.versions[0],) * 2, c)
    assert voted(c, threshold=3) is None  # too few votes: voting.py records the conflict


def test_the_vote_takes_the_plurality_and_the_first_version_that_gives_it() -> None:
    c = cluster(("x", 1), ("y", 1), ("y", 2))
    cand = voted(c)
    assert cand.values == ("y", 1)
    assert cand.sources == (c.versions[1], c.versions[0])
    assert voted(cluster(("x",), ("y",))) is None  # a tie: voting.py reports it
    assert voted(cluster(("x",), ("y",), ("x",), ("y",))) is None


def test_the_vote_counts_values_as_a_dict_does() -> None:
    # 1 and 1.0 are one value (the first one seen wins); None is a value like any other.
    c = cluster((1.0, None), (1, None), (2, "x"))
    cand = voted(c)
    assert cand.values == (1.0, None) and type(cand.values[0]) is float
    assert cand.sources == (c.versions[0], c.versions[0])


def test_gold_items_leave_adjudicators_items_and_notes_to_python() -> None:
    records = [spans_record("ann-a", ["lunacy"]), spans_record("ann-b", ["lunacy"], note="unsure")]
    doc = document(records, "exact", 0.5)
    gold, _conflicts = doc.run()
    cands = [cand for (layer, _n), cand in gold.items() if layer == "stances"]
    steps = (("start", 0, 0), ("end", 0, 0))
    assert _native.gold_items(steps, cands, "s", {}, "author") is None  # a version has a note
    records[1]["stances"][0].pop("note")
    doc = document(records, "exact", 0.5)
    gold, _conflicts = doc.run()
    cands = [cand for (layer, _n), cand in gold.items() if layer == "stances"]
    assert _native.gold_items(steps, cands, "s", {}, "author") == [
        {
            "id": "s1",
            "annotators": ["ann-a", "ann-b"],
            "start": TEXT.index("lunacy"),
            "end": TEXT.index("lunacy") + 6,
        }
    ]
    cands[0].replacement = ({"start": 0}, 3)
    assert _native.gold_items(steps, cands, "s", {}, "author") is None


def test_gold_items_are_what_python_writes_field_for_field() -> None:
    from corpus_tools.merge import gold

    records = [
        spans_record("ann-a", ["lunacy", "Hardly"]),
        spans_record("ann-b", ["lunacy", "Hardly"], target="War"),
        spans_record("ann-c", ["Hardly"], holder="author"),
    ]
    doc = document(records, "exact", 0.5)
    won, _conflicts = doc.run()
    plan = voting._PLANS["stances"]
    cands = [cand for (layer, _n), cand in won.items() if layer == "stances"]

    def python() -> list[dict[str, Any]]:
        return [gold._gold_item(plan, cand, f"s{i}", {}) for i, cand in enumerate(cands, start=1)]

    steps = gold._steps(plan)
    assert _native.gold_items(steps, cands, "s", {}, "author") == python() and len(cands) == 2
    # Fields that are None: a part or free text is left out, the item's own span written as is.
    cands[0].sources[0].item.start = None
    cands[0].sources[0].item.target = None
    assert _native.gold_items(steps, cands, "s", {}, "author") == python()


def test_python_run_during_a_call_cannot_pull_the_items_away() -> None:
    # `norm`'s `__missing__` is Python: here it empties every list the call was given. The call
    # holds what it reads, so it still clusters what it was given (a crash otherwise).
    doc = document([spans_record("ann-a", ["lunacy"]), spans_record("ann-b", ["lunacy"])], "exact", 0.5)
    items = [list(r.stances) for r in doc.records.values()]
    annotators, refs = list(doc.annotators), [{}, {}]

    class Emptying(dict[str, str]):
        def __missing__(self, key: str) -> str:
            for its in items:
                its.clear()
            annotators.clear()
            refs.clear()
            return key

    plan = voting._PLANS["stances"]
    args = (plan.key_field, plan.steps, annotators, items, refs, Emptying(), -1.0, False, "author")
    found = _native.clusters("stances", *args, _Version, _Cluster)
    assert found is not None and [c.annotators for c in found] == [["ann-a", "ann-b"]]
    assert [v.values[1] for v in found[0].versions] == ["war", "war"]


def test_records_without_meta_merge_alike(tmp_path: Path) -> None:
    # A record may leave `meta` out: its default is then the model's, not a decoded struct.
    records = [spans_record(name, ["lunacy"]) for name in ("ann-a", "ann-b")]
    for rec in records:
        del rec["meta"]
    gold, _conflicts, _counts = both_ways(tmp_path, [write_jsonl(tmp_path / "in.jsonl", records)])
    assert json.loads(gold)["meta"] == {"language": "en"}


def test_the_usual_case_runs_in_c(tmp_path: Path) -> None:
    # Annotators who agree, with no note: every layer is clustered, voted and written in C.
    seen: dict[str, list[bool]] = {}

    def counting(name: str) -> Any:
        def counted(*args: Any) -> Any:
            out = getattr(_native, f"_{name}")(*args)
            seen.setdefault(name, []).append(out is not None and None not in out)
            return out

        return counted

    records = [spans_record(name, ["lunacy", "Hardly"]) for name in ("ann-a", "ann-b", "ann-c")]
    src = write_jsonl(tmp_path / "in.jsonl", records)
    with pytest.MonkeyPatch.context() as patch:
        for name in ("clusters", "candidates", "gold_items"):
            patch.setattr(_native, f"_{name}", getattr(_native, name), raising=False)
            patch.setattr(_native, name, counting(name))
        merge([src], output=tmp_path / "gold.jsonl", conflicts=tmp_path / "c.jsonl")
    every = [True] * len(voting.LAYERS)
    assert seen == {"clusters": every, "candidates": every, "gold_items": every}


BORROWED = """
from corpus_tools.merge import _native, voting
doc = voting._decode(b'{"doc_id":"d","annotator":"a","text":"Hardly.","stances":[{"id":"s1","start":0,"end":6,'
                     b'"text":"Hardly","target":"war","polarity":"against","holder":"author"}]}')
Stance = type(doc.stances[0])
class Borrowed:  # holds a stance's field descriptors, but none of its slots
    __slots__ = ()
for name in Stance.__struct_fields__:
    setattr(Borrowed, name, Stance.__dict__[name])
plan = voting._PLANS["stances"]
for items in ([doc.stances[0]], [Borrowed()]):  # a real one first: its slots are then cached
    try:
        _native.clusters("stances", None, plan.steps, ["a"], [items], [{}], voting._Normalise(), -1.0, False, "author",
                         voting._Version, voting._Cluster)
    except TypeError as e:
        print("refused:", e)
"""


def test_an_object_holding_a_structs_field_descriptors_is_refused_not_read() -> None:
    # Fields are read where the struct's type keeps them: a class that borrows the descriptors
    # keeps nothing there. Python refuses the read, and so must the C (a subprocess: reading it
    # would crash the interpreter).
    run = subprocess.run([sys.executable, "-c", BORROWED], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert "refused: descriptor 'start'" in run.stdout


def test_a_class_changed_after_a_read_is_read_as_getattr_reads_it() -> None:
    # Fields are read from where the struct keeps them, found once per type: a class changed
    # since (a property over a field, on it or on a base) is looked up again.
    import msgspec

    class Base(msgspec.Struct):
        start: int
        end: int
        label: str

    class Item(Base):
        pass

    def read(item: Any) -> Any:
        found = _native.clusters(
            "L",
            None,
            ((_native.VALUE, "label"),),
            ["a"],
            [[item]],
            [{}],
            {},
            -1.0,
            False,
            "author",
            _Version,
            _Cluster,
        )
        assert found is not None
        return found[0].versions[0].values[0]

    item = Item(0, 1, "slot")
    assert read(item) == "slot"
    Item.label = property(lambda self: "on the class")  # type: ignore[assignment]
    assert read(item) == item.label == "on the class"
    del Item.label
    Base.label = property(lambda self: "on the base")  # type: ignore[assignment]
    assert read(item) == item.label == "on the base"


def test_wrong_arguments_raise_not_crash() -> None:
    with pytest.raises(TypeError):
        _native.clusters("stances", None, (), [], [], [], {}, 0.5, False, "author", _Version)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        _native.clusters(
            "stances", None, ((0,),), ["a"], [[]], [{}], {}, 0.5, False, "author", _Version, _Cluster
        )
    with pytest.raises(TypeError):
        _native.candidates([cluster((1,), (1, 2))], 1, _Candidate)
    with pytest.raises(TypeError):
        _native.candidates([cluster((1,), [1])], 1, _Candidate)
    with pytest.raises(TypeError):
        _native.gold_items((("start", 0),), [], "s", {}, "author")
    with pytest.raises(ValueError):
        _native.gold_items((("polarity", 4, -1),), [], "s", {}, "author")
    with pytest.raises(ValueError):
        _native.clusters(
            "stances", None, ((9, "x"),), ["a"], [[]], [{}], {}, 0.5, False, "author", _Version, _Cluster
        )
    with pytest.raises(OverflowError):
        _native.gold_items((("kind", 2**70, 0),), [], "s", {}, "author")
    with pytest.raises(OverflowError):
        _native.gold_items((("kind", 4, 2**70),), [], "s", {}, "author")


def test_an_eq_that_empties_the_versions_cannot_pull_them_away() -> None:
    c = cluster((1,), (2,), (2,))

    class Emptying(int):
        def __eq__(self, other: object) -> bool:
            c.versions.clear()
            return int(self) == other

        __hash__ = int.__hash__

    c.versions[1].values = (Emptying(2),)
    cand = voted(c)  # counted on the versions as they were when the call began
    assert cand is not None and cand.values == (2,)


def test_a_threshold_that_is_not_an_int_merges_as_in_python(tmp_path: Path) -> None:
    records = [spans_record(name, ["lunacy"]) for name in ("ann-a", "ann-b", "ann-c")]
    records[2]["stances"] = []
    src = write_jsonl(tmp_path / "in.jsonl", records)
    gold, _conflicts, _counts = both_ways(tmp_path, [src], min_votes=2.5)  # type: ignore[arg-type]
    assert json.loads(gold)["stances"] == []  # two of three: below 2.5


def test_a_module_built_from_other_source_is_refused() -> None:
    source = Path(_native.__file__).with_name("_native.c")
    check_built(source, _native.SOURCE)  # built from the source beside it
    with pytest.raises(CorpusToolsError, match="rebuild it"):
        check_built(source, "0" * 64)


def test_a_module_built_with_another_header_is_refused(tmp_path: Path) -> None:
    # Both modules include `_slots.h`: a change to it alone makes both stale.
    source = Path(_native.__file__).with_name("_native.c")
    header = tmp_path / "_slots.h"
    header.write_bytes(HEADER.read_bytes() + b"\n/* changed */\n")
    with pytest.raises(CorpusToolsError, match="rebuild it"):
        check_built(source, _native.SOURCE, header)


STALE_OR_MISSING = """
import sys
from corpus_tools.merge import _native as native
for name in [m for m in sys.modules if m.startswith("corpus_tools.merge")]:
    del sys.modules[name]  # merge is imported again below, with the module as the case has it
if sys.argv[1] == "stale":
    native.SOURCE = "0" * 64  # as if built from another version of _native.c
    sys.modules["corpus_tools.merge._native"] = native
else:
    sys.modules["corpus_tools.merge._native"] = None  # as if never built
from corpus_tools.errors import CorpusToolsError
try:
    import corpus_tools.merge
except CorpusToolsError as e:
    print(e)
"""


@pytest.mark.parametrize(("case", "says"), [("stale", "has changed since"), ("missing", "is missing")])
def test_merge_refuses_a_stale_or_missing_module_with_how_to_build_it(case: str, says: str) -> None:
    run = subprocess.run([sys.executable, "-c", STALE_OR_MISSING, case], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert says in run.stdout and "make setup" in run.stdout


SCRIPT = """
import sys
from pathlib import Path
from corpus_tools.merge import merge, voting
voting.NATIVE = sys.argv[1] == "c"
out = Path(sys.argv[2])
merge([Path(p) for p in sys.argv[3:]], output=out / "gold.jsonl", conflicts=out / "c.jsonl")
"""


def test_an_extra_layer_merges_the_same_both_ways(tmp_path: Path) -> None:
    # The claims layer (tests/claims_layer.py, loaded as a user loads one) is matched by a part
    # and carries a float, a bool, an int beyond int32 and lists (compared as tuples).
    from test_claims_layer import annotator, claims

    files = []
    for i, (strength, tags, confidence) in enumerate([(2, ["war"], 0.5), (2, ["war"], 0.5), (3, ["end"], 1)]):
        items = claims(strength=strength)
        items[0]["tags"] = tags
        items[1]["confidence"] = confidence
        items[1]["cues"] = ["because"] if i < 2 else ["said", "because"]
        files.append(write_jsonl(tmp_path / f"ann{i}.jsonl", [annotator("doc0", f"ann-{i}", items)]))
    env = {
        **os.environ,
        "CORPUS_TOOLS_LAYERS": "claims_layer:LAYER",
        "HF_HUB_OFFLINE": "1",
        "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
    }
    outputs = []
    for way in ("c", "py"):
        out = tmp_path / way
        out.mkdir()
        run = subprocess.run(
            [sys.executable, "-c", SCRIPT, way, str(out), *map(str, files)],
            env=env,
            capture_output=True,
            text=True,
        )
        assert run.returncode == 0, run.stderr
        outputs.append(((out / "gold.jsonl").read_bytes(), (out / "c.jsonl").read_bytes()))
    assert outputs[0] == outputs[1]
    gold = json.loads(outputs[0][0])
    assert [c["tags"] for c in gold["claims"]] == [["war"], []]  # two of three gave "war"
