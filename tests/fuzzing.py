"""The fuzzing harness shared by every input reader's fuzz target (`test_fuzz_*.py`).

A target starts from a valid input in the reader's real format, lets Hypothesis break it the
ways hostile or careless input does (a value of another JSON type, a key removed or added, a
string with control characters or a lone surrogate, a number out of range), writes it to a file,
runs the command in-process and asserts what every command promises: exit status 0, 1 or 2,
never a traceback, and nothing written when the status is not 0.

`make test` runs each target for a bounded number of examples (a few seconds); `make fuzz` runs
them with the `fuzz` profile, many more examples and no time limit.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

from corpus_tools.cli import app

settings.register_profile(
    "default-fuzz",
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.register_profile(
    "fuzz",
    max_examples=3000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

FUZZ = settings.get_profile("fuzz" if os.environ.get("HYPOTHESIS_PROFILE") == "fuzz" else "default-fuzz")
"""Decorate each fuzz target with `@FUZZ`."""

runner = CliRunner()

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["", " ", "\n", "\x00", "\ud800", "é😀", "../x", "a" * 300, "1e400"]),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)


def _paths(obj: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += _paths(v, (*prefix, i))
    return out


@st.composite
def mutated(draw: Any, base: Any, max_edits: int = 3) -> Any:
    """`base` (a parsed JSON value) with up to `max_edits` random edits."""
    value = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, max_edits))):
        paths = _paths(value)
        path = draw(st.sampled_from(paths))
        if not path:
            value = draw(VALUES) if draw(st.integers(0, 9)) == 0 else value
            continue
        parent = value
        for part in path[:-1]:
            parent = parent[part]
        key = path[-1]
        action = draw(st.sampled_from(["replace", "replace", "delete", "add"]))
        if action == "replace":
            parent[key] = draw(VALUES)
        elif action == "delete":
            del parent[key]
        elif isinstance(parent, dict):
            parent[draw(st.text(max_size=8))] = draw(VALUES)
        else:
            parent.insert(key, draw(VALUES))
    return value


def run(args: list[str]) -> Result:
    """Run `corpus ARGS` in-process."""
    return runner.invoke(app, args)


def assert_clean_exit(result: Result, *written: Path) -> None:
    """The promise every command makes on bad input: 0, 1 or 2, no traceback, and on failure
    none of `written` exists."""
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"traceback on fuzzed input:\n{result.output}") from result.exception
    assert result.exit_code in (0, 1, 2), result.output
    assert "Traceback" not in result.output, result.output
    if result.exit_code != 0:
        for path in written:
            assert not path.exists(), f"{path} was written although the command failed:\n{result.output}"
