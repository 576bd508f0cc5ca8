"""Atomic writing: a failed write leaves the old file; a finished one is an ordinary file."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from corpus_tools.files import atomic_open, json_object, load_json, repeated_keys, write_jsonl


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path):
    path = tmp_path / "out.jsonl"
    path.write_text("old\n")
    with pytest.raises(RuntimeError), atomic_open(path) as f:
        f.write(b"half")
        raise RuntimeError("interrupted")
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]


def test_written_files_get_the_usual_permissions(tmp_path: Path):
    umask = os.umask(0o022)
    try:
        path = tmp_path / "out.jsonl"
        assert write_jsonl(path, [{"a": "é"}, {"b": 1}]) == 2
    finally:
        os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert path.read_text(encoding="utf-8") == '{"a":"é"}\n{"b":1}\n'


# -- strict JSON: the fast way to find a key given twice agrees with the parser that sees them --

_scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**53), 2**53), st.text(alphabet=':"\\é\u2028a'))
_keys = st.text(alphabet=':a"é', max_size=3)


def _encode(value: object, escape_colons: bool) -> str:
    """JSON text of `value`, where an object is a list of pairs, so a key may come twice."""
    if isinstance(value, tuple):
        pairs = ", ".join(f"{_encode(k, escape_colons)}: {_encode(v, escape_colons)}" for k, v in value)
        return "{" + pairs + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_encode(v, escape_colons) for v in value) + "]"
    text = json.dumps(value, ensure_ascii=False)
    return text.replace(":", "\\u003a") if escape_colons and isinstance(value, str) else text


_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=3) | st.lists(st.tuples(_keys, inner), max_size=4).map(tuple),
    max_leaves=12,
)


@given(_values, st.booleans())
def test_keys_given_twice_are_found_as_the_full_parser_finds_them(value, escape_colons):
    raw = _encode(value, escape_colons).encode("utf-8")
    reference = json.loads(raw, object_pairs_hook=json_object)
    parsed, repeated = load_json(raw, "x")
    assert repeated == list(repeated_keys(reference))
    assert parsed == reference


@given(
    st.lists(
        st.binary(min_size=1, max_size=300_000).map(lambda b: b.replace(b"\n", b" ")), min_size=1, max_size=8
    ),
    st.randoms(use_true_random=False),
)
def test_the_document_index_reads_every_line_in_any_order(contents: list[bytes], rng):
    # Lines read where the last one ended come from a block read ahead, others on their own:
    # either way, each read gives exactly the line, lines longer than a block included.
    import tempfile

    from corpus_tools.files import DocIndex

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "lines.jsonl"
        path.write_bytes(b"".join(c + b"\n" for c in contents))
        where, offset = [], 0
        for c in contents:
            where.append((0, offset, len(c) + 1))
            offset += len(c) + 1
        order = list(range(len(contents)))
        for shuffled in (False, True):
            if shuffled:
                rng.shuffle(order)
            with DocIndex([path], locations={f"d{i}": [where[i]] for i in order}) as index:
                assert [index.lines(f"d{i}") for i in order] == [[contents[i] + b"\n"] for i in order]
