"""Matching across annotators: the fast paths give exactly what the general algorithm gives."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from corpus_tools.matching import MatchMode, cluster, cluster_exact, match_pairs, span_score

SPAN = st.integers(0, 12).flatmap(lambda s: st.integers(s + 1, s + 6).map(lambda e: (s, e)))
ITEM = st.tuples(SPAN, st.sampled_from("abc"))  # (span, label)
PER_ANNOTATOR = st.dictionaries(
    st.sampled_from(["ann-a", "ann-b", "ann-c", "ann-d"]), st.lists(ITEM, max_size=6).map(sorted), min_size=1
)


def _tiebreak(x: Any, y: Any) -> float:
    return float(x[1] == y[1])


@settings(max_examples=300, deadline=None)
@given(PER_ANNOTATOR)
def test_cluster_exact_equals_cluster_with_exact_scores(per_annotator: dict[str, list[Any]]):
    def exact(x: Any, y: Any) -> float | None:
        return span_score(x[0], y[0], "exact", 0.5)

    expected = cluster(per_annotator, exact, _tiebreak)
    assert cluster_exact(per_annotator, lambda it: it[0], _tiebreak) == expected


@settings(max_examples=300, deadline=None)
@given(
    st.lists(ITEM, max_size=8).map(sorted),
    st.lists(ITEM, max_size=8).map(sorted),
    st.sampled_from(["exact", "overlap"]),
    st.sampled_from([0.1, 0.5, 1.0]),
)
def test_interval_pruning_changes_no_pairing(a: list[Any], b: list[Any], mode: MatchMode, overlap: float):
    def score(x: Any, y: Any) -> float | None:
        return span_score(x[0], y[0], mode, overlap)

    pruned = match_pairs(a, b, score, _tiebreak, bounds=lambda it: it[0])
    assert pruned == match_pairs(a, b, score, _tiebreak)


@settings(max_examples=200, deadline=None)
@given(PER_ANNOTATOR, st.sampled_from([0.1, 0.5]))
def test_cluster_pruning_changes_no_cluster(per_annotator: dict[str, list[Any]], overlap: float):
    def score(x: Any, y: Any) -> float | None:
        return span_score(x[0], y[0], "overlap", overlap)

    pruned = cluster(per_annotator, score, _tiebreak, bounds=lambda it: it[0])
    assert pruned == cluster(per_annotator, score, _tiebreak)
