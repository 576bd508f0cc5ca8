"""`corpus_tools.agreement`: every figure checked against a value worked out by hand."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from corpus_tools.agreement import agreement, cohen_kappa
from corpus_tools.errors import CorpusToolsError, InvalidInputError

from agreement_helpers import agreement_files
from factory import record, write_jsonl


@pytest.fixture
def files(tmp_path: Path) -> Path:
    return agreement_files(tmp_path)


def pair_f1(report: Any, layer: str, measure: str) -> dict[str, float | None]:
    return {f"{p.a}/{p.b}": p.f1[measure].f1 for p in report.layers[layer].pairs}


def test_counts(files: Path) -> None:
    r = agreement([files])
    assert (r.documents, r.shared_documents, r.annotators) == (1, 1, ["A", "B", "C"])
    assert {k: la.items for k, la in r.layers.items()} == {
        "rhetorical_questions": {"A": 1, "B": 1, "C": 0},
        "attributions": {"A": 2, "B": 2, "C": 2},
        "stances": {"A": 3, "B": 2, "C": 2},
    }


def test_stance_span_f1(files: Path) -> None:
    r = agreement([files], overlap=0.5)
    # F1 = 2·matched / (items of a + items of b).
    # strict: A/B match "lunacy" only: 2·1/(3+2) = 0.4; A/C "lunacy", "Hardly": 2·2/5 = 0.8;
    #         B/C "lunacy": 2·1/(2+2) = 0.5.                       mean (0.4+0.8+0.5)/3 = 0.5667
    assert pair_f1(r, "stances", "strict") == pytest.approx({"A/B": 0.4, "A/C": 0.8, "B/C": 0.5})
    assert r.layers["stances"].f1["strict"] == pytest.approx(1.7 / 3)
    # lenient: "had no plan" [130, 141) vs "no plan" [134, 141): Jaccard 7/11 = 0.64 >= 0.5,
    #          so A/B match 2: 4/5 = 0.8; A/C 0.8; B/C 0.5.         mean 2.1/3 = 0.7
    assert pair_f1(r, "stances", "lenient") == pytest.approx({"A/B": 0.8, "A/C": 0.8, "B/C": 0.5})
    assert r.layers["stances"].f1["lenient"] == pytest.approx(0.7)
    # labelled (polarity too): A/B 0.4 (strict) 0.8 (lenient); A/C "lunacy" against/favor fails,
    # "Hardly" holds: 2·1/5 = 0.4; B/C "lunacy" fails: 0.  means 0.8/3 and 1.2/3
    assert pair_f1(r, "stances", "strict_labelled") == pytest.approx({"A/B": 0.4, "A/C": 0.4, "B/C": 0.0})
    assert pair_f1(r, "stances", "lenient_labelled") == pytest.approx({"A/B": 0.8, "A/C": 0.4, "B/C": 0.0})
    assert r.layers["stances"].f1["strict_labelled"] == pytest.approx(0.8 / 3)
    assert r.layers["stances"].f1["lenient_labelled"] == pytest.approx(0.4)
    # With a threshold above 0.64 the "no plan" pair no longer matches leniently.
    assert pair_f1(agreement([files], overlap=0.7), "stances", "lenient")["A/B"] == pytest.approx(0.4)


def test_stance_tuple_f1(files: Path) -> None:
    r = agreement([files])
    # (span, target, polarity, holder): the holders of A's "had no plan" (t2) and B's "no plan" (r)
    # have different ids but the same content span, so they agree.
    # strict: A/B "lunacy" only (spans of the plan stances differ): 2·1/5 = 0.4;
    #         A/C "Hardly" (targets equal up to case; "lunacy" polarity differs): 0.4; B/C: 0.
    # lenient: A/B adds the plan stance: 0.8; A/C 0.4; B/C 0.  means 0.8/3 and 1.2/3
    assert pair_f1(r, "stances", "tuple_strict") == pytest.approx({"A/B": 0.4, "A/C": 0.4, "B/C": 0.0})
    assert pair_f1(r, "stances", "tuple_lenient") == pytest.approx({"A/B": 0.8, "A/C": 0.4, "B/C": 0.0})
    assert r.layers["stances"].f1["tuple_strict"] == pytest.approx(0.8 / 3)
    assert r.layers["stances"].f1["tuple_lenient"] == pytest.approx(0.4)


def test_attribution_figures(files: Path) -> None:
    r = agreement([files])
    la = r.layers["attributions"]
    # Content spans all agree: span F1 1.0 for every pair.
    assert la.f1["strict"] == la.f1["lenient"] == 1.0
    # labelled (type): A/B G direct=direct, R mixed≠indirect: 2·1/4 = 0.5; A/C 0; B/C R: 0.5.
    assert pair_f1(r, "attributions", "strict_labelled") == pytest.approx(
        {"A/B": 0.5, "A/C": 0.0, "B/C": 0.5}
    )
    assert la.f1["strict_labelled"] == pytest.approx(1 / 3)
    # tuple (source, cue, content, type): A/B G only: 0.5; A/C none: 0; B/C R has equal types but
    # source "report" [102, 108) vs "The report" [98, 108): strict no (0), lenient Jaccard
    # 6/10 = 0.6 >= 0.5 yes (2·1/4 = 0.5).  means 0.5/3 and 1.0/3
    assert pair_f1(r, "attributions", "tuple_strict") == pytest.approx({"A/B": 0.5, "A/C": 0.0, "B/C": 0.0})
    assert pair_f1(r, "attributions", "tuple_lenient") == pytest.approx({"A/B": 0.5, "A/C": 0.0, "B/C": 0.5})
    assert la.f1["tuple_strict"] == pytest.approx(0.5 / 3)
    assert la.f1["tuple_lenient"] == pytest.approx(1 / 3)


def test_attribution_kappa_and_alpha(files: Path) -> None:
    la = agreement([files]).layers["attributions"]
    # Cohen's kappa = (p_o - p_e) / (1 - p_e) on the types of matched items (G, R):
    # A/B: (direct, direct), (mixed, indirect): p_o = 1/2; p_A = {d: 1/2, m: 1/2},
    #      p_B = {d: 1/2, i: 1/2}; p_e = 1/2·1/2 = 1/4; kappa = (1/2 - 1/4)/(3/4) = 1/3
    # A/C: (direct, indirect), (mixed, indirect): p_o = 0, p_e = 0 (C used only indirect): 0
    # B/C: (direct, indirect), (indirect, indirect): p_o = 1/2; p_e = 1/2·1 = 1/2: 0
    assert [p.kappa for p in la.pairs] == pytest.approx([1 / 3, 0.0, 0.0])
    assert [p.observed for p in la.pairs] == pytest.approx([0.5, 0.0, 0.5])
    assert la.kappa == pytest.approx(1 / 9)
    # Krippendorff's alpha (nominal), units G = {d, d, i}, R = {m, i, i}, n = 6 values.
    # Coincidences: G: o_dd = 2·1/(3-1) = 1, o_di = o_id = 1; R: o_ii = 1, o_mi = o_im = 1.
    # n_d = 2, n_i = 3, n_m = 1. Observed off-diagonal sum 4; expected Σ_{c≠k} n_c·n_k
    # = 2·(2·3 + 2·1 + 3·1) = 22. alpha = 1 - (n-1)·4/22 = 1 - 20/22 = 1/11.
    assert la.alpha == pytest.approx(1 / 11)
    assert la.alpha_units == 2


def test_stance_kappa_and_alpha(files: Path) -> None:
    la = agreement([files]).layers["stances"]
    # Lenient matches and polarities: A/B (against, against) x2: p_o = 1, p_e = 1: undefined.
    # A/C: "lunacy" (against, favor), "Hardly" (against, against): p_o = 1/2, p_A(against) = 1,
    #      p_C = {favor: 1/2, against: 1/2}: p_e = 1/2, kappa 0. B/C: (against, favor): p_o = 0,
    #      p_e = 1·0 = 0: kappa 0. Mean over defined pairs: 0.
    assert [p.kappa for p in la.pairs] == [None, 0.0, 0.0]
    assert la.kappa == 0.0
    # alpha units: lunacy {a, a, f}, plan {a, a}, Hardly {a, a}; n = 7, n_a = 6, n_f = 1.
    # Off-diagonal coincidences: o_af = o_fa = 2·1/(3-1) = 1. alpha = 1 - 6·2/(2·6·1) = 0.
    assert la.alpha == pytest.approx(0.0)
    assert la.alpha_units == 3


def test_undefined_values(files: Path) -> None:
    la = agreement([files]).layers["rhetorical_questions"]
    # A/B agree on the one question: F1 2·1/2 = 1; C has none: A/C and B/C 2·0/(1+0) = 0.
    assert pair_f1(agreement([files]), "rhetorical_questions", "strict") == {
        "A/B": 1.0,
        "A/C": 0.0,
        "B/C": 0.0,
    }
    # Kappa: A/B one pair with one label (p_e = 1) and no pairs with C: all undefined.
    assert [p.kappa for p in la.pairs] == [None, None, None] and la.kappa is None
    # Alpha: a single unit with a single value: no disagreement expected, undefined.
    assert la.alpha is None
    # No item at all in a layer for both annotators: F1 is undefined, and the mean skips it.
    (files / "C.jsonl").unlink()
    for name in ("A", "B"):
        path = files / f"{name}.jsonl"
        rec = json.loads(path.read_text())
        rec["rhetorical_questions"] = []
        path.write_text(json.dumps(rec) + "\n")
    r = agreement([files])
    assert r.layers["rhetorical_questions"].pairs[0].f1["strict"].f1 is None
    assert r.layers["rhetorical_questions"].f1["strict"] is None


def test_single_annotator_has_no_pairs(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "a.jsonl", [record(annotator="A"), record(doc_id="doc2", annotator="A")])
    r = agreement([tmp_path])
    assert (r.documents, r.shared_documents) == (2, 0)
    assert all(la.pairs == [] and la.f1["strict"] is None and la.alpha is None for la in r.layers.values())
    assert "n/a" in r.to_markdown()


def test_pairs_only_count_documents_both_annotated(tmp_path: Path) -> None:
    # B did not annotate doc2; A's items there must not count as B's misses.
    write_jsonl(tmp_path / "a.jsonl", [record(annotator="A"), record(doc_id="doc2", annotator="A")])
    write_jsonl(tmp_path / "b.jsonl", [record(annotator="B")])
    pair = agreement([tmp_path]).layers["stances"].pairs[0]
    assert (pair.documents, pair.f1["strict"].a, pair.f1["strict"].b, pair.f1["strict"].f1) == (1, 1, 1, 1.0)


def test_cohen_kappa_textbook_example() -> None:
    # 50 items: both yes 20, A yes/B no 5, A no/B yes 10, both no 15.
    # p_o = 35/50 = 0.7; p_A(yes) = 25/50, p_B(yes) = 30/50; p_e = .5·.6 + .5·.4 = 0.5;
    # kappa = (0.7 - 0.5)/(1 - 0.5) = 0.4
    kappa, observed = cohen_kappa(Counter({("y", "y"): 20, ("y", "n"): 5, ("n", "y"): 10, ("n", "n"): 15}))
    assert kappa == pytest.approx(0.4) and observed == pytest.approx(0.7)
    assert cohen_kappa(Counter()) == (None, None)


def test_renderings(files: Path) -> None:
    r = agreement([files])
    data = json.loads(r.to_json())
    assert data["layers"]["stances"]["f1"]["strict"] == pytest.approx(1.7 / 3)
    assert data["layers"]["stances"]["pairs"][0]["f1"]["strict"] == {"matched": 1, "a": 3, "b": 2, "f1": 0.4}
    md = r.to_markdown().splitlines()
    assert md[0].startswith("| Layer | Span F1 strict |")
    assert md[4] == "| stances (polarity) | 0.567 | 0.700 | 0.267 | 0.400 | 0.267 | 0.400 | 0.000 | 0.000 |"
    assert "| A | 1 | 2 | 3 |" in md
    text = r.to_text()
    assert "stances (label: polarity)" in text and "A / B (1 doc)" in text


def test_errors(tmp_path: Path) -> None:
    bad = record(annotator="A")
    bad["stances"][0]["polarity"] = "pro"
    write_jsonl(tmp_path / "a.jsonl", [bad])
    with pytest.raises(InvalidInputError):
        agreement([tmp_path])
    with pytest.raises(CorpusToolsError):
        agreement([tmp_path], overlap=1.5)
    with pytest.raises(CorpusToolsError):
        agreement([tmp_path / "missing"])


def _read(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_after_adjudication_each_annotator_is_paired_with_gold(files: Path, tmp_path_factory: Any) -> None:
    # A's pass renamed `gold`, as if adjudication had kept exactly that pass.
    out = tmp_path_factory.mktemp("gold") / "gold.jsonl"
    gold = write_jsonl(out, [{**r, "annotator": "gold"} for r in _read(files / "A.jsonl")])
    before = agreement([files])
    after = agreement([files], gold=[gold])
    assert after.gold == "gold"
    # Pairs are (annotator, gold): A is gold, so A/gold is 1.0; B/gold and C/gold are A/B and A/C.
    assert pair_f1(after, "stances", "strict") == pytest.approx({"A/gold": 1.0, "B/gold": 0.4, "C/gold": 0.8})
    assert pair_f1(before, "stances", "strict")["A/B"] == pair_f1(after, "stances", "strict")["B/gold"]
    assert after.layers["stances"].f1["strict"] == pytest.approx((1.0 + 0.4 + 0.8) / 3)
    assert after.layers["stances"].alpha is None and after.layers["stances"].alpha_units == 0
    assert "each paired with gold" in after.to_markdown()


def test_documents_can_be_left_out_or_chosen(tmp_path: Path) -> None:
    docs = {
        "d1": [record(doc_id="d1", annotator=a) for a in ("A", "B")],
        "d2": [record(doc_id="d2", annotator="A"), record(doc_id="d2", annotator="B", stances=[])],
    }
    path = write_jsonl(tmp_path / "all.jsonl", [r for recs in docs.values() for r in recs])
    everything, without, alone = (
        agreement([path]),
        agreement([path], exclude={"d2"}),
        agreement([path], only={"d2"}),
    )
    assert (everything.shared_documents, without.shared_documents, alone.shared_documents) == (2, 1, 1)
    assert without.layers["stances"].f1["strict"] == 1.0  # d1: both annotators agree
    assert alone.layers["stances"].f1["strict"] == 0.0  # d2: B has no stance
    assert without.excluded == ["d2"] and alone.excluded == ["only: d2"]


def test_gold_must_be_merged_from_the_annotations(files: Path, tmp_path_factory: Any) -> None:
    rec = _read(files / "A.jsonl")[0]
    other = {
        **rec,
        "annotator": "gold",
        "text": rec["text"] + " ",
        "rhetorical_questions": [],
        "attributions": [],
        "stances": [],
    }
    with pytest.raises(CorpusToolsError, match="gold text differs"):
        agreement([files], gold=[write_jsonl(tmp_path_factory.mktemp("g") / "gold.jsonl", [other])])
    two = [{**rec, "annotator": "gold"}, {**rec, "doc_id": "other", "annotator": "gold2"}]
    with pytest.raises(CorpusToolsError, match="one annotator name"):
        agreement([files], gold=[write_jsonl(tmp_path_factory.mktemp("h") / "gold.jsonl", two)])


def test_a_pass_named_gold_is_refused_and_gold_is_given_with_gold(files: Path, tmp_path_factory: Any) -> None:
    gold = write_jsonl(
        tmp_path_factory.mktemp("gold") / "gold.jsonl",
        [{**r, "annotator": "gold"} for r in _read(files / "A.jsonl")],
    )
    with pytest.raises(InvalidInputError) as info:  # gold among the passes
        agreement([files, gold])
    assert {(p.code, p.file, p.line) for p in info.value.report.problems} == {
        ("reserved-annotator", str(gold), 1)
    }
    assert agreement([files], gold=[gold]).gold == "gold"  # where gold belongs
