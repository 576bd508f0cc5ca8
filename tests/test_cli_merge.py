"""`corpus merge` and `corpus agreement` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from corpus_tools.agreement import agreement
from corpus_tools.cli import app

from agreement_helpers import agreement_files
from factory import record, write_jsonl
from merge_helpers import decide, read, three_annotators

runner = CliRunner()


def test_merge_then_adjudicate_then_merge_again(tmp_path: Path) -> None:
    inputs = three_annotators(tmp_path)
    gold, log = tmp_path / "gold" / "gold.jsonl", tmp_path / "adjudication" / "conflicts.jsonl"
    result = runner.invoke(app, ["merge", str(inputs), "--output", str(gold), "--conflicts", str(log)])
    assert result.exit_code == 0, result.output
    assert f"merge: 2 document(s) from 4 record(s) by 3 annotator(s) -> {gold}" in result.stdout
    assert "stances: 2 in gold, 2 open conflict(s), 0 decided, 0 stale decision(s)" in result.stdout
    assert f"4 conflict(s) await a decision in {log}" in result.stdout
    assert runner.invoke(app, ["validate", str(gold)]).exit_code == 0

    write_jsonl(
        log,
        decide(
            read(log),
            {
                ("rhetorical_questions", "item"): {"reject": True},
                ("attributions", "attribute"): {"accept": "ann-b"},
                ("stances", "item"): {"reject": True},
            },
        ),
    )
    result = runner.invoke(
        app, ["merge", str(inputs), "-o", str(gold), "-c", str(log), "-d", str(log), "--adjudicator", "alice"]
    )
    assert result.exit_code == 0, result.output
    assert "stances: 3 in gold, 0 open conflict(s), 1 decided, 0 stale decision(s)" in result.stdout
    assert "await" not in result.stdout and result.stderr == ""
    assert {c["adjudicator"] for c in read(log)} == {"alice"}


def test_merge_prints_stale_decisions(tmp_path: Path) -> None:
    inputs = three_annotators(tmp_path)
    runner.invoke(
        app, ["merge", str(inputs), "-o", str(tmp_path / "g.jsonl"), "-c", str(tmp_path / "c.jsonl")]
    )
    decisions = write_jsonl(
        tmp_path / "d.jsonl",
        decide(read(tmp_path / "c.jsonl"), {("rhetorical_questions", "item"): {"reject": True}}),
    )
    a = read(inputs / "ann-a.jsonl")
    a[0]["rhetorical_questions"][1]["kind"] = "echo"
    write_jsonl(inputs / "ann-a.jsonl", a)
    result = runner.invoke(
        app,
        [
            "merge",
            str(inputs),
            "-o",
            str(tmp_path / "g.jsonl"),
            "-c",
            str(tmp_path / "c.jsonl"),
            "-d",
            str(decisions),
        ],
    )
    assert result.exit_code == 0, result.output
    assert f"{decisions}:1: stale decision c-" in result.stderr
    assert (
        "rhetorical_questions: 2 in gold, 1 open conflict(s), 0 decided, 1 stale decision(s)" in result.stdout
    )


def test_merge_invalid_input_prints_the_report(tmp_path: Path) -> None:
    bad = record(annotator="ann-a")
    bad["attributions"][0]["content"]["start"] += 1
    src = write_jsonl(tmp_path / "a.jsonl", [bad])
    result = runner.invoke(
        app, ["merge", str(src), "-o", str(tmp_path / "g.jsonl"), "-c", str(tmp_path / "c.jsonl")]
    )
    assert result.exit_code == 1, result.output
    assert f"{src}:1: error [span-text-mismatch] attributions[0].content.text:" in result.stderr
    assert "INVALID: 1 file(s)" in result.stderr
    assert not (tmp_path / "g.jsonl").exists()


def test_merge_usage_errors_exit_2(tmp_path: Path) -> None:
    inputs = three_annotators(tmp_path)
    base = ["merge", str(inputs), "-o", str(tmp_path / "g.jsonl"), "-c", str(tmp_path / "c.jsonl")]
    result = runner.invoke(app, [*base, "--overlap", "2"])
    assert result.exit_code == 2 and "error: --overlap must be in (0, 1]" in result.stderr
    result = runner.invoke(app, [*base, "-d", str(tmp_path / "nope.jsonl")])
    assert result.exit_code == 2 and "no such decisions file" in result.stderr
    result = runner.invoke(app, ["merge", str(tmp_path / "missing"), "-o", "g", "-c", "c"])
    assert result.exit_code == 2 and "no such file or folder" in result.stderr


def test_agreement_formats(tmp_path: Path) -> None:
    files = agreement_files(tmp_path)
    library = agreement([files])
    result = runner.invoke(app, ["agreement", str(files), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == json.loads(library.to_json())
    result = runner.invoke(app, ["agreement", str(files), "-f", "markdown"])
    assert result.exit_code == 0, result.output
    assert result.stdout == library.to_markdown() + "\n"
    result = runner.invoke(app, ["agreement", str(files)])
    assert result.exit_code == 0, result.output
    assert result.stdout == library.to_text() + "\n"


def test_agreement_min_f1_gates(tmp_path: Path) -> None:
    files = agreement_files(tmp_path)
    # Strict span F1 means: questions 1/3, attributions 1.0, stances 0.567.
    result = runner.invoke(app, ["agreement", str(files), "--min-f1", "0.3"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["agreement", str(files), "--min-f1", "0.6"])
    assert result.exit_code == 1, result.output
    assert "rhetorical_questions: strict span F1 0.333 is below --min-f1 0.6" in result.stderr
    assert "stances: strict span F1 0.567 is below --min-f1 0.6" in result.stderr
    assert "attributions" not in result.stderr


def test_agreement_invalid_input(tmp_path: Path) -> None:
    bad = record(annotator="A")
    bad["stances"][0]["holder"] = "nobody"
    result = runner.invoke(app, ["agreement", str(write_jsonl(tmp_path / "a.jsonl", [bad]))])
    assert result.exit_code == 1, result.output
    assert "[unknown-holder]" in result.stderr


def test_help_has_examples() -> None:
    for command in ("merge", "agreement"):
        result = runner.invoke(app, [command, "--help"])
        assert result.exit_code == 0, result.output
        assert "Example:" in result.stdout


def test_gold_and_conflicts_cannot_be_the_same_file(tmp_path: Path) -> None:
    inputs = three_annotators(tmp_path)
    same = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["merge", str(inputs), "-o", str(same), "-c", str(same)])
    assert result.exit_code == 2 and "same file" in result.output
    assert not same.exists()


def test_agreement_gate_fails_when_nothing_could_be_compared(tmp_path: Path) -> None:
    one = write_jsonl(tmp_path / "a.jsonl", [record(annotator="ann-a")])
    result = runner.invoke(app, ["agreement", str(one), "--min-f1", "0.5"])
    assert result.exit_code == 1 and "needs two annotators" in result.output


def test_gold_cannot_overwrite_the_decisions_file(tmp_path: Path) -> None:
    inputs = three_annotators(tmp_path)
    log = tmp_path / "log.jsonl"
    log.write_text("")
    result = runner.invoke(
        app, ["merge", str(inputs), "-o", str(log), "-c", str(tmp_path / "c.jsonl"), "-d", str(log)]
    )
    assert result.exit_code == 2 and "--decisions" in result.output
