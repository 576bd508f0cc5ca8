"""`corpus view` as a user runs it."""

from __future__ import annotations

import json
import re
from pathlib import Path

from typer.testing import CliRunner

from corpus_tools.cli import app
from corpus_tools.merge import merge

from factory import write_jsonl
from view_helpers import adjudication_log, corpus, pass_a

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
    assert "<h1><bdi>My corpus</bdi></h1>" in (site / "index.html").read_text(encoding="utf-8")


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
    for option in (
        "--output",
        "--decisions",
        "--title",
        "--match",
        "--overlap",
        "--min-votes",
        "--adjudicator",
        "Example: corpus view",
    ):
        assert option in result.stdout


def test_the_options_of_the_merge_reach_the_site(tmp_path: Path):
    """Decisions made on `corpus merge --match overlap --overlap 0.3 --adjudicator adj-9` are all
    applied when the site is made with those options; without them, the lines that match no
    conflict and the replacement that names nobody are noted on stderr."""
    annotations = corpus(tmp_path)
    conflicts = tmp_path / "conflicts.jsonl"
    merge([annotations], output=tmp_path / "gold.jsonl", conflicts=conflicts, match="overlap", overlap=0.3)
    log = adjudication_log(conflicts, tmp_path / "decisions.jsonl")
    lines = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    stance = next(e for e in lines if e["layer"] == "stances")
    stance["decision"] = {"replace": {**pass_a()["stances"][0], "holder": "author"}}
    del stance["adjudicator"]
    log.write_text("".join(json.dumps(o) + "\n" for o in lines), encoding="utf-8")
    base = ["view", str(annotations), "--decisions", str(log)]
    options = ["--match", "overlap", "--overlap", "0.3", "--adjudicator", "adj-9"]

    same = runner.invoke(app, [*base, "-o", str(tmp_path / "a"), *options])
    other = runner.invoke(app, [*base, "-o", str(tmp_path / "b")])

    assert same.exit_code == 0 and other.exit_code == 0, same.output + other.output
    assert f"decisions shown: {len(lines)}; corrections shown: 0" in same.stdout
    assert same.stderr == ""
    assert re.search(
        r"note: [1-9]\d* line\(s\) of the decisions file are stale and 1 are refused", other.stderr
    )
    bad = runner.invoke(app, [*base, "-o", str(tmp_path / "c"), "--min-votes", "0"])
    assert bad.exit_code == 2 and "--min-votes must be at least 1" in bad.stderr
