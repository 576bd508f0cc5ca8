"""The validator: every problem code on a file that triggers exactly it, and the report's rules."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

import corpus_tools
from corpus_tools import CATALOGUE, CorpusToolsError

from factory import TEXT, record, span, write_jsonl

INVALID = Path(__file__).parent / "data" / "invalid"
FIXTURES = sorted(INVALID.glob("*.jsonl"))


def test_every_code_has_a_fixture_or_a_dedicated_test():
    # unreadable-file cannot be a committed file; test_unreadable_file covers it.
    validate_codes = {c.code for c in CATALOGUE.values() if c.command == "validate"}
    assert {p.stem for p in FIXTURES} | {"unreadable-file"} == validate_codes


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_fixture_triggers_exactly_its_code_on_its_last_line(path: Path):
    report = corpus_tools.validate([path])
    last_line = len(path.read_bytes().splitlines())
    assert report.problems, "the fixture must trigger its code"
    assert {p.code for p in report.problems} == {path.stem}
    assert {p.line for p in report.problems} == {last_line}
    assert all(p.file == str(path) and p.message for p in report.problems)
    assert report.valid == (CATALOGUE[path.stem].severity == "warning")


def test_valid_file_passes():
    report = corpus_tools.validate([Path(__file__).parent / "data" / "valid"])
    assert report.valid, report.problems
    assert report.summary.files == 1 and report.summary.records == 3


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs /proc")
def test_unreadable_file(tmp_path: Path):
    # /proc/self/mem opens but fails on read even for root, as a broken disk would.
    link = tmp_path / "broken.jsonl"
    link.symlink_to("/proc/self/mem")
    report = corpus_tools.validate([link])
    assert [p.code for p in report.problems] == ["unreadable-file"]
    assert not report.valid


def test_field_paths_point_into_the_line(tmp_path: Path):
    rec = record()
    rec["attributions"][0]["content"]["end"] = 10_000
    report = corpus_tools.validate([write_jsonl(tmp_path / "a.jsonl", [rec])])
    (problem,) = report.problems
    assert (problem.code, problem.path, problem.line) == (
        "offset-out-of-range",
        "attributions[0].content.end",
        1,
    )


def test_every_problem_of_a_line_is_reported_at_once(tmp_path: Path):
    # A structural error does not hide the offset and reference problems of the same line.
    rec = record()
    rec["stances"][0]["polarity"] = "pro"
    rec["stances"][0]["holder"] = "t9"
    rec["rhetorical_questions"][0]["text"] = "Is it?"
    rec["extra"] = 1
    report = corpus_tools.validate([write_jsonl(tmp_path / "a.jsonl", [rec])])
    assert sorted(p.code for p in report.problems) == [
        "invalid-label",
        "span-text-mismatch",
        "unknown-field",
        "unknown-holder",
    ]


def test_mismatch_message_locates_a_shifted_span(tmp_path: Path):
    text = "Emoji 😀 first. " + TEXT
    good = span(text, "lunacy")
    # A UTF-16 tool counts the emoji as two units: every later offset is one too far.
    stance = {
        "id": "s1",
        **good,
        "start": good["start"] + 1,
        "end": good["end"] + 1,
        "target": "officials",
        "polarity": "against",
        "holder": "author",
    }
    rec = record(text=text, stances=[stance])
    report = corpus_tools.validate([write_jsonl(tmp_path / "a.jsonl", [rec])])
    (problem,) = report.problems
    assert problem.code == "span-text-mismatch"
    assert f"occurs at [{good['start']}, {good['end']}) (-1 code points)" in problem.message


def test_text_drift_across_files_names_both_places(tmp_path: Path):
    a = write_jsonl(tmp_path / "a" / "doc.jsonl", [record(annotator="a")])
    b = write_jsonl(
        tmp_path / "b" / "doc.jsonl",
        [record(annotator="b", text=TEXT + " More.", rhetorical_questions=[], attributions=[], stances=[])],
    )
    report = corpus_tools.validate([tmp_path])
    (problem,) = report.problems
    assert problem.code == "text-drift" and problem.file == str(b) and problem.line == 1
    assert f"{a}:1" in problem.message and "first difference at code point 156" in problem.message


def test_duplicate_record_across_files(tmp_path: Path):
    write_jsonl(tmp_path / "one.jsonl", [record()])
    write_jsonl(tmp_path / "two.jsonl", [record()])
    report = corpus_tools.validate([tmp_path])
    assert [p.code for p in report.problems] == ["duplicate-record"]
    assert str(tmp_path / "one.jsonl") in report.problems[0].message


def test_ignore_skips_a_code(tmp_path: Path):
    path = INVALID / "span-whitespace.jsonl"
    assert corpus_tools.validate([path]).summary.warnings == 1
    report = corpus_tools.validate([path], ignore=["span-whitespace"])
    assert report.problems == [] and report.summary.warnings == 0


def test_unknown_ignore_code_is_a_usage_error():
    with pytest.raises(CorpusToolsError, match="no-such-code"):
        corpus_tools.validate([INVALID], ignore=["no-such-code"])


def test_strict_turns_warnings_into_failure():
    path = INVALID / "blank-line.jsonl"
    assert corpus_tools.validate([path]).valid
    assert not corpus_tools.validate([path], strict=True).valid


def test_max_problems_caps_per_code_and_says_what_it_cut(tmp_path: Path):
    lines = [record(doc_id=f"d{i}") for i in range(5)]
    for rec in lines:
        rec["stances"][0]["polarity"] = "pro"
    path = write_jsonl(tmp_path / "a.jsonl", lines)
    report = corpus_tools.validate([path], max_problems=2)
    assert [p.line for p in report.problems] == [1, 2]
    assert report.summary.errors == 5
    assert report.summary.omitted == {"invalid-label": 3}


def test_missing_path_is_a_usage_error(tmp_path: Path):
    with pytest.raises(CorpusToolsError, match="no such file"):
        corpus_tools.validate([tmp_path / "nope.jsonl"])


def test_folders_are_searched_recursively_for_jsonl_only(tmp_path: Path):
    write_jsonl(tmp_path / "x" / "y" / "a.jsonl", [record()])
    (tmp_path / "notes.txt").write_text("not a record")
    report = corpus_tools.validate([tmp_path])
    assert report.valid and report.summary.files == 1


def test_crlf_line_endings_are_accepted(tmp_path: Path):
    path = tmp_path / "a.jsonl"
    path.write_bytes(json.dumps(record()).encode() + b"\r\n")
    assert corpus_tools.validate([path]).valid


def test_gold_record_with_annotators_validates(tmp_path: Path):
    rec = record(annotator="gold")
    for layer in ("rhetorical_questions", "attributions", "stances"):
        rec[layer][0]["annotators"] = ["ann-a", "ann-b"]
    assert corpus_tools.validate([write_jsonl(tmp_path / "gold.jsonl", [rec])]).valid


def test_byte_order_mark_and_utf16_files_get_a_hint(tmp_path: Path):
    bom = tmp_path / "bom.jsonl"
    bom.write_bytes(b"\xef\xbb\xbf" + json.dumps(record()).encode() + b"\n")
    utf16 = tmp_path / "utf16.jsonl"
    utf16.write_bytes((json.dumps(record(doc_id="d2")) + "\n").encode("utf-16"))
    report = corpus_tools.validate([bom, utf16])
    first, second = report.problems[0], report.problems[1]
    assert (first.code, first.line) == ("invalid-json", 1) and "byte-order mark" in first.message
    assert (second.code, second.line) == ("invalid-utf8", 1) and "UTF-16" in second.message


def test_a_file_named_twice_is_read_once(tmp_path: Path):
    path = write_jsonl(tmp_path / "a.jsonl", [record()])
    report = corpus_tools.validate([path, tmp_path, path])
    assert report.valid and report.summary.files == 1, report.problems


def test_spans_in_unspaced_scripts_do_not_cut_words(tmp_path: Path):
    text = "他说：这是疯狂。"
    stance = {
        "id": "s1",
        "start": 5,
        "end": 7,
        "text": "疯狂",
        "target": "这",
        "polarity": "against",
        "holder": "author",
    }
    rec = record(text=text, stances=[stance])
    assert corpus_tools.validate([write_jsonl(tmp_path / "zh.jsonl", [rec])], strict=True).valid


def test_negative_max_problems_is_a_usage_error(tmp_path: Path):
    with pytest.raises(CorpusToolsError, match="max-problems"):
        corpus_tools.validate([INVALID], max_problems=-1)


def test_a_stance_in_the_authors_bracketed_aside_inside_a_quotation_is_the_authors(tmp_path: Path):
    # A9, S9, H14: a quotation runs over the narrator's aside; its evaluative words are the author's.
    text = 'Truth said, "I have ploughed (and she showed her tremendous power) and no man could head me!"'
    quote = span(text, "I have ploughed (and she showed her tremendous power) and no man could head me!")
    attribution = {
        "id": "t1",
        "type": "direct",
        "source": span(text, "Truth"),
        "cue": span(text, "said"),
        "content": quote,
        "source_name": "Sojourner Truth",
        "nested_in": None,
    }
    aside = {
        "id": "s1",
        **span(text, "tremendous power"),
        "target": "Truth",
        "polarity": "favor",
        "holder": "author",
    }
    outside_aside = {
        "id": "s2",
        **span(text, "no man could head me"),
        "target": "Truth",
        "polarity": "favor",
        "holder": "author",
    }
    for stance, expected in [(aside, []), (outside_aside, ["holder-not-innermost"])]:
        rec = record(text=text, attributions=[attribution], stances=[stance])
        report = corpus_tools.validate([write_jsonl(tmp_path / f"{stance['id']}.jsonl", [rec])])
        assert [p.code for p in report.problems] == expected


def test_an_answer_may_follow_its_question_after_the_conjunction_q10_leaves_out(tmp_path: Path):
    text = "Can we not count upon some votes? But no: I find that they fail. Later, yes."
    for answer, expected in [("no: I find that they fail.", []), ("Later, yes.", ["answer-not-next"])]:
        question = {
            "id": "q1",
            **span(text, "Can we not count upon some votes?"),
            "kind": "hypophora",
            "answer": span(text, answer),
        }
        rec = record(text=text, rhetorical_questions=[question])
        report = corpus_tools.validate([write_jsonl(tmp_path / "one.jsonl", [rec])])
        assert [p.code for p in report.problems] == expected


def test_alternative_questions_joined_by_or_are_one_run_before_their_answer(tmp_path: Path):
    # Q11: "Was it thought ...? Or was it deemed ...?" is one run; Q8 leaves `Or` out of the second.
    text = "Was it thought wise? Or was it deemed right?--besides, it was neither. Then we met."
    first, second = "Was it thought wise?", "was it deemed right?"
    questions = [
        {
            "id": f"q{i}",
            **span(text, q),
            "kind": "hypophora",
            "answer": span(text, "besides, it was neither."),
        }
        for i, q in enumerate((first, second), start=1)
    ]
    report = corpus_tools.validate(
        [write_jsonl(tmp_path / "one.jsonl", [record(text=text, rhetorical_questions=questions)])]
    )
    assert report.problems == []
    questions[0]["answer"] = span(text, "Then we met.")  # a later sentence is no answer
    report = corpus_tools.validate(
        [write_jsonl(tmp_path / "two.jsonl", [record(text=text, rhetorical_questions=questions)])]
    )
    assert [(p.code, p.path) for p in report.problems] == [
        ("answer-not-next", "rhetorical_questions[0].answer")
    ]


def test_a_run_of_questions_includes_an_embedded_question_with_its_framing(tmp_path: Path):
    # Q1 counts "I ask every sensible man if that is not so?"; Q8 starts the item at `if`.
    text = "Do you not commit perjury? I ask every sensible man if that is not so? It is so. Later."
    questions = [
        {
            "id": "q1",
            **span(text, "Do you not commit perjury?"),
            "kind": "hypophora",
            "answer": span(text, "It is so."),
        },
        {
            "id": "q2",
            **span(text, "if that is not so?"),
            "kind": "hypophora",
            "answer": span(text, "It is so."),
        },
    ]
    report = corpus_tools.validate(
        [write_jsonl(tmp_path / "one.jsonl", [record(text=text, rhetorical_questions=questions)])]
    )
    assert report.problems == []
    # A sentence that is not a question ends the run.
    text2 = "Do you not commit perjury? Men say so. I ask every sensible man if that is not so? It is so."
    q1 = {
        "id": "q1",
        **span(text2, "Do you not commit perjury?"),
        "kind": "hypophora",
        "answer": span(text2, "It is so."),
    }
    report = corpus_tools.validate(
        [write_jsonl(tmp_path / "two.jsonl", [record(text=text2, rhetorical_questions=[q1])])]
    )
    assert [p.code for p in report.problems] == ["answer-not-next"]


def test_the_language_tags_known_without_langcodes_are_tags_langcodes_accepts():
    # The validator answers these without loading langcodes' registry (start-up time).
    import langcodes

    from corpus_tools.validate.rules import COMMON_LANGUAGE_TAGS, is_language_tag

    assert [tag for tag in sorted(COMMON_LANGUAGE_TAGS) if not langcodes.tag_is_valid(tag)] == []
    assert is_language_tag("en") and not is_language_tag("english") and is_language_tag("tlh")


# -- messages name what the annotator wrote, in JSON's words ----------------------------------


@pytest.mark.parametrize(
    ("value", "got"),
    [({}, "object {}"), ({"a": 1}, 'object {"a": 1}'), (True, "boolean true"), ("x", "string 'x'")],
)
def test_a_wrong_type_is_named_as_json_names_it(tmp_path: Path, value: object, got: str):
    rec = record(stances=value)
    report = corpus_tools.validate([write_jsonl(tmp_path / "a.jsonl", [rec])])
    (problem,) = [p for p in report.problems if p.code == "wrong-type"]
    assert (problem.path, problem.line) == ("stances", 1)
    assert problem.message.endswith(f"got {got}"), problem.message


def test_an_unknown_parent_lists_only_the_ids_it_could_name(tmp_path: Path):
    rec = record()
    t = rec["attributions"][0]
    rec["attributions"] = [
        {**t, "id": "t0"},
        {**t, "id": ""},
        {**t, "id": 7},
        {**t, "id": "t2"},
        {**t, "id": "t3", "nested_in": "t9"},
    ]
    report = corpus_tools.validate([write_jsonl(tmp_path / "a.jsonl", [rec])])
    (problem,) = [p for p in report.problems if p.code == "unknown-parent"]
    assert problem.path == "attributions[4].nested_in"
    assert problem.message.endswith("(attributions: t0, t2, t3)"), problem.message


def test_an_attribution_without_id_is_no_nesting_cycle(tmp_path: Path):
    # The missing id (None) must not be taken for the top-level parent's nested_in (None).
    rec = record()
    t = rec["attributions"][0]
    inner = {"type": "indirect", "content": span(TEXT, "active phase"), "nested_in": "t1"}
    rec["attributions"] = [t, inner]
    report = corpus_tools.validate([write_jsonl(tmp_path / "a.jsonl", [rec])])
    assert [(p.code, p.path) for p in report.problems] == [("missing-field", "attributions[1].id")]


def test_invalid_utf8_gives_the_byte_position_then_the_byte(tmp_path: Path):
    raw = json.dumps(record(), ensure_ascii=False).encode()
    at = raw.index(b"Monday")
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(raw[:at] + b"\x80" + raw[at:] + b"\n")
    (problem,) = corpus_tools.validate([path]).problems
    assert problem.code == "invalid-utf8"
    assert problem.message.startswith(f"at byte {at}: 0x80 is not valid UTF-8"), problem.message
