"""Every import problem names the span in the tool's own terms: its id, the file's line (or the
JSON path) and its offsets in the unit the tool counts, which is what an annotator looks for in
the tool. Each importer is tried on a file in its own format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from corpus_tools.convert import import_records

from convert_helpers import DATA, only

TEXT = "Is it?\r\nFine 👍 — the plan is reckless."
START = TEXT.index("reckless")  # 29 code points: "Is it?" CR LF, then 21 more, the emoji one
END = START + len("reckless")
UTF16 = (START + 1, END + 1)  # the emoji before it is two UTF-16 code units
BRAT = (START - 1, END - 1)  # brat counts the CR LF before it as one character


def _labelstudio(tmp: Path) -> tuple[Path, str | None]:
    region = {
        "id": "r7",
        "from_name": "label",
        "to_name": "text",
        "type": "labels",
        "value": {"start": START, "end": END, "text": "reckless", "labels": ["STANCE-against"]},
    }
    task = {
        "id": 5,
        "data": {"text": TEXT},
        "annotations": [{"id": 9, "completed_by": "a@x.org", "result": [region]}],
    }
    path = tmp / "export.json"
    path.write_text(json.dumps([task], ensure_ascii=False), encoding="utf-8")
    return path, None


def _doccano(tmp: Path) -> tuple[Path, str | None]:
    line = {
        "id": 3,
        "text": TEXT,
        "entities": [
            {"id": 501, "label": "STANCE-against", "start_offset": UTF16[0], "end_offset": UTF16[1]}
        ],
        "relations": [],
    }
    path = tmp / "alice.jsonl"
    path.write_text(json.dumps(line, ensure_ascii=False) + "\n", encoding="utf-8")
    return path, None


def _prodigy(tmp: Path) -> tuple[Path, str | None]:
    task = {
        "text": TEXT,
        "_input_hash": 1,
        "_task_hash": 2,
        "spans": [{"start": START, "end": END, "label": "STANCE-against"}],
        "answer": "accept",
        "_annotator_id": "alice",
    }
    path = tmp / "db.jsonl"
    path.write_text(json.dumps(task, ensure_ascii=False) + "\n", encoding="utf-8")
    return path, None


def _brat(tmp: Path) -> tuple[Path, str | None]:
    folder = tmp / "alice"
    folder.mkdir()
    (folder / "doc.txt").write_bytes(TEXT.encode("utf-8"))
    (folder / "doc.ann").write_text(
        f"T1\tRQ-open 0 6\tIs it?\nT2\tSTANCE-against {BRAT[0]} {BRAT[1]}\treckless\n", encoding="utf-8"
    )
    return folder, None


def _ptc(tmp: Path) -> tuple[Path, str | None]:
    (tmp / "article1.txt").write_bytes(TEXT.encode("utf-8"))
    (tmp / "article1.task2-TC.labels").write_text(
        f"1\tDoubt\t0\t6\n1\tLoaded_Language\t{START}\t{END}\n", encoding="utf-8"
    )
    label_map = tmp / "map.toml"
    label_map.write_text(
        '[labels]\nDoubt = "RQ-open"\nLoaded_Language = "STANCE-against"\n', encoding="utf-8"
    )
    return tmp, str(label_map)


def _inception(tmp: Path) -> tuple[Path, str | None]:
    cas = {
        "%FEATURE_STRUCTURES": [
            {"%ID": 1, "%TYPE": "uima.cas.Sofa", "sofaID": "_InitialView", "sofaString": TEXT},
            {
                "%ID": 3,
                "%TYPE": "webanno.custom.Discourse",
                "@sofa": 1,
                "begin": UTF16[0],
                "end": UTF16[1],
                "label": "STANCE-against",
            },
        ]
    }
    path = tmp / "annotation" / "doc.txt" / "alice.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(cas, ensure_ascii=False), encoding="utf-8")
    return tmp / "annotation", None


CASES = {
    # format: (writer, file name, line, place, the tool's id and offsets as the message gives them)
    "labelstudio": (
        _labelstudio,
        "export.json",
        None,
        "[0].annotations[0].result[0]",
        f"span r7 'STANCE-against' at [{START} {END})",
    ),
    "doccano": (
        _doccano,
        "alice.jsonl",
        1,
        "entities[0]",
        f"span 501 'STANCE-against' at [{UTF16[0]} {UTF16[1]})",
    ),
    "prodigy": (_prodigy, "db.jsonl", 1, "spans[0]", f"'STANCE-against' at [{START} {END})"),
    "brat": (_brat, "doc.ann", 2, "T2", f"span T2 'STANCE-against' at [{BRAT[0]} {BRAT[1]})"),
    "ptc": (
        _ptc,
        "article1.task2-TC.labels",
        2,
        "article1.task2-TC.labels:2",
        f"'Loaded_Language' at [{START} {END})",
    ),
    "inception": (
        _inception,
        "alice.json",
        None,
        "%FEATURE_STRUCTURES[1] (%ID 3)",
        f"span 3 'STANCE-against' at [{UTF16[0]} {UTF16[1]})",
    ),
}


@pytest.mark.parametrize("fmt", list(CASES))
def test_a_stance_without_target_is_named_by_the_tools_id_place_and_offsets(tmp_path, fmt):
    write, name, line, place, span = CASES[fmt]
    path, label_map = write(tmp_path)
    result = import_records(fmt, [path], label_map=Path(label_map) if label_map else None)
    p = only(result, "import-missing-value")
    assert p.file.endswith(name) and p.line == line and p.path == place, p
    assert span in p.message and "without a target" in p.message, p.message
    assert not result.records


def test_a_moved_span_in_a_crlf_text_is_located_in_brat_offsets_and_code_points(tmp_path):
    folder = tmp_path / "alice"
    folder.mkdir()
    (folder / "doc1.txt").write_bytes((DATA / "brat" / "alice" / "doc1.txt").read_bytes())
    ann = (DATA / "brat" / "alice" / "doc1.ann").read_text(encoding="utf-8")
    # T6 'Is that fair?' is at 70 83 in brat's offsets (two CR LF before it, each one
    # character), 72 85 in code points; the annotator's tool moved it by one.
    assert "T6\tRQ-hypophora 70 83\tIs that fair?" in ann
    (folder / "doc1.ann").write_text(
        ann.replace("RQ-hypophora 70 83", "RQ-hypophora 71 84"), encoding="utf-8"
    )
    p = only(import_records("brat", [folder]), "import-span-mismatch")
    assert (p.line, p.path) == (6, "T6")
    assert "occurs at [70, 83) in code points with CR LF counted as one (code points [72, 85))" in p.message


def test_a_problem_the_validator_finds_in_the_record_is_reported_on_the_tool_span(tmp_path):
    folder = tmp_path / "alice"
    folder.mkdir()
    (folder / "doc1.txt").write_bytes((DATA / "brat" / "alice" / "doc1.txt").read_bytes())
    ann = (DATA / "brat" / "alice" / "doc1.ann").read_text(encoding="utf-8")
    # T4's content takes the space after 'nobody': the record's span ends with whitespace.
    (folder / "doc1.ann").write_text(ann.replace("33 39\tnobody", "33 40\tnobody "), encoding="utf-8")
    p = only(import_records("brat", [folder]), "span-whitespace")
    assert (p.file, p.line, p.path) == (str(folder / "doc1.ann"), 4, "T4")
    assert "span T4 'ATTR-content-indirect' at [33 40)" in p.message
    assert "attributions[0].content in the record" in p.message
