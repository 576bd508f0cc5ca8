"""Benchmark `corpus merge` and `corpus split`: linear growth, and time relative to validate.

Both commands validate their input first and then read it again, so a fair bound is a small
multiple of `corpus validate` on the same files. Growth is measured at two sizes, 10x apart.
Merge is measured with exact matching (the default) and with `--match overlap`, which clusters
items by Jaccard overlap.

Example:
    python benchmarks/bench_pipeline.py --docs 1000 --shape long
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Callable
from pathlib import Path

from generate import SHAPES, generate
from harness import approach, mb, measure_many

HERE = Path(__file__).resolve().parent


@approach("validate")
def validate(args: list[str]) -> Callable[[], None]:
    """`corpus validate` on the annotator file (its modules imported in the setup, as merge's)."""
    from corpus_tools.validate import validate as run_validate

    return lambda: run_validate([args[0]])


@approach("merge")
def merge(args: list[str]) -> Callable[[], None]:
    """`corpus merge` of three annotators into gold plus conflicts."""
    from corpus_tools.merge import merge as run_merge

    out = Path(tempfile.mkdtemp())
    return lambda: run_merge([args[0]], output=out / "gold.jsonl", conflicts=out / "conflicts.jsonl")


@approach("merge-overlap")
def merge_overlap(args: list[str]) -> Callable[[], None]:
    """`corpus merge --match overlap`: items clustered by Jaccard overlap of their spans."""
    from corpus_tools.merge import merge as run_merge

    out = Path(tempfile.mkdtemp())
    return lambda: run_merge(
        [args[0]], output=out / "gold.jsonl", conflicts=out / "conflicts.jsonl", match="overlap"
    )


@approach("split")
def split(args: list[str]) -> Callable[[], None]:
    """`corpus split` of the annotator file (every annotator's line of a document together)."""
    from corpus_tools.split import split as run_split

    out = Path(tempfile.mkdtemp()) / "splits"
    return lambda: run_split([args[0]], output=out, seed=1)


COMMANDS = {
    "validate": "validate",
    "merge": "merge",
    "merge-overlap": "merge --match overlap",
    "split": "split",
}


def data_file(shape: str, docs: int) -> Path:
    """The generated file of `docs` documents of a shape, three annotators each."""
    data = HERE / "data" / f"pipeline-{shape}-{docs}x3.jsonl"
    if not data.exists():
        generate(data, docs, annotators=3, size=SHAPES[shape])
    return data


def run(docs: int, repeat: int, shape: str = "long") -> dict[str, dict[int, dict[str, float]]]:
    """Time the commands at `docs` and `10 * docs` documents of three annotators."""
    results: dict[str, dict[int, dict[str, float]]] = {}
    for n in (docs, docs * 10):
        data = data_file(shape, n)
        measured = measure_many(
            {name: ("bench_pipeline", name, [str(data)], None) for name in COMMANDS}, repeat
        )
        for name, m in measured.items():
            results.setdefault(name, {})[n] = {**m, "mb": mb(data)}
    return results


def print_table(
    results: dict[str, dict[int, dict[str, float]]], small: int, large: int, shape: str = "long"
) -> None:
    """A Markdown table: time at both sizes, growth, and the ratio to validate's time."""
    print(f"\n### merge and split: {small} and {large} {shape} documents, 3 annotators each\n")
    print(
        f"| command | s at {small} | s at {large} | growth for 10x data | x validate's time "
        f"at {large} | peak MiB at {large} |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    base = results["validate"][large]["seconds"]
    for name, by_size in results.items():
        a, b = by_size[small], by_size[large]
        print(
            f"| corpus {COMMANDS[name]} | {a['seconds']:.2f} | {b['seconds']:.2f} | "
            f"{b['seconds'] / a['seconds']:.1f}x | {b['seconds'] / base:.2f} | {b['peak_mib']:.0f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", choices=sorted(SHAPES), default="long", help="document size")
    parser.add_argument("--docs", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print_table(run(args.docs, args.repeat, args.shape), args.docs, args.docs * 10, args.shape)


if __name__ == "__main__":
    main()
