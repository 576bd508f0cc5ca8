"""Matching annotations across annotators: span overlap, one-to-one pairing, clusters.

Shared by `corpus merge` and `corpus agreement` so that both commands agree on what "the same
item" means. Items are matched by their layer's key span (`Layer.key_span`: a question's or a
stance's own span, an attribution's content span). Spans match exactly, or, leniently, when the Jaccard index of their code-point
ranges is at least a threshold (and above 0). Pairing is one-to-one and greedy: the candidate
pairs are taken best score first, ties broken by a similarity of the items' attributes and then
by the items' positions, so the result does not depend on the order of the input lines.
"""

from __future__ import annotations

import bisect
import functools
from collections import Counter
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from corpus_tools.schema import AUTHOR

if TYPE_CHECKING:
    from corpus_tools.layers import Layer

T = TypeVar("T")
A = TypeVar("A")
B = TypeVar("B")
Bounds = tuple[int, int]
MatchMode = Literal["exact", "overlap"]


def jaccard(a: Bounds, b: Bounds) -> float:
    """|a ∩ b| / |a ∪ b| of two half-open code-point ranges (0.0 when disjoint)."""
    inter = max(0, min(a[1], b[1]) - max(a[0], b[0]))
    union = (a[1] - a[0]) + (b[1] - b[0]) - inter
    return inter / union if union > 0 else 0.0


def span_score(a: Bounds, b: Bounds, mode: MatchMode, overlap: float) -> float | None:
    """How well two spans match (higher is better), or None when they do not match."""
    if mode == "exact":
        return 1.0 if a == b else None
    j = jaccard(a, b)
    return j if j > 0 and j >= overlap else None


def normalise(text: str | None) -> str | None:
    """Free-text values (`target`, `source_name`) as `corpus merge` votes on them: case- and
    spacing-insensitively.

    Merge keeps this looser comparison of its own: comparing targets as S7 does
    (`normalise_target`) would merge versions the adjudication log has decided as conflicts, and
    its decisions would no longer apply.
    """
    return None if text is None else " ".join(text.split()).casefold()


_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})


def fold(text: str) -> str:
    """Text as guideline S7 compares it: case-folded, straight apostrophes, whitespace collapsed
    (the validator folds a document's text this way to look a target up in it)."""
    return " ".join(text.translate(_APOSTROPHES).casefold().split())


def normalise_target(text: str) -> str:
    """A stance target (or another free-text value) as guideline S7 defines its identity:
    `fold`ed, with a leading "the" dropped, so `The US`, `the  US` and `US` are one target.

    The one normalisation of free text for the validator (`target-not-in-text`, the alias file),
    `corpus agreement`'s tuple F1 and `corpus evaluate`.
    """
    folded = fold(text)
    return folded[4:] if folded.startswith("the ") else folded


def similarity(layer: Layer, x: Any, y: Any) -> int:
    """How much two items of `layer` agree beyond their spans (`Layer.similarity`: the weight of
    each attribute they share); breaks ties between equal span scores.

    It only decides between candidate pairs whose spans match equally well, e.g. two stances of
    one annotator on the same span with different targets.
    """
    return sum(weight for same, weight in _comparators(layer) if same(x, y))


@functools.cache
def _comparators(layer: Layer) -> tuple[tuple[Callable[[Any, Any], bool], int], ...]:
    out = []
    for field, weight in layer.similarity:
        get = attrgetter(field)
        kind = layer.kind_of(field)
        if kind == "span":

            def same(x: Any, y: Any, get: Any = get) -> bool:
                return span_bounds(get(x)) == span_bounds(get(y))
        elif kind == "text":

            def same(x: Any, y: Any, get: Any = get) -> bool:
                return normalise(get(x)) == normalise(get(y))
        elif kind == "reference":
            # Ids differ across annotators: only whether both name the author can be compared.
            def same(x: Any, y: Any, get: Any = get) -> bool:
                return bool((get(x) == AUTHOR) == (get(y) == AUTHOR))
        else:

            def same(x: Any, y: Any, get: Any = get) -> bool:
                return bool(get(x) == get(y))

        out.append((same, weight))
    return tuple(out)


def span_bounds(span: Any) -> Bounds | None:
    """`(start, end)` of a span object, or None for an absent (optional) span."""
    return None if span is None else (span.start, span.end)


def match_pairs(
    a: Sequence[A],
    b: Sequence[B],
    score: Callable[[A, B], float | None],
    tiebreak: Callable[[A, B], float] | None = None,
    bounds: Callable[[A | B], Bounds] | None = None,
) -> list[tuple[int, int]]:
    """Pair items of `a` with items of `b` one-to-one, greedily by best score.

    Args:
        a, b: the items, each in a deterministic order (e.g. sorted by position).
        score: the match score of two items, None when they cannot be paired.
        tiebreak: higher wins among pairs with equal scores; then the lower index in `a`,
            then in `b`.
        bounds: the code-point range of an item. When given, only items whose ranges
            intersect are scored, so a long document costs O(n log n), not O(n^2). Only pass it
            when `score` is None for disjoint ranges (true of exact and overlap matching).

    Returns:
        The `(index in a, index in b)` pairs, sorted.
    """
    if bounds is None:
        return _greedy(a, b, score, tiebreak, None, None)
    return _greedy(a, b, score, tiebreak, [bounds(x) for x in a], [bounds(y) for y in b])


def _greedy(
    a: Sequence[A],
    b: Sequence[B],
    score: Callable[[A, B], float | None],
    tiebreak: Callable[[A, B], float] | None,
    bounds_a: Sequence[Bounds] | None,
    bounds_b: Sequence[Bounds] | None,
) -> list[tuple[int, int]]:
    """`match_pairs`, with the items' ranges given (or None, for no pruning)."""
    scored = []
    for i, j in _candidate_pairs(len(a), len(b), bounds_a, bounds_b):
        s = score(a[i], b[j])
        if s is not None:
            scored.append((-s, i, j))
    if tiebreak is not None and len(scored) > 1:
        # The tie-break orders pairs of equal score, and that order decides something only
        # between pairs that share an item: any other pair is taken (or not, if an item of it
        # went to a better pair) wherever it stands among its equals. So it is computed only
        # for pairs that share an item with another pair of their score.
        with_i = Counter((s, i) for s, i, _j in scored)
        with_j = Counter((s, j) for s, _i, j in scored)
        candidates = [
            (s, -tiebreak(a[i], b[j]) if with_i[s, i] > 1 or with_j[s, j] > 1 else 0, i, j)
            for s, i, j in scored
        ]
    else:
        candidates = [(s, 0, i, j) for s, i, j in scored]
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


def _candidate_pairs(
    na: int, nb: int, bounds_a: Sequence[Bounds] | None, bounds_b: Sequence[Bounds] | None
) -> Iterator[tuple[int, int]]:
    """Index pairs worth scoring: all of them, or those whose ranges intersect."""
    if bounds_a is None or bounds_b is None:
        yield from ((i, j) for i in range(na) for j in range(nb))
        return
    spans_b = sorted(zip(bounds_b, range(nb), strict=True))
    starts = [s for (s, _e), _j in spans_b]
    longest = max((e - s for (s, e), _j in spans_b), default=0)
    for i, (lo, hi) in enumerate(bounds_a):
        # y intersects x iff y.start < hi and y.end > lo; y.end <= y.start + longest.
        first = bisect.bisect_right(starts, lo - longest)
        last = bisect.bisect_left(starts, hi)
        for (_s, e), j in spans_b[first:last]:
            if e > lo:
                yield i, j


def cluster(
    per_annotator: Mapping[str, Sequence[T]],
    score: Callable[[T, T], float | None],
    tiebreak: Callable[[T, T], float] | None = None,
    bounds: Callable[[T], Bounds] | None = None,
    *,
    equal_bounds_first: bool = False,
) -> list[dict[str, T]]:
    """Group the items of several annotators into clusters of at most one item per annotator.

    Annotators are taken in sorted order; each one's items are paired one-to-one (greedily, as
    `match_pairs`) with the clusters built so far. An item can join a cluster only if it matches
    every member (complete linkage; the cluster's score is the lowest member score), so with
    lenient matching a cluster never chains spans that do not overlap each other. Items left
    unpaired start new clusters. `bounds` prunes candidates as in `match_pairs`; a cluster's
    range is the hull of its members', which any item matching every member intersects.

    `equal_bounds_first` (with `bounds`) says that two items with equal bounds score higher
    than any other pair, and equally (true of span matching, exact or by overlap). The greedy
    pairing then takes an item and a cluster whose members all have its bounds before any other
    pair, so those are paired directly, by bounds, and only what is left is scored: the usual
    case, annotators marking the same spans, costs a dictionary lookup per item.

    Returns:
        The clusters, each `{annotator: item}`, in order of creation.
    """
    clusters: list[dict[str, T]] = []
    hulls: list[Bounds] = []  # each cluster's range, kept up to date as members join
    # With `equal_bounds_first`: bounds -> the clusters all of whose members have those bounds.
    uniform: dict[Bounds, list[int]] = {}

    def cluster_score(c: dict[str, T], y: T) -> float | None:
        lowest = None
        for m in c.values():
            s = score(m, y)
            if s is None:
                return None
            if lowest is None or s < lowest:
                lowest = s
        return lowest

    cluster_tiebreak: Callable[[dict[str, T], T], float] | None = None
    if tiebreak is not None:
        each = tiebreak

        def cluster_tiebreak(c: dict[str, T], y: T) -> float:
            return sum(each(m, y) for m in c.values())

    for annotator in sorted(per_annotator):
        items = per_annotator[annotator]
        ranges = [bounds(y) for y in items] if bounds is not None else None
        pairs: list[tuple[int, int]] = []
        if not clusters:
            pass  # the first annotator's items start the clusters
        elif ranges is not None and equal_bounds_first:
            pairs = _equal_bounds_pairs(clusters, items, ranges, uniform, cluster_tiebreak)
            taken = {ci for ci, _j in pairs}
            done = {j for _ci, j in pairs}
            open_clusters = [ci for ci in range(len(clusters)) if ci not in taken]
            left = [j for j in range(len(items)) if j not in done]
            if open_clusters and left:
                rest = _greedy(
                    [clusters[ci] for ci in open_clusters],
                    [items[j] for j in left],
                    cluster_score,
                    cluster_tiebreak,
                    [hulls[ci] for ci in open_clusters],
                    [ranges[j] for j in left],
                )
                pairs += [(open_clusters[a], left[b]) for a, b in rest]
        else:
            pairs = _greedy(
                clusters, items, cluster_score, cluster_tiebreak, hulls if bounds else None, ranges
            )
        paired = set()
        for ci, j in pairs:
            clusters[ci][annotator] = items[j]
            if ranges is not None:
                (lo, hi), (start, end) = hulls[ci], ranges[j]
                hulls[ci] = (min(lo, start), max(hi, end))
                if equal_bounds_first and (lo, hi) != (start, end) and ci in uniform.get((lo, hi), ()):
                    uniform[lo, hi].remove(ci)  # a member with other bounds joined
            paired.add(j)
        for j, y in enumerate(items):
            if j not in paired:
                clusters.append({annotator: y})
                if ranges is not None:
                    hulls.append(ranges[j])
                    if equal_bounds_first:
                        uniform.setdefault(ranges[j], []).append(len(clusters) - 1)
    return clusters


def _equal_bounds_pairs(
    clusters: list[dict[str, T]],
    items: Sequence[T],
    ranges: list[Bounds],
    uniform: dict[Bounds, list[int]],
    cluster_tiebreak: Callable[[dict[str, T], T], float] | None,
) -> list[tuple[int, int]]:
    """The pairs of items and clusters with the same bounds that the greedy pairing takes first.

    Such pairs share the highest score, so the greedy order among them is the tie-break, then
    the cluster, then the item; and the tie-break is computed only where it decides, between
    pairs that share a cluster or an item (as in `_greedy`). Pairs with other bounds share
    neither, so each bounds is settled on its own.
    """
    by_bounds: dict[Bounds, list[int]] = {}
    for j, r in enumerate(ranges):
        if uniform.get(r):
            by_bounds.setdefault(r, []).append(j)
    pairs: list[tuple[int, int]] = []
    for r, js in by_bounds.items():
        cis = uniform[r]
        if len(cis) == 1 and len(js) == 1:
            pairs.append((cis[0], js[0]))
            continue
        candidates = sorted(
            (-cluster_tiebreak(clusters[ci], items[j]) if cluster_tiebreak is not None else 0, ci, j)
            for ci in cis
            for j in js
        )
        used_c: set[int] = set()
        used_j: set[int] = set()
        for _t, ci, j in candidates:
            if ci not in used_c and j not in used_j:
                used_c.add(ci)
                used_j.add(j)
                pairs.append((ci, j))
    return pairs


def cluster_exact(
    per_annotator: Mapping[str, Sequence[T]],
    key: Callable[[T], Hashable],
    tiebreak: Callable[[T, T], float] | None = None,
) -> list[dict[str, T]]:
    """`cluster` with exact matching, in linear time: items match when their keys are equal.

    The result is the one `cluster` gives when the score is 1 for equal keys and None otherwise
    (and `bounds` returns the key, a non-empty span as in every valid record): the same clusters
    in the same order. Since only equal keys pair, each key is settled on its own instead of
    scoring every candidate pair: one cluster and one item of that key (the usual case) pair
    directly; several are paired by the same greedy choice as `match_pairs` (the highest
    summed `tiebreak` over the cluster's members, then the earlier cluster, then the earlier
    item).

    Returns:
        The clusters, each `{annotator: item}`, in order of creation.
    """
    clusters: list[dict[str, T]] = []
    by_key: dict[Hashable, list[int]] = {}  # key -> indices of the clusters with it, oldest first
    for annotator in sorted(per_annotator):
        items = per_annotator[annotator]
        keys = [key(y) for y in items]
        groups: dict[Hashable, list[int]] = {}
        for j, k in enumerate(keys):
            groups.setdefault(k, []).append(j)
        paired: set[int] = set()
        for k, js in groups.items():
            found = by_key.get(k)
            if not found:
                continue
            if len(found) == 1 and len(js) == 1:
                clusters[found[0]][annotator] = items[js[0]]
                paired.add(js[0])
                continue
            candidates = sorted(
                (-(sum(tiebreak(m, items[j]) for m in clusters[ci].values()) if tiebreak else 0), ci, j)
                for ci in found
                for j in js
            )
            used: set[int] = set()
            for _t, ci, j in candidates:
                if ci not in used and j not in paired:
                    used.add(ci)
                    paired.add(j)
                    clusters[ci][annotator] = items[j]
        # Unpaired items start clusters, in item order, as in `cluster`.
        for j, y in enumerate(items):
            if j not in paired:
                by_key.setdefault(keys[j], []).append(len(clusters))
                clusters.append({annotator: y})
    return clusters
