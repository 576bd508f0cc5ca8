"""Adding a layer takes one `Layer` entry plus its model: a test-only fourth layer (`hedges`, in
`fourth_layer.py`) flows through validate, merge, agreement, split, publish and export, with no
change to the package. Each command runs as a user runs it, in a fresh process that loads the
layer from `CORPUS_TOOLS_LAYERS`."""

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
    "CORPUS_TOOLS_LAYERS": "fourth_layer:LAYER",
    "HF_HUB_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
}

TEXT = (
    'Perhaps the war is over. On Monday, Gerasimov said: "It seems the active phase is nearly '
    'over." Is this the end of the war? Hardly. What lunacy!'
)


def corpus(*args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "corpus_tools", *args], capture_output=True, text=True, env=ENV
    )
    assert result.returncode == code, result.stdout + result.stderr
    return result


def hedge(id: str, needle: str, strength: str, holder: str = "author") -> dict[str, Any]:
    return {"id": id, **span(TEXT, needle), "strength": strength, "holder": holder}


def annotator(doc_id: str, name: str, hedges: list[dict[str, Any]]) -> dict[str, Any]:
    rec = record(doc_id=doc_id, annotator=name, text=TEXT, hedges=hedges)
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
            "content": span(TEXT, "It seems the active phase is nearly over."),
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
    """Ten documents, two annotators each; they agree on the hedges but for one strength of doc0."""
    folder = tmp_path / "annotations"
    for i in range(10):
        doc = f"doc{i}"
        a = [hedge("h1", "Perhaps", "weak"), hedge("h2", "It seems", "weak", holder="t1")]
        b = [
            hedge("h1", "Perhaps", "strong" if i == 0 else "weak"),
            hedge("h2", "It seems", "weak", holder="t1"),
        ]
        write_jsonl(folder / "ann-a" / f"{doc}.jsonl", [annotator(doc, "ann-a", a)])
        write_jsonl(folder / "ann-b" / f"{doc}.jsonl", [annotator(doc, "ann-b", b)])
    return folder


def test_the_validator_checks_the_new_layer_by_its_entry(tmp_path: Path, annotations: Path):
    assert "valid: 20 file(s)" in corpus("validate", str(annotations)).stdout
    bad = annotator(
        "doc0", "ann-c", [hedge("h1", "Perhaps", "mild"), hedge("h2", "It seems", "weak", holder="t9")]
    )
    bad["hedges"][0]["end"] += 1  # `Perhaps ` no longer matches its text
    report = json.loads(
        corpus("validate", str(write_jsonl(tmp_path / "bad.jsonl", [bad])), "--format", "json", code=1).stdout
    )
    found = {(p["code"], p["path"]) for p in report["problems"]}
    assert {
        ("invalid-label", "hedges[0].strength"),
        ("span-text-mismatch", "hedges[0].text"),
        ("unknown-holder", "hedges[1].holder"),
    } <= found


def test_merge_agreement_split_publish_and_export_carry_the_new_layer(tmp_path: Path, annotations: Path):
    gold, conflicts = tmp_path / "gold.jsonl", tmp_path / "conflicts.jsonl"
    corpus("merge", str(annotations), "--output", str(gold), "--conflicts", str(conflicts))
    records = [json.loads(line) for line in gold.read_text(encoding="utf-8").splitlines()]
    assert len(records) == 10
    agreed = next(r for r in records if r["doc_id"] == "doc1")["hedges"]
    assert [(h["id"], h["text"], h["strength"], h["holder"], h["annotators"]) for h in agreed] == [
        ("h1", "Perhaps", "weak", "author", ["ann-a", "ann-b"]),
        ("h2", "It seems", "weak", "t1", ["ann-a", "ann-b"]),
    ]
    disputed = [json.loads(line) for line in conflicts.read_text(encoding="utf-8").splitlines()]
    assert [(c["doc_id"], c["layer"], c["attributes"]) for c in disputed] == [
        ("doc0", "hedges", ["strength"])
    ]

    report = json.loads(corpus("agreement", str(annotations), "--format", "json").stdout)
    hedges = report["layers"]["hedges"]
    assert hedges["f1"]["strict"] == 1.0
    assert hedges["f1"]["tuple_strict"] == 0.95  # one of 20 hedge pairs differs in strength
    assert hedges["pairs"][0]["confusion"] == {"weak|strong": 1, "weak|weak": 19}

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
        "import json, sys, datasets\n"
        f"d = datasets.load_dataset({str(tmp_path / 'dataset')!r})\n"
        "rows = [r for s in d.values() for r in s]\n"
        "names = d['train'].features['hedges'].feature['strength'].names\n"
        "print(json.dumps({'names': names, 'hedges': {r['doc_id']: [(h['text'], names[h['strength']], h['holder'])"
        " for h in r['hedges']] for r in rows}}))\n"
    )
    loaded = json.loads(
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=ENV, check=True
        ).stdout
    )
    assert loaded["names"] == ["weak", "strong"]
    # doc0's disputed hedge stays out of gold until adjudicated; every other hedge is there.
    assert loaded["hedges"] == {
        f"doc{i}": ([] if i == 0 else [["Perhaps", "weak", "author"]]) + [["It seems", "weak", "t1"]]
        for i in range(10)
    }
    card = (tmp_path / "dataset" / "README.md").read_text(encoding="utf-8")
    assert "hedges" in card and "Hedges weakening a claim." in card

    corpus("export", "brat", str(gold), "--output", str(tmp_path / "brat"))
    ann = next((tmp_path / "brat").rglob("doc1.ann")).read_text(encoding="utf-8")
    assert "HEDGE-weak" in ann and "\tHEDGE-weak 0 7\tPerhaps" in ann
    conf = next((tmp_path / "brat").rglob("annotation.conf")).read_text(encoding="utf-8")
    assert "HEDGE-strong" in conf
    corpus("export", "labelstudio", str(gold), "--output", str(tmp_path / "ls"))
    tasks = json.loads((tmp_path / "ls" / "tasks.json").read_text(encoding="utf-8"))
    labels = {
        label
        for task in tasks
        for p in task["predictions"]
        for r in p["result"]
        for label in r.get("value", {}).get("labels", [])
    }
    assert {"HEDGE-weak"} <= labels
    assert "HEDGE-strong" in (tmp_path / "ls" / "label_config.xml").read_text(encoding="utf-8")


def test_view_draws_the_new_layer(tmp_path: Path, annotations: Path):
    site = tmp_path / "site"
    corpus(
        "view",
        str(annotations / "ann-a" / "doc0.jsonl"),
        str(annotations / "ann-b" / "doc0.jsonl"),
        "-o",
        str(site),
    )
    page = (site / "doc" / "doc0" / "ann-a.html").read_text(encoding="utf-8")
    # Its legend entry and toggles, its items' tags and spans, from the layer's entry alone.
    assert 'data-toggle-layer="hedges" data-toggle-label="strong"' in page
    assert 'data-text="h1 weak"' in page and 'data-text="h2 weak"' in page
    assert '<span class="m" data-item="p0-i' in page and 'data-layer="hedges" data-part="hedge"' in page
    assert "Hedges weakening a claim." in page
    compared = (site / "compare" / "doc0.html").read_text(encoding="utf-8")
    assert "the passes differ in strength" in compared


def test_evaluate_and_the_tokens_config_carry_the_new_layer(tmp_path: Path, annotations: Path):
    gold = tmp_path / "gold.jsonl"
    corpus("merge", str(annotations), "--output", str(gold), "--conflicts", str(tmp_path / "c.jsonl"))
    # A model that finds each hedge but says nothing of its strength or holder.
    pred = [
        {"doc_id": f"doc{i}", "text": TEXT, "hedges": [span(TEXT, "Perhaps"), span(TEXT, "It seems")]}
        for i in range(10)
    ]
    path = write_jsonl(tmp_path / "pred.jsonl", pred)
    corpus("validate", "--predictions", str(path))
    report = json.loads(
        corpus("evaluate", "--gold", str(gold), "--pred", str(path), "--format", "json").stdout
    )
    hedges = report["layers"]["hedges"]
    # Gold has 19 hedges (doc0's disputed one is left out): 19 of 20 predicted are right.
    assert hedges["measures"]["span"]["strict"] == {
        "tp": 19,
        "gold": 19,
        "pred": 20,
        "precision": 0.95,
        "recall": 1.0,
        "f1": 38 / 39,
    }
    assert hedges["not_predicted"] == ["holder", "strength"]
    assert hedges["measures"]["labelled"] is None and hedges["measures"]["tuple_without_holder"] is None

    corpus("split", str(gold), "--output", str(tmp_path / "splits"), "--ratios", "0.6,0.2,0.2")
    corpus("publish", str(tmp_path / "splits"), "--output", str(tmp_path / "dataset"), "--tokens")
    code = (
        "import json, datasets\n"
        f"d = datasets.load_dataset({str(tmp_path / 'dataset')!r}, 'tokens', split='train')\n"
        "print(json.dumps(d.features['hedges_tags'].feature.names))\n"
    )
    names = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV, check=True)
    assert json.loads(names.stdout) == ["O", "B-weak", "I-weak", "B-strong", "I-strong"]
