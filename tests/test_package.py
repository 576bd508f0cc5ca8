"""The package's shape: its modules import each other without a cycle, the command line
starts without the heavy libraries only some commands need, and the tools that check it are the
same versions everywhere."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import corpus_tools

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

PACKAGE = Path(corpus_tools.__file__).parent
ROOT = Path(__file__).resolve().parent.parent


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in [*PACKAGE.rglob("*.py"), *PACKAGE.rglob("*.pyi")]}
"""Every module, the compiled ones by their stubs (which import nothing of the package)."""


def top_level_imports(path: Path) -> set[str]:
    """The package modules a module imports when it is itself imported: its module-level
    imports, outside `if TYPE_CHECKING:` blocks (imports inside functions run later)."""
    name = module_name(path)
    is_package = path.name == "__init__.py"
    found: set[str] = set()

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.If):
                test = node.test
                if isinstance(test, ast.Name) and test.id == "TYPE_CHECKING":
                    visit(node.orelse)
                    continue
                visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                for block in (node.body, node.orelse, node.finalbody, *(h.body for h in node.handlers)):
                    visit(block)
            elif isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = name.split(".") if is_package else name.split(".")[:-1]
                    anchor = anchor[: len(anchor) - node.level + 1]
                    base = ".".join([*anchor, *([base] if base else [])])
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    found.add(sub if sub in MODULES else base)

    visit(ast.parse(path.read_text(encoding="utf-8")).body)
    return {m for m in found if m in MODULES and m != name}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def walk(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (cycle := walk(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := walk(node)):
            return cycle
    return None


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_package_imports_have_no_cycle():
    graph = {name: top_level_imports(path) for name, path in MODULES.items()}
    assert graph["corpus_tools.validate.run"] >= {"corpus_tools.files", "corpus_tools.validate.rules"}
    assert find_cycle(graph) is None


def test_validating_one_line_loads_none_of_the_heavy_libraries(tmp_path: Path):
    # langcodes too: its registry takes as long to load as a small file takes to validate, and
    # the record's language (`en`) is one the validator knows without it.
    from factory import record, write_jsonl

    line = write_jsonl(tmp_path / "one.jsonl", [record()])
    code = (
        "import sys\nfrom corpus_tools.cli import app\n"
        f"try:\n    app(['validate', {str(line)!r}])\nexcept SystemExit as e:\n    assert e.code == 0, e.code\n"
        "heavy = ('numpy', 'pyarrow', 'datasets', 'krippendorff', 'huggingface_hub', 'langcodes', 'corpus_tools.convert.run',"
        " 'jinja2', 'corpus_tools.view', 'spacy', 'pycrfsuite', 'dask', 'distributed',"
        " 'corpus_tools.engines')\n"
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_merging_and_publishing_locally_import_no_engine(tmp_path: Path):
    """`--engine dask` is optional: without it, no command imports Dask."""
    from factory import record, write_jsonl

    line = write_jsonl(tmp_path / "one.jsonl", [record()])
    code = (
        "import sys\nfrom corpus_tools.cli import app\n"
        f"try:\n    app(['merge', {str(line)!r}, '-o', {str(tmp_path / 'g.jsonl')!r}, '-c', {str(tmp_path / 'c.jsonl')!r}])\n"
        "except SystemExit as e:\n    assert e.code == 0, e.code\n"
        "import corpus_tools.publish, corpus_tools.build\n"
        "print(sorted(m for m in ('dask', 'distributed', 'corpus_tools.engines') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_pre_commit_runs_the_ruff_of_the_dev_extra():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    dev = pyproject["project"]["optional-dependencies"]["dev"]
    pins = [m.group(1) for d in dev if (m := re.fullmatch(r"ruff\s*==\s*(\S+)", d))]
    assert len(pins) == 1, f"the dev extra should pin ruff with ==: {dev}"
    config = (ROOT / ".pre-commit-config.yaml").read_text(encoding="utf-8")
    rev = re.search(
        r"repo:\s*https://github\.com/astral-sh/ruff-pre-commit\s*\n\s*rev:\s*[\"']?v?([^\s\"']+)", config
    )
    assert rev is not None, "no rev: line for ruff-pre-commit in .pre-commit-config.yaml"
    assert rev.group(1) == pins[0], (
        f"pre-commit runs ruff {rev.group(1)}, the dev extra pins ruff {pins[0]}: make them the same"
    )
