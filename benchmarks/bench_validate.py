"""Benchmark `corpus validate` against the JSON parse limit and the naive alternatives.

The parse limit is `orjson.loads` of every line of the same file; each approach's figure is its
throughput as a share of that limit, measured in the same run. Two document shapes
(`generate.SHAPES`): `long` (about 7.9 KB a line) and `short` (about 2.5 KB, news items).

Example:
    python benchmarks/bench_validate.py --shape short --docs 60000
"""

from __future__ import annotations

import argparse
import itertools
from collections.abc import Callable
from pathlib import Path

from generate import SHAPES, generate
from harness import approach, mb, measure_many

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

    from corpus_tools.layers import Record
    from corpus_tools.validate.rules import check_record

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
    """`corpus validate` as the library runs it: all checks on, `--jobs` from the arguments.

    Its modules are imported in the setup, as every approach's are (start-up is measured on
    its own, by `bench_startup.py` and `compare.py`)."""
    from corpus_tools.validate import validate

    def work() -> None:
        report = validate([args[0]], jobs=int(args[1]))
        assert report.valid and report.summary.records > 0

    return work


DOCS = {"long": 20000, "short": 60000}
"""Documents per file by default: about 150 MB of either shape."""


def data_file(shape: str, docs: int) -> Path:
    """The generated file of `docs` documents of a shape (made on first use)."""
    data = HERE / "data" / f"validate-{shape}-{docs}.jsonl"
    if not data.exists():
        generate(data, docs, size=SHAPES[shape])
    return data


def run(docs: int, repeat: int = 3, shape: str = "long") -> dict[str, dict[str, float]]:
    """Measure every approach on the same generated file; return MB/s, ratios and memory."""
    data = data_file(shape, docs)
    # jsonschema is ~60x slower: measure it on a prefix of the file and report its MB/s.
    small = HERE / "data" / f"validate-{shape}-{docs}-head.jsonl"
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
    measured = measure_many(
        {label: ("bench_validate", name, args, None) for label, (name, args, _path) in rows.items()}, repeat
    )
    results = {}
    for label, (_name, _args, path) in rows.items():
        results[label] = {**measured[label], "mb_per_s": mb(path) / measured[label]["seconds"]}
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
    parser.add_argument("--shape", choices=sorted(SHAPES), default="long", help="document size")
    parser.add_argument("--docs", type=int, help="documents (default: about 150 MB of the shape)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    docs = args.docs or DOCS[args.shape]
    results = run(docs, args.repeat, args.shape)
    print_table(f"validate: {docs} {args.shape} documents", results)
    ours = results["corpus validate"]
    js = results["jsonschema (schema exported from the models)"]
    print(
        f"\ncorpus validate is {ours['mb_per_s'] / js['mb_per_s']:.0f}x jsonschema and "
        f"{ours['mb_per_s'] / results['jsonlines + Pydantic model_validate + rules']['mb_per_s']:.1f}x "
        "the naive Pydantic loop"
    )


if __name__ == "__main__":
    main()
