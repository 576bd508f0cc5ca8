"""Benchmark the command line's start-up and `corpus build` on the bundled corpus.

Start-up is what a user waits for on a small file: `corpus validate` on a one-line file, less a
bare `python -c "import pydantic"` (the floor every run pays). It also lists which heavy modules
importing the CLI and validating one line loads (none of numpy, pyarrow, datasets, krippendorff,
huggingface_hub or langcodes should be).

Example:
    python benchmarks/bench_startup.py --repeat 7
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import environment

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
HEAVY = ("numpy", "pyarrow", "datasets", "krippendorff", "huggingface_hub", "langcodes")
ENV = environment()


def timed(cmd: list[str], repeat: int, cwd: Path | None = None) -> float:
    """Median wall time of `repeat` runs of a command (after one warm-up run)."""
    subprocess.run(cmd, check=True, capture_output=True, env=ENV, cwd=cwd)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, env=ENV, cwd=cwd)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def heavy_modules(line_file: Path) -> list[str]:
    """The heavy modules loaded by importing the CLI and validating one line."""
    code = (
        "import sys\nfrom corpus_tools.cli import app\n"
        f"try:\n    app(['validate', {str(line_file)!r}])\nexcept SystemExit:\n    pass\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, env=ENV)
    return json.loads(out.stdout.strip().splitlines()[-1].replace("'", '"'))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--build", action="store_true", help="also time `corpus build` on the bundled corpus")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "tests"))
    from factory import record, write_jsonl

    with tempfile.TemporaryDirectory() as tmp:
        line = write_jsonl(Path(tmp) / "one.jsonl", [record()])
        floor = timed([sys.executable, "-c", "import pydantic"], args.repeat)
        validate = timed([sys.executable, "-m", "corpus_tools", "validate", str(line)], args.repeat)
        heavy = heavy_modules(line)
        print(f"python -c 'import pydantic': {floor:.3f} s")
        print(
            f"corpus validate (one line):  {validate:.3f} s; start-up beyond pydantic {validate - floor:.3f} s"
        )
        print(f"heavy modules loaded: {', '.join(heavy) or 'none'}")
        if args.build:
            project = Path(tmp) / "project"
            shutil.copytree(
                ROOT, project, ignore=shutil.ignore_patterns(".venv", ".git", "out", "benchmarks")
            )
            build = timed(
                [sys.executable, "-m", "corpus_tools", "build"], max(1, args.repeat // 3), cwd=project
            )
            print(f"corpus build (bundled corpus): {build:.2f} s")


if __name__ == "__main__":
    main()
