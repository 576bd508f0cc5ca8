"""Benchmark `corpus publish` against `datasets`' own path, `Dataset.from_generator` + `to_parquet`.

Both write the same split folder (made by `corpus split` from generated records) to parquet
with the same features (`corpus_tools.features`). `corpus publish` also writes the card and loads
the result back with `datasets` to verify it; the baseline does neither, so the comparison
flatters the baseline.

Example:
    python benchmarks/bench_publish.py --docs 20000
"""

from __future__ import annotations

import argparse
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from generate import generate
from harness import approach, mb, measure

HERE = Path(__file__).resolve().parent
SPLITS = ("train", "validation", "test")


@approach("from-generator")
def from_generator(args: list[str]) -> Callable[[], None]:
    """`datasets.Dataset.from_generator` per split, then `to_parquet`."""
    import datasets
    import orjson

    from corpus_tools.publish.features import features

    datasets.disable_progress_bars()
    split_dir, out = Path(args[0]), Path(tempfile.mkdtemp())

    def work() -> None:
        for name in SPLITS:

            def rows(path: Path = split_dir / f"{name}.jsonl"):
                with open(path, "rb") as f:
                    for line in f:
                        yield orjson.loads(line)

            ds = datasets.Dataset.from_generator(rows, features=features(), cache_dir=str(out / "cache"))
            ds.to_parquet(str(out / f"{name}.parquet"))

    return work


@approach("corpus-publish")
def corpus_publish(args: list[str]) -> Callable[[], None]:
    """`corpus publish`: streamed parquet, the card, and the verification by loading it back."""
    from corpus_tools.publish import publish

    split_dir, out = Path(args[0]), Path(tempfile.mkdtemp()) / "dataset"
    validate, jobs = args[1] != "trust", 2 if args[1] == "validate-jobs2" else 1
    return lambda: publish(split_dir, output=out, validate=validate, jobs=jobs)


def run(docs: int, repeat: int) -> dict[str, dict[str, float]]:
    """Measure both approaches on a split folder of `docs` generated documents."""
    split_dir = HERE / "data" / f"publish-{docs}-splits"
    if not split_dir.exists():
        from corpus_tools.split import split

        data = HERE / "data" / f"publish-{docs}.jsonl"
        generate(data, docs)
        tmp = Path(tempfile.mkdtemp(dir=HERE / "data"))
        split([data], output=tmp, seed=1)
        os.replace(tmp, split_dir)
        data.unlink()
    size = sum(mb(split_dir / f"{s}.jsonl") for s in SPLITS)
    rows = {
        "Dataset.from_generator + to_parquet": ("from-generator", [str(split_dir)]),
        "corpus publish (inputs already validated)": ("corpus-publish", [str(split_dir), "trust"]),
        "corpus publish (validating its inputs)": ("corpus-publish", [str(split_dir), "validate"]),
        "corpus publish --jobs 2 (validating in 2 processes)": (
            "corpus-publish",
            [str(split_dir), "validate-jobs2"],
        ),
    }
    results = {}
    for label, (name, args) in rows.items():
        m = measure("bench_publish", name, args, repeat)
        results[label] = {**m, "mb_per_s": size / m["seconds"]}
    base = results["Dataset.from_generator + to_parquet"]["mb_per_s"]
    for r in results.values():
        r["x_baseline"] = r["mb_per_s"] / base
    return results


def print_table(docs: int, results: dict[str, dict[str, float]]) -> None:
    """A Markdown table: throughput, ratio to the `datasets` baseline, peak memory."""
    print(f"\n### publish: {docs} documents\n")
    print("| approach | MB/s | x from_generator | peak MiB |")
    print("|---|---:|---:|---:|")
    for label, r in results.items():
        print(f"| {label} | {r['mb_per_s']:.0f} | {r['x_baseline']:.1f} | {r['peak_mib']:.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print_table(args.docs, run(args.docs, args.repeat))


if __name__ == "__main__":
    main()
