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


# -- the greedy pairing as first written: every pair's tie-break computed, every hull recomputed.
# The library computes the tie-break only where it decides and keeps hulls up to date; both must
# give exactly these pairs and clusters.


def _reference_pairs(a: list[Any], b: list[Any], score: Any, tiebreak: Any) -> list[tuple[int, int]]:
    candidates = []
    for i, x in enumerate(a):
        for j, y in enumerate(b):
            s = score(x, y)
            if s is not None:
                candidates.append((-s, -(tiebreak(x, y) if tiebreak else 0), i, j))
    candidates.sort()
    used_a: set[int] = set()
    used_b: set[int] = set()
    pairs = []
    for _s, _t, i, j in candidates:
        if i not in used_a and j not in used_b:
            used_a.add(i)
            used_b.add(j)
            pairs.append((i, j))
    return sorted(pairs)


def _reference_cluster(
    per_annotator: dict[str, list[Any]], score: Any, tiebreak: Any
) -> list[dict[str, Any]]:
    clusters: list[dict[str, Any]] = []

    def cluster_score(c: dict[str, Any], y: Any) -> float | None:
        scores = [score(m, y) for m in c.values()]
        return None if None in scores else min(scores)

    def cluster_tiebreak(c: dict[str, Any], y: Any) -> float:
        return sum(tiebreak(m, y) for m in c.values())

    for annotator in sorted(per_annotator):
        items = per_annotator[annotator]
        pairs = _reference_pairs(clusters, items, cluster_score, cluster_tiebreak)
        for ci, j in pairs:
            clusters[ci][annotator] = items[j]
        paired = {j for _ci, j in pairs}
        clusters.extend({annotator: y} for j, y in enumerate(items) if j not in paired)
    return clusters


# Few positions and labels: many pairs of equal score sharing an item, where the tie-break decides.
CROWDED = st.lists(st.tuples(st.integers(0, 4).map(lambda s: (s, s + 2)), st.sampled_from("ab")), max_size=7)


@settings(max_examples=400, deadline=None)
@given(
    CROWDED.map(sorted),
    CROWDED.map(sorted),
    st.sampled_from(["exact", "overlap"]),
    st.sampled_from([0.1, 0.5]),
)
def test_pairs_are_those_of_the_plain_greedy_algorithm(
    a: list[Any], b: list[Any], mode: MatchMode, overlap: float
):
    def score(x: Any, y: Any) -> float | None:
        return span_score(x[0], y[0], mode, overlap)

    expected = _reference_pairs(a, b, score, _tiebreak)
    assert match_pairs(a, b, score, _tiebreak) == expected
    assert match_pairs(a, b, score, _tiebreak, bounds=lambda it: it[0]) == expected


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(st.sampled_from(["ann-a", "ann-b", "ann-c", "ann-d"]), CROWDED.map(sorted), min_size=1),
    st.sampled_from([0.1, 0.5]),
)
def test_clusters_are_those_of_the_plain_greedy_algorithm(
    per_annotator: dict[str, list[Any]], overlap: float
):
    def score(x: Any, y: Any) -> float | None:
        return span_score(x[0], y[0], "overlap", overlap)

    expected = _reference_cluster(per_annotator, score, _tiebreak)
    assert cluster(per_annotator, score, _tiebreak, bounds=lambda it: it[0]) == expected
    assert cluster(per_annotator, score, _tiebreak) == expected


@settings(max_examples=400, deadline=None)
@given(
    st.dictionaries(st.sampled_from(["ann-a", "ann-b", "ann-c", "ann-d"]), CROWDED.map(sorted), min_size=1)
    | PER_ANNOTATOR,
    st.sampled_from([0.1, 0.5, 1.0]),
)
def test_pairing_equal_spans_first_changes_no_cluster(per_annotator: dict[str, list[Any]], overlap: float):
    # Items on the same span as every member of a cluster are paired with it by span, before
    # any pair is scored: the clusters must be those of the plain greedy algorithm.
    def score(x: Any, y: Any) -> float | None:
        return span_score(x[0], y[0], "overlap", overlap)

    expected = _reference_cluster(per_annotator, score, _tiebreak)
    got = cluster(per_annotator, score, _tiebreak, bounds=lambda it: it[0], equal_bounds_first=True)
    assert got == expected
