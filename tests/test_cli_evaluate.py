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


def test_inputs_that_cannot_be_scored_exit_2_with_the_report_and_the_gate_alone_exits_1(
    tmp_path: Path, files: tuple[Path, Path]
) -> None:
    gold, _pred = files
    # Two valid prediction records and one of a document gold does not have.
    d1 = {"doc_id": "d1", "text": TEXT, "stances": []}
    unknown = write_jsonl(
        tmp_path / "unknown.jsonl", [d1, {"doc_id": "d9", "text": TEXT}, {**d1, "doc_id": "d2"}]
    )
    result = runner.invoke(app, ["evaluate", "-g", str(gold), "-p", str(unknown)])
    # 2, not 1: a CI gate on --min-f1 can tell "below the threshold" from "not scored".
    assert result.exit_code == 2, result.output
    assert (
        f"{unknown}:2: error [unknown-document] doc_id: doc_id 'd9' is not in the gold data" in result.output
    )
    # The summary counts every prediction record read; evaluate writes nothing, so it does
    # not say "nothing was written".
    assert "INVALID: 1 file(s), 3 record(s), 1 error(s), 0 warning(s)" in result.output
    assert "nothing was written" not in result.output
    # With --format json, stdout is always a JSON object: here the report of the problems.
    result = runner.invoke(app, ["evaluate", "-g", str(gold), "-p", str(unknown), "--format", "json"])
    assert result.exit_code == 2
    data = json.loads(result.stdout)
    assert data["summary"] | {"by_code": None} == {
        "files": 1,
        "records": 3,
        "errors": 1,
        "warnings": 0,
        "by_code": None,
        "omitted": {},
        "valid": False,
    }
    assert [(p["code"], p["line"]) for p in data["problems"]] == [("unknown-document", 2)]
    # An invalid line is reported the same way.
    bad = write_jsonl(
        tmp_path / "bad.jsonl", [d1, {**d1, "doc_id": "d2", "stances": [{"start": 0, "end": 999}]}]
    )
    result = runner.invoke(app, ["evaluate", "-g", str(gold), "-p", str(bad), "--format", "json"])
    assert result.exit_code == 2
    assert [p["code"] for p in json.loads(result.stdout)["problems"]] == ["offset-out-of-range"]
    for args in (
        ["-g", str(gold), "-p", str(gold), "--layer", "stance"],
        ["-g", str(gold), "-p", str(gold), "--split", "test"],
        ["-g", str(gold), "-p", str(tmp_path / "missing.jsonl")],
        ["-g", str(gold)],
        ["-g", str(gold), "-p", str(gold), "--match", "fuzzy"],
    ):
        assert runner.invoke(app, ["evaluate", *args]).exit_code == 2, args
    # A usage error the command itself finds is a JSON object too with --format json.
    result = runner.invoke(
        app, ["evaluate", "-g", str(gold), "-p", str(tmp_path / "missing.jsonl"), "-f", "json"]
    )
    assert result.exit_code == 2 and "no such file" in json.loads(result.stdout)["error"]


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


def test_spans_on_the_tokenizers_boundaries_are_not_warned_about_in_predictions(tmp_path: Path) -> None:
    # spaCy splits "cannot" into "can" and "not": a tagger's span ends inside the word, which
    # G3 warns about in an annotator's record but not in a prediction (from_bio's output).
    from corpus_tools.tokens import from_bio, tokenize

    text = "They cannot win. What lunacy!"
    tokens = tokenize(text)
    assert [t.text for t in tokens][1:3] == ["can", "not"]
    row = {
        "doc_id": "d1",
        "text": text,
        "token_starts": [t.start for t in tokens],
        "token_ends": [t.end for t in tokens],
        "sentence_ids": [t.sentence for t in tokens],
    }
    tags = ["O"] * len(tokens)
    tags[1] = "B-against"
    prediction = from_bio(row, {"stances": tags})
    assert prediction["stances"] == [{"start": 5, "end": 8, "text": "can", "polarity": "against"}]
    path = write_jsonl(tmp_path / "pred.jsonl", [prediction])
    result = runner.invoke(app, ["validate", "--predictions", str(path), "--format", "json", "--strict"])
    assert result.exit_code == 0 and json.loads(result.stdout)["problems"] == [], result.output
    # The same span in an annotator's record is warned about.
    stance = {**prediction["stances"][0], "id": "s1", "target": "x", "holder": "author"}
    rec = {**record("d1", "ann-a", text=text), "stances": [stance]}
    as_record = json.loads(
        runner.invoke(
            app, ["validate", str(write_jsonl(tmp_path / "r.jsonl", [rec])), "--format", "json"]
        ).stdout
    )
    assert "span-splits-word" in {p["code"] for p in as_record["problems"]}


def test_one_place_decides_which_checks_apply_to_predictions() -> None:
    from corpus_tools.problems import CATALOGUE, applies_to_predictions

    # Every rule of the guidelines is left out of predictions; every error applies.
    for check in CATALOGUE.values():
        if check.group == "guideline" or check.code in ("span-splits-word", "span-whitespace"):
            assert not applies_to_predictions(check.code), check.code
        if check.severity == "error":
            assert applies_to_predictions(check.code), check.code
