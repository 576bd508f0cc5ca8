"""Benchmark `corpus validate` against the JSON parse limit and the naive alternatives.

Example:
    python benchmarks/bench_validate.py --docs 20000
"""

from __future__ import annotations

import argparse
import itertools
from collections.abc import Callable
from pathlib import Path

from generate import generate
from harness import approach, mb, measure

HERE = Path(__file__).resolve().parent


@approach("parse-limit")
def parse_limit(args: list[str]) -> Callable[[], None]:
    """orjson.loads of every line: no validation at all, the ceiling for any validator."""
    import orjson

    def work() -> None:
        with open(args[0], "rb") as f:
            for line in f:
                orjson.loads(line)

    return work


@approach("pydantic-naive")
def pydantic_naive(args: list[str]) -> Callable[[], None]:
    """jsonlines + Pydantic model_validate(dict) + the span and reference rules, line by line."""
    import jsonlines

    from corpus_tools.rules import check_record
    from corpus_tools.schema import Record

    def work() -> None:
        with jsonlines.open(args[0]) as reader:
            for obj in reader:
                Record.model_validate(obj)
                list(check_record(obj))

    return work


@approach("jsonschema")
def jsonschema_validate(args: list[str]) -> Callable[[], None]:
    """jsonschema with the schema exported from the models (no offset or reference checks)."""
    import json

    import jsonschema

    from corpus_tools.schema import json_schema

    validator = jsonschema.Draft202012Validator(json_schema())

    def work() -> None:
        with open(args[0], "rb") as f:
            for line in f:
                list(validator.iter_errors(json.loads(line)))

    return work


@approach("corpus-validate")
def corpus_validate(args: list[str]) -> Callable[[], None]:
    """`corpus validate` as the library runs it: all checks on, `--jobs` from the arguments."""
    import corpus_tools

    def work() -> None:
        report = corpus_tools.validate([args[0]], jobs=int(args[1]))
        assert report.valid and report.summary.records > 0

    return work


def run(docs: int, repeat: int = 3) -> dict[str, dict[str, float]]:
    """Measure every approach on the same generated file; return MB/s, ratios and memory."""
    data = HERE / "data" / f"validate-{docs}.jsonl"
    if not data.exists():
        generate(data, docs)
    # jsonschema is ~60x slower: measure it on a prefix of the file and report its MB/s.
    small = HERE / "data" / f"validate-{docs}-head.jsonl"
    if not small.exists():
        with open(data, "rb") as src, open(small, "wb") as dst:
            dst.writelines(itertools.islice(src, max(1, docs // 20)))
    rows = {
        "orjson.loads per line (the parse limit)": ("parse-limit", [str(data)], data),
        "jsonlines + Pydantic model_validate + rules": ("pydantic-naive", [str(data)], data),
        "jsonschema (schema exported from the models)": ("jsonschema", [str(small)], small),
        "corpus validate": ("corpus-validate", [str(data), "1"], data),
        "corpus validate --jobs 2": ("corpus-validate", [str(data), "2"], data),
    }
    results = {}
    for label, (name, args, path) in rows.items():
        m = measure("bench_validate", name, args, repeat)
        results[label] = {**m, "mb_per_s": mb(path) / m["seconds"]}
    limit = results["orjson.loads per line (the parse limit)"]["mb_per_s"]
    for r in results.values():
        r["share_of_limit"] = r["mb_per_s"] / limit
    return results


def print_table(title: str, results: dict[str, dict[str, float]]) -> None:
    """A Markdown table of throughput, share of the parse limit and peak memory."""
    print(f"\n### {title}\n")
    print("| approach | MB/s | share of the parse limit | peak MiB |")
    print("|---|---:|---:|---:|")
    for label, r in results.items():
        print(f"| {label} | {r['mb_per_s']:.0f} | {r['share_of_limit']:.2f} | {r['peak_mib']:.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    results = run(args.docs, args.repeat)
    print_table(f"validate: {args.docs} documents", results)
    ours = results["corpus validate"]
    js = results["jsonschema (schema exported from the models)"]
    print(
        f"\ncorpus validate is {ours['mb_per_s'] / js['mb_per_s']:.0f}x jsonschema and "
        f"{ours['mb_per_s'] / results['jsonlines + Pydantic model_validate + rules']['mb_per_s']:.1f}x "
        "the naive Pydantic loop"
    )


if __name__ == "__main__":
    main()
