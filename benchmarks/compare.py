"""Before and after: the performance figures of this checkout and of an earlier revision, in one run.

For each document shape (`generate.SHAPES`), on the same generated files:

- `corpus validate` in one process and with `--jobs 2`, as a share of the parse limit
  (`orjson.loads` of every line of the same file, measured in the same run);
- `corpus merge --match overlap` on a file of three annotators per document, as a multiple of
  `corpus validate`'s time on that file;
- the peak memory of each;

and the start-up: `corpus validate` of a one-line file from the command line. Every figure is a
median of `--repeat` runs, the runs of both versions interleaved. The revision's package is
taken from git (`git archive`), so the working tree is what "after" measures.

Example:
    python benchmarks/compare.py --before 829e143 --repeat 5
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import bench_pipeline
import bench_validate

from generate import SHAPES
from harness import checkout, environment, mb, measure_many

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def startup(trees: dict[str, Path | None], repeat: int) -> dict[str, float]:
    """Median wall time of `corpus validate` on a one-line file, from the command line."""
    sys.path.insert(0, str(ROOT / "tests"))
    from factory import record, write_jsonl

    times: dict[str, list[float]] = {label: [] for label in trees}
    with tempfile.TemporaryDirectory() as tmp:
        line = write_jsonl(Path(tmp) / "one.jsonl", [record()])
        cmd = [sys.executable, "-m", "corpus_tools", "validate", str(line)]
        for tree in trees.values():  # a first run of each, not timed: the bytecode cache
            subprocess.run(cmd, check=True, capture_output=True, env=environment(tree), cwd=tmp)
        for _ in range(repeat):
            for label, tree in trees.items():
                start = time.perf_counter()
                subprocess.run(cmd, check=True, capture_output=True, env=environment(tree), cwd=tmp)
                times[label].append(time.perf_counter() - start)
    return {label: statistics.median(ts) for label, ts in times.items()}


def shape_figures(
    shape: str, docs: int, pipeline_docs: int, trees: dict[str, Path | None], repeat: int
) -> dict[str, dict[str, float]]:
    """The figures of one shape, by version: shares of the parse limit, merge / validate, peaks."""
    data = bench_validate.data_file(shape, docs)
    three = bench_pipeline.data_file(shape, pipeline_docs)
    specs: dict[str, tuple[str, str, list[str], Path | None]] = {
        "parse": ("bench_validate", "parse-limit", [str(data)], None)
    }
    for label, tree in trees.items():
        specs[f"{label} validate"] = ("bench_validate", "corpus-validate", [str(data), "1"], tree)
        specs[f"{label} validate2"] = ("bench_validate", "corpus-validate", [str(data), "2"], tree)
        specs[f"{label} validate3x"] = ("bench_pipeline", "validate", [str(three)], tree)
        specs[f"{label} overlap"] = ("bench_pipeline", "merge-overlap", [str(three)], tree)
    m = measure_many(specs, repeat)
    parse = m["parse"]["seconds"]
    out: dict[str, dict[str, float]] = {}
    for label in trees:
        out[label] = {
            "mb": mb(data),
            "mb3": mb(three),
            "parse_s": parse,
            "validate_s": m[f"{label} validate"]["seconds"],
            "validate2_s": m[f"{label} validate2"]["seconds"],
            "share1": parse / m[f"{label} validate"]["seconds"],
            "share2": parse / m[f"{label} validate2"]["seconds"],
            "share1_cpu": m["parse"]["cpu_seconds"] / m[f"{label} validate"]["cpu_seconds"],
            "overlap_x": m[f"{label} overlap"]["seconds"] / m[f"{label} validate3x"]["seconds"],
            "peak1": m[f"{label} validate"]["peak_mib"],
            "peak2": m[f"{label} validate2"]["peak_mib"],
            "peak_overlap": m[f"{label} overlap"]["peak_mib"],
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, help="the git revision to compare with")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--long-docs", type=int, default=bench_validate.DOCS["long"])
    parser.add_argument("--short-docs", type=int, default=bench_validate.DOCS["short"])
    args = parser.parse_args()
    docs = {"long": args.long_docs, "short": args.short_docs}
    with tempfile.TemporaryDirectory(prefix="compare-") as tmp:
        trees: dict[str, Path | None] = {"before": checkout(args.before, Path(tmp)), "after": None}
        figures = {
            shape: shape_figures(shape, docs[shape], docs[shape] // 4, trees, args.repeat) for shape in SHAPES
        }
        start = startup(trees, max(args.repeat, 7))
    print(f"\nbefore: {args.before}; after: the working tree; medians of {args.repeat} runs\n")
    print("| | before | after |")
    print("|---|---:|---:|")
    for shape, by in figures.items():
        b, a = by["before"], by["after"]
        three = f"{docs[shape] // 4:,} x 3"
        rows = [
            ("validate, 1 process: share of the parse limit (wall; CPU)", "share1", ".2f"),
            ("validate --jobs 2: share of the parse limit", "share2", ".2f"),
            (f"merge --match overlap ({three}): x validate's time", "overlap_x", ".2f"),
            ("peak MiB: validate, 1 process", "peak1", ".0f"),
            ("peak MiB: validate --jobs 2", "peak2", ".0f"),
            ("peak MiB: merge --match overlap", "peak_overlap", ".0f"),
        ]
        print(
            f"| **{shape}**: {docs[shape]:,} documents, {b['mb']:.0f} MB; parse limit {b['parse_s']:.2f} s | | |"
        )
        for text, key, fmt in rows:
            before, after = format(b[key], fmt), format(a[key], fmt)
            if key == "share1":
                before += f" ({b['share1_cpu']:.2f})"
                after += f" ({a['share1_cpu']:.2f})"
            print(f"| {text} | {before} | {after} |")
    print(f"| start-up: `corpus validate` of one line (s) | {start['before']:.2f} | {start['after']:.2f} |")


if __name__ == "__main__":
    main()
