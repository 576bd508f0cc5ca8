"""The layer registry refuses, when a layer is registered, what the commands cannot handle (each
of these once crashed merge, agreement, publish or the fast path halfway through a run), and a
broken `CORPUS_TOOLS_LAYERS` stops every command with one line and exit status 2."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import ConfigDict, Field, create_model

from corpus_tools.errors import CorpusToolsError, LayerError
from corpus_tools.layers import CORE, Layer, Part, Reference, registry
from corpus_tools.schema import Item, Name, Span

from claims_layer import LAYER as CLAIMS
from claims_layer import Claim
from factory import record, write_jsonl

HERE = Path(__file__).parent


def with_fields(**fields: Any) -> type[Item]:
    """The claims model with some fields added or redefined."""
    return create_model("Changed", __base__=Claim, **fields)


class Short(Claim):
    model_config = ConfigDict(str_max_length=5)


def claims(**changes: Any) -> Layer:
    return dataclasses.replace(CLAIMS, **changes)


def test_the_claims_layer_and_the_core_are_accepted():
    assert list(registry((*CORE, CLAIMS))) == ["rhetorical_questions", "attributions", "stances", "claims"]


REFUSED: list[tuple[str, Layer, str]] = [
    (
        "optional key",
        claims(key="evidence"),
        "key 'evidence' must be a required Span field of Claim",
    ),
    ("key not a field", claims(key="claims"), "key 'claims' must be a required Span field"),
    (
        "reference to stances",
        claims(
            reference=Reference("holder", True, "unknown-holder", "holder-outside-content", target="stances")
        ),
        "reference targets 'stances'; a reference can only name attributions",
    ),
    (
        "reference not a name",
        claims(reference=Reference("stance", True, "unknown-holder", "holder-outside-content")),
        "reference 'stance' must be a field of Claim of type Name",
    ),
    (
        "unknown problem code",
        claims(reference=Reference("holder", True, "no-such-code", "holder-outside-content")),
        "no-such-code are not in the catalogue",
    ),
    ("tuple field typo", claims(tuple_fields=("stanse",)), "tuple field 'stanse' is not a field of Claim"),
    ("similarity typo", claims(similarity=(("strenght", 1),)), r"similarity \('strenght', 1\)"),
    ("label not a field", claims(label="kind"), "label 'kind' is not a field of Claim"),
    ("label not a Literal", claims(label="speaker"), "Claim.speaker must be a Literal"),
    ("part not a field", claims(parts=(Part("claim", "claim"), Part("proof", "proof"))), "names 'proof'"),
    (
        "part not a span",
        claims(parts=(Part("claim", "claim"), Part("evidence", "evidence"), Part("speaker", "speaker"))),
        "'speaker', which is not a Span field",
    ),
    (
        "span that is no part",
        claims(parts=(Part("claim", "claim"),)),
        "Claim.evidence is a Span but not one of the layer's parts",
    ),
    ("own span without fields", claims(key=None, parts=(Part(None, "claim"),)), "needs start, end and text"),
    (
        "unbounded int",
        claims(model=with_fields(count=(int, 0))),
        r"Changed.count: an int field needs bounds within int64 .* \(bounds found: None..None\)",
    ),
    (
        "int beyond int64",
        claims(model=with_fields(count=(int, Field(0, ge=0, le=10**20)))),
        "Changed.count: an int field needs bounds within int64",
    ),
    (
        "unbounded int in a list",
        claims(model=with_fields(counts=(list[int], []))),
        "Changed.counts: an int field needs bounds",
    ),
    (
        "dict",
        claims(model=with_fields(extra=(dict[str, str], {}))),
        "Changed.extra: dict.* is not supported; an item's fields may be str",
    ),
    (
        "nested model",
        claims(model=with_fields(extra=(Item | None, None))),
        "Changed.extra: .*Item.* is not supported",
    ),
    (
        "second Literal",
        claims(model=with_fields(certainty=(Literal["low", "high"], "low"))),
        "a Literal other than the label is not supported",
    ),
    (
        "alias",
        claims(model=with_fields(level=(int, Field(0, ge=0, le=5, alias="lvl")))),
        "Changed.level: the msgspec mirror cannot copy alias='lvl'",
    ),
    (
        "config that changes validation",
        claims(model=Short),
        "str_max_length=5",
    ),
    ("name taken", claims(name="stances"), "name is taken by 'stances'"),
    ("id prefix taken", claims(prefix="t"), "id prefix is taken by 'attributions'"),
    ("tool prefix taken", claims(tool_prefix="RQ"), "tool prefix is taken by 'rhetorical_questions'"),
    ("name of a record field", claims(name="text"), "not a field of RecordBase"),
    ("id prefix with digits", claims(prefix="c2"), "id prefix 'c2' must be letters"),
]


@pytest.mark.parametrize(("layer", "message"), [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED])
def test_the_registry_refuses_a_layer_the_commands_cannot_handle(layer: Layer, message: str):
    with pytest.raises(LayerError, match=message) as caught:
        registry((*CORE, layer))
    assert str(caught.value).startswith(f"layer {layer.name!r}: ")
    assert "\n" not in str(caught.value)
    assert isinstance(caught.value, CorpusToolsError)


def test_an_optional_reference_and_a_required_one_are_both_accepted():
    required = with_fields(holder=(Name, ...))
    assert "claims" in registry((*CORE, claims(model=required)))
    assert "claims" in registry((*CORE, claims(model=with_fields(evidence=(Span | None, None)))))


# -- a broken CORPUS_TOOLS_LAYERS: one line, exit status 2, from every command -----------------

BROKEN_LAYERS = """
import dataclasses

from pydantic import Field

from claims_layer import LAYER, Claim

OPTIONAL_KEY = dataclasses.replace(LAYER, key="evidence")


class Aliased(Claim):
    level: int = Field(0, ge=0, le=5, alias="lvl")


ALIASED = dataclasses.replace(LAYER, model=Aliased)
NOT_A_LAYER = Claim
BOTH = [LAYER, 3]
"""


def run(layers: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "CORPUS_TOOLS_LAYERS": layers,
        "HF_HUB_OFFLINE": "1",
        "PYTHONPATH": os.pathsep.join([str(cwd), str(HERE), os.environ.get("PYTHONPATH", "")]),
    }
    return subprocess.run(
        [sys.executable, "-m", "corpus_tools", *args], capture_output=True, text=True, env=env, cwd=cwd
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: ") and all(w in line for w in words), line


@pytest.mark.parametrize(
    ("layers", "words"),
    [
        ("nosuch:X", ("CORPUS_TOOLS_LAYERS", "no module named 'nosuch'")),
        ("broken_layers:NOPE", ("CORPUS_TOOLS_LAYERS", "has no attribute 'NOPE'")),
        ("broken_layers", ("CORPUS_TOOLS_LAYERS", "module:attribute")),
        ("broken_layers:NOT_A_LAYER", ("CORPUS_TOOLS_LAYERS", "the class Claim, not a Layer")),
        ("broken_layers:BOTH", ("CORPUS_TOOLS_LAYERS", "a int, not a Layer")),
        ("broken_layers:OPTIONAL_KEY", ("layer 'claims'", "key 'evidence'")),
        ("broken_layers:ALIASED", ("layer 'claims'", "Aliased.level", "mirror cannot copy alias='lvl'")),
        ("claims_layer:LAYER,claims_layer:LAYER", ("layer 'claims'", "name and id prefix and tool prefix")),
        ("syntax_error:X", ("CORPUS_TOOLS_LAYERS", "importing 'syntax_error' failed: SyntaxError")),
    ],
)
def test_a_broken_setting_is_one_line_and_exit_status_2(tmp_path: Path, layers: str, words: tuple[str, ...]):
    (tmp_path / "broken_layers.py").write_text(BROKEN_LAYERS, encoding="utf-8")
    (tmp_path / "syntax_error.py").write_text("X = (\n", encoding="utf-8")
    line = write_jsonl(tmp_path / "a.jsonl", [record()])
    assert_one_line_error(run(layers, "validate", str(line), cwd=tmp_path), *words)


COMMANDS = [
    ["validate", "a.jsonl"],
    ["merge", "a.jsonl", "--output", "gold.jsonl", "--conflicts", "conflicts.jsonl"],
    ["agreement", "a.jsonl"],
    ["split", "a.jsonl", "--output", "splits"],
    ["publish", "splits", "--output", "dataset"],
    ["build"],
    ["import", "brat", "collection", "--output", "imported.jsonl"],
    ["export", "brat", "a.jsonl", "--output", "brat"],
    ["export", "labelstudio-config", "--output", "ls"],
    ["schema", "--output", "schema"],
    ["schema", "--check", "--output", "schema"],
]


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_every_command_stops_on_a_broken_setting_with_one_line(tmp_path: Path, args: list[str]):
    write_jsonl(tmp_path / "a.jsonl", [record()])
    (tmp_path / "splits").mkdir()
    (tmp_path / "collection").mkdir()
    (tmp_path / "collection" / "d.txt").write_text("x", encoding="utf-8")
    (tmp_path / "collection" / "d.ann").write_text("", encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text(
        '[tool.corpus]\nannotations = ["a.jsonl"]\ngold = "gold.jsonl"\nconflicts = "conflicts.jsonl"\n'
        'split_dir = "splits"\noutput = "dataset"\n',
        encoding="utf-8",
    )
    assert_one_line_error(run("nosuch:X", *args, cwd=tmp_path), "CORPUS_TOOLS_LAYERS", "nosuch")


@pytest.mark.parametrize("args", [["--help"], ["-h"], ["validate", "--help"], ["merge", "-h"], ["problems"]])
def test_help_and_the_problem_catalogue_need_no_layers(tmp_path: Path, args: list[str]):
    # They read no records, so a broken setting does not keep a user from reading the help.
    result = run("nosuch:X", *args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
