"""A second extra layer, of another shape than the hedges of `test_fourth_layer.py`: claims
(`claims_layer.py`) are matched by a part (`key="claim"`), have an optional `evidence` part and
an optional reference to an attribution, and carry a bounded int (one needing int64 too), a
bool, a float, a name that is no reference, and lists with length constraints. Each command
runs as a user runs it, in a fresh process that loads the layer from `CORPUS_TOOLS_LAYERS`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from factory import record, span, write_jsonl

HERE = Path(__file__).parent
ENV = {
    **os.environ,
    "CORPUS_TOOLS_LAYERS": "claims_layer:LAYER",
    "HF_HUB_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
}

TEXT = (
    'Perhaps the war is over. On Monday, Gerasimov said: "The active phase is nearly over, '
    'because the front is quiet." Is this the end of the war? Hardly. What lunacy!'
)
FAR = 2**40
"""A `reach` beyond int32: publish must store it as int64."""


def corpus(*args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "corpus_tools", *args], capture_output=True, text=True, env=ENV
    )
    assert result.returncode == code, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    return result


def claims(strength: int = 2) -> list[dict[str, Any]]:
    """The author's hedged claim, and Gerasimov's claim with its evidence, held by t1."""
    return [
        {
            "id": "c1",
            "claim": span(TEXT, "the war is over"),
            "stance": "assert",
            "holder": "author",
            "strength": strength,
            "hedged": True,
            "tags": ["war", "end"],
        },
        {
            "id": "c2",
            "claim": span(TEXT, "The active phase is nearly over"),
            "evidence": span(TEXT, "the front is quiet"),
            "stance": "assert",
            "holder": "t1",
            "strength": 4,
            "confidence": 0.5,
            "speaker": "Gerasimov",
            "cues": ["because"],
            "reach": FAR,
        },
    ]


def annotator(doc_id: str, name: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    rec = record(doc_id=doc_id, annotator=name, text=TEXT, claims=items)
    rec["rhetorical_questions"] = [
        {
            "id": "q1",
            **span(TEXT, "Is this the end of the war?"),
            "kind": "hypophora",
            "answer": span(TEXT, "Hardly."),
        }
    ]
    rec["attributions"] = [
        {
            "id": "t1",
            "type": "direct",
            "source": span(TEXT, "Gerasimov"),
            "cue": span(TEXT, "said"),
            "content": span(TEXT, "The active phase is nearly over, because the front is quiet."),
            "source_name": "Valery Gerasimov",
            "nested_in": None,
        }
    ]
    rec["stances"] = [
        {"id": "s1", **span(TEXT, "lunacy"), "target": "war", "polarity": "against", "holder": "author"}
    ]
    return rec


@pytest.fixture
def annotations(tmp_path: Path) -> Path:
    """Ten documents, two annotators each; they agree on the claims but for one strength of doc0."""
    folder = tmp_path / "annotations"
    for i in range(10):
        doc = f"doc{i}"
        write_jsonl(folder / "ann-a" / f"{doc}.jsonl", [annotator(doc, "ann-a", claims())])
        b = claims(strength=3 if i == 0 else 2)
        write_jsonl(folder / "ann-b" / f"{doc}.jsonl", [annotator(doc, "ann-b", b)])
    return folder


BROKEN: dict[str, tuple[Any, str, str]] = {
    # field: (value, code, path): one line each, so that the fast path's verdict shows.
    "tags": (["a", "b", "c"], "invalid-value", "claims[0].tags"),
    "cues": ([], "invalid-value", "claims[0].cues"),
    "speaker": ("Valery Gerasimov", "invalid-value", "claims[0].speaker"),
    "strength": (0, "invalid-value", "claims[0].strength"),
    "reach": (2**63, "invalid-value", "claims[0].reach"),
    "hedged": (1, "wrong-type", "claims[0].hedged"),
    "confidence": (True, "wrong-type", "claims[0].confidence"),
    "holder": ("t9", "unknown-holder", "claims[0].holder"),
    "evidence": (
        span(TEXT, "Perhaps") | {"text": "perhaps"},
        "span-text-mismatch",
        "claims[0].evidence.text",
    ),
}


def test_the_validator_checks_every_field_of_the_new_layer(tmp_path: Path, annotations: Path):
    assert "valid: 20 file(s)" in corpus("validate", str(annotations)).stdout
    lines = []
    for field, (value, _code, _path) in BROKEN.items():
        rec = annotator("doc0", f"ann-{field}", claims())
        rec["claims"][0][field] = value
        lines.append(rec)
    clean = annotator("doc0", "ann-clean", claims())
    clean["claims"][0]["confidence"] = 1  # an integer is a float to the models, and to the mirror
    lines.append(clean)
    path = write_jsonl(tmp_path / "broken.jsonl", lines)
    report = json.loads(corpus("validate", str(path), "--format", "json", code=1).stdout)
    found = [(p["line"], p["code"], p["path"]) for p in report["problems"]]
    expected = [(i, code, where) for i, (_v, code, where) in enumerate(BROKEN.values(), start=1)]
    assert found == expected


def test_merge_agreement_split_publish_and_export_carry_the_new_layer(tmp_path: Path, annotations: Path):
    gold, conflicts = tmp_path / "gold.jsonl", tmp_path / "conflicts.jsonl"
    corpus("merge", str(annotations), "--output", str(gold), "--conflicts", str(conflicts))
    records = [json.loads(line) for line in gold.read_text(encoding="utf-8").splitlines()]
    assert len(records) == 10
    agreed = next(r for r in records if r["doc_id"] == "doc1")["claims"]
    c1, c2 = claims()
    assert agreed == [
        {**c1, "annotators": ["ann-a", "ann-b"]},
        {**c2, "annotators": ["ann-a", "ann-b"], "hedged": False, "tags": []},  # defaults written out
    ]
    disputed = [json.loads(line) for line in conflicts.read_text(encoding="utf-8").splitlines()]
    assert [(c["doc_id"], c["layer"], c["attributes"]) for c in disputed] == [
        ("doc0", "claims", ["strength"])
    ]
    assert "valid" in corpus("validate", str(gold)).stdout

    report = json.loads(corpus("agreement", str(annotations), "--format", "json").stdout)
    layer = report["layers"]["claims"]
    assert layer["f1"]["strict"] == 1.0
    assert layer["f1"]["tuple_strict"] == 0.95  # one of 20 claim pairs differs in strength

    corpus("split", str(gold), "--output", str(tmp_path / "splits"), "--ratios", "0.6,0.2,0.2")
    corpus(
        "publish",
        str(tmp_path / "splits"),
        "--output",
        str(tmp_path / "dataset"),
        "--annotators",
        str(annotations),
    )
    code = (
        "import json, datasets\n"
        f"d = datasets.load_dataset({str(tmp_path / 'dataset')!r})\n"
        "rows = [r for s in d.values() for r in s]\n"
        "f = d['train'].features['claims'].feature\n"
        "print(json.dumps({'names': f['stance'].names, 'types': {k: str(getattr(f[k], 'dtype', ''))"
        " for k in ('strength', 'reach', 'hedged', 'confidence')},"
        " 'claims': {r['doc_id']: r['claims'] for r in rows}}))\n"
    )
    loaded = json.loads(
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=ENV, check=True
        ).stdout
    )
    assert loaded["names"] == ["assert", "deny"]
    assert loaded["types"] == {
        "strength": "int32",
        "reach": "int64",
        "hedged": "bool",
        "confidence": "float64",
    }
    c2 = loaded["claims"]["doc1"][1]
    assert (c2["evidence"]["text"], c2["holder"], c2["strength"], c2["reach"]) == (
        "the front is quiet",
        "t1",
        4,
        FAR,
    )
    assert (c2["hedged"], c2["confidence"], c2["speaker"], c2["tags"], c2["cues"]) == (
        False,
        0.5,
        "Gerasimov",
        [],
        ["because"],
    )
    # doc0's disputed claim stays out of gold until adjudicated.
    assert [c["claim"]["text"] for c in loaded["claims"]["doc0"]] == ["The active phase is nearly over"]

    exported = corpus("export", "brat", str(gold), "--output", str(tmp_path / "brat"))
    assert "cannot read them back" in exported.stderr
    ann = next((tmp_path / "brat").rglob("doc1.ann")).read_text(encoding="utf-8")
    assert "\tCLAIM-assert 8 23\tthe war is over" in ann
    assert "CLAIM-evidence" in ann and "evidence-of" in ann and "holds" in ann
    notes = [line.split("\t")[2] for line in ann.splitlines() if "strength:" in line]
    assert notes == [
        'hedged: true | strength: 2 | tags: ["war", "end"]',
        f'confidence: 0.5 | cues: ["because"] | hedged: false | reach: {FAR} | speaker: Gerasimov | '
        "strength: 4 | tags: []",
    ]
    imported = corpus(
        "import", "brat", str(tmp_path / "brat"), "--output", str(tmp_path / "back.jsonl"), code=1
    )
    (message, *_) = [line for line in imported.stdout.splitlines() if "'CLAIM-assert'" in line]
    assert "belongs to the extra layer 'claims'" in message and "cannot read them yet" in message
    assert "CLAIM-" not in message.split("(labels: ")[1]  # the labels it can import

    corpus("export", "labelstudio", str(gold), "--output", str(tmp_path / "ls"))
    tasks = json.loads((tmp_path / "ls" / "tasks.json").read_text(encoding="utf-8"))
    result = next(t for t in tasks if t["data"]["doc_id"] == "doc1")["predictions"][0]["result"]
    areas = {(r["id"], r["from_name"]): r["value"]["text"] for r in result if r["type"] == "textarea"}
    assert areas[("c2", "speaker")] == ["Gerasimov"]
    assert areas[("c2", "reach")] == [str(FAR)]
    assert areas[("c1", "hedged")] == ["true"]
    config = (tmp_path / "ls" / "label_config.xml").read_text(encoding="utf-8")
    assert all(f'<TextArea name="{name}"' in config for name in ("strength", "speaker", "tags", "reach"))
    assert "CLAIM-deny" in config and "cannot read them back" in config


def test_the_configurations_say_the_new_layer_cannot_be_imported(tmp_path: Path):
    written = corpus("export", "brat-config", "--output", str(tmp_path / "brat"))
    assert "cannot read them back" in written.stderr
    conf = (tmp_path / "brat" / "annotation.conf").read_text(encoding="utf-8")
    assert "claims (CLAIM-*)" in conf and "CLAIM-assert" in conf
    written = corpus("export", "labelstudio-config", "--output", str(tmp_path / "ls"))
    assert "cannot read them back" in written.stderr
