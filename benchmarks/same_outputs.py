"""Check that a speed-up changed no output: two versions of the package, byte for byte.

Runs `corpus validate` (JSON report, every problem listed; one process and `--jobs 2`) and
`corpus merge` (`--match exact` and `--match overlap`) with this checkout and with an earlier
revision, and compares what each wrote and its exit status, on:

- generated files of both shapes (`generate.SHAPES`), valid and with a share of broken lines,
  one and three annotators each, and two files together (the checks across files);
- every file of `tests/data/` (one fixture per problem code), and the bundled corpus
  (`annotations/` with the alias file, merged with the adjudication log).

Example:
    python benchmarks/same_outputs.py --before HEAD~1
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from generate import SHAPES, generate
from harness import checkout

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def run(tree: Path, args: list[str], scratch: Path) -> bytes:
    """`corpus ARGS` with the package imported from `tree`: exit status, stdout and stderr.

    The working folder is a scratch folder, so that `python -m` does not import this checkout
    first; inputs and outputs are absolute paths, the same for both versions.
    """
    env = {**os.environ, "PYTHONPATH": str(tree), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    env.pop("CORPUS_TOOLS_LAYERS", None)
    done = subprocess.run(
        [sys.executable, "-m", "corpus_tools", *args], cwd=scratch, env=env, capture_output=True
    )
    if b"Traceback (most recent call last)" in done.stderr:  # the command never prints one
        raise SystemExit(f"the package in {tree} cannot run `corpus {args[0]}`:\n{done.stderr.decode()}")
    return b"exit %d\n" % done.returncode + done.stdout + b"\n--stderr--\n" + done.stderr


def cases(data: Path, docs: int) -> list[tuple[str, list[str], list[str]]]:
    """`(name, corpus arguments, output file names)` of every comparison."""
    out: list[tuple[str, list[str], list[str]]] = []
    gen: dict[str, Path] = {}
    for shape, size in SHAPES.items():
        n = docs * 4000 // size
        for annotators in (1, 3):
            for broken in (0.0, 0.05):
                name = f"{shape}-{annotators}x-{'broken' if broken else 'valid'}"
                path = data / f"{name}.jsonl"
                if not path.exists():
                    generate(path, n, annotators=annotators, broken=broken, seed=7, size=size)
                gen[name] = path
    # A second file with the first one's documents: duplicate records and (some) text drift.
    drift = data / "long-1x-drift.jsonl"
    if not drift.exists():
        generate(drift, docs // 2, broken=0.05, seed=8)
    for name, path in gen.items():
        for jobs in ("1", "2"):
            out.append(
                (
                    f"validate {name} --jobs {jobs}",
                    ["validate", str(path), "-f", "json", "--max-problems", "0", "-j", jobs],
                    [],
                )
            )
        out.append((f"validate {name} (text, capped)", ["validate", str(path)], []))
    out.append(
        (
            "validate two files (across files)",
            ["validate", str(gen["long-1x-broken"]), str(drift), "-f", "json", "--max-problems", "0"],
            [],
        )
    )
    for fixture in sorted((ROOT / "tests" / "data").glob("*/*.jsonl")):
        out.append((f"validate {fixture.relative_to(ROOT)}", ["validate", str(fixture), "-f", "json"], []))
    corpus = ["validate", str(ROOT / "annotations"), "-f", "json", "--max-problems", "0"]
    aliases = ROOT / "documents" / "aliases.jsonl"
    if aliases.exists():
        corpus += ["--aliases", str(aliases)]
    out.append(("validate annotations/", corpus, []))
    merges = [gen["long-3x-valid"], gen["short-3x-valid"], ROOT / "tests" / "data" / "valid"]
    for path in merges:
        for match in ("exact", "overlap"):
            out.append(
                (
                    f"merge {path.name} --match {match}",
                    [
                        "merge",
                        str(path),
                        "-o",
                        "{out}/gold.jsonl",
                        "-c",
                        "{out}/conflicts.jsonl",
                        "--match",
                        match,
                    ],
                    ["gold.jsonl", "conflicts.jsonl"],
                )
            )
    decisions = ROOT / "adjudication" / "decisions.jsonl"
    for match in ("exact", "overlap"):
        out.append(
            (
                f"merge annotations/ --decisions --match {match}",
                [
                    "merge",
                    str(ROOT / "annotations"),
                    "-o",
                    "{out}/gold.jsonl",
                    "-c",
                    "{out}/conflicts.jsonl",
                    "-d",
                    str(decisions),
                    "--match",
                    match,
                ],
                ["gold.jsonl", "conflicts.jsonl"],
            )
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="HEAD", help="the revision to compare with (default HEAD)")
    parser.add_argument("--docs", type=int, default=2000, help="long documents per generated file")
    args = parser.parse_args()
    data = HERE / "data" / f"same-outputs-{args.docs}"
    data.mkdir(parents=True, exist_ok=True)
    differ = 0
    with tempfile.TemporaryDirectory(prefix="same-outputs-") as tmp:
        scratch = Path(tmp)
        before = checkout(args.before, scratch / "before")
        trees = {"before": before, "after": ROOT}
        for name, argv, outputs in cases(data, args.docs):
            results = {}
            for label, tree in trees.items():
                out = scratch / label / "out"
                shutil.rmtree(out, ignore_errors=True)
                out.mkdir(parents=True)
                got = run(tree, [a.replace("{out}", str(out)) for a in argv], scratch)
                results[label] = [got.replace(str(out).encode(), b"{out}")] + [
                    (out / f).read_bytes() if (out / f).exists() else b"(missing)" for f in outputs
                ]
            same = results["before"] == results["after"]
            differ += not same
            print(f"{'same' if same else 'DIFFERENT'}: {name}", flush=True)
    print(f"{differ} difference(s)")
    raise SystemExit(1 if differ else 0)


if __name__ == "__main__":
    main()
