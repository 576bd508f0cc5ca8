"""`corpus_tools.evaluate`: every figure compared with P, R and F1 worked out by hand on small
cases, gold against itself, the same counts as `corpus agreement`, and the inputs it refuses."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corpus_tools.agreement import agreement
from corpus_tools.errors import CorpusToolsError, InvalidInputError
from corpus_tools.evaluate import EvaluationReport, Score, evaluate
from corpus_tools.publish import publish

from agreement_helpers import agreement_files, gerasimov, report, rq, stance
from factory import TEXT, record, span, write_jsonl
from publish_helpers import gold_corpus, make_split_dir
from strategies import records


def gold_d1() -> dict[str, Any]:
    """One gold document: a hypophora, two attributions, three stances (one held by t2)."""
    return record(
        "d1",
        "gold",
        rhetorical_questions=[rq("q1")],
        attributions=[gerasimov("t1", "direct"), report("t2", "indirect")],
        stances=[
            stance("s1", "lunacy"),
            stance("s2", "had no plan", holder="t2"),
            stance("s3", "Hardly", target="the end of the war"),
        ],
    )


def at(needle: str, occurrence: int = 0, *, with_text: bool = True) -> dict[str, Any]:
    """A predicted span of `TEXT`; without its text (optional in a prediction) if asked."""
    s = span(TEXT, needle, occurrence)
    return s if with_text else {"start": s["start"], "end": s["end"]}


def prediction(doc_id: str = "d1", **layers: Any) -> dict[str, Any]:
    """A prediction record: only what a model gives (no annotator, ids, targets, meta)."""
    return {"doc_id": doc_id, "text": TEXT, **layers}


def run(
    tmp_path: Path, gold: list[dict[str, Any]], pred: list[dict[str, Any]], **options: Any
) -> EvaluationReport:
    g = write_jsonl(tmp_path / "gold.jsonl", gold)
    p = write_jsonl(tmp_path / "pred.jsonl", pred)
    return evaluate(g, p, **options)


def prf(score: Score | None) -> tuple[float | None, float | None, float | None]:
    assert score is not None
    return score.precision, score.recall, score.f1


def test_partial_stance_predictions_with_labels_and_overlap(tmp_path: Path) -> None:
    # Gold stances (all `against`): "lunacy", "had no plan", "Hardly".
    # Predicted: "lunacy" favor (right span, wrong label); "no plan" against, which overlaps
    # "had no plan" [130, 141) by 7 of 11 code points (Jaccard 0.64); "Monday" against (wrong).
    pred = prediction(
        stances=[
            {**at("lunacy", with_text=False), "polarity": "favor"},
            {**at("no plan"), "polarity": "against"},
            {**at("Monday"), "polarity": "against"},
        ]
    )
    r = run(tmp_path, [gold_d1()], [pred])
    st_ = r.layers["stances"]
    third, two_thirds = pytest.approx((1 / 3, 1 / 3, 1 / 3)), pytest.approx((2 / 3, 2 / 3, 2 / 3))
    # span, strict: only "lunacy": P = 1/3, R = 1/3, F1 = 2·1/(3+3) = 1/3; lenient adds "no plan".
    assert prf(st_.measures["span"].strict) == third
    assert prf(st_.measures["span"].lenient) == two_thirds
    # labelled: "lunacy" has the wrong polarity; leniently "no plan" matches with its label.
    assert prf(st_.measures["labelled"].strict) == (0.0, 0.0, 0.0)
    assert prf(st_.measures["labelled"].lenient) == third
    # Per label, lenient: against: 1 matched, 3 in gold, 2 predicted: P 1/2, R 1/3, F1 2/5;
    # favor: 0 matched, none in gold, 1 predicted: P 0, R undefined, F1 0. Macro F1 0.2.
    assert prf(st_.labels["against"].lenient) == pytest.approx((0.5, 1 / 3, 0.4))
    assert prf(st_.labels["favor"].lenient) == (0.0, None, 0.0)
    assert st_.macro_f1 == pytest.approx({"strict": 0.0, "lenient": 0.2})
    assert st_.confusion == {"against|against": 1, "against|favor": 1}
    # No target or holder is predicted: every tuple measure is "not predicted", never 0.
    assert st_.not_predicted == ["holder", "target"]
    assert st_.measures["tuple"] is None
    assert st_.measures["tuple_without_target"] is None and st_.measures["tuple_without_holder"] is None
    # The layers the record leaves out are not predicted either.
    assert not r.layers["rhetorical_questions"].predicted and not r.layers["attributions"].predicted
    assert r.layers["attributions"].measures["span"] is None
    assert r.micro["span"] is not None and r.micro["span"].strict.f1 == pytest.approx(1 / 3)
    assert "not predicted" in r.to_text() and "not predicted" in r.to_markdown()


def test_a_gold_document_without_prediction_counts_as_predicting_nothing(tmp_path: Path) -> None:
    pred = prediction(stances=[{**at("lunacy"), "polarity": "against"}])
    r = run(tmp_path, [gold_d1(), record("d2", "gold")], [pred], per_document=True)
    assert (r.documents, r.predicted_documents, r.missing) == (2, 1, ["d2"])
    # d1: "lunacy" of 3; d2's "lunacy" is missed too: P = 1/1, R = 1/4, F1 = 2/(4+1) = 0.4.
    assert prf(r.layers["stances"].measures["span"].strict) == pytest.approx((1.0, 0.25, 0.4))
    assert r.per_document is not None
    d1, d2 = r.per_document
    assert (d1.doc_id, d1.missing, d2.doc_id, d2.missing) == ("d1", False, "d2", True)
    assert d2.layers["stances"]["span"].strict.model_dump() == {
        "tp": 0,
        "gold": 1,
        "pred": 0,
        "precision": None,
        "recall": 0.0,
        "f1": 0.0,
    }
    # Layers that are not predicted are left out of every document's figures.
    assert set(d1.layers) == {"stances"} and "tuple" not in d1.layers["stances"]
    assert "d2" in r.to_text()


def test_stances_with_and_without_target_and_holder(tmp_path: Path) -> None:
    # Holders name attributions by id, which differ between gold and a model: they are compared
    # by the content span of the attribution named. Targets are compared as S7 normalises them.
    pred = prediction(
        attributions=[
            {"id": "x1", "content": at("The active phase is nearly over.")},
            {"id": "x2", "content": at('officials "had no plan"')},
        ],
        stances=[
            {**at("lunacy"), "polarity": "against", "target": "Officials", "holder": "author"},
            {**at("had no plan"), "polarity": "against", "target": "the  officials", "holder": "x2"},
            # Gold's holder is the author; x1 is an attribution.
            {**at("Hardly"), "polarity": "against", "target": "End of the war", "holder": "x1"},
        ],
    )
    st_ = run(tmp_path, [gold_d1()], [pred]).layers["stances"]
    assert prf(st_.measures["labelled"].strict) == (1.0, 1.0, 1.0)
    # The whole tuple: "Hardly" has the wrong holder: 2 of 3 on both sides.
    assert prf(st_.measures["tuple"].strict) == pytest.approx((2 / 3, 2 / 3, 2 / 3))
    assert prf(st_.measures["tuple_without_target"].strict) == pytest.approx((2 / 3, 2 / 3, 2 / 3))
    # Without the holder every tuple agrees: "the  officials" and "Officials" are one target (S7).
    assert prf(st_.measures["tuple_without_holder"].strict) == (1.0, 1.0, 1.0)
    assert st_.not_predicted == [] and st_.items_without == {}
    at_ = run(tmp_path, [gold_d1()], [pred]).layers["attributions"]
    # Attributions: content spans only; their type, source and cue are not predicted.
    assert prf(at_.measures["span"].strict) == (1.0, 1.0, 1.0)
    assert at_.not_predicted == ["cue", "source", "type"]
    assert at_.measures["labelled"] is None and at_.measures["tuple"] is None and at_.labels is None
    assert at_.parts["source"] is None and at_.parts["cue"] is None
    assert prf(at_.parts["content"].strict) == (1.0, 1.0, 1.0)


def test_a_field_some_items_leave_out_cannot_match(tmp_path: Path) -> None:
    pred = prediction(
        stances=[
            {**at("lunacy"), "polarity": "against", "target": "officials", "holder": "author"},
            {**at("had no plan"), "polarity": "against"},
        ]
    )
    st_ = run(tmp_path, [gold_d1()], [pred]).layers["stances"]
    assert st_.items_without == {"holder": 1, "target": 1}
    # tuple: only "lunacy" agrees: P 1/2, R 1/3, F1 2/5.
    assert prf(st_.measures["tuple"].strict) == pytest.approx((0.5, 1 / 3, 0.4))


def test_attribution_parts_are_scored_separately_and_as_whole_tuples(tmp_path: Path) -> None:
    # Gold: t1 (Gerasimov / said / "The active phase ...") and t2 (The report / said / ...).
    # Predicted: t1's content and source, and explicitly no cue; its type.
    pred = prediction(
        attributions=[
            {
                "content": at("The active phase is nearly over."),
                "source": at("Gerasimov"),
                "cue": None,
                "type": "direct",
            }
        ]
    )
    at_ = run(tmp_path, [gold_d1()], [pred]).layers["attributions"]
    assert prf(at_.measures["span"].strict) == pytest.approx((1.0, 0.5, 2 / 3))
    assert prf(at_.measures["labelled"].strict) == pytest.approx((1.0, 0.5, 2 / 3))
    # Parts: sources 1 of 2 found; cues: none predicted (P undefined), none found; contents 1 of 2.
    assert prf(at_.parts["source"].strict) == pytest.approx((1.0, 0.5, 2 / 3))
    assert prf(at_.parts["cue"].strict) == (None, 0.0, 0.0)
    assert prf(at_.parts["content"].strict) == pytest.approx((1.0, 0.5, 2 / 3))
    # The whole tuple (source, cue, content, type): the missing cue breaks it.
    assert prf(at_.measures["tuple"].strict) == (0.0, 0.0, 0.0)
    # A leniently matched source: "report" for "The report" (Jaccard 6/10 = 0.6).
    pred = prediction(
        attributions=[
            {
                "content": at('officials "had no plan"'),
                "source": at("report"),
                "cue": at("said", 1),
                "type": "indirect",
            }
        ]
    )
    at_ = run(tmp_path, [gold_d1()], [pred]).layers["attributions"]
    assert prf(at_.parts["source"].strict) == (0.0, 0.0, 0.0)
    assert prf(at_.parts["source"].lenient) == pytest.approx((1.0, 0.5, 2 / 3))
    assert prf(at_.measures["tuple"].strict) == (0.0, 0.0, 0.0)
    assert prf(at_.measures["tuple"].lenient) == pytest.approx((1.0, 0.5, 2 / 3))


def test_a_tagger_of_attribution_parts_is_scored_on_whole_tuples_without_type(tmp_path: Path) -> None:
    # What from_bio gives: content, source and cue, never a type. The full tuple needs the
    # type (not predicted); the tuple without it compares source, cue and content.
    pred = prediction(
        attributions=[
            {"content": at("The active phase is nearly over."), "source": at("Gerasimov"), "cue": at("said")},
            {"content": at('officials "had no plan"'), "source": None, "cue": at("said", 1)},
        ]
    )
    at_ = run(tmp_path, [gold_d1()], [pred]).layers["attributions"]
    assert at_.not_predicted == ["type"]
    assert at_.measures["tuple"] is None and at_.measures["labelled"] is None
    assert at_.compares["tuple_without_type"] == ["source", "cue"]
    # t1 whole; t2's source ("The report") missed: 1 of 2 tuples, both ways.
    assert prf(at_.measures["tuple_without_type"].strict) == pytest.approx((0.5, 0.5, 0.5))
    assert prf(at_.measures["span"].strict) == (1.0, 1.0, 1.0)


def test_records_are_read_as_well_as_paths(tmp_path: Path) -> None:
    from corpus_tools.layers import PredictionRecord, Record

    gold = [gold_d1(), record("d2", "gold")]
    pred = prediction(stances=[{**at("lunacy"), "polarity": "against"}])
    from_paths = run(tmp_path, gold, [pred])
    # Dicts (one, or any iterable of them) and models, as a Python user holds them.
    for g, p in [
        (gold, pred),
        (iter(gold), [pred]),
        ([Record.model_validate(r) for r in gold], PredictionRecord.model_validate(pred)),
    ]:
        report = evaluate(g, p)
        assert report.layers == from_paths.layers and report.missing == ["d2"]
        assert report.pred == "<pred records> (1)"
    # Problems in records name them and their position from 1.
    with pytest.raises(InvalidInputError) as e:
        evaluate(gold, [pred, prediction("d9")])
    assert [str(p) for p in e.value.report.problems] == [
        "<pred records>:2: error [unknown-document] doc_id: doc_id 'd9' is not in the gold data "
        "(<gold records> (2)); predict only its documents"
    ]
    assert e.value.report.summary.records == 2
    # Anything else is refused in one line, naming what is accepted.
    for bad, message in [
        (3, "--pred: expected a path, a list of paths, a record"),
        ([pred, 3], "--pred: item 2 is of type int, not a record like the first"),
        ([], "--pred: name a file or folder, or give records"),
        ([{"doc_id": "d1", "text": TEXT, "x": object()}], "--pred: record 1 cannot be written as JSON"),
    ]:
        with pytest.raises(CorpusToolsError, match=message):
            evaluate(gold, bad)


def test_a_layer_left_out_is_not_predicted_and_an_empty_one_predicts_nothing(tmp_path: Path) -> None:
    r = run(tmp_path, [gold_d1()], [prediction(rhetorical_questions=[])])
    rq_ = r.layers["rhetorical_questions"]
    # One gold question, none predicted: P undefined, R 0, F1 0 (not "not predicted").
    assert prf(rq_.measures["span"].strict) == (None, 0.0, 0.0)
    assert prf(rq_.parts["answer"].strict) == (None, 0.0, 0.0)
    assert rq_.labels is not None and prf(rq_.labels["hypophora"].strict) == (None, 0.0, 0.0)
    assert prf(rq_.labels["echo"].strict) == (None, None, None)
    assert not r.layers["stances"].predicted
    data = json.loads(r.to_json())
    assert data["layers"]["stances"]["predicted"] is False
    assert data["layers"]["stances"]["measures"]["span"] is None
    assert data["layers"]["rhetorical_questions"]["measures"]["span"]["strict"]["f1"] == 0.0


def test_a_layer_some_records_leave_out_predicts_nothing_there(tmp_path: Path) -> None:
    gold = [gold_d1(), record("d2", "gold")]
    pred = [prediction(stances=[{**at("lunacy"), "polarity": "against"}]), prediction("d2")]
    st_ = run(tmp_path, gold, pred).layers["stances"]
    assert st_.absent_in == ["d2"]
    assert prf(st_.measures["span"].strict) == pytest.approx((1.0, 0.25, 0.4))


def test_questions_by_kind_with_their_answers(tmp_path: Path) -> None:
    gold = record("d1", "gold")  # q1 "Is this the end of the war?" hypophora, answer "Hardly."
    pred = prediction(
        rhetorical_questions=[
            {**at("Is this the end of the war?"), "kind": "assertive"},
            {**at("What lunacy!"), "kind": "hypophora", "answer": at("lunacy")},
        ]
    )
    rq_ = run(tmp_path, [gold], [pred]).layers["rhetorical_questions"]
    assert prf(rq_.measures["span"].strict) == pytest.approx((0.5, 1.0, 2 / 3))
    assert prf(rq_.measures["labelled"].strict) == (0.0, 0.0, 0.0)
    # Answers: gold "Hardly.", predicted "lunacy": none matches.
    assert prf(rq_.parts["answer"].strict) == (0.0, 0.0, 0.0)
    assert prf(rq_.labels["hypophora"].strict) == (0.0, 0.0, 0.0)
    assert prf(rq_.labels["assertive"].strict) == (0.0, None, 0.0)
    assert rq_.macro_f1 == {"strict": 0.0, "lenient": 0.0}


def assert_perfect(report: EvaluationReport, gold: list[dict[str, Any]]) -> None:
    """Every figure of gold scored against itself is 1.0, or undefined for want of items. A
    figure may be "not predicted" only for a field that no gold item has a value of (a record
    leaves out an absent answer, source or cue, so such a field is not given at all)."""
    for name, la in report.layers.items():
        for f in la.not_predicted:
            assert all(item.get(f) is None for rec in gold for item in rec.get(name, [])), (name, f)
        scores = [*la.measures.items(), *la.parts.items(), *(la.labels or {}).items()]
        for where, s in scores:
            if s is None:
                continue
            for match in ("strict", "lenient"):
                score = s.of(match)
                for figure, value, count in (
                    ("precision", score.precision, score.pred),
                    ("recall", score.recall, score.gold),
                    ("f1", score.f1, score.gold + score.pred),
                ):
                    assert value == (1.0 if count else None), (name, where, match, figure, score)
        assert la.macro_f1 is not None and all(v in (1.0, None) for v in la.macro_f1.values())


def test_gold_scored_against_itself_is_perfect_wherever_defined(tmp_path: Path) -> None:
    rows = [gold_d1(), record("d2", "gold")]
    gold = write_jsonl(tmp_path / "gold.jsonl", rows)
    report = evaluate(gold, gold)
    assert_perfect(report, rows)
    assert all(la.not_predicted == [] for la in report.layers.values())
    assert report.layers["stances"].measures["tuple"].strict.tp == 4


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.integers(0, 10**6), min_size=1, max_size=3, unique=True).flatmap(
        lambda ids: st.tuples(*[records(f"doc{i}") for i in ids])
    )
)
def test_any_valid_gold_scored_against_itself_is_perfect(docs: tuple[dict[str, Any], ...]) -> None:
    rows = [{**d, "annotator": "gold"} for d in docs]
    with tempfile.TemporaryDirectory() as tmp:
        gold = write_jsonl(Path(tmp) / "gold.jsonl", rows)
        assert_perfect(evaluate(gold, gold), rows)


def test_evaluate_counts_what_agreement_counts(tmp_path: Path) -> None:
    # One implementation: scoring B against A as gold gives agreement's matched items and item
    # counts for the pair A/B, measure by measure.
    files = agreement_files(tmp_path / "ann")
    pair = {name: la.pairs[0] for name, la in agreement([files]).layers.items()}
    r = evaluate(files / "A.jsonl", files / "B.jsonl")
    names = {
        "strict": ("span", "strict"),
        "lenient": ("span", "lenient"),
        "strict_labelled": ("labelled", "strict"),
        "lenient_labelled": ("labelled", "lenient"),
        "tuple_strict": ("tuple", "strict"),
        "tuple_lenient": ("tuple", "lenient"),
    }
    compared = 0
    for layer, p in pair.items():
        assert (p.a, p.b) == ("A", "B")
        for name, counts in p.f1.items():
            measure, match = names[name]
            score = r.layers[layer].measures[measure]
            assert score is not None
            got = score.of(match)  # type: ignore[arg-type]
            assert (got.tp, got.gold, got.pred) == (counts.matched, counts.a, counts.b), (layer, name)
            assert got.f1 == counts.f1
            compared += 1
    assert compared == 16


def test_unknown_documents_and_text_drift_are_problems_with_file_and_line(tmp_path: Path) -> None:
    drifted = prediction("d1", stances=[])
    drifted["text"] = TEXT.replace("lunacy", "Lunacy")
    pred = [drifted, prediction("nope", stances=[])]
    with pytest.raises(InvalidInputError) as e:
        run(tmp_path, [gold_d1()], pred)
    problems = {(p.code, p.file, p.line, p.path) for p in e.value.report.problems}
    where = str(tmp_path / "pred.jsonl")
    assert problems == {("text-drift", where, 1, "text"), ("unknown-document", where, 2, "doc_id")}
    drift = next(p for p in e.value.report.problems if p.code == "text-drift")
    assert "first difference at code point 149" in drift.message


def test_invalid_predictions_are_reported_as_validate_reports_them(tmp_path: Path) -> None:
    bad = prediction(
        stances=[
            {"start": 5, "end": 3, "polarity": "against"},
            {**at("lunacy"), "polarity": "against", "holder": "t9"},
            {**at("lunacy"), "polarity": "pro"},
        ]
    )
    bad["stances"][1]["text"] = "Lunacy"
    with pytest.raises(InvalidInputError) as e:
        run(tmp_path, [gold_d1()], [bad])
    assert {p.code for p in e.value.report.problems} == {
        "empty-span",
        "span-text-mismatch",
        "unknown-holder",
        "invalid-label",
    }


def test_usage_errors(tmp_path: Path) -> None:
    gold = write_jsonl(tmp_path / "gold.jsonl", [gold_d1()])
    two = write_jsonl(tmp_path / "two.jsonl", [gold_d1(), {**gold_d1(), "annotator": "ann-b"}])
    with pytest.raises(CorpusToolsError, match="unknown layer 'stance'"):
        evaluate(gold, gold, layers=["stance"])
    with pytest.raises(CorpusToolsError, match="--overlap"):
        evaluate(gold, gold, overlap=0)
    with pytest.raises(CorpusToolsError, match="--split chooses a split of a published dataset"):
        evaluate(gold, gold, split="test")
    with pytest.raises(CorpusToolsError, match="has 2 records"):
        evaluate(two, gold)
    with pytest.raises(CorpusToolsError, match="no such"):
        evaluate(tmp_path / "missing.jsonl", gold)


def test_only_the_layers_asked_for_are_scored(tmp_path: Path) -> None:
    gold = write_jsonl(tmp_path / "gold.jsonl", [gold_d1()])
    r = evaluate(gold, gold, layers=["stances"], match="overlap")
    assert list(r.layers) == ["stances"] and r.headline == "lenient"
    assert r.below(1.0) == [] and r.below(0.5) == []


def test_the_gate_fails_below_the_threshold_and_when_nothing_was_scored(tmp_path: Path) -> None:
    pred = prediction(stances=[{**at("lunacy"), "polarity": "against"}])
    r = run(tmp_path, [gold_d1()], [pred])
    # stances: strict span F1 = 2·1/(3+1) = 0.5.
    assert r.below(0.4) == []
    assert r.below(0.6) == ["stances: strict span F1 0.500 is below --min-f1 0.6"]
    empty = run(
        tmp_path, [record("d1", "gold", rhetorical_questions=[], attributions=[], stances=[])], [prediction()]
    )
    assert empty.below(0.1) == [
        "no span F1 could be computed: --min-f1 needs a predicted layer with gold or predicted items"
    ]


def test_a_published_dataset_folder_gives_the_figures_of_its_jsonl(tmp_path: Path) -> None:
    split_dir = make_split_dir(tmp_path / "splits", gold_corpus())
    dataset = tmp_path / "dataset"
    publish(split_dir, output=dataset)
    pred = record("d5", "model")
    pred["stances"] = []
    pred_file = write_jsonl(tmp_path / "pred.jsonl", [pred])
    from_jsonl = evaluate(split_dir / "test.jsonl", pred_file)
    from_folder = evaluate(dataset, pred_file, split="test")
    assert from_folder.gold == f"{dataset} [test]" and from_folder.documents == 1
    assert from_folder.model_dump(exclude={"gold", "split"}) == from_jsonl.model_dump(
        exclude={"gold", "split"}
    )
    assert_perfect(evaluate(dataset, dataset, split="train"), gold_corpus()["train"])
    with pytest.raises(CorpusToolsError, match=r"choose a split with --split \(train, validation, test\)"):
        evaluate(dataset, pred_file)
    with pytest.raises(CorpusToolsError, match="no split 'dev'"):
        evaluate(dataset, pred_file, split="dev")
    broken = tmp_path / "broken"
    shutil.copytree(dataset, broken)
    (broken / "data" / "default" / "test-00000-of-00001.parquet").write_bytes(b"not parquet")
    with pytest.raises(CorpusToolsError, match=r"test-00000-of-00001\.parquet: not a readable parquet file"):
        evaluate(broken, pred_file, split="test")
    # Problems found in a published split name its parquet file and the row (from 0), as
    # `corpus validate` locates them.
    unknown = write_jsonl(tmp_path / "unknown.jsonl", [record("d1", "model")])
    with pytest.raises(InvalidInputError) as e:
        evaluate(unknown, dataset, split="test")
    assert [(p.code, p.file, p.line, p.row) for p in e.value.report.problems] == [
        ("unknown-document", str(dataset / "data" / "default" / "test-00000-of-00001.parquet"), None, 0)
    ]
