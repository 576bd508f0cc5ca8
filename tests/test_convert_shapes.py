"""Hostile exports: a value of the wrong type anywhere is a problem naming file, record and JSON
path, with what was expected; never a traceback (the crashes of the first fuzzing round)."""

import json

import pytest

from corpus_tools.convert import import_records

from convert_helpers import DATA, only

TASK = json.loads((DATA / "labelstudio" / "export.json").read_text(encoding="utf-8"))[0]


def _region(**value):
    return {
        "id": "r1",
        "from_name": "label",
        "to_name": "text",
        "type": "labels",
        "value": {"start": 0, "end": 18, "text": "Who pays for this?", "labels": ["RQ-open"], **value},
    }


@pytest.mark.parametrize(
    ("change", "path", "expected"),
    [
        (
            lambda t: t["annotations"][0].update(result=[_region(labels=[None])]),
            "[0].annotations[0].result[0].value.labels[0]",
            "expected a string, found null",
        ),
        (
            lambda t: t["annotations"][0].update(result=[_region(text=True)]),
            "[0].annotations[0].result[0].value.text",
            "expected a string, found true",
        ),
        (
            lambda t: t["annotations"][0].update(result=[_region(labels=[[]])]),
            "[0].annotations[0].result[0].value.labels[0]",
            "expected a string, found an empty list",
        ),
        (lambda t: t.update(annotations=5), "[0].annotations", "expected a list, found the number 5"),
        (
            lambda t: t["annotations"][0].update(result=5),
            "[0].annotations[0].result",
            "expected a list, found the number 5",
        ),
    ],
)
def test_label_studio_values_of_the_wrong_type(tmp_path, change, path, expected):
    task = json.loads(json.dumps(TASK))
    task["annotations"] = task["annotations"][:1]
    change(task)
    export = tmp_path / "export.json"
    export.write_text(json.dumps([task]), encoding="utf-8")
    result = import_records("labelstudio", [export])
    p = only(result, "import-bad-format")
    assert (p.file, p.path) == (str(export), path) and p.message.startswith(expected)
    assert result.records == []


def test_doccano_label_of_the_wrong_type(tmp_path):
    path = tmp_path / "alice.jsonl"
    path.write_text('{"text": "abc", "label": 5}\n', encoding="utf-8")
    p = only(import_records("doccano", [path]), "import-bad-format")
    assert (p.line, p.path) == (1, "label") and "expected a list, found the number 5" in p.message


def test_prodigy_relation_span_offset_of_the_wrong_type(tmp_path):
    line = json.loads((DATA / "prodigy" / "stance.jsonl").read_text(encoding="utf-8").splitlines()[0])
    line["relations"][0]["head_span"]["start"] = []
    path = tmp_path / "stance.jsonl"
    path.write_text(json.dumps(line) + "\n", encoding="utf-8")
    result = import_records("prodigy", [path])
    p = only(result, "import-bad-format")
    assert (p.line, p.path) == (1, "relations[0].head_span.start")
    assert "expected an integer, found an empty list" in p.message
    assert result.spans.refused == len(line["spans"]) and result.records == []
