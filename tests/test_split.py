"""`corpus_tools.split`: grouping, proportions, determinism, stability, leakage, errors."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from corpus_tools.errors import CorpusToolsError, InvalidInputError
from corpus_tools.split import SPLITS, group_paths, split

from factory import TEXT, record, write_jsonl


def doc(
    i: int | str, source: str | None = None, *, annotator: str = "gold", text: str | None = None
) -> dict[str, Any]:
    """A valid gold record with a text of its own (the layers lie in the shared prefix)."""
    rec = record(doc_id=f"d{i}", annotator=annotator)
    rec["text"] = text if text is not None else f"{TEXT} Document {i}."
    if text is not None:
        rec.update(rhetorical_questions=[], attributions=[], stances=[])
    if source is not None:
        rec["meta"]["source"] = source
    return rec


def uneven_corpus(n_groups: int = 40, seed: int = 1) -> list[dict[str, Any]]:
    """Documents in groups of very different sizes (1 to 25 documents)."""
    rng = random.Random(seed)
    records, i = [], 0
    for g in range(n_groups):
        for _ in range(rng.choice([1, 1, 2, 3, 5, 8, 13, 25])):
            records.append(doc(i, f"source-{g}"))
            i += 1
    return records


def read_split(output: Path) -> dict[str, list[dict[str, Any]]]:
    return {
        s: [json.loads(line) for line in (output / f"{s}.jsonl").read_text("utf-8").splitlines()]
        for s in SPLITS
    }


def manifest(output: Path) -> dict[str, Any]:
    return json.loads((output / "splits.json").read_text("utf-8"))


def test_every_line_lands_in_exactly_one_split_unchanged(tmp_path):
    records = [doc(i) for i in range(30)]
    src = write_jsonl(tmp_path / "gold.jsonl", records)
    result = split([src], output=tmp_path / "out")
    written = read_split(tmp_path / "out")
    assert sorted((r for rows in written.values() for r in rows), key=lambda r: r["doc_id"]) == sorted(
        records, key=lambda r: r["doc_id"]
    )
    for s, rows in written.items():
        assert [r["doc_id"] for r in rows] == sorted(r["doc_id"] for r in rows)  # doc_id order
        assert {r["doc_id"]: s for r in rows}.items() <= result.documents.items()
        assert result.counts[s].documents == len(rows)
    assert manifest(tmp_path / "out")["documents"] == result.documents


def test_manifest_holds_the_keys_publish_reads(tmp_path):
    src = write_jsonl(tmp_path / "gold.jsonl", [doc(i, f"s{i % 4}") for i in range(12)])
    result = split([src], output=tmp_path / "out", seed=3, group_by="meta.source")
    data = manifest(tmp_path / "out")
    assert data["version"] == 1
    assert data["seed"] == 3
    assert data["ratios"] == {"train": 0.8, "validation": 0.1, "test": 0.1}
    assert data["group_by"] == "meta.source"
    assert set(data["groups"]) == {"s0", "s1", "s2", "s3"}
    assert set(data["counts"]) == set(SPLITS) == set(data["labels"])
    assert data["leakage"] == []
    assert data == result.manifest_data()
    total_items = sum(c["items"]["stances"] for c in data["counts"].values())
    assert total_items == 12  # one stance per document
    assert sum(data["labels"][s]["stances"]["against"] for s in SPLITS) == 12
    assert data["labels"]["train"]["stances"]["favor"] == 0  # every label listed, zeros too


def test_groups_never_straddle_splits(tmp_path):
    records = uneven_corpus()
    src = write_jsonl(tmp_path / "gold.jsonl", records)
    result = split([src], output=tmp_path / "out", group_by="meta.source")
    splits_of_source: dict[str, set[str]] = {}
    for s, rows in read_split(tmp_path / "out").items():
        for r in rows:
            splits_of_source.setdefault(r["meta"]["source"], set()).add(s)
    assert all(len(v) == 1 for v in splits_of_source.values())
    assert {g: next(iter(v)) for g, v in splits_of_source.items()} == result.groups


def test_group_by_author(tmp_path):
    records = [doc(i) for i in range(10)]
    for i, r in enumerate(records):
        r["meta"]["author"] = f"author-{i % 3}"
    src = write_jsonl(tmp_path / "gold.jsonl", records)
    result = split([src], output=tmp_path / "out", group_by="meta.author", ratios=(0.4, 0.3, 0.3))
    assert set(result.groups) == {"author-0", "author-1", "author-2"}
    for r in records:
        assert result.documents[r["doc_id"]] == result.groups[r["meta"]["author"]]


@pytest.mark.parametrize("seed", [0, 1, 7])
@pytest.mark.parametrize("ratios", [(0.8, 0.1, 0.1), (0.7, 0.15, 0.15), (0.6, 0.2, 0.2)])
def test_proportions_within_two_points_with_uneven_groups(tmp_path, seed, ratios):
    records = uneven_corpus(n_groups=60, seed=seed)
    assert len(records) >= 200
    src = write_jsonl(tmp_path / "gold.jsonl", records)
    result = split([src], output=tmp_path / "out", group_by="meta.source", ratios=ratios, seed=seed)
    for s, ratio in zip(SPLITS, ratios, strict=True):
        assert abs(result.share(s) - ratio) <= 0.02, (s, result.share(s), ratio)


def test_proportions_one_document_per_group(tmp_path):
    src = write_jsonl(tmp_path / "gold.jsonl", [doc(i) for i in range(300)])
    result = split([src], output=tmp_path / "out")
    assert [result.counts[s].documents for s in SPLITS] == [240, 30, 30]


def test_zero_ratio_gets_no_documents(tmp_path):
    src = write_jsonl(tmp_path / "gold.jsonl", [doc(i) for i in range(20)])
    result = split([src], output=tmp_path / "out", ratios=(0.9, 0.0, 0.1))
    assert result.counts["validation"].documents == 0
    assert (tmp_path / "out" / "validation.jsonl").read_bytes() == b""


def test_same_split_whatever_the_input_order(tmp_path):
    records = uneven_corpus(n_groups=25)
    shuffled = records[:]
    random.Random(5).shuffle(shuffled)
    a = write_jsonl(tmp_path / "a" / "gold.jsonl", records)
    half = len(shuffled) // 2
    b1 = write_jsonl(tmp_path / "b" / "part2.jsonl", shuffled[:half])
    b2 = write_jsonl(tmp_path / "b" / "part1.jsonl", shuffled[half:])
    ra = split([a], output=tmp_path / "out-a", group_by="meta.source", seed=11)
    rb = split([b1, b2], output=tmp_path / "out-b", group_by="meta.source", seed=11)
    assert ra.documents == rb.documents
    assert ra.groups == rb.groups
    for s in SPLITS:  # the files themselves are identical, byte for byte
        assert (tmp_path / "out-a" / f"{s}.jsonl").read_bytes() == (
            tmp_path / "out-b" / f"{s}.jsonl"
        ).read_bytes()


def test_seed_changes_the_split(tmp_path):
    src = write_jsonl(tmp_path / "gold.jsonl", [doc(i) for i in range(100)])
    r0 = split([src], output=tmp_path / "o0", seed=0)
    r1 = split([src], output=tmp_path / "o1", seed=1)
    assert r0.documents != r1.documents


def test_several_annotators_of_a_document_stay_together(tmp_path):
    a = write_jsonl(tmp_path / "ann-a.jsonl", [doc(i, annotator="ann-a") for i in range(20)])
    b = write_jsonl(tmp_path / "ann-b.jsonl", [doc(i, annotator="ann-b") for i in range(20)])
    result = split([a, b], output=tmp_path / "out")
    for s, rows in read_split(tmp_path / "out").items():
        ids = Counter(r["doc_id"] for r in rows)
        assert all(n == 2 for n in ids.values())
        assert all(result.documents[d] == s for d in ids)
        assert result.counts[s].records == 2 * result.counts[s].documents


def test_adding_documents_moves_nothing_and_fills_toward_the_ratios(tmp_path):
    first = uneven_corpus(n_groups=30)
    out = tmp_path / "out"
    before = split([write_jsonl(tmp_path / "v1.jsonl", first)], output=out, group_by="meta.source")
    # A new edition: more documents of known sources and some new sources.
    n = len(first)
    more = [doc(n + i, f"source-{i % 30}") for i in range(40)]
    more += [doc(n + 40 + i, f"new-source-{i % 25}") for i in range(100)]
    after = split([write_jsonl(tmp_path / "v2.jsonl", first + more)], output=out, group_by="meta.source")
    for d, s in before.documents.items():
        assert after.documents[d] == s
    for g, s in before.groups.items():
        assert after.groups[g] == s
    for r in more:
        assert after.documents[r["doc_id"]] == after.groups[r["meta"]["source"]]
    assert after.kept == n and after.placed == 140
    for s in SPLITS:
        assert abs(after.share(s) - after.ratios[s]) <= 0.02


def test_removed_documents_are_reported_and_remembered(tmp_path):
    records = [doc(i) for i in range(20)]
    out = tmp_path / "out"
    first = split([write_jsonl(tmp_path / "v1.jsonl", records)], output=out)
    gone = records[3]["doc_id"]
    second = split([write_jsonl(tmp_path / "v2.jsonl", records[:3] + records[4:])], output=out)
    assert second.removed == {gone: first.documents[gone]}
    assert gone not in second.documents
    assert manifest(out)["removed"]["documents"] == {gone: first.documents[gone]}
    # It comes back to where it was.
    third = split([write_jsonl(tmp_path / "v3.jsonl", records)], output=out)
    assert third.documents == first.documents and third.removed == {}


def test_explicit_manifest_path(tmp_path):
    records = [doc(i) for i in range(30)]
    m = tmp_path / "meta" / "my-splits.json"
    first = split([write_jsonl(tmp_path / "v1.jsonl", records)], output=tmp_path / "o1", manifest=m)
    # The manifest kept and extended is `m`; the split folder holds a copy, so that it describes itself.
    assert m.exists() and (tmp_path / "o1" / "splits.json").read_bytes() == m.read_bytes()
    second = split(
        [write_jsonl(tmp_path / "v2.jsonl", [*records, doc(99)])], output=tmp_path / "o2", manifest=m
    )
    assert {d: second.documents[d] for d in first.documents} == first.documents


def test_manifest_with_other_options_is_refused(tmp_path):
    src = write_jsonl(tmp_path / "gold.jsonl", [doc(i, "s") for i in range(5)])
    out = tmp_path / "out"
    split([src], output=out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    for kwargs, expected in [
        ({"seed": 1}, "--seed 0"),
        ({"ratios": (0.5, 0.25, 0.25)}, "--ratios 0.8,0.1,0.1"),
        ({"group_by": "meta.source"}, "--group-by none"),
    ]:
        with pytest.raises(CorpusToolsError, match=expected):
            split([src], output=out, **kwargs)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_document_whose_group_changed_is_an_error(tmp_path):
    records = [doc(i, f"s{i}") for i in range(20)]
    out = tmp_path / "out"
    first = split([write_jsonl(tmp_path / "v1.jsonl", records)], output=out, group_by="meta.source")
    # d0 now claims the source of a document in another split.
    other = next(r for r in records if first.documents[r["doc_id"]] != first.documents["d0"])
    records[0]["meta"]["source"] = other["meta"]["source"]
    with pytest.raises(CorpusToolsError, match=r"v2.jsonl:1: the manifest puts doc_id 'd0'"):
        split([write_jsonl(tmp_path / "v2.jsonl", records)], output=out, group_by="meta.source")


def test_document_moved_to_a_new_group_takes_the_group_with_it(tmp_path):
    records = [doc(i, f"s{i}") for i in range(20)]
    out = tmp_path / "out"
    first = split([write_jsonl(tmp_path / "v1.jsonl", records)], output=out, group_by="meta.source")
    records[0]["meta"]["source"] = "renamed"
    second = split([write_jsonl(tmp_path / "v2.jsonl", records)], output=out, group_by="meta.source")
    assert second.groups["renamed"] == first.documents["d0"] == second.documents["d0"]
    assert second.removed_groups == {"s0": first.groups["s0"]}


def test_duplicate_texts_are_placed_together(tmp_path):
    records = [doc(i) for i in range(40)]
    for i in range(0, 40, 4):  # ten pairs of identical texts under different doc_ids
        records[i + 1]["text"] = records[i]["text"]
    result = split([write_jsonl(tmp_path / "gold.jsonl", records)], output=tmp_path / "out")
    for i in range(0, 40, 4):
        assert result.documents[f"d{i}"] == result.documents[f"d{i + 1}"]
    assert result.leakage == []


def test_duplicate_text_across_groups_joins_the_first_groups_split(tmp_path):
    records = [doc(i, f"s{i}") for i in range(20)]
    records[5]["text"] = records[2]["text"]
    result = split(
        [write_jsonl(tmp_path / "gold.jsonl", records)], output=tmp_path / "out", group_by="meta.source"
    )
    assert result.groups["s5"] == result.groups["s2"]


def test_leakage_from_an_existing_manifest_is_reported(tmp_path):
    records = [doc(i, f"s{i}") for i in range(20)]
    out = tmp_path / "out"
    first = split([write_jsonl(tmp_path / "v1.jsonl", records)], output=out, group_by="meta.source")
    a = records[0]
    b = next(r for r in records if first.documents[r["doc_id"]] != first.documents[a["doc_id"]])
    # A new document in b's (already placed) source, with the text of a.
    new = doc("new", b["meta"]["source"], text=a["text"])
    second = split([write_jsonl(tmp_path / "v2.jsonl", [*records, new])], output=out, group_by="meta.source")
    assert len(second.leakage) == 1
    leak = second.leakage[0]
    assert leak.documents == {"d0": first.documents["d0"], "dnew": first.documents[b["doc_id"]]}
    assert manifest(out)["leakage"] == [leak.model_dump()]
    assert "d0" in str(leak) and "dnew" in str(leak)


@pytest.mark.parametrize(
    "ratios", [(0.8, 0.1), (0.8, 0.1, 0.2), (1.2, -0.1, -0.1), (0.5, float("nan"), 0.5), ("a", "b", "c")]
)
def test_bad_ratios(tmp_path, ratios):
    src = write_jsonl(tmp_path / "gold.jsonl", [doc(1)])
    with pytest.raises(CorpusToolsError, match="ratios"):
        split([src], output=tmp_path / "out", ratios=ratios)
    assert not (tmp_path / "out").exists()


def test_unknown_group_path_lists_the_valid_ones(tmp_path):
    src = write_jsonl(tmp_path / "gold.jsonl", [doc(1)])
    with pytest.raises(CorpusToolsError, match=r"cannot group by 'meta.sauce'.*meta\.source"):
        split([src], output=tmp_path / "out", group_by="meta.sauce")
    for bad in ["text", "stances", "meta"]:
        with pytest.raises(CorpusToolsError, match="cannot group by"):
            split([src], output=tmp_path / "out", group_by=bad)
    assert {"doc_id", "annotator", "meta.source", "meta.author", "meta.genre"} <= set(group_paths())


def test_missing_group_field_names_file_and_line_and_writes_nothing(tmp_path):
    records = [doc(i, "s") for i in range(5)]
    del records[2]["meta"]["source"]
    records[4]["meta"]["source"] = "  "
    src = write_jsonl(tmp_path / "gold.jsonl", records)
    with pytest.raises(InvalidInputError) as e:
        split([src], output=tmp_path / "out", group_by="meta.source")
    problems = e.value.report.problems
    assert [(p.code, p.file, p.line, p.path) for p in problems] == [
        ("missing-group", str(src), 3, "meta.source"),
        ("missing-group", str(src), 5, "meta.source"),
    ]
    assert not (tmp_path / "out").exists()
    assert list(tmp_path.iterdir()) == [src]  # no temporary files left behind either


def test_group_default_comes_from_the_model(tmp_path):
    records = [doc(i) for i in range(4)]
    del records[0]["meta"]
    result = split(
        [write_jsonl(tmp_path / "gold.jsonl", records)], output=tmp_path / "out", group_by="meta.language"
    )
    assert result.groups == {"en": result.documents["d0"]}


def test_annotators_disagreeing_on_the_group_is_an_error(tmp_path):
    a = write_jsonl(tmp_path / "a.jsonl", [doc(1, "x", annotator="ann-a")])
    b = write_jsonl(tmp_path / "b.jsonl", [doc(1, "y", annotator="ann-b")])
    with pytest.raises(InvalidInputError) as e:
        split([a, b], output=tmp_path / "out", group_by="meta.source")
    [problem] = e.value.report.problems
    assert problem.code == "group-mismatch" and problem.file == str(b) and "a.jsonl:1" in problem.message


def test_invalid_records_stop_the_split_and_keep_earlier_output(tmp_path):
    out = tmp_path / "out"
    good = write_jsonl(tmp_path / "gold.jsonl", [doc(i) for i in range(5)])
    split([good], output=out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    bad_record = doc(9)
    bad_record["stances"][0]["polarity"] = "pro"
    bad = write_jsonl(tmp_path / "bad.jsonl", [doc(8), bad_record])
    with pytest.raises(InvalidInputError) as e:
        split([good, bad], output=out)
    assert e.value.report.summary.by_code == {"invalid-label": 1}
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_refuses_to_overwrite_its_own_inputs(tmp_path):
    out = tmp_path / "data"
    split([write_jsonl(tmp_path / "gold.jsonl", [doc(i) for i in range(5)])], output=out)
    with pytest.raises(CorpusToolsError, match="lies inside the input folder"):
        split([out], output=out)
    with pytest.raises(CorpusToolsError, match="both an input and an output"):
        split([out / "train.jsonl"], output=out)
    # A split folder inside the input folder would be read back as input by the next run.
    with pytest.raises(CorpusToolsError, match="lies inside the input folder"):
        split([tmp_path], output=tmp_path / "splits")


def test_missing_input_path(tmp_path):
    with pytest.raises(CorpusToolsError, match="no such file"):
        split([tmp_path / "nope.jsonl"], output=tmp_path / "out")


def test_splits_load_with_datasets(tmp_path):
    import datasets

    src = write_jsonl(tmp_path / "gold.jsonl", [doc(i) for i in range(20)])
    result = split([src], output=tmp_path / "out")
    ds = datasets.load_dataset(
        "json", data_files={s: str(p) for s, p in result.files.items()}, cache_dir=str(tmp_path / "cache")
    )
    assert {s: ds[s].num_rows for s in SPLITS} == {s: result.counts[s].documents for s in SPLITS}


def test_failed_write_leaves_no_partial_output(tmp_path):
    src = write_jsonl(tmp_path / "gold.jsonl", [doc(i) for i in range(5)])
    blocker = tmp_path / "out"
    blocker.write_text("not a folder")
    with pytest.raises(CorpusToolsError, match="is a file; give a folder"):
        split([src], output=blocker)
    assert blocker.read_text() == "not a folder"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gold.jsonl", "out"]
