"""Nothing lost, nothing forged: how every command treats the places it writes and hostile input.

Each test is one promise of the README ("never a traceback", "atomic", "nothing lost") tried the
way a careless or hostile user would break it. The kill tests (`test_kill.py`) and the fuzz
targets (`test_fuzz_*.py`) cover the rest.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from corpus_tools import files
from corpus_tools.convert import export_records
from corpus_tools.errors import CorpusToolsError
from corpus_tools.merge import merge
from corpus_tools.publish import CardMetadata, publish
from corpus_tools.publish import hub as publish_hub
from corpus_tools.publish import parquet as publish_parquet
from corpus_tools.schema import Record
from corpus_tools.split import split
from corpus_tools.validate.lines import check_line

from convert_helpers import DATA
from factory import TEXT, record, span, write_jsonl
from fuzzing import run
from merge_helpers import three_annotators
from publish_helpers import gold_corpus, make_split_dir
from strategies import mutated_lines

ROOT = Path(__file__).resolve().parent.parent


def merge_args(inputs: Path, gold: Path, conflicts: Path) -> list[str]:
    return ["merge", str(inputs), "-o", str(gold), "-c", str(conflicts)]


# -- writes: what an output may replace ------------------------------------------------------


def test_an_output_never_replaces_a_fifo_or_a_folder(tmp_path):
    inputs = three_annotators(tmp_path)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    result = run(merge_args(inputs, fifo, tmp_path / "c.jsonl"))
    assert result.exit_code == 2 and "is a FIFO (named pipe)" in result.output
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    (tmp_path / "folder").mkdir()
    result = run(merge_args(inputs, tmp_path / "g.jsonl", tmp_path / "folder"))
    assert result.exit_code == 2 and "--conflicts" in result.output and "is a folder" in result.output
    assert not (tmp_path / "g.jsonl").exists() and not (tmp_path / "c.jsonl").exists()
    result = run(["import", "brat", str(ROOT / "tests/data/convert/brat/alice"), "-o", str(fifo)])
    assert result.exit_code == 2 and stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_an_output_never_replaces_a_device(tmp_path):
    device = tmp_path / "null"
    try:
        os.mknod(device, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # the /dev/null device, as root
    except PermissionError:
        pytest.skip("creating a device needs root")
    result = run(merge_args(three_annotators(tmp_path), device, tmp_path / "c.jsonl"))
    assert result.exit_code == 2 and "is a device" in result.output
    assert stat.S_ISCHR(os.lstat(device).st_mode)


def test_a_symlinked_output_is_written_through(tmp_path):
    inputs = three_annotators(tmp_path)
    real = tmp_path / "shared" / "gold.jsonl"
    real.parent.mkdir()
    real.write_text("old\n")
    link = tmp_path / "gold.jsonl"
    link.symlink_to(real)
    result = run(merge_args(inputs, link, tmp_path / "c.jsonl"))
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_text().startswith('{"doc_id"')
    # A dangling link creates its target.
    dangling = tmp_path / "dangling.jsonl"
    dangling.symlink_to(tmp_path / "shared" / "new.jsonl")
    assert run(merge_args(inputs, dangling, tmp_path / "c.jsonl")).exit_code == 0
    assert (tmp_path / "shared" / "new.jsonl").read_text().startswith('{"doc_id"')


def test_publish_onto_a_symlinked_folder_replaces_its_target(tmp_path):
    split_dir = make_split_dir(tmp_path / "splits", gold_corpus())
    real = tmp_path / "real-dataset"
    publish(split_dir, output=real)
    link = tmp_path / "dataset"
    link.symlink_to(real)
    publish(split_dir, output=link, metadata=CardMetadata(pretty_name="Second"))
    assert link.is_symlink() and "# Second" in (real / "README.md").read_text(encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dataset", "real-dataset", "splits"]


def test_publish_never_deletes_a_file_it_did_not_write(tmp_path):
    split_dir = make_split_dir(tmp_path / "splits", gold_corpus())
    # The reproduction: a folder that looks like a dataset, with a thesis inside.
    out = tmp_path / "p" / "u"
    (out / "data").mkdir(parents=True)
    (out / "README.md").write_text("x\n")
    (out / "splits.json").write_text("{}")
    (out / "data" / "thesis.tex").write_text("keep\n")
    result = run(["publish", str(split_dir), "-o", str(out)])
    assert result.exit_code == 2 and "README.md" in result.output
    assert (out / "data" / "thesis.tex").read_text() == "keep\n"
    # A file added under data/ of an earlier publish stops the next one, named.
    ds = tmp_path / "ds"
    publish(split_dir, output=ds)
    (ds / "data" / "default" / "notes.txt").write_text("mine\n")
    result = run(["publish", str(split_dir), "-o", str(ds)])
    assert result.exit_code == 2 and "data/default/notes.txt" in result.output
    assert (ds / "data" / "default" / "notes.txt").exists()
    # A card edited by hand is not silently thrown away either.
    (ds / "data" / "default" / "notes.txt").unlink()
    (ds / "README.md").write_text("my own card\n")
    result = run(["publish", str(split_dir), "-o", str(ds)])
    assert result.exit_code == 2 and "README.md was changed" in result.output
    # Its own untouched output it replaces.
    (ds / "README.md").unlink()
    (ds / files.RECORD_NAME).unlink()
    result = run(["publish", str(split_dir), "-o", str(ds)])
    assert result.exit_code == 2  # no record of what it wrote: not provably its own
    publish(split_dir, output=tmp_path / "ds2")
    assert run(["publish", str(split_dir), "-o", str(tmp_path / "ds2")]).exit_code == 0


def test_split_and_export_folders_are_replaced_only_when_they_wrote_them(tmp_path):
    gold = write_jsonl(
        tmp_path / "in" / "gold.jsonl", [record(doc_id=f"d{i}", annotator="gold") for i in range(5)]
    )
    out = tmp_path / "splits"
    split([gold], output=out)
    split([gold], output=out)  # its own folder: replaced
    (out / "train.jsonl").write_text("edited\n")
    with pytest.raises(CorpusToolsError, match=r"train\.jsonl was changed"):
        split([gold], output=out)
    assert (out / "train.jsonl").read_text() == "edited\n"
    export_records("brat", [gold], output=tmp_path / "brat")
    export_records("brat", [gold], output=tmp_path / "brat")
    (tmp_path / "brat" / "gold" / "extra.ann").write_text("")
    with pytest.raises(CorpusToolsError, match=r"holds gold/extra\.ann"):
        export_records("brat", [gold], output=tmp_path / "brat")


# -- writes: outputs appear together -----------------------------------------------------------


@pytest.mark.parametrize("moves_before_crash", [0, 1])
def test_a_crash_between_two_renames_is_completed_by_the_next_command(
    tmp_path, monkeypatch, moves_before_crash
):
    inputs = three_annotators(tmp_path)
    gold, conflicts = tmp_path / "gold.jsonl", tmp_path / "conflicts.jsonl"
    gold.write_text("old gold\n")
    conflicts.write_text("old conflicts\n")
    real_replace = os.replace
    done = []

    def crashing_replace(src: Any, dst: Any) -> None:
        # The journals are written with os.replace too; count only the outputs' moves.
        if ".tmp" in os.fspath(src) and files.JOURNAL_SUFFIX not in os.fspath(dst):
            if len(done) == moves_before_crash:
                raise KeyboardInterrupt  # as a signal would arrive
            done.append(dst)
        real_replace(src, dst)

    monkeypatch.setattr(files.os, "replace", crashing_replace)
    with pytest.raises(KeyboardInterrupt):
        merge([inputs], output=gold, conflicts=conflicts)
    monkeypatch.setattr(files.os, "replace", real_replace)
    # Right after the crash: old and new side by side, and a journal that says so.
    assert (tmp_path / f".gold.jsonl{files.JOURNAL_SUFFIX}").exists()
    # The next command that reads them completes the set first.
    result = run(
        [
            "validate",
            str(gold),
            str(conflicts),
            "--ignore",
            "missing-field",
            "--ignore",
            "unknown-field",
            "--ignore",
            "wrong-type",
        ]
    )
    assert "old gold" not in gold.read_text() and "old conflicts" not in conflicts.read_text()
    assert not list(tmp_path.glob(".*corpus-commit")) and not list(tmp_path.glob(".*.tmp"))
    assert result.exit_code in (0, 1)
    fresh = tmp_path / "fresh"
    merge([inputs], output=fresh / "gold.jsonl", conflicts=fresh / "conflicts.jsonl")
    assert gold.read_bytes() == (fresh / "gold.jsonl").read_bytes()
    assert conflicts.read_bytes() == (fresh / "conflicts.jsonl").read_bytes()


# -- leftovers --------------------------------------------------------------------------------


def test_folder_inputs_skip_hidden_files_and_folders(tmp_path):
    good = write_jsonl(tmp_path / "ann" / "a.jsonl", [record()])
    write_jsonl(tmp_path / "ann" / ".a.jsonl.123.abcd.tmp", [record()])  # a killed run's temp
    write_jsonl(tmp_path / "ann" / ".hidden.jsonl", [record()])
    write_jsonl(tmp_path / "ann" / ".ds.1.ab.tmp" / "train.jsonl", [record()])
    write_jsonl(tmp_path / "ann" / ".git" / "x.jsonl", [record()])
    assert files.input_files([tmp_path / "ann"]) == [good]
    # Named directly, a hidden file is read: the user asked for it.
    assert files.input_files([tmp_path / "ann" / ".hidden.jsonl"]) == [tmp_path / "ann" / ".hidden.jsonl"]


def test_temporary_files_of_a_dead_run_are_removed_by_the_next(tmp_path):
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    ).stdout.strip()
    leftover = tmp_path / f".gold.jsonl.{dead}.0a1b2c3d.tmp"
    leftover.write_text("half")
    mine = tmp_path / f".gold.jsonl.{os.getpid()}.0a1b2c3d.tmp"  # a live process's: kept
    mine.write_text("in progress")
    merge([three_annotators(tmp_path)], output=tmp_path / "gold.jsonl", conflicts=tmp_path / "c.jsonl")
    assert not leftover.exists() and mine.exists()


def test_partial_import_with_nothing_clean_never_replaces_an_output(tmp_path):
    out = tmp_path / "out.jsonl"
    out.write_text("a good earlier import\n")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "doc.txt").write_text("Hello world.\n", encoding="utf-8")
    (broken / "doc.ann").write_text("T1\tSTANCE-against 0 999\tHello\n", encoding="utf-8")
    result = run(["import", "brat", str(broken), "-o", str(out), "--partial", "--annotator", "x"])
    assert result.exit_code == 1, result.output
    assert "no record converted cleanly" in result.output
    assert out.read_text() == "a good earlier import\n"


# -- input that must not crash or hang ----------------------------------------------------------


def test_a_fifo_input_is_refused_not_read(tmp_path):
    fifo = tmp_path / "in.jsonl"
    os.mkfifo(fifo)
    # Run in a subprocess with a timeout: reading a FIFO would block forever.
    for args in (["validate", str(fifo)], ["validate", str(tmp_path)]):
        proc = subprocess.run(
            [sys.executable, "-m", "corpus_tools", *args], capture_output=True, text=True, timeout=60
        )
        assert proc.returncode == 2 and "FIFO" in proc.stderr and "Traceback" not in proc.stderr


def test_a_non_utf8_file_name_is_reported_in_every_format(tmp_path):
    name = os.fsdecode(b"bad-\xff.jsonl")
    path = tmp_path / name
    write_jsonl(path, [record(), {**record(), "extra": 1}])
    result = run(["validate", str(tmp_path), "-f", "json"])
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert data["problems"][0]["file"].endswith("bad-\\xff.jsonl")
    for fmt in ("text", "github"):
        result = run(["validate", str(tmp_path), "-f", fmt])
        assert result.exit_code == 1 and "bad-\\xff.jsonl" in result.output


def test_an_output_path_that_is_not_utf8(tmp_path):
    out = tmp_path / os.fsdecode(b"gold-\xfe.jsonl")
    result = run(merge_args(three_annotators(tmp_path), out, tmp_path / "c.jsonl"))
    assert result.exit_code == 0, result.output
    assert os.path.exists(out) and "gold-\\xfe.jsonl" in result.output


def test_jobs_beyond_the_cpus_are_capped_with_a_note(tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", [record()])
    result = run(["validate", str(path), "-j", "100000"])
    assert result.exit_code == 0 and "note: --jobs 100000 is more than" in result.output
    assert run(["validate", str(path), "-j", "0"]).exit_code == 2


@pytest.mark.parametrize("value", ["nan", "-1", "2", "inf"])
def test_a_gate_outside_0_to_1_is_a_usage_error(tmp_path, value):
    result = run(["agreement", str(three_annotators(tmp_path)), "--min-f1", value])
    assert result.exit_code == 2 and "--min-f1 must be a number from 0 to 1" in result.output


def test_schema_check_on_a_file_that_is_not_utf8(tmp_path):
    (tmp_path / "record.schema.json").write_bytes(b"\xff\xfe{}")
    result = run(["schema", "--check", "--output", str(tmp_path)])
    assert result.exit_code == 1 and "stale" in result.output


@pytest.mark.parametrize(
    ("key", "value"),
    [("ratios", "x"), ("leakage", 5), ("seed", True), ("counts", {"train": 3}), ("documents", {"d1": "dev"})],
)
def test_publish_with_a_forged_manifest_is_a_usage_error(tmp_path, key, value):
    split_dir = make_split_dir(tmp_path / "splits", gold_corpus())
    manifest = json.loads((split_dir / "splits.json").read_text())
    (split_dir / "splits.json").write_text(json.dumps({**manifest, key: value}))
    result = run(["publish", str(split_dir), "-o", str(tmp_path / "ds")])
    assert result.exit_code == 2 and f"splits.json: {key}" in result.output
    assert not (tmp_path / "ds").exists()


# -- one judgement of a line ------------------------------------------------------------------


def _arrow_record(line: bytes, tmp: Path) -> dict[str, Any]:
    """The record as `corpus publish` reads it: Arrow's JSON reader, then the features."""
    from corpus_tools.publish.features import features

    path = tmp / "one.jsonl"
    path.write_bytes(line + b"\n")
    tables = [t for t, _pos in publish_parquet._read_tables(path)]
    row = tables[0].to_pylist()[0]
    return features().decode_example(row)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(raw=mutated_lines(), dup=st.booleans(), pad=st.sampled_from([b"", b" ", b"\t", b"\r"]))
def test_what_validate_accepts_publish_reads_with_the_same_meaning(tmp_path_factory, raw, dup, pad):
    if dup:  # repeat the first key of the record, as a hand edit might
        raw = raw.replace(b"{", b'{"doc_id": "dup", ', 1)
    raw = pad + raw + pad
    findings, _key = check_line(raw)
    if any(
        code
        for code, _p, _m in findings
        if code
        not in ("span-whitespace", "span-splits-word", "holder-outside-content", "answer-without-hypophora")
    ):
        return  # refused by validate: publish never sees it
    expected = Record.model_validate_json(raw).model_dump(mode="json")
    got = _arrow_record(raw, tmp_path_factory.mktemp("line"))
    from publish_helpers import decode

    assert decode(got) == expected


def test_a_line_of_vertical_tab_is_an_error_not_a_blank(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_bytes(json.dumps(record()).encode() + b"\n\x0b\n")
    result = run(["validate", str(path)])
    assert result.exit_code == 1 and "[invalid-json]" in result.output


def test_a_huge_offset_is_shown_as_written(tmp_path):
    rec = record()
    rec["stances"][0]["end"] = 10**30
    path = write_jsonl(tmp_path / "a.jsonl", [rec])
    result = run(["validate", str(path)])
    assert "end 1000000000000000000000000000000 is outside the text" in result.output


# -- the card is built from data that contributors control ---------------------------------------

HOSTILE = "Nice\n\n## Licence and rights\n<script>alert(1)</script><img src=x onerror=alert(2)> [x](javascript:alert(3)) `code` | a | b |"


def test_hostile_metadata_cannot_forge_the_card(tmp_path):
    docs = gold_corpus()
    meta = docs["train"][0]["meta"]
    meta.update(
        title=HOSTILE,
        author="<b>Eve</b>",
        source="| forged | row |\n| x | y |",
        url="javascript:alert(4)",
        license="cc-by`|\n| forged | 99 |",
        license_url="data:text/html,x",
        rights="line one\n## Not a heading\n<script>alert(5)</script>\n1. not a list\n---",
    )
    split_dir = make_split_dir(tmp_path / "splits", docs)
    name = "My } corpus { \\ % x"
    result = run(["publish", str(split_dir), "-o", str(tmp_path / "ds"), "--name", name])
    assert result.exit_code == 0, result.output
    card = (tmp_path / "ds" / "README.md").read_text(encoding="utf-8")
    from huggingface_hub import DatasetCard

    parsed = DatasetCard(card)
    assert parsed.data.pretty_name == name  # the YAML keeps values verbatim
    _header, body = card.split("---\n", 2)[1:]
    for text in (body, (tmp_path / "ds" / "LICENSE.md").read_text(encoding="utf-8")):
        html = MarkdownIt("commonmark").enable("table").render(text)
        assert "<script" not in html and "<img" not in html and "<b>" not in html
        assert 'href="javascript:' not in html and 'href="data:' not in html
        assert html.count("<h2>Licence and rights</h2>") == 1
        assert "<h2>Not a heading</h2>" not in html and "<h2>Licence and rights</h2>\n<p>line" not in html
        tokens = MarkdownIt("commonmark").enable("table").parse(text)
        rows = [t for t in tokens if t.type == "tr_open"]
        # The licence table: a header row and one row per licence (no forged rows).
        assert not any(
            "forged" in (t.content or "") and t.type == "inline" and "|" not in t.content for t in tokens
        )
        assert len(rows) >= 2
    bib = body.split("```bibtex\n")[1].split("\n```")[0]
    depth = 0
    for i, c in enumerate(bib):
        if c in "{}" and (i == 0 or bib[i - 1] != "\\"):
            depth += 1 if c == "{" else -1
            assert depth >= 0
    assert depth == 0


def test_a_language_that_is_not_bcp47_is_a_validate_problem(tmp_path):
    rec = record()
    rec["meta"]["language"] = "English"
    result = run(["validate", str(write_jsonl(tmp_path / "a.jsonl", [rec]))])
    assert result.exit_code == 1 and "[invalid-language]" in result.output


# -- messages in the user's terms ---------------------------------------------------------------


def test_messages_name_the_place_in_the_users_terms(tmp_path):
    inputs = three_annotators(tmp_path)
    (tmp_path / "afile").write_text("x")
    result = run(merge_args(inputs, tmp_path / "afile" / "gold.jsonl", tmp_path / "c.jsonl"))
    assert result.exit_code == 2 and "afile is a file, not a folder" in result.output
    (tmp_path / "decided").mkdir()
    result = run(
        [*merge_args(inputs, tmp_path / "g.jsonl", tmp_path / "c.jsonl"), "-d", str(tmp_path / "decided")]
    )
    assert result.exit_code == 2 and "decided: is a folder; give the decisions file itself" in result.output
    utf16 = tmp_path / "decisions.jsonl"
    utf16.write_bytes('{"id": "c-1", "decision": {"reject": true}}\n'.encode("utf-16"))
    result = run([*merge_args(inputs, tmp_path / "g.jsonl", tmp_path / "c.jsonl"), "-d", str(utf16)])
    assert result.exit_code == 2 and "looks UTF-16 encoded" in result.output
    assert "surrogates" not in result.output


def test_a_full_disk_names_the_outputs_and_leaves_the_old_ones(tmp_path):
    inputs = three_annotators(tmp_path)
    gold, conflicts = tmp_path / "gold.jsonl", tmp_path / "c.jsonl"
    gold.write_text("old\n")

    def small_files() -> None:  # writes past 2 KB fail, as on a full disk (EFBIG instead of ENOSPC)
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (2048, 2048))

    proc = subprocess.run(
        [sys.executable, "-m", "corpus_tools", *merge_args(inputs, gold, conflicts)],
        capture_output=True,
        text=True,
        preexec_fn=small_files,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert "cannot write" in proc.stderr and "gold.jsonl" in proc.stderr and "Traceback" not in proc.stderr
    assert gold.read_text() == "old\n" and not conflicts.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["gold.jsonl", inputs.name])


def test_brat_export_of_tricky_names(tmp_path):
    conf = record(annotator="annotation.conf")
    src = write_jsonl(tmp_path / "in.jsonl", [conf])
    export_records("brat", [src], output=tmp_path / "a")
    assert (tmp_path / "a" / "annotation.conf" / "annotation.conf").is_file()
    twins = write_jsonl(tmp_path / "twins.jsonl", [record(doc_id="Doc1"), record(doc_id="doc1")])
    with pytest.raises(CorpusToolsError, match="differ only in case"):
        export_records("brat", [twins], output=tmp_path / "b")
    assert not (tmp_path / "b").exists()


def test_the_token_is_scrubbed_in_any_case():
    assert (
        publish_hub.scrub(RuntimeError("bad token HF_SECRET and hf_secret"), "hf_Secret")
        == "RuntimeError: bad token *** and ***"
    )


def test_span_helper_is_used_for_offsets():
    # Guards the fixtures above: TEXT's spans are found where the factory says.
    assert TEXT[span(TEXT, "lunacy")["start"] : span(TEXT, "lunacy")["end"]] == "lunacy"


# -- found by the hostile review --------------------------------------------------------------


def test_a_planted_journal_is_refused_not_followed(tmp_path):
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "data.txt").write_text("precious")
    repo = tmp_path / "repo"
    ann = write_jsonl(repo / "annotations" / "a.jsonl", [record()])
    journal = repo / "annotations" / f".a.jsonl{files.JOURNAL_SUFFIX}"
    for moves in (
        [{"kind": "folder", "temp": "/nonexistent", "target": str(tmp_path / "x"), "old": str(victim)}],
        [{"kind": "file", "temp": str(ann), "target": str(victim / "data.txt")}],
        [{"kind": "x", "temp": "/n", "target": "/t"}],
        [],
    ):
        journal.write_text(json.dumps({"pid": 1, "moves": moves, "journals": [str(journal)]}))
        result = run(["validate", str(repo / "annotations")])
        assert result.exit_code == 2 and "not a commit journal corpus-tools wrote" in result.output
        assert (victim / "data.txt").read_text() == "precious" and ann.exists()
    journal.write_text('{"moves": [], "journals": [1]}')
    assert run(["validate", str(ann)]).exit_code == 2


def test_recovery_never_overwrites_a_file_changed_since(tmp_path, monkeypatch):
    inputs = three_annotators(tmp_path)
    gold, conflicts = tmp_path / "gold.jsonl", tmp_path / "conflicts.jsonl"
    merge([inputs], output=gold, conflicts=conflicts)
    real_replace = os.replace

    def crash_first_move(src: Any, dst: Any) -> None:
        if ".tmp" in os.fspath(src) and files.JOURNAL_SUFFIX not in os.fspath(dst):
            raise KeyboardInterrupt
        real_replace(src, dst)

    monkeypatch.setattr(files.os, "replace", crash_first_move)
    with pytest.raises(KeyboardInterrupt):
        merge([inputs], output=gold, conflicts=conflicts)
    monkeypatch.setattr(files.os, "replace", real_replace)
    assert files.left_pending()
    # An adjudicator edits the conflicts file before any command runs again.
    conflicts.write_text(conflicts.read_text() + '{"id": "c-1", "reason": "HUMAN WORK"}\n')
    result = run(["validate", str(conflicts), "--ignore", "missing-field", "--ignore", "unknown-field"])
    assert result.exit_code == 2 and "was changed after an interrupted command" in result.output
    assert "HUMAN WORK" in conflicts.read_text()


def test_carriage_returns_between_tokens_reach_publish_unchanged(tmp_path, monkeypatch):
    monkeypatch.setattr(publish_parquet, "PARSE_BLOCK", 300)  # blocks smaller than a line
    docs = gold_corpus()
    split_dir = make_split_dir(tmp_path / "splits", docs)
    for name in ("train", "validation", "test"):
        path = split_dir / f"{name}.jsonl"
        path.write_bytes(
            path.read_bytes().replace(b'{"doc_id"', b'{\r"doc_id"').replace(b', "text"', b',\r "text"')
        )
    assert run(["validate", str(split_dir)]).exit_code == 0
    result = publish(split_dir, output=tmp_path / "ds")
    assert result.rows() == {"train": 3, "validation": 1, "test": 1}


def test_one_command_never_replaces_another_commands_folder(tmp_path):
    gold = write_jsonl(
        tmp_path / "in" / "gold.jsonl", [record(doc_id=f"d{i}", annotator="gold") for i in range(4)]
    )
    split([gold], output=tmp_path / "splits")
    with pytest.raises(CorpusToolsError, match="written by 'corpus split'"):
        export_records("brat", [gold], output=tmp_path / "splits")
    export_records("brat", [gold], output=tmp_path / "brat")
    with pytest.raises(CorpusToolsError, match="written by 'corpus export'"):
        split([gold], output=tmp_path / "brat")
    assert (tmp_path / "splits" / "splits.json").exists() and (tmp_path / "brat" / "gold").is_dir()


@pytest.mark.parametrize(
    ("name", "text", "args"),
    [
        (
            "settings with a NUL",
            '[tool.corpus]\nannotations = ["a\\u0000b"]\ngold = "g"\nconflicts = "c"\n'
            'split_dir = "s"\noutput = "o"\n',
            ["build", "-c"],
        ),
        ("deep TOML", "x = " + "[" * 2000 + "]" * 2000 + "\n", ["build", "-c"]),
    ],
)
def test_hand_written_settings_that_would_crash(tmp_path, name, text, args):
    path = tmp_path / "corpus.toml"
    path.write_text(text, encoding="utf-8")
    result = run([*args, str(path)])
    assert result.exit_code == 2 and "Traceback" not in result.output, name


def test_deep_or_repeated_keys_in_hand_written_json_are_errors(tmp_path):
    inputs = three_annotators(tmp_path)
    base = merge_args(inputs, tmp_path / "g.jsonl", tmp_path / "c.jsonl")
    for line, message in (
        ('{"id": "c-1", "decision": {"reject": true}, "decision": {"accept": "ann-a"}}', "given twice"),
        ('{"id": "c-1", "decison": {"reject": true}}', "did you mean 'decision'"),
        ('{"id": "c-1", "note": ' + "[" * 1010 + "]" * 1010 + "}", "nested too deeply"),
    ):
        (tmp_path / "d.jsonl").write_text(line + "\n")
        result = run([*base, "-d", str(tmp_path / "d.jsonl")])
        assert result.exit_code == 2 and message in result.output, result.output
    label_map = tmp_path / "map.json"
    label_map.write_text('{"labels": ' + "[" * 1010 + "]" * 1010 + "}")
    result = run(
        [
            "import",
            "brat",
            str(ROOT / "tests/data/convert/brat/alice"),
            "-o",
            str(tmp_path / "o.jsonl"),
            "--label-map",
            str(label_map),
        ]
    )
    assert result.exit_code == 2 and "nested too deeply" in result.output


def test_two_commands_never_write_the_same_output_at_once(tmp_path):
    inputs = three_annotators(tmp_path)
    gold = tmp_path / "gold.jsonl"
    with files.Outputs("corpus merge") as busy:
        busy.file(gold)
        result = run(merge_args(inputs, gold, tmp_path / "c.jsonl"))
        assert result.exit_code == 2 and "another corpus command is writing it" in result.output
    assert run(merge_args(inputs, gold, tmp_path / "c.jsonl")).exit_code == 0
    assert not list(tmp_path.glob(".*corpus-lock"))  # the lock file goes with the lock


def test_only_exact_temporary_names_of_a_dead_run_are_removed(tmp_path):
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    ).stdout.strip()
    other = tmp_path / f".gold.jsonl.2024.{dead}.0a1b2c3d.tmp"  # another target's: "gold.jsonl.2024"
    other.write_text("x")
    mine = tmp_path / f".gold.jsonl.{dead}.0a1b2c3d.tmp"
    mine.write_text("x")
    merge([three_annotators(tmp_path)], output=tmp_path / "gold.jsonl", conflicts=tmp_path / "c.jsonl")
    assert other.exists() and not mine.exists()


def test_publish_completes_an_interrupted_split_first(tmp_path, monkeypatch):
    gold = write_jsonl(
        tmp_path / "in" / "gold.jsonl",
        [
            record(doc_id=f"d{i}", annotator="gold") | {"meta": {"title": "t", "license": "cc0-1.0"}}
            for i in range(6)
        ],
    )
    split([gold], output=tmp_path / "splits", ratios=(0.5, 0.25, 0.25))
    real_replace = os.replace
    moves = []

    def crash_second_move(src: Any, dst: Any) -> None:
        if files.JOURNAL_SUFFIX not in os.fspath(dst):
            moves.append(dst)
            if len(moves) == 2:  # the old folder moved aside, the new one not yet in place
                raise KeyboardInterrupt
        real_replace(src, dst)

    monkeypatch.setattr(files.os, "replace", crash_second_move)
    with pytest.raises(KeyboardInterrupt):
        split([gold], output=tmp_path / "splits", ratios=(0.5, 0.25, 0.25))
    monkeypatch.setattr(files.os, "replace", real_replace)
    assert not (tmp_path / "splits").exists()
    assert publish(tmp_path / "splits", output=tmp_path / "ds").rows()


def test_a_manifest_split_never_writes_is_refused(tmp_path):
    gold = write_jsonl(
        tmp_path / "in" / "gold.jsonl", [record(doc_id=f"d{i}", annotator="gold") for i in range(4)]
    )
    with pytest.raises(CorpusToolsError, match="toolkit's record"):
        split([gold], output=tmp_path / "out", manifest=tmp_path / "out" / files.RECORD_NAME)
    split_dir = make_split_dir(tmp_path / "splits", gold_corpus())
    manifest = json.loads((split_dir / "splits.json").read_text())
    for key, value, message in (
        ("ratios", {"train": -5, "validation": 7, "test": -1}, "non-negative"),
        ("ratios", {"train": 1, "validation": 1, "test": 1}, "sum to 1"),
        ("seed", -1, "seed"),
        ("group_by", "meta.nope", "cannot group by"),
        ("counts", {"train": {"documents": -3, "groups": -99, "records": 0}}, "greater than or equal"),
    ):
        (split_dir / "splits.json").write_text(json.dumps({**manifest, key: value}))
        result = run(["publish", str(split_dir), "-o", str(tmp_path / "ds")])
        assert result.exit_code == 2 and message in result.output, (key, result.output)


def test_build_refuses_an_unusable_output_before_writing_anything(tmp_path):
    from publish_helpers import project

    settings = project(tmp_path / "p")
    root = settings.parent
    (root / "out" / "dataset").mkdir(parents=True)
    (root / "out" / "dataset" / "mine.txt").write_text("mine")
    result = run(["build", "-c", str(settings)])
    assert result.exit_code == 2 and "output" in result.output and "mine.txt" in result.output
    assert not (root / "out" / "gold.jsonl").exists()


def test_file_names_cannot_inject_report_lines(tmp_path):
    folder = tmp_path / "a"
    write_jsonl(folder / "evil\n::error file=README.md,line=1::injected\n.jsonl", [{**record(), "extra": 1}])
    result = run(["validate", str(folder)])
    assert result.exit_code == 1
    assert not any(line.startswith("::") for line in result.output.splitlines())


def test_a_long_output_name_and_the_replaced_files_mode(tmp_path):
    inputs = three_annotators(tmp_path)
    long_name = tmp_path / ("g" * 240 + ".jsonl")
    assert run(merge_args(inputs, long_name, tmp_path / "c.jsonl")).exit_code == 0
    conflicts = tmp_path / "c.jsonl"
    os.chmod(conflicts, 0o600)
    assert run(merge_args(inputs, long_name, conflicts)).exit_code == 0
    assert stat.S_IMODE(conflicts.stat().st_mode) == 0o600


# -- outputs the user may not write, and leftovers of killed runs ---------------------------------


def _without_file_permissions_bypass(tmp_path: Path) -> list[str]:
    """How to run a command whose file permissions apply: as is for a normal user; as root,
    with the capabilities that bypass them dropped (`setpriv`), or the test is skipped."""
    if os.geteuid() != 0:
        return []
    drop = ["setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner", "--"]
    closed = tmp_path / "closed"
    closed.write_text("")
    os.chmod(closed, 0)
    try:
        probe = subprocess.run(
            [*drop, sys.executable, "-c", f"import os; print(os.access({str(closed)!r}, os.R_OK))"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    except FileNotFoundError:
        pytest.skip("running as root without setpriv: file modes cannot be made to apply")
    finally:
        closed.unlink()
    if probe.returncode != 0 or probe.stdout.strip() != "False":
        pytest.skip(f"running as root and setpriv cannot drop the capabilities: {probe.stderr.strip()}")
    return drop


def test_read_only_outputs_are_refused_naming_the_option_and_the_path(tmp_path):
    prefix = _without_file_permissions_bypass(tmp_path)
    export = DATA / "prodigy" / "teach.jsonl"
    (tmp_path / "ro").mkdir()
    (tmp_path / "rw").mkdir()
    kept = tmp_path / "rw" / "out.jsonl"
    kept.write_text("earlier import\n")
    os.chmod(kept, 0o444)
    os.chmod(tmp_path / "ro", 0o555)
    try:
        for output, message in (
            ("ro/x.jsonl", "error: cannot write --output ro/x.jsonl: the folder ro is not writable"),
            ("ro/new/x.jsonl", "error: cannot write --output ro/new/x.jsonl: the folder ro is not writable"),
            ("rw/out.jsonl", "error: cannot write --output rw/out.jsonl: the file is read-only"),
        ):
            proc = subprocess.run(
                [
                    *prefix,
                    sys.executable,
                    "-m",
                    "corpus_tools",
                    "import",
                    "prodigy",
                    str(export),
                    "-o",
                    output,
                ],
                capture_output=True,
                text=True,
                cwd=tmp_path,
                timeout=120,
            )
            assert proc.returncode == 2 and proc.stderr.startswith(message), proc.stderr
            assert ".corpus-lock" not in proc.stderr and ".tmp" not in proc.stderr
        assert kept.read_text() == "earlier import\n" and os.listdir(tmp_path / "ro") == []
    finally:
        os.chmod(tmp_path / "ro", 0o755)


def test_a_replaced_read_only_file_keeps_its_mode_when_it_may_be_replaced(tmp_path):
    """Root may replace a read-only file (as `cp` may): the new file gets the old mode once it is
    written, not before, when it would stop the command writing it (for a non-root user a
    read-only file is refused, above)."""
    if os.geteuid() != 0:
        pytest.skip("only root may replace a read-only file")
    out = tmp_path / "out.jsonl"
    out.write_text("earlier import\n")
    os.chmod(out, 0o440)
    result = run(["import", "prodigy", str(DATA / "prodigy" / "teach.jsonl"), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert '"doc_id"' in out.read_text() and stat.S_IMODE(out.stat().st_mode) == 0o440


def test_leftovers_of_a_killed_writer_are_removed_by_a_command_reading_their_folder(tmp_path):
    folder = tmp_path / "annotations"
    write_jsonl(folder / "a.jsonl", [record()])
    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from corpus_tools.files import Outputs\n"
            "out = Outputs('corpus import').__enter__()\n"
            "temp = out.file(sys.argv[1])\n"
            "temp.write_bytes(b'x' * 1_000_000)\n"
            "print(temp, flush=True)\n"
            "time.sleep(600)\n",
            str(folder / "imported.jsonl"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    temp = Path(writer.stdout.readline().strip())
    lock = folder / f".imported.jsonl{files.LOCK_SUFFIX}"
    assert temp.exists() and lock.exists()
    # While the writer lives, a reader leaves its files alone.
    assert run(["validate", str(folder)]).exit_code == 0
    assert temp.exists() and lock.exists()
    writer.kill()  # SIGKILL: no cleanup
    writer.wait()
    writer.stdout.close()
    # A leftover that a commit journal still needs is left for `recover`, too.
    dead = temp.name.split(".")[3]
    needed = folder / f".gold.jsonl.{dead}.0a1b2c3d.tmp"
    needed.write_text("the new gold, waiting to be moved into place")
    (folder / f".gold.jsonl{files.JOURNAL_SUFFIX}").write_text("{}")
    assert temp.exists() and lock.exists()
    result = run(["validate", str(folder)])
    assert result.exit_code == 0, result.output
    assert not temp.exists() and not lock.exists()
    assert needed.exists()
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [f".gold.jsonl{files.JOURNAL_SUFFIX}", needed.name, "a.jsonl"]
    )


def test_merge_onto_an_input_file_says_it_is_an_input(tmp_path):
    inputs = three_annotators(tmp_path)
    target = next(inputs.glob("*.jsonl"))
    result = run(merge_args(inputs, target, tmp_path / "c.jsonl"))
    assert result.exit_code == 2, result.output
    assert f"--output {target}: is one of the input files (in the input folder {inputs})" in result.output


def test_the_staged_copy_of_a_killed_run_on_standard_output_is_removed_by_the_next(tmp_path):
    temp = tmp_path / "tmp"
    temp.mkdir()
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead = temp / f".corpus-stdout.{gone.stdout.strip()}.0a1b2c3d.tmp"  # as SIGKILL leaves it
    dead.write_bytes(b"x" * 100_000)
    alive = temp / f".corpus-stdout.{os.getpid()}.0a1b2c3d.tmp"  # a run still going
    alive.write_bytes(b"")
    other = temp / "unrelated.tmp"
    other.write_bytes(b"")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "corpus_tools",
            "import",
            "prodigy",
            str(DATA / "prodigy" / "teach.jsonl"),
            "-o",
            "-",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "TMPDIR": str(temp)},
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count('"doc_id"') == 2
    assert sorted(p.name for p in temp.iterdir()) == sorted([alive.name, other.name])


@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_outputs_get_the_modes_of_files_the_user_makes(tmp_path, umask):
    """Every output, file or folder, has the mode any new file of the user gets (the umask
    applied to 0666 and 0777), never the private mode of a temporary file."""
    inputs = three_annotators(tmp_path / "in")
    old = os.umask(umask)
    try:
        out = tmp_path / "out"
        assert (
            run(
                [
                    "import",
                    "prodigy",
                    str(DATA / "prodigy" / "teach.jsonl"),
                    "-o",
                    str(out / "imported.jsonl"),
                ]
            ).exit_code
            == 0
        )
        assert run(merge_args(inputs, out / "gold.jsonl", out / "conflicts.jsonl")).exit_code == 0
        assert run(["split", str(out / "gold.jsonl"), "-o", str(out / "splits")]).exit_code == 0
        export_records("brat", [inputs], output=out / "brat")
        assert run(["schema", "-o", str(out / "schema")]).exit_code == 0
    finally:
        os.umask(old)
    modes = {
        p.relative_to(out).as_posix(): (p.is_dir(), stat.S_IMODE(p.stat().st_mode)) for p in out.rglob("*")
    }
    assert {"imported.jsonl", "gold.jsonl", "splits/train.jsonl", "schema/record.schema.json"} <= set(modes)
    assert any(name.endswith(".ann") for name in modes)
    wrong = {
        name: oct(mode)
        for name, (folder, mode) in modes.items()
        if mode != (0o777 if folder else 0o666) & ~umask
    }
    assert wrong == {}
