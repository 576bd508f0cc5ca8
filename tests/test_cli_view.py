"""`corpus view` as a user runs it."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from corpus_tools.cli import app

from factory import write_jsonl
from view_helpers import corpus, pass_a

runner = CliRunner()


def test_view_writes_the_site_and_says_where_to_open_it(tmp_path: Path):
    annotations = corpus(tmp_path)
    site = tmp_path / "site"
    result = runner.invoke(app, ["view", str(annotations), "--output", str(site), "--title", "My corpus"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "1 document(s): 2 record page(s), 1 comparison page(s)",
        f"wrote {site}; open {site / 'index.html'}",
    ]
    assert "<h1>My corpus</h1>" in (site / "index.html").read_text(encoding="utf-8")


def test_invalid_input_exits_1_with_the_report_and_writes_nothing(tmp_path: Path):
    rec = pass_a()
    rec["stances"][0]["end"] = 10_000
    bad = write_jsonl(tmp_path / "bad.jsonl", [rec])
    result = runner.invoke(app, ["view", str(bad), "-o", str(tmp_path / "site")])
    assert result.exit_code == 1, result.output
    assert f"{bad}:1: error [offset-out-of-range] stances[0].end:" in result.stderr
    assert "nothing was written" in result.stderr and "Traceback" not in result.output
    assert not (tmp_path / "site").exists()


def test_a_command_that_cannot_run_exits_2_in_one_line(tmp_path: Path):
    annotations = corpus(tmp_path)
    for args, message in [
        ([str(tmp_path / "missing"), "-o", str(tmp_path / "site")], "no such file or folder"),
        ([str(annotations), "-o", str(annotations / "site")], "overlaps the input"),
        (
            [str(annotations), "-o", str(tmp_path / "site"), "-d", str(tmp_path / "nope.jsonl")],
            "no such decisions file",
        ),
    ]:
        result = runner.invoke(app, ["view", *args])
        assert result.exit_code == 2, result.output
        assert message in result.stderr and len(result.stderr.splitlines()) == 1
    assert not (tmp_path / "site").exists()


def test_view_has_help_with_every_option_and_an_example():
    result = runner.invoke(app, ["view", "-h"])
    assert result.exit_code == 0
    for option in ("--output", "--decisions", "--title", "Example: corpus view"):
        assert option in result.stdout
