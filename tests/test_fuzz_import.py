"""Fuzz targets of the importers: a broken export never crashes `corpus import`.

Each target starts from a valid export in the tool's real format (the fixtures of
tests/data/convert/, with their deliberately broken span taken out), breaks it with
`fuzzing.mutated`, and runs `corpus import` on it. Besides the promise every command makes (exit
0, 1 or 2, no traceback, nothing written on failure), an import promises that nothing is dropped
without being counted: in its JSON summary every record, span and relation read is converted,
left out or refused. brat and the PTC are line formats: their lines are broken field by field,
and their texts line by line, so that a mutation reaches the parser and not only the file's bytes.
"""

from __future__ import annotations

import copy
import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from convert_helpers import DATA
from fuzzing import FUZZ, assert_clean_exit, mutated, run

PTC_MAP = DATA / "ptc-label-map.toml"


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


# -- valid bases, in each tool's format --------------------------------------------------------

LABELSTUDIO = _load(DATA / "labelstudio" / "export.json")
for _task in LABELSTUDIO:  # without the broken region, the export imports cleanly
    for _ann in _task["annotations"]:
        _ann["result"] = [r for r in _ann["result"] if r.get("id") != "broken"]
LABELSTUDIO[0]["data"]["meta"] = {"title": "Who pays", "language": "en"}
DOCCANO = [
    json.loads(line) for line in (DATA / "doccano" / "alice.jsonl").read_text(encoding="utf-8").splitlines()
]
_nobody = DOCCANO[1]["text"].index("Nobody") + 1  # the broken span, mended (UTF-16: the emoji counts 2)
DOCCANO[1]["label"][1][:2] = [_nobody, len(DOCCANO[1]["text"]) + 1]
DOCCANO.append(
    {
        "id": 43,
        "text": DOCCANO[0]["text"],
        "meta": {},
        "annotation_approver": None,  # v1.0-v1.2
        "annotations": [
            {"label": e["label"], "start_offset": e["start_offset"], "end_offset": e["end_offset"], "user": 1}
            for e in DOCCANO[0]["entities"]
            if e["label"].startswith("RQ")
        ],
    }
)
PRODIGY = [
    json.loads(line) for line in (DATA / "prodigy" / "stance.jsonl").read_text(encoding="utf-8").splitlines()
][:2]
PRODIGY[0].setdefault("meta", {})["lang"] = "en"
INCEPTION = _load(DATA / "inception" / "annotation" / "doc1.txt" / "alice.json")
INCEPTION["%FEATURE_STRUCTURES"] = [fs for fs in INCEPTION["%FEATURE_STRUCTURES"] if fs["%ID"] != 7]
LABEL_MAP = {
    "labels": {
        "Question": "RQ-assertive",
        "Source": "ATTR-source",
        "Content": "ATTR-content-indirect",
        "Stance": "STANCE",
        "Other": "ignore",
    },
    "relations": {"attributes": "source-of", "quotee": {"relation": "source-of", "reverse": True}},
    "fields": {"Polarity": "polarity"},
    "values": {"Negative": "against"},
    "annotators": {"1": "alice", "2": "bob"},
    "defaults": {"target": "the policy"},
}


def _fields(line: str) -> list[list[str]]:
    """A brat or PTC line as TAB-separated groups of space-separated fields."""
    return [group.split(" ") for group in line.split("\t")]


def _render(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return " ".join(map(_render, value))
    return json.dumps(value)


def _lines(value: Any) -> list[str]:
    """A mutated list of lines of groups back as text lines; whatever the mutation left."""
    if not isinstance(value, list):
        return [_render(value)]
    out = []
    for line in value:
        if isinstance(line, list):
            out.append("\t".join(_render(g) for g in line))
        else:
            out.append(_render(line))
    return out


def _bytes(text: str) -> bytes:
    # A lone surrogate from the mutation becomes bytes that are not UTF-8, as a broken file has.
    return text.encode("utf-8", "surrogatepass")


BRAT_ANN = [
    _fields(line) for line in (DATA / "brat" / "alice" / "doc1.ann").read_text(encoding="utf-8").splitlines()
]
BRAT_ANN.append(_fields("A2\tNegation R1"))  # an attribute of a relation
BRAT_TXT = (DATA / "brat" / "alice" / "doc1.txt").read_bytes().decode("utf-8").split("\r\n")
PTC_TXT = "\ufeffWho pays? Ministers say nobody — yet the bill keeps growing.\n"
_LOADED = PTC_TXT.index("keeps growing")
PTC_LABELS = [
    _fields(line)
    for line in [
        "1\tDoubt\t1\t10",
        f"1\tLoaded_Language\t{_LOADED}\t{_LOADED + 13}",
        "1\tExaggeration,Minimisation\t25\t31",
    ]
]
PTC_SI = [_fields(line) for line in ["1\t1\t10", f"1\t{_LOADED}\t{_LOADED + 13}"]]


# -- the promise -------------------------------------------------------------------------------


def _import(args: list[str], out: Path) -> None:
    result = run(["import", *args, "--output", str(out), "--format", "json"])
    assert_clean_exit(result, out)
    if result.exit_code in (0, 1):
        summary = json.loads(result.stdout)["summary"]
        for what in ("records", "spans", "relations"):
            tally = summary[what]
            accounted = tally["converted"] + sum(tally["left_out"].values()) + tally["refused"]
            assert tally["read"] == accounted, (what, tally, result.stdout)


def _write_json(path: Path, value: Any) -> None:
    # json (not orjson): it writes NaN, huge integers and lone surrogates, as a broken tool might.
    path.write_text(json.dumps(value), encoding="utf-8")


def test_the_bases_import_cleanly():
    """Each fuzz target starts from an export that imports without an error."""
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        _labelstudio(folder, LABELSTUDIO)
        _doccano(folder, DOCCANO)
        _prodigy(folder, PRODIGY)
        _brat(folder, BRAT_ANN, BRAT_TXT)
        _ptc(folder, PTC_LABELS, PTC_SI, PTC_TXT.split("\n"))
        _inception(folder, INCEPTION)
        for fmt, args in [
            ("labelstudio", [str(folder / "export.json"), "--label-map", str(folder / "map.json")]),
            ("doccano", [str(folder / "alice.jsonl")]),
            ("prodigy", [str(folder / "stance.jsonl")]),
            ("brat", [str(folder / "alice")]),
            ("ptc", [str(folder / "ptc"), "--label-map", str(PTC_MAP)]),
            ("inception", [str(folder / "annotation")]),
        ]:
            out = folder / f"{fmt}.jsonl"
            result = run(["import", fmt, *args, "--output", str(out)])
            assert result.exit_code == 0, result.output
            assert out.exists()


# -- the targets -------------------------------------------------------------------------------


def _labelstudio(folder: Path, data: Any) -> list[str]:
    _write_json(folder / "export.json", data)
    (folder / "map.json").write_text(json.dumps({"annotators": {"1": "alice", "2": "bob"}}))
    return [str(folder / "export.json"), "--label-map", str(folder / "map.json"), "--predictions"]


@pytest.mark.fuzz
@FUZZ
@given(mutated(LABELSTUDIO))
def test_labelstudio(data):
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        _import(["labelstudio", *_labelstudio(folder, data)], folder / "out.jsonl")


def _doccano(folder: Path, lines: Any) -> None:
    rows = lines if isinstance(lines, list) else [lines]
    (folder / "alice.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


@pytest.mark.fuzz
@FUZZ
@given(mutated(DOCCANO), st.booleans())
def test_doccano(lines, pretty):
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        if pretty:  # doccano's own examples are pretty-printed JSON
            (folder / "alice.jsonl").write_text(json.dumps(lines, indent=2), encoding="utf-8")
        else:
            _doccano(folder, lines)
        _import(["doccano", str(folder / "alice.jsonl")], folder / "out.jsonl")


def _prodigy(folder: Path, lines: Any) -> None:
    rows = lines if isinstance(lines, list) else [lines]
    (folder / "stance.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


@pytest.mark.fuzz
@FUZZ
@given(mutated(PRODIGY))
def test_prodigy(lines):
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        _prodigy(folder, lines)
        _import(["prodigy", str(folder / "stance.jsonl")], folder / "out.jsonl")


def _brat(folder: Path, ann: Any, txt: Any) -> None:
    (folder / "alice").mkdir()
    (folder / "alice" / "doc1.ann").write_bytes(_bytes("\n".join(_lines(ann)) + "\n"))
    (folder / "alice" / "doc1.txt").write_bytes(_bytes("\r\n".join(_lines(txt))))


@pytest.mark.fuzz
@FUZZ
@given(mutated(BRAT_ANN), st.one_of(st.just(BRAT_TXT), mutated(BRAT_TXT, max_edits=1)))
def test_brat(ann, txt):
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        _brat(folder, ann, txt)
        _import(["brat", str(folder / "alice")], folder / "out.jsonl")


def _ptc(folder: Path, tc: Any, si: Any, article: Any) -> None:
    (folder / "ptc").mkdir()
    (folder / "ptc" / "article1.txt").write_bytes(_bytes("\n".join(_lines(article))))
    (folder / "ptc" / "article1.task2-TC.labels").write_bytes(_bytes("\n".join(_lines(tc)) + "\n"))
    (folder / "ptc" / "article1.task1-SI.labels").write_bytes(_bytes("\n".join(_lines(si)) + "\n"))


@pytest.mark.fuzz
@FUZZ
@given(
    mutated(PTC_LABELS),
    mutated(PTC_SI, max_edits=1),
    st.one_of(st.just(PTC_TXT.split("\n")), mutated(PTC_TXT.split("\n"), max_edits=1)),
)
def test_ptc(tc, si, article):
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        _ptc(folder, tc, si, article)
        _import(["ptc", str(folder / "ptc"), "--label-map", str(PTC_MAP)], folder / "out.jsonl")


def _inception(folder: Path, cas: Any) -> None:
    path = folder / "annotation" / "doc1.txt" / "alice.json"
    path.parent.mkdir(parents=True)
    _write_json(path, cas)


@pytest.mark.fuzz
@FUZZ
@given(mutated(INCEPTION), st.booleans())
def test_inception(cas, as_object):
    if as_object and isinstance(cas, dict) and isinstance(cas.get("%FEATURE_STRUCTURES"), list):
        # The serializer's other mode: feature structures keyed by their id.
        cas = copy.deepcopy(cas)
        fss = cas["%FEATURE_STRUCTURES"]
        cas["%FEATURE_STRUCTURES"] = {
            str(fs.pop("%ID")) if isinstance(fs, dict) and "%ID" in fs else f"x{i}": fs
            for i, fs in enumerate(fss)
        }
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        _inception(folder, cas)
        _import(["inception", str(folder / "annotation")], folder / "out.jsonl")


def _toml(value: Any) -> str:
    """A label map as TOML, whatever the mutation made of it (what TOML cannot say is dropped:
    tomllib then sees a map of another shape, which is the point)."""

    def scalar(v: Any) -> str | None:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int | float):
            return repr(v) if v == v and v not in (float("inf"), float("-inf")) else "nan"
        if isinstance(v, str):
            return json.dumps(v)
        if isinstance(v, list):
            items = [scalar(x) for x in v]
            return "[" + ", ".join(i for i in items if i is not None) + "]"
        if isinstance(v, dict):
            items = [f"{json.dumps(k)} = {s}" for k, x in v.items() if (s := scalar(x)) is not None]
            return "{" + ", ".join(items) + "}"
        return None

    if not isinstance(value, dict):
        return f"x = {scalar(value) or '1'}\n"
    lines = []
    for section, table in value.items():
        if isinstance(table, dict):
            lines.append(f"[{json.dumps(section)}]")
            lines += [f"{json.dumps(k)} = {s}" for k, v in table.items() if (s := scalar(v)) is not None]
        elif (s := scalar(table)) is not None:
            lines.insert(0, f"{json.dumps(section)} = {s}")
    return "\n".join(lines) + "\n"


@pytest.mark.fuzz
@FUZZ
@given(mutated(LABEL_MAP), st.sampled_from(["json", "toml"]))
def test_label_map(lmap, kind):
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        _brat(folder, BRAT_ANN, BRAT_TXT)
        path = folder / f"map.{kind}"
        path.write_bytes(_bytes(_toml(lmap) if kind == "toml" else json.dumps(lmap)))
        _import(["brat", str(folder / "alice"), "--label-map", str(path)], folder / "out.jsonl")
