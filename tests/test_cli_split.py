"""`corpus split` as a user runs it."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from corpus_tools.cli import app
from corpus_tools.split import SPLITS

from factory import TEXT, record, write_jsonl

runner = CliRunner()


def gold(path: Path, n: int, *, sources: int | None = None) -> Path:
    records = []
    for i in range(n):
        rec = record(doc_id=f"d{i}", annotator="gold")
        rec["text"] = f"{TEXT} Document {i}."
        if sources:
            rec["meta"]["source"] = f"s{i % sources}"
        records.append(rec)
    return write_jsonl(path, records)


def test_split_prints_counts_and_writes_the_files(tmp_path):
    src = gold(tmp_path / "gold.jsonl", 100, sources=25)
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        [
            "split",
            str(src),
            "--output",
            str(out),
            "--group-by",
            "meta.source",
            "--ratios",
            "0.6,0.2,0.2",
            "--seed",
            "4",
        ],
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["split", "documents", "share", "target", "groups", "records"]
    rows = {line.split()[0]: line.split() for line in lines[1:4]}
    assert rows["train"][1:] == ["60", "60.0%", "60.0%", "15", "60"]
    assert rows["test"][1:] == ["20", "20.0%", "20.0%", "5", "20"]
    assert f"wrote {out / 'train.jsonl'}" in result.stdout
    manifest = json.loads((out / "splits.json").read_text())
    assert manifest["seed"] == 4 and manifest["group_by"] == "meta.source"
    assert manifest["ratios"] == {"train": 0.6, "validation": 0.2, "test": 0.2}
    assert all((out / f"{s}.jsonl").exists() for s in SPLITS)
    assert result.stderr == ""


def test_rerun_with_more_documents_keeps_the_manifest(tmp_path):
    out = tmp_path / "out"
    runner.invoke(app, ["split", str(gold(tmp_path / "v1.jsonl", 50)), "-o", str(out)])
    before = json.loads((out / "splits.json").read_text())["documents"]
    result = runner.invoke(app, ["split", str(gold(tmp_path / "v2.jsonl", 60)), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "50 document(s) kept where" in result.stdout and "10 placed now" in result.stdout
    after = json.loads((out / "splits.json").read_text())["documents"]
    assert {d: after[d] for d in before} == before


def test_leakage_is_a_warning_on_stderr(tmp_path):
    out = tmp_path / "out"
    src = gold(tmp_path / "v1.jsonl", 30, sources=30)
    runner.invoke(app, ["split", str(src), "-o", str(out), "--group-by", "meta.source"])
    documents = json.loads((out / "splits.json").read_text())["documents"]
    other = next(d for d, s in documents.items() if s != documents["d0"])
    records = [json.loads(line) for line in src.read_text().splitlines()]
    dup = {
        **records[0],
        "doc_id": "copy",
        "meta": {**records[0]["meta"], "source": records[int(other[1:])]["meta"]["source"]},
    }
    v2 = write_jsonl(tmp_path / "v2.jsonl", [*records, dup])
    result = runner.invoke(app, ["split", str(v2), "-o", str(out), "--group-by", "meta.source"])
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith("warning: leakage: identical text in different splits: ")
    assert "copy (" in result.stderr and "d0 (" in result.stderr


def test_bad_ratios_exit_2_and_write_nothing(tmp_path):
    src = gold(tmp_path / "gold.jsonl", 5)
    for ratios in ["0.8,0.1", "0.8,0.1,0.2", "a,b,c"]:
        result = runner.invoke(app, ["split", str(src), "-o", str(tmp_path / "out"), "--ratios", ratios])
        assert result.exit_code == 2, result.output
        assert result.stderr.startswith("error: ") and "ratios" in result.stderr
        assert len(result.stderr.splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_unknown_group_field_exit_2(tmp_path):
    src = gold(tmp_path / "gold.jsonl", 5)
    result = runner.invoke(app, ["split", str(src), "-o", str(tmp_path / "out"), "--group-by", "source"])
    assert result.exit_code == 2, result.output
    assert "cannot group by 'source'" in result.stderr and "meta.source" in result.stderr


def test_missing_group_field_exit_1_with_file_and_line(tmp_path):
    src = gold(tmp_path / "gold.jsonl", 5)
    result = runner.invoke(app, ["split", str(src), "-o", str(tmp_path / "out"), "--group-by", "meta.source"])
    assert result.exit_code == 1, result.output
    assert result.stderr.splitlines()[0].startswith(f"{src}:1: error [missing-group] meta.source: ")
    assert "nothing was written" in result.stderr
    assert not (tmp_path / "out").exists()


def test_invalid_records_exit_1_with_the_validation_report(tmp_path):
    bad = record(doc_id="d1")
    bad["stances"][0]["polarity"] = "pro"
    src = write_jsonl(tmp_path / "gold.jsonl", [bad])
    result = runner.invoke(app, ["split", str(src), "-o", str(tmp_path / "out")])
    assert result.exit_code == 1, result.output
    assert f"{src}:1: error [invalid-label]" in result.stderr
    assert not (tmp_path / "out").exists()


def test_manifest_made_with_another_seed_exit_2(tmp_path):
    src = gold(tmp_path / "gold.jsonl", 5)
    out = tmp_path / "out"
    assert runner.invoke(app, ["split", str(src), "-o", str(out)]).exit_code == 0
    result = runner.invoke(app, ["split", str(src), "-o", str(out), "--seed", "3"])
    assert result.exit_code == 2, result.output
    assert "--seed 0 (not 3)" in result.stderr


def test_help_has_an_example():
    result = runner.invoke(app, ["split", "-h"])
    assert result.exit_code == 0, result.output
    assert "Example: corpus split" in result.stdout
