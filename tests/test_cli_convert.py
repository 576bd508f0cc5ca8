"""`corpus import` and `corpus export` on the command line."""

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from corpus_tools.cli import app
from corpus_tools.cli.app import ReportFormat
from corpus_tools.convert.detect import PREFIX

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


# -- the wrong file, or the wrong format: nothing imported that lost its annotations ----------


@pytest.mark.parametrize("fmt", ["prodigy", "doccano", "labelstudio", "inception"])
@pytest.mark.parametrize("lines", [1, 2])
def test_a_file_of_our_own_records_is_refused_and_never_replaces_the_output(tmp_path, fmt, lines):
    ours = write_jsonl(tmp_path / "our-own-records.jsonl", [record(doc_id=f"doc{i}") for i in range(lines)])
    out = tmp_path / "x.jsonl"
    out.write_text("real annotations\n")
    for extra in ([], ["--partial"]):
        result = runner.invoke(app, ["import", fmt, str(ours), "-o", str(out), *extra])
        assert result.exit_code == 1, result.output
        assert "already in corpus-tools' record format" in result.output, result.output
        assert f"corpus validate {ours}" in result.output
        assert out.read_text() == "real annotations\n"


@pytest.mark.parametrize(
    ("fmt", "export", "keys"),
    [
        ("doccano", DATA / "prodigy" / "stance.jsonl", "'spans'"),
        ("prodigy", DATA / "doccano" / "alice.jsonl", "'label'"),
    ],
)
def test_another_tools_export_reads_no_span_and_is_refused(tmp_path, fmt, export, keys):
    out = tmp_path / "x.jsonl"
    out.write_text("real annotations\n")
    result = runner.invoke(app, ["import", fmt, str(export), "-o", str(out), "--partial"])
    assert result.exit_code == 1, result.output
    problem = next(line for line in result.output.splitlines() if "no span was read" in line)
    assert "error [import-bad-format]" in problem and keys in problem, problem
    assert "nothing was written: no record converted cleanly; " in result.output
    assert out.read_text() == "real annotations\n"


def test_an_export_without_any_annotation_is_written_with_a_warning(tmp_path):
    export = tmp_path / "alice.jsonl"
    export.write_text(
        '{"id": 1, "text": "Is it? Yes.", "label": []}\n{"id": 2, "text": "No.", "label": []}\n'
    )
    out = tmp_path / "x.jsonl"
    result = runner.invoke(app, ["import", "doccano", str(export), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "warning [import-no-spans] no span was read from the 2 record(s)" in result.output
    assert [json.loads(line)["doc_id"] for line in out.read_text().splitlines()] == ["doccano-1", "doccano-2"]


def test_nothing_written_is_said_once(tmp_path):
    out = tmp_path / "keep.jsonl"
    out.write_text("keep\n")
    result = runner.invoke(app, ["import", "brat", str(DATA / "brat" / "bob"), "-o", str(out), "--partial"])
    assert result.exit_code == 1, result.output
    assert (
        result.output.splitlines()[-1]
        == f"nothing was written: no record converted cleanly; {out} is left as it was"
    )


def test_import_format_github_gives_annotations_and_the_docs_list_every_format(tmp_path):
    result = runner.invoke(
        app,
        ["import", "brat", str(DATA / "brat" / "bob"), "-o", str(tmp_path / "o.jsonl"), "--format", "github"],
    )
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("::error file=") and ",line=2,title=import-span-mismatch::T2: " in lines[0]
    assert lines[-1].startswith("nothing was written")
    help_text = runner.invoke(app, ["import", "-h"]).output
    docs = (Path(__file__).parent.parent / "docs" / "convert.md").read_text(encoding="utf-8")
    formats = [f.value for f in ReportFormat]
    assert "`--format " + "\\|".join(formats) + "`" in docs
    assert all(f in help_text for f in formats)


def _corpus(args: list[str], stdout: Path, tmp: Path) -> subprocess.CompletedProcess[str]:
    """`corpus ARGS` in a fresh process, its standard output appended to `stdout` as a shell's
    `>>` does, its temporary folder `tmp/tmp`."""
    (tmp / "tmp").mkdir(exist_ok=True)
    with open(stdout, "a") as f:
        return subprocess.run(
            [sys.executable, "-m", "corpus_tools", *args],
            stdout=f,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp,
            env={**os.environ, "TMPDIR": str(tmp / "tmp")},
            timeout=120,
        )


@pytest.mark.parametrize("target", ["-", "/dev/stdout"])
def test_records_go_to_standard_output_and_the_report_to_stderr(tmp_path, target):
    export = str(DATA / "prodigy" / "teach.jsonl")
    assert (
        runner.invoke(app, ["import", "prodigy", export, "-o", str(tmp_path / "file.jsonl")]).exit_code == 0
    )
    records = (tmp_path / "file.jsonl").read_text(encoding="utf-8")
    stdout = tmp_path / "log.txt"
    stdout.write_text("what the shell wrote here before\n")
    proc = _corpus(["import", "prodigy", export, "-o", target], stdout, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert stdout.read_text(encoding="utf-8") == "what the shell wrote here before\n" + records
    assert "wrote 2 record(s) to standard output" in proc.stderr
    # No file named '-' or 'stdout', and the staged copy is gone.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.jsonl", "log.txt", "tmp"]
    assert os.listdir(tmp_path / "tmp") == []


def test_a_failed_import_writes_nothing_to_standard_output(tmp_path):
    stdout = tmp_path / "log.txt"
    stdout.write_text("kept\n")
    proc = _corpus(["import", "brat", str(DATA / "brat" / "bob"), "-o", "-", "--partial"], stdout, tmp_path)
    assert proc.returncode == 1 and "nothing was written: no record converted cleanly" in proc.stderr
    assert stdout.read_text() == "kept\n" and os.listdir(tmp_path / "tmp") == []


def test_standard_output_takes_only_a_commands_one_output(tmp_path):
    gold = tmp_path / "in" / "a.jsonl"
    write_jsonl(gold, [record()])
    stdout = tmp_path / "log.txt"
    proc = _corpus(["merge", str(gold.parent), "-o", "-", "-c", "c.jsonl"], stdout, tmp_path)
    assert proc.returncode == 2 and proc.stderr.startswith(
        "error: --output -: standard output can take only a command's one output, and this command "
        "also writes --conflicts c.jsonl; write both to files"
    ), proc.stderr
    assert stdout.read_text() == "" and not (tmp_path / "c.jsonl").exists()
    # Other streams would be replaced, not written to: refused.
    proc = _corpus(
        ["import", "prodigy", str(DATA / "prodigy" / "teach.jsonl"), "-o", "/dev/stderr"], stdout, tmp_path
    )
    assert proc.returncode == 2 and "is a stream or terminal (/dev/stderr)" in proc.stderr, proc.stderr


# -- the wrong format: an error naming the file and the format it looks like -----------------

_EXPORTS = {
    "labelstudio": DATA / "labelstudio" / "export.json",
    "doccano": DATA / "doccano" / "alice.jsonl",
    "prodigy": DATA / "prodigy" / "stance.jsonl",
    "brat": DATA / "brat" / "alice",
    "ptc": DATA / "ptc",
    "inception": DATA / "inception" / "annotation",
}


@pytest.mark.parametrize(("given", "actual"), list(itertools.permutations(_EXPORTS, 2)))
def test_the_wrong_format_names_the_file_and_the_format_it_looks_like(tmp_path, given, actual):
    out = tmp_path / "x.jsonl"
    out.write_text("real annotations\n")
    export = _EXPORTS[actual]
    result = runner.invoke(app, ["import", given, str(export), "-o", str(out), "--partial"])
    assert result.exit_code in (1, 2), result.output
    advice = f"; import it with `corpus import {actual} {export}"  # the export, or a file in it
    line = next(line for line in result.output.splitlines() if advice in line)
    # The file (or the folder holding it), and what gave its format away.
    assert str(export) in line.split(advice)[0] and " export (" in line, line
    if result.exit_code == 1:  # as a problem, first, before the shape errors it explains
        assert result.output.splitlines()[0] == line and "error [import-wrong-format]" in line
    assert out.read_text() == "real annotations\n"


def test_a_near_empty_import_of_the_wrong_format_names_the_right_one(tmp_path):
    """A Prodigy export without relations reads as doccano lines with no span at all: the
    records are withheld (nothing empty is written) and the error says to import it as Prodigy."""
    export = DATA / "prodigy" / "teach.jsonl"
    out = tmp_path / "x.jsonl"
    result = runner.invoke(app, ["import", "doccano", str(export), "-o", str(out), "--partial"])
    assert result.exit_code == 1, result.output
    assert result.output.splitlines()[0] == (
        f"{export}: error [import-wrong-format] the file looks like a Prodigy export (its first "
        "record has `text`, `_input_hash`, `_task_hash`, `spans`, `answer`); import it with "
        f"`corpus import prodigy {export}`"
    )
    assert not out.exists()
    # The right format imports it.
    assert runner.invoke(app, ["import", "prodigy", str(export), "-o", str(out)]).exit_code == 0


def test_a_large_export_is_recognised_from_its_start(tmp_path):
    """Only the start of a file is read to recognise it: a Label Studio export of more than that,
    given as doccano, is still named."""
    tasks = json.loads((DATA / "labelstudio" / "export.json").read_text(encoding="utf-8"))
    big = tmp_path / "export.json"
    big.write_text(json.dumps(tasks * 2000, indent=1), encoding="utf-8")
    assert big.stat().st_size > 2 * PREFIX
    result = runner.invoke(app, ["import", "doccano", str(big), "-o", str(tmp_path / "x.jsonl")])
    assert result.exit_code == 1
    assert result.output.splitlines()[0].startswith(
        f"{big}: error [import-wrong-format] the file looks like a Label Studio export"
    )
