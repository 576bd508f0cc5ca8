"""`corpus publish` and `corpus build` on the command line."""

from __future__ import annotations

from pathlib import Path

import datasets
from typer.testing import CliRunner

from corpus_tools.cli import app

from publish_helpers import SETTINGS, annotator_files, card_yaml, gold_corpus, make_split_dir, project

runner = CliRunner()


def test_publish(tmp_path):
    split_dir = make_split_dir(tmp_path / "splits", gold_corpus())
    anns = annotator_files(tmp_path / "ann")
    out = tmp_path / "dataset"
    result = runner.invoke(
        app,
        [
            "publish",
            str(split_dir),
            "--output",
            str(out),
            "--annotators",
            str(anns[0]),
            "--annotators",
            str(anns[1]),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "default: train 3, validation 1, test 1 row(s)" in result.output
    assert "annotators: train 4 row(s)" in result.output
    assert {c["config_name"] for c in card_yaml(out)["configs"]} == {"default", "annotators", "spans"}
    assert datasets.load_dataset(str(out), cache_dir=str(tmp_path / "cache"))["train"].num_rows == 3


def test_publish_card_name_and_licence_from_options(tmp_path):
    split_dir = make_split_dir(tmp_path / "splits", gold_corpus())
    out = tmp_path / "dataset"
    result = runner.invoke(
        app, ["publish", str(split_dir), "-o", str(out), "--name", "Test corpus", "--license", "cc0-1.0"]
    )
    assert result.exit_code == 0, result.output
    card = card_yaml(out)
    assert card["pretty_name"] == "Test corpus"
    assert "The annotations are released under `cc0-1.0`" in (out / "README.md").read_text()


def test_publish_missing_split_folder_is_a_usage_error(tmp_path):
    result = runner.invoke(app, ["publish", str(tmp_path / "nope"), "--output", str(tmp_path / "d")])
    assert result.exit_code == 2, result.output
    assert "no such folder" in result.output
    assert "Traceback" not in result.output


def test_publish_invalid_input_prints_the_report(tmp_path):
    docs = gold_corpus()
    docs["train"][0]["stances"][0]["polarity"] = "furious"
    split_dir = make_split_dir(tmp_path / "splits", docs)
    result = runner.invoke(app, ["publish", str(split_dir), "--output", str(tmp_path / "d")])
    assert result.exit_code == 1, result.output
    assert "invalid-label" in result.output and "nothing was written" in result.output
    assert not (tmp_path / "d").exists()


def test_push_without_a_token(tmp_path, monkeypatch):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setattr("huggingface_hub.get_token", lambda: None)
    split_dir = make_split_dir(tmp_path / "splits", gold_corpus())
    result = runner.invoke(
        app, ["publish", str(split_dir), "--output", str(tmp_path / "d"), "--push", "me/corpus"]
    )
    assert result.exit_code == 2, result.output
    assert "needs a Hugging Face token" in result.output


def test_push_refusal_never_prints_the_token(tmp_path, monkeypatch):
    class ExistingRepo:
        def repo_exists(self, repo_id, **kwargs):
            return True

    monkeypatch.setattr("huggingface_hub.HfApi", ExistingRepo)
    monkeypatch.setenv("HF_TOKEN", "hf_very_secret")
    split_dir = make_split_dir(tmp_path / "splits", gold_corpus())
    result = runner.invoke(
        app, ["publish", str(split_dir), "--output", str(tmp_path / "d"), "--push", "me/corpus"]
    )
    assert result.exit_code == 2, result.output
    assert "already exists; pass --force" in result.output
    assert "hf_very_secret" not in result.output
    assert not (tmp_path / "d").exists()


def test_build(tmp_path, monkeypatch):
    config = project(tmp_path / "p")
    monkeypatch.chdir(tmp_path / "p")
    result = runner.invoke(app, ["build"])
    assert result.exit_code == 0, result.output
    assert "merge: 8 document(s)" in result.output
    assert (Path(tmp_path / "p" / "out" / "dataset" / "README.md")).is_file()
    result = runner.invoke(app, ["build", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "site:" not in result.output


def test_build_says_where_the_site_is(tmp_path, monkeypatch):
    project(tmp_path / "p", SETTINGS + 'site = "out/site"\n')
    monkeypatch.chdir(tmp_path / "p")
    result = runner.invoke(app, ["build"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == (
        "site: 24 record page(s), 8 comparison page(s) of 8 document(s); open out/site/index.html"
    )
    assert (tmp_path / "p" / "out" / "site" / "index.html").is_file()


def test_build_bad_settings_is_a_usage_error(tmp_path):
    path = tmp_path / "corpus.toml"
    path.write_text("[tool.corpus]\nannotatons = ['a']\n", encoding="utf-8")
    result = runner.invoke(app, ["build", "--config", str(path)])
    assert result.exit_code == 2, result.output
    assert "unknown setting 'annotatons'; did you mean 'annotations'" in result.output


def test_help(tmp_path):
    for command in ("publish", "build"):
        result = runner.invoke(app, [command, "-h"])
        assert result.exit_code == 0, result.output
        assert "Example:" in result.output
