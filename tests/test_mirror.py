"""The schema's msgspec mirror, and the validator's fast path built on it.

The fast path may only ever say "clean" for a line on which the models and the rules find
nothing; `check_line` then returns exactly what `check_line_fully` returns. These tests feed both
generated valid records and the same records broken at a random place in a random way. The
mirror must refuse to build from a model whose constraints it cannot copy.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Annotated, Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    PrivateAttr,
    ValidationError,
    WrapValidator,
    computed_field,
    create_model,
    field_validator,
    model_validator,
)

import corpus_tools
from corpus_tools.layers import LAYERS, Record
from corpus_tools.schema import NAME_PATTERN, Name, Span
from corpus_tools.validate import lines as validate
from corpus_tools.validate import mirror as fastpath
from corpus_tools.validate import run as validate_run

from factory import TEXT, record, span, write_jsonl
from strategies import mutated_lines, records

INVALID = Path(__file__).parent / "data" / "invalid"


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_lines())
def test_fast_path_agrees_with_the_reference(raw: bytes):
    assert validate.check_line(raw) == validate.check_line_fully(raw)


def _clean(raw: bytes) -> bool:
    rec = fastpath.decode(raw)
    clean = rec is not None and fastpath.is_clean(rec) and not fastpath.may_repeat_a_key(raw)
    assert (fastpath.clean_record(raw) is not None) == clean  # the validator's one call, the same
    return clean


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(records("d0", clean=True), min_size=3, max_size=3),
    st.lists(records("d0") | mutated_lines().map(json.loads), min_size=3, max_size=5),
    st.booleans(),
)
def test_clean_means_no_findings(clean: list[Any], others: list[Any], ascii_only: bool):
    # Both ways: the fast path calls a line clean exactly when the reference finds nothing,
    # so it neither lets a problem through nor sends clean lines the slow way. Each example
    # has lines that reach the clean branch (generated to break no rule) and lines that may not.
    lines = [json.dumps(rec, ensure_ascii=ascii_only).encode() for rec in clean + others]
    verdicts = [(_clean(raw), validate.check_line_fully(raw)[0] == []) for raw in lines]
    assert all(fast == reference for fast, reference in verdicts), verdicts
    assert all(fast for fast, _ in verdicts[:3])


@pytest.mark.parametrize(
    "raw",
    [
        b'{"doc_id": "d", "doc_id": "d", "annotator": "a", "text": "x"}',
        b'{"doc_id": "d", "annotator": "a", "text": "a:b", "text": "a:b"}',
        b'{"doc_id": "d", "annotator": "a", "text": "x", "meta": {"title": "t", "title": "t"}}',
        b'{"doc_id": "d", "annotator": "a", "text": "abc", "stances": [{"id": "s1", "start": 0, "end": 3, '
        b'"text": "abc", "target": "x", "polarity": "favor", "holder": "author", "holder": "author"}]}',
    ],
)
def test_a_repeated_key_is_never_clean(raw: bytes):
    assert not _clean(raw)
    assert "duplicate-key" in {f.code for f in validate.check_line_fully(raw)[0]}


def test_a_key_spelled_with_an_escape_takes_the_slow_path_and_is_judged_there():
    # "te\u0078t" is "text": compared as spelled, the two keys differ, so the fast path must not
    # call the line clean; the reference finds the repeated key.
    raw = b'{"doc_id": "d", "annotator": "a", "text": "x", "te\\u0078t": "x"}'
    assert not _clean(raw)
    assert "duplicate-key" in {f.code for f in validate.check_line(raw)[0]}
    escaped_key = b'{"doc_id": "d", "annotator": "a", "te\\u0078t": "x"}'  # no repeat: clean, the slow way
    assert not _clean(escaped_key)
    assert validate.check_line(escaped_key) == validate.check_line_fully(escaped_key)
    assert validate.check_line(escaped_key)[0] == []


@pytest.mark.parametrize(
    "raw",
    [
        b'{"doc_id": "d", "annotator": "a", "text": "a\\u003ab: \\"q\\": {\\"x\\":"}',  # colons in a value
        b'{"doc_id": "d", "annotator": "a", "text": "x", "meta": {"title": "text"}}',  # one key, two objects
        b'{"doc_id": "d", "annotator": "a", "text": "x"}\r\n',
    ],
)
def test_keys_given_once_are_clean(raw: bytes):
    assert _clean(raw)
    assert validate.check_line_fully(raw)[0] == []


@pytest.mark.parametrize(
    "raw, expected",
    [
        (b'[{"a": 1}, {"a": 1}]', False),  # one key in each of two objects
        (b'{"a": {"b": 1}, "b": 2}', False),
        (b'{"a": [{"b": 1, "b": 2}]}', True),
        (b'{"a": "\\"a\\": 1", "a": 2}', True),
        (b'{"a\\"": 1, "a": 2}', None),  # an escape in a key: cannot tell
        (b'{"a": "unterminated', None),
        (b"[" * 100 + b"]" * 100, None),  # deeper than it keeps
    ],
)
def test_the_key_scan(raw: bytes, expected: bool | None):
    from corpus_tools.validate._native import repeats_a_key

    assert repeats_a_key(raw) is expected


# -- the mirror refuses what it cannot copy ----------------------------------------------------


def _copy(model: type[BaseModel], **fields: Any) -> type[BaseModel]:
    """A copy of a model with some fields redefined."""
    return create_model(f"Copy{model.__name__}", __base__=model, **fields)


@pytest.mark.parametrize(
    "field",
    [
        (Annotated[str, AfterValidator(lambda v: v)], ...),
        (Annotated[str, BeforeValidator(lambda v: v)], ...),
        (Annotated[str, PlainValidator(lambda v: v)], ...),
        (Annotated[str, WrapValidator(lambda v, h: h(v))], ...),
    ],
)
def test_the_mirror_refuses_a_validator_it_cannot_copy(field: Any):
    with pytest.raises(fastpath.MirrorError, match="cannot copy"):
        fastpath.struct_for(_copy(Span, text=field))


def test_the_mirror_refuses_model_and_field_validators():
    class Checked(Span):
        @model_validator(mode="after")
        def _check(self) -> Checked:
            return self

    class Fielded(Span):
        @field_validator("text")
        @classmethod
        def _check(cls, v: str) -> str:
            return v

    for model in (Checked, Fielded):
        with pytest.raises(fastpath.MirrorError, match="validators"):
            fastpath.struct_for(model)


@pytest.mark.parametrize(
    ("field", "bad"),
    [
        ((Annotated[str, Field(max_length=3)], ...), "abcd"),
        ((Annotated[int, Field(ge=5)], ...), 4),
        ((Annotated[int, Field(gt=5)], ...), 5),
        ((Annotated[int, Field(le=5)], ...), 6),
        ((Annotated[int, Field(lt=5)], ...), 5),
        ((Annotated[int, Field(multiple_of=2)], ...), 3),
        ((Annotated[str, Field(min_length=2)], ...), "a"),
        ((Annotated[str, Field(pattern=r"^x+$")], ...), "xy"),
    ],
)
def test_the_mirror_copies_the_constraints_it_supports(field: Any, bad: Any):
    model = _copy(Span, text=field) if isinstance(bad, str) else _copy(Span, start=field)
    struct = fastpath.struct_for(model)
    good = {"start": 0, "end": 1, "text": "x"}
    line = {**good, ("text" if isinstance(bad, str) else "start"): bad}
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(json.dumps(line).encode(), type=struct)
    with pytest.raises(ValidationError):
        model.model_validate(line)


# Lines of an extra layer's kind that the full check finds invalid: the mirror must reject each
# (then the fast path hands the line to the full check). `tests/test_claims_layer.py` runs the
# same through `corpus validate` with a layer loaded.
REJECTED: list[tuple[str, str, Any, Any]] = [
    ("list max_length", "tags", (list[str], Field(default=[], max_length=2)), ["a", "b", "c"]),
    ("optional list min_length", "cues", (list[str] | None, Field(None, min_length=1)), []),
    ("list item pattern", "names", (list[Name], []), ["ok", "not ok"]),
    ("name that is no reference", "speaker", (Name | None, None), "Valery Gerasimov"),
    ("name field called like a reference", "holder", (Name, ...), "Valery Gerasimov"),
    ("bool given 1", "hedged", (bool, False), 1),
    ("bool given null", "hedged", (bool, False), None),
    ("float given true", "weight", (float | None, None), True),
    ("float given a string", "weight", (float, 0.0), "1.5"),
    ("float bound", "weight", (float, Field(0.0, ge=0, le=1)), 1.5),
    ("int given 1.0", "level", (int, Field(0, ge=0, le=5)), 1.0),
    ("int given true", "level", (int, Field(0, ge=0, le=5)), True),
    ("strict int given a string", "level", (int, Field(0, ge=0, le=5, strict=True)), "1"),
]


@pytest.mark.parametrize(("name", "field", "bad"), [r[1:] for r in REJECTED], ids=[r[0] for r in REJECTED])
def test_the_mirror_rejects_what_the_model_rejects(name: str, field: Any, bad: Any):
    model = _copy(Span, **{name: field})
    line = json.dumps({"start": 0, "end": 1, "text": "x", name: bad}).encode()
    with pytest.raises(ValidationError):
        model.model_validate_json(line)
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(line, type=fastpath.struct_for(model))


ACCEPTED: list[tuple[str, Any, Any]] = [
    ("list within bounds", (list[str], Field(default=[], max_length=2)), ["a", "b"]),
    ("float given an integer", (float | None, None), 1),
    ("float given a float", (float, 0.0), 0.25),
    ("bool", (bool, False), True),
    ("strict int", (int, Field(0, ge=0, le=5, strict=True)), 3),
]


@pytest.mark.parametrize(
    ("field", "good"), [(f, g) for _n, f, g in ACCEPTED], ids=[n for n, _f, _g in ACCEPTED]
)
def test_the_mirror_accepts_what_the_model_accepts(field: Any, good: Any):
    model = _copy(Span, extra=field)
    line = json.dumps({"start": 0, "end": 1, "text": "x", "extra": good}).encode()
    assert model.model_validate_json(line).extra == good
    assert msgspec.json.decode(line, type=fastpath.struct_for(model)).extra == good


def test_the_mirror_leaves_out_only_the_name_patterns_is_clean_checks():
    # `is_clean` checks ids, annotators and references itself (in C): only those skip the regex.
    assert (Record, "doc_id") in fastpath.NAMES_CHECKED
    assert (LAYERS["stances"].model, "holder") in fastpath.NAMES_CHECKED
    assert (LAYERS["rhetorical_questions"].model, "holder") not in fastpath.NAMES_CHECKED


class _Private(Span):
    _seen: int = PrivateAttr(0)


class _PostInit(Span):
    def model_post_init(self, context: Any) -> None:
        pass


class _Computed(Span):
    @computed_field
    @property
    def length(self) -> int:
        return self.end - self.start


class _Loose(Span):
    model_config = ConfigDict(str_max_length=5)


class _Lax(Span):
    model_config = ConfigDict(strict=False)


class _Extra(Span):
    model_config = ConfigDict(extra="ignore")


@pytest.mark.parametrize(
    ("model", "match"),
    [
        (_copy(Span, level=(int, Field(0, alias="lvl"))), r"CopySpan\.level: .*alias='lvl'"),
        (_copy(Span, level=(int, Field(0, validation_alias="lvl"))), r"CopySpan\.level: .*validation_alias"),
        (_copy(Span, level=(int, Field(0, strict=False))), r"CopySpan\.level: .*strict=False"),
        (_copy(Span, level=(int | str, 0)), r"CopySpan\.level: .*union"),
        (_copy(Span, level=(dict[str, int], {})), r"CopySpan\.level: .*no equivalent"),
        (_copy(Span, level=(float, Field(0.0, multiple_of=0.5))), r"CopySpan\.level: .*multiple_of"),
        (_Private, "model_post_init"),
        (_PostInit, "model_post_init"),
        (_Computed, "computed fields"),
        (_Loose, "str_max_length=5"),
        (_Lax, "strict=False"),
        (_Extra, "extra='ignore'"),
    ],
    ids=[
        "alias",
        "validation alias",
        "strict=False",
        "union",
        "dict",
        "float multiple_of",
        "private attribute",
        "model_post_init",
        "computed field",
        "str_max_length",
        "lax model",
        "extra ignored",
    ],
)
def test_the_mirror_refuses_model_features_it_cannot_copy(model: type[BaseModel], match: str):
    with pytest.raises(fastpath.MirrorError, match=match):
        fastpath.struct_for(model)


def test_fast_path_accepts_a_clean_record():
    raw = json.dumps(record()).encode()
    rec = fastpath.decode(raw)
    assert rec is not None and fastpath.is_clean(rec)


def test_name_fields_are_the_fields_the_models_constrain_to_names():
    found: set[str] = set()

    def walk(model: type[BaseModel]) -> None:
        for name, info in model.model_fields.items():
            if NAME_PATTERN in repr(info.annotation) + repr(info.metadata):
                found.add(name)
            for sub in _models_in(info.annotation):
                walk(sub)

    walk(Record)
    assert found == fastpath.NAME_FIELDS


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for a in getattr(annotation, "__args__", ()) for m in _models_in(a)]


def test_parallel_validation_reports_the_same_as_one_process(tmp_path: Path, monkeypatch):
    # Small chunks so that one file is cut into many, checked by two processes.
    monkeypatch.setattr(validate_run, "CHUNK_BYTES", 2000)
    recs = [record(doc_id=f"d{i}") for i in range(60)]
    recs[7]["stances"][0]["polarity"] = "pro"
    recs[41]["extra"] = 1
    lines = [json.dumps(r) for r in recs]
    lines.insert(20, "{broken")
    lines.append(
        json.dumps(
            record(
                doc_id="d3", text=recs[3]["text"] + "!", stances=[], rhetorical_questions=[], attributions=[]
            )
        )
    )
    path = tmp_path / "big.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    other = write_jsonl(tmp_path / "other.jsonl", [record(doc_id="d5")])
    one = corpus_tools.validate([path, other], jobs=1)
    two = corpus_tools.validate([path, other], jobs=2)
    assert one == two
    assert [(p.code, p.line) for p in one.problems] == [
        ("invalid-label", 8),
        ("invalid-json", 21),
        ("unknown-field", 43),
        ("duplicate-record", 62),
        ("text-drift", 62),
        ("duplicate-record", 1),
    ]


def _edited(edit: Any) -> bytes:
    rec = record()
    edit(rec)
    return json.dumps(rec).encode()


EDGE_CASES = {
    "bad item id": _edited(lambda r: r["stances"][0].update(id="s 1")),
    "bad question id": _edited(lambda r: r["rhetorical_questions"][0].update(id="-q")),
    "bad name in annotators": _edited(lambda r: r["attributions"][0].update(annotators=["a", "b c"])),
    "name with a final newline": _edited(lambda r: r.update(doc_id="doc\n")),
    "bad answer span": _edited(lambda r: r["rhetorical_questions"][0]["answer"].update(end=10**6)),
    "cue outside the text": _edited(lambda r: r["attributions"][0]["cue"].update(start=-1)),
    "float offset": _edited(lambda r: r["stances"][0].update(start=float(r["stances"][0]["start"]))),
    "boolean offset": _edited(lambda r: r["stances"][0].update(end=True)),
    "empty target": _edited(lambda r: r["stances"][0].update(target="")),
    "null text": _edited(lambda r: r.update(text=None)),
    "date with a final newline": _edited(lambda r: r["meta"].update(published="2017\n")),
    # Each boundary of the C fast path's own checks (`_native.c`), one step past it.
    "id of 129 characters": _edited(lambda r: r["stances"][0].update(id="s" * 129)),
    "annotator of 129 characters": _edited(lambda r: r.update(annotator="a" * 129)),
    "name starting with a dot": _edited(lambda r: r["attributions"][0].update(annotators=[".a"])),
    "span ending in a space": _edited(lambda r: r["stances"][0].update(span(TEXT, "What "))),
    "span starting with a space": _edited(lambda r: r["stances"][0].update(span(TEXT, " lunacy"))),
    "span text one character off": _edited(lambda r: r["stances"][0].update(text="lunacz")),
    "span cutting a word": _edited(lambda r: r["stances"][0].update(span(TEXT, "unacy"))),
    "one id twice, side by side": _edited(lambda r: r["stances"].append(dict(r["stances"][0]))),
    "one id twice among many": _edited(
        lambda r: r["stances"].extend(
            [{**r["stances"][0], "id": f"s{i}"} for i in range(2, 40)] + [dict(r["stances"][0])]
        )
    ),
    "question without its mark": _edited(
        lambda r: r["rhetorical_questions"][0].update(span(TEXT, "Is this the end of the war"))
    ),
}

ACROSS_LINES = {
    (INVALID / f"{code}.jsonl").read_bytes().splitlines()[-1] for code in ("duplicate-record", "text-drift")
}
"""The fixtures' lines whose problem is with another line: clean on their own."""

CLEAN_BOUNDARIES = {
    "id of 128 characters": _edited(lambda r: r["stances"][0].update(id="s" * 128)),
    "names with dots, dashes and underscores": _edited(
        lambda r: r.update(annotator="a.b_c-d") or r["stances"][0].update(id="0-s_1.x")
    ),
    "many ids, all different": _edited(
        lambda r: r["stances"].extend([{**r["stances"][0], "id": f"s{i}"} for i in range(2, 40)])
    ),
}


@pytest.mark.parametrize("raw", list(CLEAN_BOUNDARIES.values()), ids=list(CLEAN_BOUNDARIES))
def test_the_fast_path_calls_the_last_clean_case_of_each_boundary_clean(raw: bytes):
    assert validate.check_line_fully(raw)[0] == []
    assert _clean(raw)


@pytest.mark.parametrize(
    "raw",
    [path.read_bytes().splitlines()[-1] for path in sorted(INVALID.glob("*.jsonl"))]
    + list(EDGE_CASES.values()),
    ids=[p.stem for p in sorted(INVALID.glob("*.jsonl"))] + list(EDGE_CASES),
)
def test_fast_path_agrees_on_every_kind_of_problem(raw: bytes):
    # One line per problem code (the validator's fixtures) and per tricky value: each but the
    # problems across lines is a problem of its own line, so the fast path must not call it
    # clean (its C code is `_native.c`).
    if raw not in ACROSS_LINES:
        assert validate.check_line_fully(raw)[0]
        assert not _clean(raw)
    assert validate.check_line(raw) == validate.check_line_fully(raw)


def test_a_module_built_from_other_source_is_refused(monkeypatch):
    # An edited `_native.c` that was not rebuilt would run the old rules: refused at import.
    from corpus_tools.errors import CorpusToolsError

    fastpath._check_built()  # the module is built from the source beside it
    monkeypatch.setattr(fastpath, "SOURCE", "0" * 64)
    with pytest.raises(CorpusToolsError, match="rebuild it"):
        fastpath._check_built()


def test_a_computed_attribute_is_read_safely(tmp_path: Path):
    # A field that is no slot (here a property making a new string each time) is read through
    # getattr and kept alive for the whole check (a subprocess in dev mode: a dangling read
    # would crash it).
    script = tmp_path / "computed.py"
    script.write_text(
        "from corpus_tools.validate import mirror\n"
        'rec = mirror.decode(b\'{"doc_id":"d","annotator":"a","text":"x"}\')\n'
        "class Computed(type(rec)):\n"
        "    @property\n"
        "    def doc_id(self):\n"
        "        return ''.join(['d'] * 40)\n"
        "print('clean:', mirror.is_clean(Computed(doc_id='d', annotator='a', text='x')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-X", "dev", str(script)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "clean: True" in done.stdout


def test_an_object_holding_a_records_field_descriptors_is_refused_not_read(tmp_path: Path):
    # The fast path reads a struct's fields where the struct's type keeps them; a class that
    # borrows the descriptors keeps nothing there. Python refuses the read, and so must the
    # fast path (a subprocess: reading it would crash the interpreter).
    script = tmp_path / "borrowed.py"
    script.write_text(
        "from corpus_tools.validate import mirror\n"
        'rec = mirror.decode(b\'{"doc_id":"d","annotator":"a","text":"x"}\')\n'
        "Record = type(rec)\n"
        "class Borrowed:\n"
        "    __slots__ = ()\n"
        "for name in Record.__struct_fields__:\n"
        "    setattr(Borrowed, name, Record.__dict__[name])\n"
        "try:\n"
        "    mirror.is_clean(Borrowed())\n"
        "except TypeError as e:\n"
        "    print('refused:', e)\n"
    )
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "refused: descriptor 'doc_id'" in done.stdout
