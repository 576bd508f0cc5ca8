"""The adjudicator's own items: `replace` decisions on conflicts, and correction lines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from corpus_tools import validate
from corpus_tools.cli import app
from corpus_tools.errors import CorpusToolsError
from corpus_tools.merge import merge

from factory import TEXT, record, span, write_jsonl
from merge_helpers import (
    GERASIMOV,
    QUESTION,
    REPORT,
    assert_nothing_lost,
    at,
    corpus,
    correction,
    decide,
    item,
    match,
    read,
    report,
    run,
    stance,
    three_annotators,
)


def merged_with(tmp_path: Path, lines: list[dict[str, Any]], **kwargs: Any):
    """Merge the three annotators once, append `lines` to the log, and merge again with it."""
    inputs = three_annotators(tmp_path)
    run(tmp_path, inputs)
    log = tmp_path / "conflicts.jsonl"
    write_jsonl(log, [*read(log), *lines])
    return inputs, log, run(tmp_path, inputs, decisions=log, **kwargs)


def doc1(tmp_path: Path) -> dict[str, Any]:
    return read(tmp_path / "gold.jsonl")[0]


def assert_fixed_point(tmp_path: Path, inputs: Path, log: Path) -> None:
    """Merging again with the log reproduces gold and log byte for byte."""
    before = (tmp_path / "gold.jsonl").read_bytes(), log.read_bytes()
    run(tmp_path, inputs, decisions=log, adjudicator="bob")
    assert ((tmp_path / "gold.jsonl").read_bytes(), log.read_bytes()) == before


def test_replace_decision_on_a_conflict(tmp_path: Path) -> None:
    inputs = three_annotators(tmp_path)
    run(tmp_path, inputs)
    log = tmp_path / "conflicts.jsonl"
    # ann-a says mixed, ann-b indirect; the adjudicator's version also names the source.
    mine = {**item(report("x", "indirect")), "source_name": "The report"}
    write_jsonl(
        log,
        decide(
            read(log),
            {
                ("attributions", "attribute"): {"replace": mine},
                ("stances", "item"): {"replace": item(stance("x", "Hardly", "favor", target="the war"))},
            },
        ),
    )
    result = run(tmp_path, inputs, decisions=log, adjudicator="alice")

    assert (result.layers["attributions"].decided, result.layers["stances"].decided) == (1, 1)
    gold = doc1(tmp_path)
    assert gold["attributions"][1] == {
        "id": "t2",
        "annotators": ["ann-a", "ann-b"],
        "note": "alice: checked the guidelines",
        **mine,
    }
    hardly = next(s for s in gold["stances"] if s["text"] == "Hardly")
    assert (hardly["annotators"], hardly["target"], hardly["polarity"]) == (["ann-c"], "the war", "favor")
    # The "no plan" stance, whose holder is the replaced attribution, follows it into gold.
    no_plan = next(s for s in gold["stances"] if s["text"] == "no plan")
    assert no_plan["holder"] == "t2"
    assert validate([tmp_path / "gold.jsonl"]).valid
    decided = [c for c in read(log) if c["status"] == "decided"]
    assert decided[0]["decision"] == {"replace": mine}  # kept in the log as written
    assert_fixed_point(tmp_path, inputs, log)


def test_replace_decision_with_a_reference(tmp_path: Path) -> None:
    inputs = three_annotators(tmp_path)
    run(tmp_path, inputs)
    log = tmp_path / "conflicts.jsonl"
    # A stance inside Gerasimov's quotation, held by that (gold) attribution.
    nearly = item(stance("x", "nearly over", "favor", target="the active phase", holder=at(GERASIMOV)))
    rows = read(log)
    hardly = next(c for c in rows if c["layer"] == "stances" and c["kind"] == "item")
    hardly.update(decision={"replace": nearly}, adjudicator="carol")
    write_jsonl(log, rows)
    run(tmp_path, inputs, decisions=log)
    added = next(s for s in doc1(tmp_path)["stances"] if s["text"] == "nearly over")
    assert (added["holder"], added["annotators"]) == ("t1", ["ann-c"])
    assert validate([tmp_path / "gold.jsonl"]).valid


def test_malformed_replace_decision_names_the_line(tmp_path: Path) -> None:
    inputs = three_annotators(tmp_path)
    run(tmp_path, inputs)
    log = tmp_path / "conflicts.jsonl"
    rows = decide(read(log), {("stances", "item"): {"replace": stance("x", "Hardly", holder="t1")}})
    write_jsonl(log, rows)
    with pytest.raises(CorpusToolsError, match=r"conflicts.jsonl:3: decision.replace: holder 't1': write"):
        run(tmp_path, inputs, decisions=log, adjudicator="alice")
    rows[2]["decision"] = {"replace": item(stance("x", "Hardly"))}
    write_jsonl(log, rows)
    with pytest.raises(CorpusToolsError, match=r"conflicts.jsonl:3: .*--adjudicator"):
        run(tmp_path, inputs, decisions=log)


def test_corrections_replace_remove_and_add(tmp_path: Path) -> None:
    lines = [
        # every annotator agreed on the stance on "lunacy" and on the question
        correction(
            "stances", match("lunacy"), {"replace": item(stance("s1", "lunacy", target="the report"))}
        ),
        correction("rhetorical_questions", match(QUESTION), {"remove": True}),
        # an item no annotator gave, held by Gerasimov's attribution
        correction(
            "stances",
            None,
            {
                "add": item(
                    stance("x", "nearly over", "favor", target="the active phase", holder=at(GERASIMOV))
                )
            },
            reason=None,
        ),
    ]
    inputs, log, result = merged_with(tmp_path, lines, adjudicator="bob")

    counts = {layer: (c.replaced, c.removed, c.added) for layer, c in result.layers.items()}
    assert counts == {"rhetorical_questions": (0, 1, 0), "attributions": (0, 0, 0), "stances": (1, 0, 1)}
    assert result.stale == []
    gold = doc1(tmp_path)
    assert gold["rhetorical_questions"] == []
    assert gold["stances"] == [  # numbered by position
        {
            "id": "s1",
            "annotators": ["alice"],
            **item(stance("x", "nearly over", "favor", target="the active phase", holder="t1")),
        },
        {
            "id": "s2",
            "annotators": ["ann-a", "ann-b", "ann-c"],
            "note": "alice: S2",
            **item(stance("s1", "lunacy", target="the report")),
        },
    ]
    assert validate([tmp_path / "gold.jsonl"]).valid

    written = [c for c in read(log) if c.get("kind") == "correction"]
    assert [(c["status"], c["adjudicator"]) for c in written] == [("applied", "alice")] * 3
    assert [c["decision"] for c in written] == [line["decision"] for line in lines]
    assert "removed [62, 89) 'Is this the end of the war?' (ann-a, ann-b, ann-c)" in written[1]["why"]
    assert_fixed_point(tmp_path, inputs, log)


def test_stale_corrections_are_reported_and_kept(tmp_path: Path) -> None:
    lines = [
        correction("stances", match("Hardly"), {"remove": True}),  # not in gold: an open conflict
        correction("stances", match("lunacy"), {"remove": True}, doc_id="doc9"),
    ]
    inputs, log, result = merged_with(tmp_path, lines)

    assert [(s.id, s.doc_id, s.layer, s.line) for s in result.stale] == [
        (None, "doc1", "stances", 5),
        (None, "doc9", "stances", 6),
    ]
    assert "no gold item of stances has the span [90, 96)" in result.stale[0].why
    assert "no document 'doc9'" in result.stale[1].why
    assert result.layers["stances"].stale == 2 and result.layers["stances"].removed == 0
    written = [c for c in read(log) if c.get("kind") == "correction"]
    assert [(c["doc_id"], c["status"], c["decision"]) for c in written] == [
        ("doc1", "stale", {"remove": True}),
        ("doc9", "stale", {"remove": True}),
    ]
    assert_fixed_point(tmp_path, inputs, log)

    result = runner.invoke(
        app, ["merge", str(inputs), "-o", str(tmp_path / "g.jsonl"), "-c", str(log), "-d", str(log)]
    )
    assert result.exit_code == 0, result.output
    assert f"{log}:5: stale correction (doc1, stances): no gold item" in result.stderr


def test_add_already_in_gold_is_stale(tmp_path: Path) -> None:
    _inputs, _log, result = merged_with(
        tmp_path, [correction("stances", None, {"add": item(stance("s", "lunacy"))})]
    )
    assert [(s.id, s.line) for s in result.stale] == [(None, 5)]
    assert "gold has this item already" in result.stale[0].why
    assert [s["text"] for s in doc1(tmp_path)["stances"]] == ["lunacy"]


def test_ambiguous_match_is_an_error(tmp_path: Path) -> None:
    twice = record(
        annotator="ann-a", stances=[stance("s1", "lunacy"), stance("s2", "lunacy", target="the report")]
    )
    inputs = write_jsonl(tmp_path / "in.jsonl", [twice])
    decisions = write_jsonl(tmp_path / "d.jsonl", [correction("stances", match("lunacy"), {"remove": True})])
    with pytest.raises(CorpusToolsError) as e:
        run(tmp_path, inputs, decisions=decisions)
    message = str(e.value)
    assert message.startswith(f"{decisions}:1: correction of doc1 stances: 2 gold items have the span")
    assert "'target': 'officials'" in message and "'target': 'the report'" in message
    assert not (tmp_path / "gold.jsonl").exists()


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        # the span text does not match the offsets
        (
            correction(
                "stances", match("lunacy"), {"replace": {**item(stance("s", "lunacy")), "text": "Lunacy"}}
            ),
            r"d.jsonl:5: the corrected gold of doc1 is not valid: stances item .*\[span-text-mismatch\]",
        ),
        # a holder whose content does not contain the stance (a warning, but on the adjudicator's item)
        (
            correction("stances", None, {"add": item(stance("s", "Hardly", holder=at(GERASIMOV)))}),
            r"d.jsonl:5: .*\[holder-outside-content\]",
        ),
        # a reference to no gold attribution
        (
            correction("stances", None, {"add": item(stance("s", "had no plan", holder=at(REPORT)))}),
            r'd.jsonl:5: holder "@\d+-\d+": no gold attribution has the content span',
        ),
        # removing an attribution that a gold stance refers to
        (
            correction("attributions", match(GERASIMOV), {"remove": True}),
            r"d.jsonl:5: removes the attribution .* refers to as its holder",
        ),
    ],
)
def test_invalid_correction_names_the_line(tmp_path: Path, line: dict[str, Any], expected: str) -> None:
    inputs = three_annotators(tmp_path)
    a = read(inputs / "ann-a.jsonl")
    a[0]["stances"].append(stance("s3", "nearly over", "favor", "the active phase", holder="t1"))
    b = read(inputs / "ann-b.jsonl")
    b[0]["stances"].append(stance("x3", "nearly over", "favor", "the active phase", holder="a1"))
    write_jsonl(inputs / "ann-a.jsonl", a)
    write_jsonl(inputs / "ann-b.jsonl", b)
    run(tmp_path, inputs)
    decisions = write_jsonl(tmp_path / "d.jsonl", [*read(tmp_path / "conflicts.jsonl"), line])
    with pytest.raises(CorpusToolsError, match=expected):
        run(tmp_path, inputs, decisions=decisions)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (correction("stances", None, {"remove": True}), r'"remove" correction needs "match"'),
        (
            correction("stances", match("lunacy"), {"add": item(stance("s", "lunacy"))}),
            r'"add" correction has "match": null',
        ),
        (
            correction("stances", match("lunacy"), {"replace": stance("s", "lunacy", holder="t1")}),
            r'decision.replace: holder \'t1\': write "author" or "@START-END"',
        ),
        (
            correction(
                "stances", match("lunacy"), {"replace": {**stance("s", "lunacy"), "annotators": ["x"]}}
            ),
            r'leave out "annotators"',
        ),
        (
            correction("stances", match("lunacy"), {"replace": {**stance("s", "lunacy"), "polarity": "pro"}}),
            r"decision.replace: polarity: Input should be",
        ),
        (correction("stances", match("lunacy"), {"remove": True, "add": {}}), r"give exactly one of"),
        (
            {**correction("questions", match("lunacy"), {"remove": True})},
            r"layer: Value error, 'questions' is not one of the layers",
        ),
        ({**correction("stances", match("lunacy"), {"remove": True}), "macth": 1}, r"macth: Extra inputs"),
    ],
)
def test_malformed_correction_names_the_line(tmp_path: Path, line: dict[str, Any], expected: str) -> None:
    inputs = three_annotators(tmp_path)
    decisions = write_jsonl(tmp_path / "d.jsonl", [line])
    with pytest.raises(CorpusToolsError, match=r"d.jsonl:1: .*" + expected):
        run(tmp_path, inputs, decisions=decisions)


def test_an_adjudicator_is_required(tmp_path: Path) -> None:
    inputs = three_annotators(tmp_path)
    line = {**correction("stances", match("lunacy"), {"remove": True}), "adjudicator": None}
    decisions = write_jsonl(tmp_path / "d.jsonl", [line])
    with pytest.raises(CorpusToolsError, match=r"d.jsonl:1: .*--adjudicator"):
        run(tmp_path, inputs, decisions=decisions)
    run(tmp_path, inputs, decisions=decisions, adjudicator="dave")
    assert read(tmp_path / "conflicts.jsonl")[-1]["adjudicator"] == "dave"


runner = CliRunner()


def test_cli_prints_corrections(tmp_path: Path) -> None:
    inputs = three_annotators(tmp_path)
    gold, log = tmp_path / "gold.jsonl", tmp_path / "log.jsonl"
    write_jsonl(
        log,
        [
            correction("stances", match("lunacy"), {"remove": True}),
            correction(
                "rhetorical_questions",
                match(QUESTION),
                {"replace": item({**read_question(inputs), "kind": "assertive"})},
            ),
        ],
    )
    result = runner.invoke(app, ["merge", str(inputs), "-o", str(gold), "-c", str(log), "-d", str(log)])
    assert result.exit_code == 0, result.output
    assert (
        "stances: 1 in gold, 2 open conflict(s), 0 decided, 0 stale decision(s); corrections: 0 replaced, "
        "1 removed, 0 added" in result.stdout
    )
    assert (
        "rhetorical_questions: 2 in gold, 1 open conflict(s), 0 decided, 0 stale decision(s); corrections: "
        "1 replaced, 0 removed, 0 added" in result.stdout
    )
    assert result.stderr == ""

    bad = [
        *read(log),
        correction("stances", None, {"add": {**item(stance("s", "Hardly")), "text": "hardly"}}),
    ]
    write_jsonl(log, bad)
    result = runner.invoke(app, ["merge", str(inputs), "-o", str(gold), "-c", str(log), "-d", str(log)])
    assert result.exit_code == 2, result.output
    assert f"error: {log}:" in result.stderr and "[span-text-mismatch]" in result.stderr


def read_question(inputs: Path) -> dict[str, Any]:
    return {
        k: v for k, v in read(inputs / "ann-a.jsonl")[0]["rhetorical_questions"][0].items() if k != "answer"
    }


# -- nothing is lost, with corrections -----------------------------------------------------------


def random_corrections(gold: list[dict[str, Any]], choices: Any) -> list[dict[str, Any]]:
    """Correction lines an adjudicator might write on `gold`: remove, replace or add items."""
    lines = []
    for g in gold:
        referred = {a.get("nested_in") for a in g["attributions"]} | {s["holder"] for s in g["stances"]}
        for layer in ("rhetorical_questions", "attributions", "stances"):
            keys = [key_of(layer, it) for it in g[layer]]
            for it, where in zip(g[layer], keys, strict=True):
                action = choices.choice(["keep", "keep", "remove", "replace"])
                if keys.count(where) > 1 or action == "keep" or (action == "remove" and it["id"] in referred):
                    continue  # a correction cannot tell items on one span apart
                if action == "remove":
                    lines.append(correction(layer, where, {"remove": True}, doc_id=g["doc_id"]))
                else:
                    new = as_written(it, g)
                    label = {
                        "rhetorical_questions": ("kind", ["assertive", "echo", "open"]),
                        "attributions": ("type", ["direct", "indirect", "mixed"]),
                        "stances": ("polarity", ["favor", "against"]),
                    }[layer]
                    new[label[0]] = choices.choice(label[1])
                    new.pop("answer", None)
                    lines.append(correction(layer, where, {"replace": new}, doc_id=g["doc_id"]))
        if choices.random() < 0.5:
            lines.append(
                correction(
                    "stances",
                    None,
                    {
                        "add": {
                            **span(TEXT, "What lunacy"),
                            "target": "the report",
                            "polarity": "favor",
                            "holder": "author",
                        }
                    },
                    doc_id=g["doc_id"],
                )
            )
    return lines


def as_written(it: dict[str, Any], gold: dict[str, Any]) -> dict[str, Any]:
    """A gold item as an adjudicator writes it: no id, annotators or note; references as
    `"@START-END"`.

    Gold made from generated annotations may hold what an adjudicator would not write, and a
    correction cannot: a reference to one of two attributions on one span (`"@START-END"` is
    ambiguous), or a holder whose content does not contain the stance (a warning the merge
    refuses on an adjudicator's item). Those references become `author` / null.
    """
    contents = {a["id"]: a["content"] for a in gold["attributions"]}
    spans = [(c["start"], c["end"]) for c in contents.values()]
    out = {k: v for k, v in it.items() if k not in ("id", "annotators", "note")}
    for ref, default in (("holder", "author"), ("nested_in", None)):
        target = contents.get(out.get(ref))
        if target is None:
            continue
        inside = ref == "nested_in" or (target["start"] <= out["start"] and out["end"] <= target["end"])
        if spans.count((target["start"], target["end"])) > 1 or not inside:
            out[ref] = default
        else:
            out[ref] = f"@{target['start']}-{target['end']}"
    return {k: v for k, v in out.items() if v is not None}


def key_of(layer: str, it: dict[str, Any]) -> dict[str, int]:
    span_ = it["content"] if layer == "attributions" else it
    return {"start": span_["start"], "end": span_["end"]}


def assert_corrected(gold: list[dict[str, Any]], log: list[dict[str, Any]]) -> None:
    """Every applied replace or add is in gold as written."""
    by_doc = {g["doc_id"]: g for g in gold}
    for c in log:
        if c.get("kind") == "correction" and c["status"] == "applied" and "remove" not in c["decision"]:
            new = c["decision"].get("replace") or c["decision"]["add"]
            fields = {k: v for k, v in new.items() if k not in ("holder", "nested_in")}
            assert any(fields.items() <= it.items() for it in by_doc[c["doc_id"]][c["layer"]]), c


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    records=corpus(), choices=st.randoms(use_true_random=False), match=st.sampled_from(["exact", "overlap"])
)
def test_nothing_is_lost_with_corrections(
    tmp_path: Path, records: list[dict[str, Any]], choices: Any, match: str
) -> None:
    src = write_jsonl(tmp_path / "in" / "all.jsonl", records)
    log, gold_path = tmp_path / "log.jsonl", tmp_path / "gold.jsonl"
    merge([src], output=gold_path, conflicts=log, match=match)
    write_jsonl(log, [*read(log), *random_corrections(read(gold_path), choices)])

    result = merge([src], output=gold_path, conflicts=log, decisions=log, match=match)
    gold, after = read(gold_path), read(log)
    assert validate([gold_path]).valid
    assert_nothing_lost(records, gold, after, match)
    assert_corrected(gold, after)
    applied = [c for c in after if c.get("kind") == "correction" and c["status"] == "applied"]
    assert sum(c.corrections for c in result.layers.values()) == len(applied)

    before = gold_path.read_bytes(), log.read_bytes()
    merge([src], output=gold_path, conflicts=log, decisions=log, match=match)
    assert (gold_path.read_bytes(), log.read_bytes()) == before
