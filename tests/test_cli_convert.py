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
    result = runner.invoke(app, ["import", "brat", str(DATA / "brat"), "--output", str(out),
                                 "--partial", "--report"])
    assert result.exit_code == 1, result.output
    assert "converted:" in result.output and "withheld:" in result.output
    check = runner.invoke(app, ["validate", str(out)])
    assert check.exit_code == 0, check.output
    assert len(out.read_text(encoding="utf-8").splitlines()) == 1


def test_clean_import_exits_0_and_json_report_lists_conversions(tmp_path):
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["import", "brat", str(DATA / "brat" / "alice"), "--output", str(out),
                                 "--report", "--format", "json"])
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
    result = runner.invoke(app, ["import", "brat", str(tmp_path / "nope"), "--output", str(tmp_path / "o.jsonl")])
    assert result.exit_code == 2, result.output
    result = runner.invoke(app, ["export", "brat-config", str(tmp_path), "--output", str(tmp_path)])
    assert result.exit_code == 2, result.output
