"""`corpus_tools.merge`: majority vote, conflicts, decisions, stale decisions, valid gold."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from corpus_tools import validate
from corpus_tools.errors import CorpusToolsError, InvalidInputError
from corpus_tools.merge import merge

from factory import TEXT, record, span, write_jsonl
from merge_helpers import (
    QUESTION,
    decide,
    gerasimov,
    read,
    report,
    rq,
    run,
    stance,
    three_annotators,
)


def test_majority_gold_and_conflicts(tmp_path: Path) -> None:
    inputs = three_annotators(tmp_path)
    before = {p: p.read_bytes() for p in inputs.iterdir()}
    result = run(tmp_path, inputs)

    assert {p: p.read_bytes() for p in inputs.iterdir()} == before  # inputs unchanged
    assert result.documents == 2 and result.records == 4
    assert result.annotators == ["ann-a", "ann-b", "ann-c"]
    assert {k: (v.gold, v.conflicts) for k, v in result.layers.items()} == {
        "rhetorical_questions": (1 + 1, 1),
        "attributions": (1 + 1, 1),
        "stances": (1 + 1, 2),
    }

    gold = read(tmp_path / "gold.jsonl")
    assert [g["doc_id"] for g in gold] == ["doc1", "doc2"]
    doc1 = gold[0]
    assert doc1["annotator"] == "gold" and doc1["text"] == TEXT
    assert doc1["rhetorical_questions"] == [
        {
            "id": "q1",
            "annotators": ["ann-a", "ann-b", "ann-c"],
            **span(TEXT, QUESTION),
            "kind": "hypophora",
            "answer": span(TEXT, "Hardly."),
        }
    ]
    assert doc1["attributions"] == [{**gerasimov("t1"), "annotators": ["ann-a", "ann-b", "ann-c"]}]
    assert doc1["stances"] == [{**stance("s1", "lunacy"), "annotators": ["ann-a", "ann-b", "ann-c"]}]

    conflicts = read(tmp_path / "conflicts.jsonl")
    assert [(c["layer"], c["kind"], c["status"]) for c in conflicts] == [
        ("rhetorical_questions", "item", "open"),
        ("attributions", "attribute", "open"),
        ("stances", "item", "open"),  # "Hardly" (position 90)
        ("stances", "reference", "open"),  # "no plan" (position 134)
    ]
    assert all(c["doc_id"] == "doc1" and c["decision"] is None for c in conflicts)
    assert len({c["id"] for c in conflicts}) == 4
    item, attribute, hardly, reference = conflicts
    assert item["versions"] == [
        {"annotator": "ann-a", "item": rq("q2", "open", False, "What lunacy!")},
        {"annotator": "ann-b", "item": None},
        {"annotator": "ann-c", "item": None},
    ]
    assert "1 of 3" in item["why"]
    assert attribute["attributes"] == ["type"]
    assert [v["item"]["type"] if v["item"] else None for v in attribute["versions"]] == [
        "mixed",
        "indirect",
        None,
    ]
    assert hardly["versions"][2]["item"] == stance("s2", "Hardly", target="the end of the war")
    assert "holder" in reference["why"]
    assert [v["item"]["holder"] if v["item"] else None for v in reference["versions"]] == ["t2", "a2", None]

    assert validate([tmp_path / "gold.jsonl"]).valid


def test_single_annotator_document_passes_through(tmp_path: Path) -> None:
    run(tmp_path, three_annotators(tmp_path))
    doc2 = read(tmp_path / "gold.jsonl")[1]
    solo = record(doc_id="doc2", annotator="ann-a")
    for layer in ("rhetorical_questions", "attributions", "stances"):
        assert doc2[layer] == [
            {**{k: v for k, v in item.items() if v is not None}, "annotators": ["ann-a"]}
            for item in solo[layer]
        ]


def test_conflict_ids_are_stable(tmp_path: Path) -> None:
    inputs = three_annotators(tmp_path)
    run(tmp_path, inputs)
    first = (tmp_path / "conflicts.jsonl").read_bytes()
    run(tmp_path, inputs)
    assert (tmp_path / "conflicts.jsonl").read_bytes() == first


def test_decisions_applied_on_remerge(tmp_path: Path) -> None:
    inputs = three_annotators(tmp_path)
    run(tmp_path, inputs)
    log = tmp_path / "conflicts.jsonl"
    filled = decide(
        read(log),
        {
            ("rhetorical_questions", "item"): {"reject": True},
            ("attributions", "attribute"): {"accept": "ann-a"},
            ("stances", "item"): {"accept": "ann-c"},
        },
    )
    write_jsonl(log, filled)

    # The decisions file is the conflicts file: read before the new one replaces it.
    result = run(tmp_path, inputs, decisions=log, adjudicator="alice")

    assert {k: (v.gold, v.conflicts, v.decided, v.stale) for k, v in result.layers.items()} == {
        "rhetorical_questions": (2, 0, 1, 0),
        "attributions": (3, 0, 1, 0),
        "stances": (4, 0, 1, 0),
    }
    assert result.stale == []
    doc1 = read(tmp_path / "gold.jsonl")[0]
    assert [q["text"] for q in doc1["rhetorical_questions"]] == [QUESTION]  # rejected one left out
    assert doc1["attributions"][1] == {**report("t2", "mixed"), "annotators": ["ann-a", "ann-b"]}
    # The "no plan" stance was blocked by the report attribution; now it is in gold, its holder
    # remapped to the gold id of that attribution.
    assert [(s["id"], s["text"], s["holder"], s["annotators"]) for s in doc1["stances"]] == [
        ("s1", "Hardly", "author", ["ann-c"]),
        ("s2", "no plan", "t2", ["ann-a", "ann-b"]),
        ("s3", "lunacy", "author", ["ann-a", "ann-b", "ann-c"]),
    ]
    assert validate([tmp_path / "gold.jsonl"]).valid

    log_after = read(log)
    assert [(c["kind"], c["status"], c["decision"], c["adjudicator"], c["reason"]) for c in log_after] == [
        ("item", "decided", {"reject": True}, "alice", "checked the guidelines"),
        ("attribute", "decided", {"accept": "ann-a"}, "alice", "checked the guidelines"),
        ("item", "decided", {"accept": "ann-c"}, "alice", "checked the guidelines"),
    ]
    assert [c["id"] for c in log_after] == [c["id"] for c in filled if c["decision"]]

    # Merging again with the log changes nothing: the loop has reached a fixed point.
    gold_bytes, log_bytes = (tmp_path / "gold.jsonl").read_bytes(), log.read_bytes()
    run(tmp_path, inputs, decisions=log, adjudicator="bob")
    assert (tmp_path / "gold.jsonl").read_bytes() == gold_bytes
    assert log.read_bytes() == log_bytes  # alice stays the adjudicator


def test_stale_decision_reported_and_kept(tmp_path: Path) -> None:
    inputs = three_annotators(tmp_path)
    run(tmp_path, inputs)
    decisions = tmp_path / "decisions.jsonl"
    write_jsonl(
        decisions, decide(read(tmp_path / "conflicts.jsonl"), {("stances", "item"): {"reject": True}})
    )
    decided_id = next(c["id"] for c in read(decisions) if c["decision"])

    # ann-c changes the polarity of the stance the decision was about.
    c = read(inputs / "ann-c.jsonl")
    c[0]["stances"][1]["polarity"] = "favor"
    write_jsonl(inputs / "ann-c.jsonl", c)

    result = run(tmp_path, inputs, decisions=decisions)
    assert [(s.id, s.doc_id, s.layer, s.line) for s in result.stale] == [(decided_id, "doc1", "stances", 3)]
    assert result.layers["stances"].stale == 1
    assert result.layers["stances"].decided == 0
    conflicts = read(tmp_path / "conflicts.jsonl")
    new = [c for c in conflicts if c["layer"] == "stances" and c["kind"] == "item"]
    assert [c["status"] for c in new] == ["open", "stale"]
    assert new[0]["id"] != decided_id and new[1]["id"] == decided_id
    assert new[1]["decision"] == {"reject": True}


def test_overlap_matching(tmp_path: Path) -> None:
    # ann-b marks a shorter span; Jaccard = 24/27 = 0.89 >= 0.5.
    recs = [
        record(annotator=a, rhetorical_questions=[rq("q1", needle=n)], attributions=[], stances=[])
        for a, n in (("ann-a", QUESTION), ("ann-b", "this the end of the war?"), ("ann-c", QUESTION))
    ]
    inputs = write_jsonl(tmp_path / "in.jsonl", recs)

    exact = run(tmp_path, inputs)
    assert (exact.layers["rhetorical_questions"].gold, exact.layers["rhetorical_questions"].conflicts) == (
        1,
        1,
    )
    assert read(tmp_path / "gold.jsonl")[0]["rhetorical_questions"][0]["annotators"] == ["ann-a", "ann-c"]

    lenient = run(tmp_path, inputs, match="overlap", overlap=0.5)
    assert (
        lenient.layers["rhetorical_questions"].gold,
        lenient.layers["rhetorical_questions"].conflicts,
    ) == (1, 0)
    q = read(tmp_path / "gold.jsonl")[0]["rhetorical_questions"][0]
    assert (q["text"], q["annotators"]) == (QUESTION, ["ann-a", "ann-b", "ann-c"])  # span 2:1

    strict = run(tmp_path, inputs, match="overlap", overlap=0.95)
    assert strict.layers["rhetorical_questions"].conflicts == 1


def test_min_votes(tmp_path: Path) -> None:
    result = run(tmp_path, three_annotators(tmp_path), min_votes=3)
    # Only what all three proposed is in doc1's gold; doc2 (one annotator) passes through.
    assert {k: (v.gold, v.conflicts) for k, v in result.layers.items()} == {
        "rhetorical_questions": (2, 1),
        "attributions": (2, 1),
        "stances": (2, 2),
    }
    kinds = [(c["layer"], c["kind"]) for c in read(tmp_path / "conflicts.jsonl")]
    assert ("attributions", "item") in kinds  # 2 of 3 is not enough now


def test_accepting_a_version_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    inputs = three_annotators(tmp_path)
    run(tmp_path, inputs)
    decisions = write_jsonl(
        tmp_path / "decisions.jsonl",
        decide(read(tmp_path / "conflicts.jsonl"), {("rhetorical_questions", "item"): {"accept": "ann-b"}}),
    )
    (tmp_path / "gold.jsonl").unlink()
    with pytest.raises(CorpusToolsError, match=r"ann-b.*no version"):
        run(tmp_path, inputs, decisions=decisions)
    assert not (tmp_path / "gold.jsonl").exists()  # nothing half-written


@pytest.mark.parametrize("decision", [{"accept": "ann-a", "reject": True}, {}, {"reject": False}, "yes"])
def test_malformed_decision_names_the_line(tmp_path: Path, decision: Any) -> None:
    inputs = three_annotators(tmp_path)
    run(tmp_path, inputs)
    rows = read(tmp_path / "conflicts.jsonl")
    rows[1]["decision"] = decision
    decisions = write_jsonl(tmp_path / "decisions.jsonl", rows)
    with pytest.raises(CorpusToolsError, match=r"decisions.jsonl:2: decision"):
        run(tmp_path, inputs, decisions=decisions)


def test_invalid_inputs_stop_with_the_report(tmp_path: Path) -> None:
    bad = record(annotator="ann-a")
    bad["stances"][0]["holder"] = "t9"
    inputs = write_jsonl(tmp_path / "in.jsonl", [bad])
    with pytest.raises(InvalidInputError) as e:
        run(tmp_path, inputs)
    assert e.value.report.summary.by_code == {"unknown-holder": 1}
    assert not (tmp_path / "gold.jsonl").exists()


def test_bad_options(tmp_path: Path) -> None:
    inputs = three_annotators(tmp_path)
    for kwargs in ({"match": "fuzzy"}, {"overlap": 0}, {"min_votes": 0}, {"gold_name": "no spaces"}):
        with pytest.raises(CorpusToolsError):
            run(tmp_path, inputs, **kwargs)
    with pytest.raises(CorpusToolsError, match="input files"):
        merge(
            [inputs / "ann-a.jsonl", inputs / "ann-b.jsonl"],
            output=inputs / "ann-a.jsonl",
            conflicts=tmp_path / "c.jsonl",
        )
    # Gold inside an input folder would be read back as an annotator next time.
    with pytest.raises(CorpusToolsError, match="lies inside the input folder"):
        merge([inputs], output=inputs / "gold.jsonl", conflicts=tmp_path / "c.jsonl")
    with pytest.raises(CorpusToolsError, match="no such decisions file"):
        run(tmp_path, inputs, decisions=tmp_path / "missing.jsonl")


def test_nested_attribution_waits_for_its_parent(tmp_path: Path) -> None:
    outer = {
        "id": "o",
        "type": "indirect",
        "source": span(TEXT, "The report"),
        "cue": span(TEXT, "said", 1),
        "content": span(TEXT, 'that officials "had no plan"'),
    }
    inner = {
        "id": "i",
        "type": "direct",
        "source": span(TEXT, "officials"),
        "content": span(TEXT, "had no plan"),
        "nested_in": "o",
    }
    recs = [
        record(annotator="ann-a", rhetorical_questions=[], stances=[], attributions=[outer, inner]),
        record(
            annotator="ann-b",
            rhetorical_questions=[],
            stances=[],
            attributions=[{**outer, "type": "mixed"}, inner],
        ),
    ]
    inputs = write_jsonl(tmp_path / "in.jsonl", recs)
    result = run(tmp_path, inputs)
    # The parent's type ties (1:1), so the child, agreed by both, waits as a reference conflict.
    assert (result.layers["attributions"].gold, result.layers["attributions"].conflicts) == (0, 2)
    log = tmp_path / "conflicts.jsonl"
    write_jsonl(log, decide(read(log), {("attributions", "attribute"): {"accept": "ann-b"}}))
    result = run(tmp_path, inputs, decisions=log)
    assert (result.layers["attributions"].gold, result.layers["attributions"].conflicts) == (2, 0)
    gold = read(tmp_path / "gold.jsonl")[0]["attributions"]
    assert [(t["id"], t["type"], t.get("nested_in")) for t in gold] == [
        ("t1", "mixed", None),
        ("t2", "direct", "t1"),
    ]
    assert validate([tmp_path / "gold.jsonl"]).valid


def test_an_outer_attribution_is_numbered_before_one_nested_in_it_on_the_same_start(tmp_path: Path) -> None:
    # G6: both contents start at "Refugees"; the outer (longer) one comes first, so the nested
    # one's id follows its parent's.
    text = 'NPR reports: "Refugees are returning, according to the agency. The agency says more will come."'
    outer = {
        "id": "t1",
        "type": "direct",
        "source": span(text, "NPR"),
        "cue": span(text, "reports"),
        "content": span(
            text, "Refugees are returning, according to the agency. The agency says more will come."
        ),
    }
    inner = {
        "id": "t2",
        "type": "indirect",
        "source": span(text, "the agency"),
        "cue": span(text, "according to"),
        "content": span(text, "Refugees are returning"),
        "nested_in": "t1",
    }
    recs = [record(annotator=a, text=text, attributions=[outer, inner]) for a in ("ann-a", "ann-b")]
    run(tmp_path, write_jsonl(tmp_path / "in.jsonl", recs))
    gold = read(tmp_path / "gold.jsonl")[0]["attributions"]
    assert [(t["id"], t["content"]["text"][:22], t.get("nested_in")) for t in gold] == [
        ("t1", "Refugees are returning", None),
        ("t2", "Refugees are returning", "t1"),
    ]
    assert len(gold[0]["content"]["text"]) > len(gold[1]["content"]["text"])
    report = validate([tmp_path / "gold.jsonl"])
    assert report.valid and not report.problems, report.problems


# -- nothing is lost: a property over generated annotations -----------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from merge_helpers import assert_nothing_lost, corpus  # noqa: E402


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    records=corpus(), choices=st.randoms(use_true_random=False), match=st.sampled_from(["exact", "overlap"])
)
def test_nothing_is_lost(tmp_path: Path, records: list[dict[str, Any]], choices: Any, match: str) -> None:
    src = write_jsonl(tmp_path / "in" / "all.jsonl", records)
    assert validate([src]).valid
    result = merge([src], output=tmp_path / "gold.jsonl", conflicts=tmp_path / "c.jsonl", match=match)
    gold, conflicts = read(tmp_path / "gold.jsonl"), read(tmp_path / "c.jsonl")
    assert validate([tmp_path / "gold.jsonl"]).valid
    assert_nothing_lost(records, gold, conflicts, match)
    assert sum(c.conflicts for c in result.layers.values()) == len(conflicts)

    # An adjudicator decides some open conflicts at random, twice (the second round meets the
    # reference conflicts the first unblocked or left); merged again, still nothing is lost.
    log = tmp_path / "c.jsonl"
    for _round in range(2):
        for c in conflicts:
            if c["status"] == "open" and c["decision"] is None:
                proposed = [v["item"] for v in c["versions"] if v["item"] is not None]
                version = choices.choice(proposed)
                options = [
                    None,
                    {"reject": True},
                    {"accept": c["versions"][[v["item"] for v in c["versions"]].index(version)]["annotator"]},
                ]
                if version.get("holder", "author") == "author" and version.get("nested_in") is None:
                    # the adjudicator's own version: here, one annotator's without its note
                    options.append({"replace": {k: v for k, v in version.items() if k not in ("id", "note")}})
                c["decision"] = choices.choice(options)
        write_jsonl(log, conflicts)
        result = merge(
            [src],
            output=tmp_path / "gold.jsonl",
            conflicts=log,
            decisions=log,
            match=match,
            adjudicator="adj-1",
        )
        assert result.stale == []
        gold, after = read(tmp_path / "gold.jsonl"), read(log)
        assert validate([tmp_path / "gold.jsonl"]).valid
        assert_nothing_lost(records, gold, after, match)
        decided = {c["id"] for c in conflicts if c["decision"]}
        assert decided <= {c["id"] for c in after}  # every decision is kept in the log
        conflicts = after


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(records=corpus(), overlap=st.sampled_from([0.1, 0.5, 0.9]))
def test_overlap_merge_groups_by_span_only_where_that_changes_nothing(
    tmp_path: Path, records: list[dict[str, Any]], overlap: float
) -> None:
    # Where no two different spans of a layer match, overlap matching clusters the items on
    # each span, as exact matching does, and merge takes that shortcut: gold and conflicts
    # must be what the general clustering gives.
    from corpus_tools.merge import voting

    src = write_jsonl(tmp_path / "in" / "all.jsonl", records)
    outputs = []
    for general in (False, True):
        with pytest.MonkeyPatch.context() as patch:
            if general:  # in Python (the C code groups by span on its own), never by span
                patch.setattr(voting, "NATIVE", False)
                patch.setattr(voting, "_partial_matches", lambda *_args: True)
            merge(
                [src],
                output=tmp_path / "gold.jsonl",
                conflicts=tmp_path / "c.jsonl",
                match="overlap",
                overlap=overlap,
            )
        outputs.append(((tmp_path / "gold.jsonl").read_bytes(), (tmp_path / "c.jsonl").read_bytes()))
    assert outputs[0] == outputs[1]


def test_a_pass_named_gold_is_refused_with_its_file_and_line(tmp_path: Path) -> None:
    # Gold records are named `gold`: a pass of that name would be taken for gold downstream
    # (a published dataset would hold two `gold` rows of the document).
    inputs = tmp_path / "in"
    write_jsonl(inputs / "a.jsonl", [record("doc1", "ann-a")])
    write_jsonl(inputs / "b.jsonl", [record("doc2", "ann-b"), record("doc1", "gold")])
    with pytest.raises(InvalidInputError) as info:
        run(tmp_path, inputs)
    [problem] = info.value.report.problems
    assert (problem.code, problem.file, problem.line, problem.path) == (
        "reserved-annotator",
        str(inputs / "b.jsonl"),
        2,
        "annotator",
    )
    assert not (tmp_path / "gold.jsonl").exists()
