"""`corpus evaluate`, `corpus validate --predictions` and `corpus baseline` as a user runs them:
outputs, the gate and the exit statuses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from corpus_tools.cli import app
from corpus_tools.evaluate import evaluate

from factory import TEXT, record, span, write_jsonl

runner = CliRunner()


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    """Gold (two documents) and predictions of one of them, stances only, without targets."""
    gold = write_jsonl(tmp_path / "gold.jsonl", [record("d1", "gold"), record("d2", "gold")])
    pred = write_jsonl(
        tmp_path / "pred.jsonl",
        [{"doc_id": "d1", "text": TEXT, "stances": [{**span(TEXT, "lunacy"), "polarity": "against"}]}],
    )
    return gold, pred


def test_text_output_says_what_is_not_predicted_and_what_is_missing(files: tuple[Path, Path]) -> None:
    gold, pred = files
    result = runner.invoke(app, ["evaluate", "--gold", str(gold), "--pred", str(pred)])
    assert result.exit_code == 0, result.output
    # One of the two gold stances found: P 1, R 1/2, F1 2/3.
    assert "  span                      1.000 0.500 0.667" in result.stdout
    assert "  tuple                     not predicted" in result.stdout
    assert "attributions (label: type)\n  not predicted" in result.stdout
    assert "gold documents without a prediction (1): d2" in result.stdout


def test_json_output_is_the_library_report_with_every_document(files: tuple[Path, Path]) -> None:
    gold, pred = files
    result = runner.invoke(app, ["evaluate", "-g", str(gold), "-p", str(pred), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == json.loads(evaluate(gold, pred, per_document=True).to_json())
    data = json.loads(result.stdout)
    assert [d["doc_id"] for d in data["per_document"]] == ["d1", "d2"]
    assert data["layers"]["stances"]["measures"]["span"]["strict"] == {
        "tp": 1,
        "gold": 2,
        "pred": 1,
        "precision": 1.0,
        "recall": 0.5,
        "f1": pytest.approx(2 / 3),
    }


def test_markdown_output(files: tuple[Path, Path]) -> None:
    gold, pred = files
    result = runner.invoke(
        app, ["evaluate", "-g", str(gold), "-p", str(pred), "-f", "markdown", "-l", "stances"]
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("| Layer | Span F1 strict | Span F1 lenient | Labelled F1 strict |")
    assert (
        lines[2] == "| stances (polarity) | 0.667 | 0.667 | 0.667 | 0.667 | not predicted | not predicted |"
    )


def test_the_gate(files: tuple[Path, Path]) -> None:
    gold, pred = files
    args = ["evaluate", "-g", str(gold), "-p", str(pred)]
    assert runner.invoke(app, [*args, "--min-f1", "0.6"]).exit_code == 0
    failed = runner.invoke(app, [*args, "--min-f1", "0.7"])
    assert failed.exit_code == 1 and "stances: strict span F1 0.667 is below --min-f1 0.7" in failed.output
    assert runner.invoke(app, [*args, "--min-f1", "2"]).exit_code == 2


def test_problems_in_the_data_exit_1_and_usage_errors_exit_2(
    tmp_path: Path, files: tuple[Path, Path]
) -> None:
    gold, _pred = files
    unknown = write_jsonl(tmp_path / "unknown.jsonl", [{"doc_id": "d9", "text": TEXT}])
    result = runner.invoke(app, ["evaluate", "-g", str(gold), "-p", str(unknown)])
    assert result.exit_code == 1
    assert (
        f"{unknown}:1: error [unknown-document] doc_id: doc_id 'd9' is not in the gold data" in result.output
    )
    for args in (
        ["-g", str(gold), "-p", str(gold), "--layer", "stance"],
        ["-g", str(gold), "-p", str(gold), "--split", "test"],
        ["-g", str(gold), "-p", str(tmp_path / "missing.jsonl")],
        ["-g", str(gold)],
        ["-g", str(gold), "-p", str(gold), "--match", "fuzzy"],
    ):
        assert runner.invoke(app, ["evaluate", *args]).exit_code == 2, args


def test_validate_predictions(tmp_path: Path, files: tuple[Path, Path]) -> None:
    _gold, pred = files
    result = runner.invoke(app, ["validate", "--predictions", str(pred)])
    assert result.exit_code == 0, result.output
    # The same line is no record: it lacks what annotators must give.
    result = runner.invoke(app, ["validate", str(pred), "--format", "json"])
    assert result.exit_code == 1
    missing = {p["path"] for p in json.loads(result.stdout)["problems"] if p["code"] == "missing-field"}
    assert missing == {
        "annotator",
        "stances[0].id",
        "stances[0].target",
        "stances[0].holder",
    }
    # Predictions are checked as records are, where they give something.
    wrong = {
        "doc_id": "d1",
        "text": TEXT,
        "stances": [{"start": 149, "end": 155, "text": "Lunacy"}],
        "extra": 1,
    }
    twice = write_jsonl(tmp_path / "twice.jsonl", [wrong, {"doc_id": "d1", "text": TEXT}])
    result = runner.invoke(app, ["validate", "--predictions", str(twice), "--format", "json"])
    assert result.exit_code == 1
    assert {(p["code"], p["line"], p["path"]) for p in json.loads(result.stdout)["problems"]} == {
        ("unknown-field", 1, "extra"),
        ("span-text-mismatch", 1, "stances[0].text"),
        ("duplicate-record", 2, "doc_id"),
    }


def test_predictions_are_not_held_to_the_guidelines(tmp_path: Path) -> None:
    # A question without its `?` and a target the text lacks: warnings in a record, not in a
    # prediction (a model's output is scored, not adjudicated).
    rec = record("d1", "model")
    rec["rhetorical_questions"][0].update(span(TEXT, "Is this the end of the war"))
    rec["stances"][0]["target"] = "the moon"
    path = write_jsonl(tmp_path / "pred.jsonl", [rec])
    as_record = json.loads(runner.invoke(app, ["validate", str(path), "--format", "json"]).stdout)
    assert {p["code"] for p in as_record["problems"]} >= {"question-without-mark", "target-not-in-text"}
    as_prediction = runner.invoke(app, ["validate", "--predictions", str(path), "--format", "json"])
    assert as_prediction.exit_code == 0 and json.loads(as_prediction.stdout)["problems"] == []
