"""Shared helpers for the publish and build tests: small split folders and loading the result."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from corpus_tools.dataset import DOCUMENT_COLUMNS
from corpus_tools.layers import LAYERS, Record

from factory import record, span, write_jsonl

# Non-ASCII before the spans: offsets must be code points, not bytes or UTF-16 units.
UNICODE_TEXT = "Café 🙂 «Was it fair?» Nobody said so. Marie Curie said “it was not”. What a farce!"

ISIS_RIGHTS = (
    "Copyright © Mike Whitney, CounterPunch, 2017. Global Research grants permission to "
    "cross-post its articles on community internet sites as long as the source and "
    "copyright are acknowledged together with a hyperlink to the original article."
)


def unicode_record(doc_id: str, annotator: str = "gold") -> dict[str, Any]:
    """A record over `UNICODE_TEXT` using every kind of span: answer, source, cue, content."""
    t = UNICODE_TEXT
    return record(
        doc_id,
        annotator,
        text=t,
        rhetorical_questions=[
            {"id": "q1", **span(t, "Was it fair?"), "kind": "hypophora", "answer": span(t, "Nobody said so.")}
        ],
        attributions=[
            {
                "id": "t1",
                "type": "mixed",
                "source": span(t, "Marie Curie"),
                "cue": span(t, "said", 1),
                "content": span(t, "“it was not”"),
            },
            {"id": "t2", "type": "indirect", "content": span(t, "Nobody said so.")},
        ],
        stances=[
            {
                "id": "s1",
                **span(t, "farce"),
                "target": "Marie Curie",
                "polarity": "against",
                "holder": "author",
            }
        ],
    )


def make_split_dir(
    root: Path, docs: dict[str, list[dict[str, Any]]], *, seed: int = 7, group_by: str | None = None
) -> Path:
    """A split folder in the format `corpus split` writes: three JSONL files and splits.json."""
    root.mkdir(parents=True, exist_ok=True)
    for s in ("train", "validation", "test"):
        write_jsonl(root / f"{s}.jsonl", docs.get(s, []))
    manifest = {
        "version": 1,
        "seed": seed,
        "ratios": {"train": 0.6, "validation": 0.2, "test": 0.2},
        "group_by": group_by,
        "documents": {r["doc_id"]: s for s, rows in docs.items() for r in rows},
        "groups": {r["doc_id"]: s for s, rows in docs.items() for r in rows},
        "counts": {
            s: {
                "documents": len({r["doc_id"] for r in docs.get(s, [])}),
                "groups": len({r["doc_id"] for r in docs.get(s, [])}),
                "records": len(docs.get(s, [])),
            }
            for s in ("train", "validation", "test")
        },
        "labels": {},
        "leakage": [],
    }
    (root / "splits.json").write_text(json.dumps(manifest), encoding="utf-8")
    return root


def gold_corpus() -> dict[str, list[dict[str, Any]]]:
    """Five gold documents in three splits, one with a third-party rights notice."""
    docs = {
        "train": [record("d1", "gold"), unicode_record("d2"), record("d3", "gold")],
        "validation": [unicode_record("d4")],
        "test": [record("d5", "gold")],
    }
    docs["train"][2]["meta"].update(license="other", rights=ISIS_RIGHTS, url="https://example.org/a")
    for rows in docs.values():
        for r in rows:
            r["meta"].setdefault("license", "public-domain")
    return docs


def annotator_files(root: Path) -> list[Path]:
    """Two annotators' files over two documents (they agree on d1 and differ on d2)."""
    a = [record("d1", "ann-a"), unicode_record("d2", "ann-a")]
    b_d2 = unicode_record("d2", "ann-b")
    b_d2["stances"][0]["polarity"] = "favor"
    b = [record("d1", "ann-b"), b_d2]
    return [write_jsonl(root / "ann-a.jsonl", a), write_jsonl(root / "ann-b.jsonl", b)]


def card_yaml(folder: Path) -> dict[str, Any]:
    """The parsed YAML header of `folder/README.md`."""
    text = (folder / "README.md").read_text(encoding="utf-8")
    assert text.startswith("---\n")
    header = text.split("---\n", 2)[1]
    return yaml.safe_load(header)


def decode(row: dict[str, Any]) -> dict[str, Any]:
    """A loaded record row with its ClassLabel indices turned back into label names, without
    the document columns of a gold row (`passes`, `adjudicated`), which are no record fields."""
    row = {k: v for k, v in row.items() if k not in DOCUMENT_COLUMNS}
    for layer, (label, names) in ((n, (x.label, x.names)) for n, x in LAYERS.items()):
        row[layer] = [{**item, label: names[item[label]]} for item in row[layer]]
    return row


def as_model(rec: dict[str, Any]) -> dict[str, Any]:
    """A record as Pydantic parses it: every field present, absent ones as their defaults."""
    return Record.model_validate(rec).model_dump(mode="json")


def spans(row: dict[str, Any]) -> list[dict[str, Any]]:
    """Every span of a row: item spans, answers, sources, cues, contents."""
    out = []
    for q in row["rhetorical_questions"]:
        out += [q] + ([q["answer"]] if q["answer"] else [])
    for a in row["attributions"]:
        out += [a[k] for k in ("source", "cue", "content") if a[k]]
    out += row["stances"]
    return out


SETTINGS = """
[tool.corpus]
annotations = ["annotations"]
decisions = "adjudication/decisions.jsonl"
gold = "out/gold.jsonl"
conflicts = "out/conflicts.jsonl"
split_dir = "out/splits"
output = "out/dataset"
ratios = [0.5, 0.25, 0.25]
seed = 13
group_by = "meta.source"
"""


def project(root: Path, settings: str = SETTINGS, annotators: tuple[str, ...] = ("ann-a", "ann-b")) -> Path:
    """A project folder: a pyproject.toml with [tool.corpus] and annotator files for 8 documents."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(settings, encoding="utf-8")
    for name in annotators:
        rows = []
        for i in range(8):
            rec = unicode_record(f"d{i}", name) if i % 2 else record(f"d{i}", name)
            rec["text"] += f" ({i})"
            rec["meta"]["source"] = f"source-{i // 2}"  # pairs of documents share a source
            rows.append(rec)
        write_jsonl(root / "annotations" / f"{name}.jsonl", rows)
    return root / "pyproject.toml"
