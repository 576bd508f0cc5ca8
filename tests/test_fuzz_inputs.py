"""Fuzz targets for the inputs adjudicators and maintainers write by hand: decisions and
correction lines, `[tool.corpus]` settings, and the split manifest `splits.json`.

Each starts from a valid input, breaks it (`fuzzing.mutated`) and checks the promise of every
command: exit status 0, 1 or 2, no traceback, nothing written on failure. `make fuzz` runs them
with many more examples.
"""

from __future__ import annotations

import contextlib
import json
import shutil
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from corpus_tools.build import load_config
from corpus_tools.errors import CorpusToolsError
from corpus_tools.merge import merge
from corpus_tools.publish import CardMetadata, card
from corpus_tools.split import load_manifest, split

from factory import record, write_jsonl
from fuzzing import FUZZ, VALUES, assert_clean_exit, mutated, run
from merge_helpers import correction, decide, item, match, read, three_annotators

pytestmark = pytest.mark.fuzz


@pytest.fixture(scope="module")
def merged(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    """Three annotators merged once; their conflicts decided, plus one correction line of each kind."""
    root = tmp_path_factory.mktemp("merged")
    inputs = three_annotators(root)
    merge([inputs], output=root / "gold.jsonl", conflicts=root / "conflicts.jsonl")
    lines = decide(
        read(root / "conflicts.jsonl"),
        {
            ("rhetorical_questions", "item"): {"reject": True},
            ("attributions", "attribute"): {"accept": "ann-a"},
            ("stances", "item"): {
                "replace": {
                    "start": 0,
                    "end": 1,
                    "text": "x",
                    "target": "t",
                    "polarity": "against",
                    "holder": "author",
                }
            },
        },
    )
    gold = read(root / "gold.jsonl")[0]
    lines += [
        correction("stances", match("lunacy"), {"remove": True}),
        correction("stances", None, {"add": item(gold["stances"][0]) | {"target": "someone"}}),
        correction(
            "rhetorical_questions",
            match("Is this the end of the war?"),
            {"replace": item(gold["rhetorical_questions"][0]) | {"kind": "open"}},
        ),
    ]
    return inputs, lines


@FUZZ
@given(data=st.data())
def test_decisions_and_corrections(tmp_path_factory: pytest.TempPathFactory, merged, data: st.DataObject):
    inputs, lines = merged
    tmp = tmp_path_factory.mktemp("fuzz")
    i = data.draw(st.integers(0, len(lines) - 1))
    broken = [*lines[:i], data.draw(mutated(lines[i])), *lines[i + 1 :]]
    decisions = tmp / "decisions.jsonl"
    decisions.write_text("".join(json.dumps(x) + "\n" for x in broken), encoding="utf-8")
    gold, conflicts = tmp / "gold.jsonl", tmp / "conflicts.jsonl"
    result = run(
        [
            "merge",
            str(inputs),
            "-o",
            str(gold),
            "-c",
            str(conflicts),
            "-d",
            str(decisions),
            "--adjudicator",
            "fuzz",
        ]
    )
    assert_clean_exit(result, gold, conflicts)


@FUZZ
@given(raw=st.binary(max_size=200) | st.text(max_size=80).map(str.encode))
def test_decisions_file_of_arbitrary_bytes(tmp_path_factory: pytest.TempPathFactory, merged, raw: bytes):
    inputs, _lines = merged
    tmp = tmp_path_factory.mktemp("fuzz")
    (tmp / "decisions.jsonl").write_bytes(raw)
    gold, conflicts = tmp / "gold.jsonl", tmp / "conflicts.jsonl"
    result = run(
        ["merge", str(inputs), "-o", str(gold), "-c", str(conflicts), "-d", str(tmp / "decisions.jsonl")]
    )
    assert_clean_exit(result, gold, conflicts)


SETTINGS: dict[str, Any] = {
    "annotations": ["annotations"],
    "decisions": "adjudication/decisions.jsonl",
    "gold": "out/gold.jsonl",
    "conflicts": "out/conflicts.jsonl",
    "split_dir": "out/splits",
    "output": "out/dataset",
    "ratios": [0.6, 0.2, 0.2],
    "seed": 13,
    "group_by": "meta.source",
    "match": "exact",
    "overlap": 0.5,
    "min_votes": 2,
    "license": "cc-by-4.0",
    "annotations_creators": ["machine-generated"],
}


def toml(value: Any) -> str | None:
    """`value` as a TOML value, or None when TOML cannot hold it (null, NaN keys...)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value) if -(2**63) <= value < 2**63 else None
    if isinstance(value, float):
        return (
            "nan"
            if value != value
            else ("inf" if value > 0 else "-inf")
            if abs(value) == float("inf")
            else repr(value)
        )
    if isinstance(value, str):
        return json.dumps(value) if "\ud800" not in value else None
    if isinstance(value, list):
        items = [toml(v) for v in value]
        held = [v for v in items if v is not None]
        return None if len(held) < len(items) else "[" + ", ".join(held) + "]"
    if isinstance(value, dict):
        parts = [(json.dumps(k), toml(v)) for k, v in value.items()]
        return (
            None
            if any(v is None for _k, v in parts)
            else "{" + ", ".join(f"{k} = {v}" for k, v in parts) + "}"
        )
    return None


@FUZZ
@given(settings=mutated(SETTINGS), section=st.sampled_from(["[tool.corpus]", ""]))
def test_build_settings(tmp_path_factory: pytest.TempPathFactory, settings: Any, section: str):
    tmp = tmp_path_factory.mktemp("fuzz")
    if isinstance(settings, dict):
        lines = [
            f"{json.dumps(k)} = {v}" for k, v in ((k, toml(v)) for k, v in settings.items()) if v is not None
        ]
        text = f"{section}\n" + "\n".join(lines) + "\n"
    else:
        text = f"{section}\nx = {toml(settings) or 1}\n"
    path = tmp / "corpus.toml"
    path.write_text(text, encoding="utf-8")
    try:
        config = load_config(path)
    except CorpusToolsError:
        return
    # What loads is checked: every output has a place of its own, away from the inputs.
    outputs = [config.gold, config.conflicts, config.split_dir, config.output]
    assert len({str(p) for p in outputs}) == 4
    assert 0 <= config.seed < 2**63 and 0 < config.overlap <= 1


@FUZZ
@given(raw=st.binary(max_size=120))
def test_build_settings_of_arbitrary_bytes(tmp_path_factory: pytest.TempPathFactory, raw: bytes):
    path = tmp_path_factory.mktemp("fuzz") / "corpus.toml"
    path.write_bytes(raw)
    with contextlib.suppress(CorpusToolsError):
        load_config(path)


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    root = tmp_path_factory.mktemp("split")
    gold = write_jsonl(
        root / "gold" / "gold.jsonl", [record(doc_id=f"d{i}", annotator="gold") for i in range(6)]
    )
    split([gold], output=root / "splits", ratios=(0.5, 0.25, 0.25), seed=3)
    return gold, json.loads((root / "splits" / "splits.json").read_text(encoding="utf-8"))


@FUZZ
@given(data=mutated(json.loads('{"version": 1}')) | st.just(None), other=st.data())
def test_split_manifest(tmp_path_factory: pytest.TempPathFactory, manifest, data: Any, other: st.DataObject):
    gold, valid = manifest
    broken = data if data is not None else other.draw(mutated(valid))
    tmp = tmp_path_factory.mktemp("fuzz")
    out = tmp / "splits"
    out.mkdir()
    (out / "splits.json").write_text(json.dumps(broken), encoding="utf-8")
    before = (out / "splits.json").read_bytes()
    result = run(["split", str(gold), "-o", str(out), "--ratios", "0.5,0.25,0.25", "--seed", "3"])
    # The folder holds a manifest the toolkit did not write, so it is never replaced...
    assert_clean_exit(result)
    assert result.exit_code == 2 and (out / "splits.json").read_bytes() == before
    # ... and as a separate --manifest file, a broken one is refused or extended, never a traceback.
    manifest_path = tmp / "manifest.json"
    manifest_path.write_bytes(before)
    result = run(
        [
            "split",
            str(gold),
            "-o",
            str(tmp / "new"),
            "--manifest",
            str(manifest_path),
            "--ratios",
            "0.5,0.25,0.25",
            "--seed",
            "3",
        ]
    )
    assert_clean_exit(result, tmp / "new")
    if result.exit_code != 0:
        assert manifest_path.read_bytes() == before
    shutil.rmtree(tmp, ignore_errors=True)


@FUZZ
@given(
    value=VALUES,
    key=st.sampled_from(
        [
            "version",
            "seed",
            "ratios",
            "group_by",
            "documents",
            "groups",
            "counts",
            "labels",
            "leakage",
            "removed",
            "extra",
        ]
    ),
)
def test_publish_reads_the_manifest_it_is_given(
    tmp_path_factory: pytest.TempPathFactory, manifest, value: Any, key: str
):
    # Publish reads splits.json with `load_manifest` and puts its figures on the card: a
    # broken manifest is a CorpusToolsError (exit 2), one that loads renders.
    _gold, valid = manifest
    path = tmp_path_factory.mktemp("fuzz") / "splits.json"
    path.write_text(json.dumps({**valid, key: value}), encoding="utf-8")
    try:
        loaded = load_manifest(path)
    except CorpusToolsError:
        return
    # A stand-in for the PublishResult, with the one attribute `_splits` reads.
    text = card._splits(loaded, SimpleNamespace(empty_splits=[]), CardMetadata())  # type: ignore[arg-type]
    assert "## How the splits were made" in text
