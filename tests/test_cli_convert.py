"""`corpus import` and `corpus export` on the command line."""

import json

from typer.testing import CliRunner

from corpus_tools.cli import app

from convert_helpers import DATA
from factory import record, write_jsonl

runner = CliRunner()


def test_import_with_errors_writes_nothing_and_exits_1(tmp_path):
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["import", "brat", str(DATA / "brat"), "--output", str(out)])
    assert result.exit_code == 1, result.output
    assert "import-span-mismatch" in result.output and "nothing was written" in result.output
    assert not out.exists()


def test_partial_writes_the_clean_records_and_they_validate(tmp_path):
    out = tmp_path / "out.jsonl"
    result = runner.invoke(
        app, ["import", "brat", str(DATA / "brat"), "--output", str(out), "--partial", "--report"]
    )
    assert result.exit_code == 1, result.output
    assert "converted:" in result.output and "withheld:" in result.output
    check = runner.invoke(app, ["validate", str(out)])
    assert check.exit_code == 0, check.output
    assert len(out.read_text(encoding="utf-8").splitlines()) == 2  # alice and carol; bob is withheld


def test_clean_import_exits_0_and_json_report_lists_conversions(tmp_path):
    out = tmp_path / "out.jsonl"
    result = runner.invoke(
        app,
        [
            "import",
            "brat",
            str(DATA / "brat" / "alice"),
            "--output",
            str(out),
            "--report",
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["summary"]["clean"] == 1 and len(data["conversions"]) == 6


def test_export_brat_and_labelstudio_and_configs(tmp_path):
    src = write_jsonl(tmp_path / "in.jsonl", [record()])
    for fmt in ("brat", "labelstudio"):
        result = runner.invoke(app, ["export", fmt, str(src), "--output", str(tmp_path / fmt)])
        assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["export", "brat-config", "--output", str(tmp_path / "conf")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "conf" / "visual.conf").exists()


def test_export_of_invalid_input_prints_the_report_and_exits_1(tmp_path):
    bad = record()
    bad["stances"][0]["polarity"] = "pro"
    src = write_jsonl(tmp_path / "in.jsonl", [bad])
    result = runner.invoke(app, ["export", "brat", str(src), "--output", str(tmp_path / "b")])
    assert result.exit_code == 1, result.output
    assert "invalid-label" in result.output
    assert not (tmp_path / "b").exists()


def test_unknown_format_and_missing_path_are_usage_errors(tmp_path):
    result = runner.invoke(
        app, ["import", "brat", str(tmp_path / "nope"), "--output", str(tmp_path / "o.jsonl")]
    )
    assert result.exit_code == 2, result.output
    result = runner.invoke(app, ["export", "brat-config", str(tmp_path), "--output", str(tmp_path)])
    assert result.exit_code == 2, result.output


def test_every_import_ends_with_a_summary_of_spans_and_relations_in_text_and_json(tmp_path):
    teach = DATA / "prodigy" / "teach.jsonl"
    result = runner.invoke(app, ["import", "prodigy", str(teach), "--output", str(tmp_path / "a.jsonl")])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert (
        "spans: 6 read, 3 converted, 3 left out (1 answered reject in Prodigy, 1 the same span "
        "accepted twice, 1 spans answered reject in Prodigy), 0 refused"
    ) in lines
    assert "relations: 0 read, 0 converted, 0 left out, 0 refused" in lines
    assert any(line.startswith("imported: 3 record(s) read, 2 clean, 1 left out") for line in lines)
    result = runner.invoke(
        app, ["import", "prodigy", str(teach), "--output", str(tmp_path / "b.jsonl"), "--format", "json"]
    )
    summary = json.loads(result.output)["summary"]
    assert summary["spans"] == {
        "read": 6,
        "converted": 3,
        "refused": 0,
        "left_out": {
            "answered reject in Prodigy": 1,
            "the same span accepted twice": 1,
            "spans answered reject in Prodigy": 1,
        },
    }
    assert summary["records"] == {
        "read": 3,
        "converted": 2,
        "refused": 0,
        "left_out": {"answered reject in Prodigy": 1},
    }


def test_refused_spans_are_counted_in_the_summary(tmp_path):
    result = runner.invoke(
        app, ["import", "brat", str(DATA / "brat"), "--output", str(tmp_path / "o.jsonl"), "--format", "json"]
    )
    assert result.exit_code == 1, result.output
    spans = json.loads(result.output)["summary"]["spans"]
    assert spans["refused"] == 3 and spans["read"] == spans["converted"] + spans["refused"]  # bob's 3 spans


def test_language_option(tmp_path):
    out = tmp_path / "o.jsonl"
    result = runner.invoke(
        app, ["import", "brat", str(DATA / "brat" / "alice"), "--output", str(out), "--language", "de"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text(encoding="utf-8"))["meta"]["language"] == "de"
    result = runner.invoke(
        app, ["import", "brat", str(DATA / "brat" / "alice"), "--output", str(out), "--language", "German"]
    )
    assert result.exit_code == 2 and "BCP 47" in result.output
