"""Run every benchmark and print the figures as Markdown tables (`make bench`).

The default sizes take a few minutes on a 2-core machine once the data is generated (the
data is kept in benchmarks/data/ for later runs). `--docs N` scales all of them: the validate
and publish benchmarks use N long documents (3N short ones, about the same megabytes), merge and
split N/10 and N long documents of three annotators each (3N/10 and 3N short ones).
`benchmarks/compare.py` gives the before-and-after figures of a change.

Example:
    python benchmarks/run_all.py --docs 20000
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_pipeline
import bench_publish
import bench_validate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    started = time.perf_counter()
    print(
        f"Python {platform.python_version()} on {platform.machine()}, "
        f"median of {args.repeat} run(s); figures from one run are comparable, "
        "absolute speeds depend on the machine and its load."
    )

    for shape, factor in (("long", 1), ("short", 3)):
        docs = args.docs * factor
        results = bench_validate.run(docs, args.repeat, shape)
        bench_validate.print_table(f"validate: {docs} {shape} documents", results)
        ours = results["corpus validate"]
        print(
            f"\ncorpus validate: {ours['mb_per_s'] / results['jsonschema (schema exported from the models)']['mb_per_s']:.0f}x "
            "jsonschema, "
            f"{ours['mb_per_s'] / results['jsonlines + Pydantic model_validate + rules']['mb_per_s']:.1f}x "
            "the naive Pydantic loop"
        )
        small = max(1, docs // 10)
        pipeline = bench_pipeline.run(small, args.repeat, shape)
        bench_pipeline.print_table(pipeline, small, small * 10, shape)

    published = bench_publish.run(args.docs, args.repeat)
    bench_publish.print_table(args.docs, published)
    print(f"\n(all benchmarks: {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
