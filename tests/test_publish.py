"""`corpus_tools.publish`: the dataset loads with real `datasets` offline, as written and as declared."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import datasets
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from huggingface_hub import CommitOperationDelete

from corpus_tools import publish as publish_module
from corpus_tools.errors import CorpusToolsError, InvalidInputError
from corpus_tools.layers import LAYERS, Record
from corpus_tools.publish import CardMetadata, publish
from corpus_tools.publish import features as feats
from corpus_tools.publish import parquet as publish_parquet

from factory import record
from publish_helpers import (
    ISIS_RIGHTS,
    annotator_files,
    as_model,
    card_yaml,
    decode,
    gold_corpus,
    make_split_dir,
    spans,
)


def load(folder: Path, cache: Path, config: str | None = None) -> Any:
    return datasets.load_dataset(str(folder), config, cache_dir=str(cache))


@pytest.fixture
def corpus() -> dict[str, list[dict[str, Any]]]:
    return gold_corpus()


@pytest.fixture
def split_dir(tmp_path: Path, corpus) -> Path:
    return make_split_dir(tmp_path / "splits", corpus)


@pytest.fixture
def published(tmp_path: Path, split_dir: Path):
    anns = annotator_files(tmp_path / "annotations")
    result = publish(split_dir, output=tmp_path / "dataset", annotators=anns)
    return tmp_path / "dataset", result, anns


# -- what datasets loads ----------------------------------------------------------------------


def test_loads_with_the_split_sizes(published, tmp_path, corpus):
    out, result, _ = published
    ds = load(out, tmp_path / "cache")
    assert {s: ds[s].num_rows for s in ds} == {s: len(rows) for s, rows in corpus.items()}
    assert result.rows() == {s: len(rows) for s, rows in corpus.items()}
    # The annotators' documents (d1, d2) are both in train: the passes are split like gold.
    assert sorted(p.relative_to(out).as_posix() for p in (out / "data").rglob("*.parquet")) == [
        "data/annotators/train-00000-of-00001.parquet",
        "data/default/test-00000-of-00001.parquet",
        "data/default/train-00000-of-00001.parquet",
        "data/default/validation-00000-of-00001.parquet",
        "data/spans/test-00000-of-00001.parquet",
        "data/spans/train-00000-of-00001.parquet",
        "data/spans/validation-00000-of-00001.parquet",
    ]


def test_features_are_typed(published, tmp_path):
    out, _, _ = published
    f = load(out, tmp_path / "cache")["train"].features
    assert f == feats.gold_features()
    assert f["passes"] == datasets.Value("int32") and f["adjudicated"] == datasets.Value("bool")
    assert f["doc_id"] == datasets.Value("string") and f["text"] == datasets.Value("string")
    for layer, (label, names) in ((n, (x.label, x.names)) for n, x in LAYERS.items()):
        assert isinstance(f[layer], datasets.List)  # a list of structs, not a dict of lists
        assert isinstance(f[layer].feature, dict)
        assert f[layer].feature[label] == datasets.ClassLabel(names=list(names))
        assert f[layer].feature["annotators"] == datasets.List(datasets.Value("string"))
    q = f["rhetorical_questions"].feature
    assert q["start"] == datasets.Value("int32") and q["end"] == datasets.Value("int32")
    assert q["answer"] == {
        "start": datasets.Value("int32"),
        "end": datasets.Value("int32"),
        "text": datasets.Value("string"),
    }
    assert set(f["attributions"].feature) >= {"source", "cue", "content", "source_name", "nested_in"}
    assert set(f["meta"]) == set(Record.model_fields["meta"].annotation.model_fields)


def test_loaded_rows_equal_the_records_and_their_offsets_round_trip(published, tmp_path, corpus):
    out, _, _ = published
    ds = load(out, tmp_path / "cache")
    for s, rows in corpus.items():
        loaded = [decode(row) for row in ds[s]]
        assert loaded == [as_model(r) for r in rows]
        for row in ds[s]:
            text = row["text"]
            assert spans(row)
            for sp in spans(row):
                assert text[sp["start"] : sp["end"]] == sp["text"]


def test_rights_travel_in_the_rows(published, tmp_path):
    out, _, _ = published
    train = load(out, tmp_path / "cache")["train"]
    rights = {row["doc_id"]: row["meta"]["rights"] for row in train}
    assert rights["d3"] == ISIS_RIGHTS


def test_annotators_config_holds_every_raw_line(published, tmp_path):
    out, result, anns = published
    raw = load(out, tmp_path / "cache", "annotators")
    assert list(raw) == ["train"]  # the annotated documents are all in train
    lines = [json.loads(line) for path in anns for line in path.read_text("utf-8").splitlines()]
    # In doc_id order, a document's lines in input order.
    by_doc = sorted(lines, key=lambda r: r["doc_id"])
    assert [decode(row) for row in raw["train"]] == [as_model(r) for r in by_doc]
    assert sorted(raw["train"]["annotator"]) == ["ann-a", "ann-a", "ann-b", "ann-b"]
    assert result.configs["annotators"]["train"].annotators == {"ann-a": 2, "ann-b": 2}


def test_an_empty_split_is_left_out(tmp_path, corpus):
    corpus["test"] = []
    out = tmp_path / "dataset"
    result = publish(make_split_dir(tmp_path / "splits", corpus), output=out)
    assert result.empty_splits == ["test"]
    assert set(load(out, tmp_path / "cache")) == {"train", "validation"}
    assert [d["split"] for d in card_yaml(out)["configs"][0]["data_files"]] == ["train", "validation"]


def test_lines_longer_than_a_block_and_many_chunks_and_shards(tmp_path, corpus, monkeypatch):
    monkeypatch.setattr(publish_parquet, "CHUNK_SIZE", 700)  # smaller than one line
    monkeypatch.setattr(publish_parquet, "PARSE_BLOCK", 300)
    monkeypatch.setattr(publish_parquet, "ROW_GROUP_BYTES", 1)  # a row group per chunk
    monkeypatch.setattr(publish_parquet, "MAX_SHARD_BYTES", 1)  # a new file per row group
    corpus["train"] = corpus["train"] + [record(f"x{i}", "gold") for i in range(4)]
    out = tmp_path / "dataset"
    publish(make_split_dir(tmp_path / "splits", corpus), output=out)
    files = sorted(p.name for p in (out / "data" / "default").glob("train-*.parquet"))
    assert len(files) == 7 and files[0] == "train-00000-of-00007.parquet"
    train = load(out, tmp_path / "cache")["train"]
    assert [decode(r) for r in train] == [as_model(r) for r in corpus["train"]]


# -- the card ---------------------------------------------------------------------------------


def test_card_yaml_names_every_config_and_split(published, tmp_path):
    out, result, _ = published
    card = card_yaml(out)
    configs = {c["config_name"]: c for c in card["configs"]}
    assert set(configs) == {"default", "annotators", "spans"}
    for config in configs.values():
        for entry in config["data_files"]:
            assert list(out.glob(entry["path"])), entry
    assert [d["split"] for d in configs["default"]["data_files"]] == ["train", "validation", "test"]
    assert [d["split"] for d in configs["annotators"]["data_files"]] == ["train"]
    infos = {i["config_name"]: i for i in card["dataset_info"]}
    assert set(infos) == {"default", "annotators", "spans"}
    assert {s["name"]: s["num_examples"] for s in infos["default"]["splits"]} == result.rows()
    assert datasets.Features._from_yaml_list(infos["default"]["features"]) == feats.gold_features()
    names = infos["default"]["features"][4]["list"][6]["dtype"]["class_label"]["names"]
    assert names == {"0": "assertive", "1": "hypophora", "2": "echo", "3": "open"}


def test_card_split_bytes_are_what_datasets_records(published, tmp_path):
    out, _, _ = published
    ds = load(out, tmp_path / "cache")
    infos = {i["config_name"]: i for i in card_yaml(out)["dataset_info"]}
    for split in ds:
        card_bytes = next(s["num_bytes"] for s in infos["default"]["splits"] if s["name"] == split)
        assert card_bytes == ds[split].info.splits[split].num_bytes


def test_card_licence_is_other_with_a_link_when_a_text_is_not_under_the_dataset_licence(published):
    out, result, _ = published
    card = card_yaml(out)
    assert card["license"] == "other" == result.license
    assert card["license_name"] == CardMetadata().license_name
    assert (out / card["license_link"]).is_file()
    assert card["language"] == ["en"]
    assert card["size_categories"] == ["n<1K"]
    assert set(card["task_categories"]) == {"text-classification", "token-classification"}
    assert card["pretty_name"] == CardMetadata().pretty_name


def test_card_licence_is_the_dataset_licence_when_every_text_is_free(tmp_path, corpus):
    corpus["train"][2]["meta"].update(license="public-domain", rights=None)
    out = tmp_path / "dataset"
    publish(
        make_split_dir(tmp_path / "splits", corpus), output=out, metadata=CardMetadata(license="cc-by-4.0")
    )
    card = card_yaml(out)
    assert card["license"] == "cc-by-4.0"
    assert "license_name" not in card


def test_card_body(published):
    out, _, _ = published
    body = (out / "README.md").read_text("utf-8").split("---\n", 2)[2]
    for text in (
        ISIS_RIGHTS,  # the rights notice, verbatim
        "https://example.org/a",  # the document's url
        "## Inter-annotator agreement",
        "Krippendorff",
        "seed: `7`",  # how the splits were made
        'load_dataset("',
        '"annotators"',  # how to load it
        "```bibtex",
        Record.model_fields["text"].description,  # field descriptions from the models
    ):
        assert text in body, text
    for layer, names in ((n, x.names) for n, x in LAYERS.items()):
        assert f"### `{layer}`" in body
        for name in names:
            assert f"`{name}`" in body
    assert ISIS_RIGHTS in (out / "LICENSE.md").read_text("utf-8")


# -- atomicity and refusals -------------------------------------------------------------------


def leftovers(parent: Path, name: str) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith(f".{name}."))


def test_a_failed_verification_leaves_no_output(tmp_path, corpus):
    corpus["train"][0]["stances"][0]["text"] = "lunatic"  # wrong span text
    split_dir = make_split_dir(tmp_path / "splits", corpus)
    out = tmp_path / "dataset"
    with pytest.raises(InvalidInputError):  # validated first
        publish(split_dir, output=out)
    with pytest.raises(CorpusToolsError, match=r"stances\[0\] is .* but its text is 'lunatic'"):
        publish(split_dir, output=out, validate=False)  # caught by the check after loading
    assert not out.exists()
    assert leftovers(tmp_path, "dataset") == []


def test_a_failed_publish_keeps_the_previous_output(tmp_path, split_dir, corpus, monkeypatch):
    out = tmp_path / "dataset"
    publish(split_dir, output=out)
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}

    def broken(*args, **kwargs):
        raise CorpusToolsError("the written dataset does not load")

    monkeypatch.setattr(publish_module, "verify", broken)
    with pytest.raises(CorpusToolsError, match="does not load"):
        publish(split_dir, output=out)
    assert {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert leftovers(tmp_path, "dataset") == []


def test_a_second_publish_replaces_the_first(tmp_path, split_dir, corpus):
    out = tmp_path / "dataset"
    publish(split_dir, output=out, annotators=annotator_files(tmp_path / "ann"))
    publish(split_dir, output=out)  # without --annotators now
    assert not (out / "data" / "annotators").exists()
    assert [c["config_name"] for c in card_yaml(out)["configs"]] == ["default", "spans"]
    assert leftovers(tmp_path, "dataset") == []


def test_refuses_to_replace_a_folder_it_did_not_write(tmp_path, split_dir):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("precious")
    with pytest.raises(CorpusToolsError, match=r"holds notes\.txt and has no record"):
        publish(split_dir, output=out)
    assert (out / "notes.txt").read_text() == "precious"


def test_refuses_an_output_holding_the_inputs(tmp_path, split_dir):
    with pytest.raises(CorpusToolsError, match="holds the input"):
        publish(split_dir, output=tmp_path)


@pytest.mark.parametrize("missing", ["splits.json", "validation.jsonl"])
def test_an_incomplete_split_folder(tmp_path, split_dir, missing):
    (split_dir / missing).unlink()
    with pytest.raises(CorpusToolsError, match=f"{missing}: no such file"):
        publish(split_dir, output=tmp_path / "dataset")
    assert not (tmp_path / "dataset").exists()


def test_split_files_that_disagree_with_the_manifest(tmp_path, split_dir):
    manifest = json.loads((split_dir / "splits.json").read_text())
    manifest["documents"]["d5"] = "train"
    (split_dir / "splits.json").write_text(json.dumps(manifest))
    with pytest.raises(CorpusToolsError, match=r"'d5' is in test, but .* puts it in train"):
        publish(split_dir, output=tmp_path / "dataset")
    assert not (tmp_path / "dataset").exists()


def test_unknown_label_without_validation_names_the_file(tmp_path, corpus):
    corpus["test"][0]["stances"][0]["polarity"] = "furious"
    split_dir = make_split_dir(tmp_path / "splits", corpus)
    with pytest.raises(CorpusToolsError, match=r"test.jsonl, lines 1-1: .*'furious' is not one of"):
        publish(split_dir, output=tmp_path / "dataset", validate=False)


# -- pushing ----------------------------------------------------------------------------------


class FakeHub:
    """Stands in for `huggingface_hub.HfApi`: records the calls and keeps the repository's files
    as the commit operations it is sent leave them; never touches the network."""

    def __init__(
        self, exists: bool = False, fail: Exception | None = None, files: tuple[str, ...] = ()
    ) -> None:
        self.exists = exists
        self.fail = fail
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.files: dict[str, bytes] = {name: b"theirs" for name in files}

    def repo_exists(self, repo_id: str, **kwargs: Any) -> bool:
        self.calls.append(("repo_exists", {"repo_id": repo_id, **kwargs}))
        if self.fail:
            raise self.fail
        return self.exists

    def create_repo(self, repo_id: str, **kwargs: Any) -> None:
        self.calls.append(("create_repo", {"repo_id": repo_id, **kwargs}))

    def list_repo_files(self, repo_id: str, **kwargs: Any) -> list[str]:
        self.calls.append(("list_repo_files", {"repo_id": repo_id, **kwargs}))
        return sorted(self.files)

    def create_commit(self, repo_id: str, operations: list[Any], **kwargs: Any) -> Any:
        self.calls.append(("create_commit", {"repo_id": repo_id, "operations": operations, **kwargs}))
        for op in operations:
            if isinstance(op, CommitOperationDelete):
                del self.files[op.path_in_repo]  # the Hub refuses to delete a file it does not have
            else:
                self.files[op.path_in_repo] = Path(op.path_or_fileobj).read_bytes()
        self.exists = True
        return type("CommitInfo", (), {"commit_url": f"https://hub.test/{repo_id}/commit/1"})()


@pytest.fixture
def no_token(monkeypatch):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setattr("huggingface_hub.get_token", lambda: None)


def test_push_without_a_token_stops_before_writing(tmp_path, split_dir, no_token):
    hub = FakeHub()
    with pytest.raises(CorpusToolsError, match="needs a Hugging Face token"):
        publish(split_dir, output=tmp_path / "dataset", push="me/corpus", api=hub)
    assert hub.calls == []
    assert not (tmp_path / "dataset").exists()


def test_push_refuses_an_existing_dataset_without_force(tmp_path, split_dir):
    hub = FakeHub(exists=True)
    with pytest.raises(CorpusToolsError, match="me/corpus already exists; pass --force"):
        publish(split_dir, output=tmp_path / "dataset", push="me/corpus", token="hf_secret", api=hub)
    assert [c[0] for c in hub.calls] == ["repo_exists"]
    assert hub.calls[0][1]["repo_type"] == "dataset"
    assert not (tmp_path / "dataset").exists()


def test_push_with_force_uploads_the_folder_in_one_commit(tmp_path, split_dir):
    hub = FakeHub(exists=True)
    out = tmp_path / "dataset"
    result = publish(split_dir, output=out, push="me/corpus", force=True, token="hf_secret", api=hub)
    commits = [kw for name, kw in hub.calls if name == "create_commit"]
    assert len(commits) == 1
    assert commits[0]["repo_type"] == "dataset" and commits[0]["token"] == "hf_secret"
    local = {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert hub.files == {
        k: v for k, v in local.items() if k != ".corpus-tools.json"
    }  # the record stays local
    assert result.pushed == "https://hub.test/me/corpus/commit/1"
    assert 'load_dataset("me/corpus")' in (out / "README.md").read_text("utf-8")


def test_push_force_deletes_what_the_last_publish_wrote_and_nothing_else(tmp_path, split_dir):
    guidelines = tmp_path / "RULES.md"
    guidelines.write_text("# Rules\n\nGuidelines version: 1\n\nS1. Mark evaluations.\n", encoding="utf-8")
    aliases = tmp_path / "aliases.jsonl"
    aliases.write_text('{"doc_id": "d1", "aliases": {"Gerasimov": ["Gerasimov"]}}\n', encoding="utf-8")
    hub = FakeHub(files=(".gitattributes",))
    out = tmp_path / "dataset"
    anns = annotator_files(tmp_path / "annotations")
    kw: dict[str, Any] = {"output": out, "push": "me/corpus", "token": "hf_secret", "api": hub}
    publish(split_dir, annotators=anns, guidelines=guidelines, aliases=aliases, **kw)
    first = set(hub.files)
    assert {"GUIDELINES.md", "aliases.jsonl", "data/annotators/train-00000-of-00001.parquet"} <= first
    hub.files["notes.md"] = b"the owner's own file"  # added on the Hub by hand
    hub.files["data/extra/own.csv"] = b"a,b"
    hub.calls.clear()
    # Again without the guidelines, the aliases and the annotators: what they wrote must go.
    publish(split_dir, force=True, **kw)
    (commit,) = [c for name, c in hub.calls if name == "create_commit"]
    deleted = sorted(op.path_in_repo for op in commit["operations"] if isinstance(op, CommitOperationDelete))
    assert deleted == ["GUIDELINES.md", "aliases.jsonl", "data/annotators/train-00000-of-00001.parquet"]
    local = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()} - {".corpus-tools.json"}
    assert set(hub.files) == local | {".gitattributes", "notes.md", "data/extra/own.csv"}


def test_push_force_from_a_fresh_folder_deletes_stale_shards_of_publishs_layout(tmp_path, split_dir):
    # No record of an earlier publish here (a fresh clone in CI, say): the Hub's parquet files in
    # publish's layout that this publish does not write would be loaded with the new ones, so
    # they go; anything else stays.
    stale = "data/default/train-00000-of-00002.parquet"
    hub = FakeHub(exists=True, files=(".gitattributes", stale, "GUIDELINES.md", "data/mine/x.parquet"))
    publish(split_dir, output=tmp_path / "dataset", push="me/corpus", force=True, token="t", api=hub)
    assert stale not in hub.files
    assert {".gitattributes", "GUIDELINES.md", "data/mine/x.parquet"} <= set(hub.files)


def test_push_errors_never_show_the_token(tmp_path, split_dir):
    hub = FakeHub(fail=RuntimeError("401 for token hf_secret"))
    with pytest.raises(CorpusToolsError) as info:
        publish(split_dir, output=tmp_path / "dataset", push="me/corpus", token="hf_secret", api=hub)
    assert "hf_secret" not in str(info.value)
    assert "***" in str(info.value)


# -- the features -----------------------------------------------------------------------------


def test_features_follow_the_models():
    f = feats.features()
    assert list(f) == list(Record.model_fields)
    schema = feats.arrow_schema()
    for name, layer in LAYERS.items():  # labels are stored as class indices, offsets as int32
        item = schema.field(name).type.value_type
        assert item.field(layer.label).type == pa.int64()
        if layer.key is None:
            assert item.field("start").type == pa.int32() == item.field("end").type
    for layer, model in (
        ("rhetorical_questions", "RhetoricalQuestion"),
        ("attributions", "Attribution"),
        ("stances", "Stance"),
    ):
        item_model = Record.model_fields[layer].annotation.__args__[0]
        assert item_model.__name__ == model
        assert list(f[layer].feature) == list(item_model.model_fields)


def test_parquet_stores_labels_as_indices(published):
    out, _, _ = published
    table = pq.read_table(out / "data" / "default" / "train-00000-of-00001.parquet")
    kinds = table.column("rhetorical_questions").combine_chunks().flatten().field("kind")
    assert kinds.to_pylist() == [1, 1, 1]  # hypophora
    assert table.schema.equals(feats.gold_features().arrow_schema)


def test_gold_file_with_several_records_per_document_and_defaults(tmp_path):
    # A record with no layers and no meta gets the models' defaults ([] and language "en").
    bare = {"doc_id": "b1", "annotator": "gold", "text": "Plain text."}
    docs = {
        "train": [bare, record("d1", "gold")],
        "validation": [record("d2", "gold")],
        "test": [record("d3", "gold")],
    }
    out = tmp_path / "dataset"
    publish(make_split_dir(tmp_path / "splits", docs), output=out)
    row = load(out, tmp_path / "cache")["train"][0]
    assert row["rhetorical_questions"] == [] and row["meta"]["language"] == "en"
    assert decode(row) == as_model(bare)


def test_publish_refuses_to_replace_a_folder_holding_other_files(tmp_path, split_dir):
    # A folder that looks like an earlier output but also holds a .git (a Hub clone, say).
    project = tmp_path / "project"
    (project / "data").mkdir(parents=True)
    (project / "README.md").write_text("my project")
    (project / "splits.json").write_text("{}")
    (project / ".git").mkdir()
    with pytest.raises(CorpusToolsError, match=r"holds README\.md and has no record"):
        publish(split_dir, output=project)
    assert (project / ".git").is_dir() and (project / "README.md").read_text() == "my project"
