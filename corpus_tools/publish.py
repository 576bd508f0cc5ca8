"""`corpus publish`: turn a split folder into a Hugging Face dataset repository, and push it.

The output folder is a ready Hub dataset repository:

    OUT/README.md                                   the dataset card (YAML header + body)
    OUT/LICENSE.md                                  the licence and rights notice of every document
    OUT/splits.json                                 the split manifest, as `corpus split` wrote it
    OUT/data/default/{train,validation,test}-00000-of-00001.parquet
    OUT/data/annotators/train-00000-of-00001.parquet   (with --annotators)

The JSONL files are read with Arrow's streaming JSON reader in blocks and each block is written
as one parquet row group with the schema of `corpus_tools.features`, so memory stays flat and no
record becomes a Python object. (`datasets`' own `Dataset.from_generator` + `to_parquet` path
encodes every example in Python and is several times slower.)

Everything is written to a temporary folder beside `OUT`, loaded back with `datasets` offline and
checked (split sizes, features, the offsets of a sample of rows), and only then moved onto `OUT`.
A failed publish leaves `OUT` as it was.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import shutil
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json
import pyarrow.parquet as pq
from pydantic import BaseModel

from corpus_tools import features as feats
from corpus_tools.errors import CorpusToolsError
from corpus_tools.files import RECORD_NAME, Outputs, display, input_files
from corpus_tools.problems import Report
from corpus_tools.records import require_valid
from corpus_tools.schema import LABELS
from corpus_tools.split import MANIFEST_NAME, SPLITS, Manifest, load_manifest

DEFAULT_CONFIG = "default"
ANNOTATORS_CONFIG = "annotators"
ANNOTATORS_SPLIT = "train"

CHUNK_SIZE = 4 << 20
"""Bytes of JSONL read and converted at a time; each chunk becomes one parquet row group."""
PARSE_BLOCK = 1 << 20
"""Arrow parses a chunk in blocks of this size, in parallel."""
MAX_SHARD_BYTES = 500 << 20
"""Start a new parquet file after this many bytes of Arrow data (the Hub prefers files < 1 GB)."""
SAMPLE_ROWS = 64
"""Rows per split whose offsets are checked after loading the result back."""

Progress = Callable[[str, int, int], None]
"""`progress(step, done, total)`: called as a long step advances (bytes read of the total)."""


@dataclass(frozen=True)
class CardMetadata:
    """What the dataset card says about the dataset as a whole (the rest comes from the data)."""

    pretty_name: str = "Rhetorical questions, attributions and stance in argumentative texts"
    license: str = "cc-by-4.0"
    """Licence of the annotations: the dataset's own licence (a Hub licence id)."""
    license_name: str = "mixed-document-licences"
    """The Hub `license_name` used when some texts are not under `license` (`license: other`)."""
    homepage: str | None = None
    citation: str | None = None
    """A BibTeX entry; one is made from `pretty_name` and `homepage` when None."""
    repo_id: str | None = None
    """The Hub id the card's loading examples use; the output folder's name when None."""
    annotations_creators: tuple[str, ...] = ("expert-generated",)
    """Who made the annotations, as Hub card tags (`expert-generated`, `machine-generated`, ...)."""
    annotation_process: str | None = None
    """Who annotated and how; the card's "Annotations" section says it when given."""


class SplitSummary(BaseModel):
    """What one split of one config holds, as written and as `datasets` loads it."""

    rows: int = 0
    num_bytes: int = 0
    """Size of the Arrow data, as `datasets` records it in the card (`dataset_info.splits`)."""
    files: list[str] = []
    """The parquet files, relative to the output folder."""
    items: dict[str, int] = {}
    """Annotations per layer."""
    labels: dict[str, dict[str, int]] = {}
    """Per layer: how many items carry each label (every label listed, zeros too)."""
    annotators: dict[str, int] = {}
    """Lines per annotator."""


@dataclass(frozen=True, slots=True)
class DocumentRights:
    """The provenance and rights of one document, as its records' `meta` gives them.

    A slotted dataclass, not a model: publish keeps one per document, so it must stay small.
    """

    doc_id: str
    split: str
    title: str | None = None
    author: str | None = None
    source: str | None = None
    url: str | None = None
    license: str | None = None
    license_url: str | None = None
    rights: str | None = None
    language: str = "en"


class PublishResult(BaseModel):
    """The outcome of `publish`: what was written, what the card declares, where it was pushed."""

    output: Path
    configs: dict[str, dict[str, SplitSummary]]
    """Config name -> split name -> summary."""
    empty_splits: list[str] = []
    """Splits of the split folder without records, left out (`datasets` cannot load them)."""
    documents: list[DocumentRights]
    """Every document of the default config, sorted by `doc_id`."""
    license: str
    """The card's `license`: `CardMetadata.license`, or `other` when some text is not under it."""
    languages: list[str]
    pushed: str | None = None
    """The URL of the Hub commit, when pushed."""
    validation: list[Report] = []
    """The validation reports of the inputs (warnings only; errors stop the publish)."""

    def rows(self, config: str = DEFAULT_CONFIG) -> dict[str, int]:
        """Rows per split of `config`."""
        return {s: summary.rows for s, summary in self.configs[config].items()}


def publish(
    split_dir: Path | str,
    *,
    output: Path | str,
    annotators: Iterable[Path | str] | None = None,
    push: str | None = None,
    force: bool = False,
    token: str | None = None,
    metadata: CardMetadata | None = None,
    validate: bool = True,
    jobs: int = 1,
    api: Any = None,
    progress: Progress | None = None,
) -> PublishResult:
    """Write a Hugging Face dataset repository from a split folder; optionally push it.

    Args:
        split_dir: a folder written by `corpus split`: `train.jsonl`, `validation.jsonl`,
            `test.jsonl` and `splits.json`.
        output: the folder to write; replaced only once the new one has been verified. An
            existing folder must be empty or a previous publish output.
        annotators: annotator files (or folders of them); every line becomes a row of the
            `annotators` config, and the card gets their agreement table.
        push: a Hub dataset id (`user/name`) to upload the output to, in one commit.
        force: let `push` replace the contents of an existing Hub dataset.
        token: the Hub token; `HF_TOKEN` or the stored login when None. Never printed.
        metadata: the card's name, licence and citation; `CardMetadata()` when None.
        validate: validate the inputs first (pass False when they were just validated, as
            `build` does).
        jobs: processes to validate the inputs in (see `corpus_tools.validate`).
        api: a `huggingface_hub.HfApi`-like object (for tests); a real one when None.
        progress: called as `progress(step, done, total)` while writing.

    Returns:
        A `PublishResult`.

    Raises:
        InvalidInputError: when an input file fails validation.
        CorpusToolsError: when the split folder is incomplete or disagrees with its manifest,
            the output cannot be replaced, the written dataset does not load back as written,
            or pushing is impossible (no token, the dataset exists without `force`, the Hub
            cannot be reached).
    """
    split_dir, output = Path(split_dir), Path(output)
    metadata = metadata or CardMetadata()
    if push and metadata.repo_id is None:  # the card's examples load what was pushed
        metadata = dataclasses.replace(metadata, repo_id=push)
    manifest_path, manifest = _read_manifest(split_dir)
    split_files = {s: split_dir / f"{s}.jsonl" for s in SPLITS}
    for path in split_files.values():
        if not path.is_file():
            raise CorpusToolsError(f"{path}: no such file; {split_dir} is not a complete split "
                                   "folder (make one with `corpus split`)")
    annotator_files = input_files(annotators) if annotators else []
    if annotators is not None and not annotator_files:
        raise CorpusToolsError("--annotators names no *.jsonl file")
    _check_output(output, [*split_files.values(), manifest_path, *annotator_files])
    hub = _connect(push, token=token, force=force, api=api) if push else None

    reports: list[Report] = []
    if validate:
        reports.append(require_valid(split_files.values(), jobs=jobs)[1])
        if annotator_files:
            reports.append(require_valid(annotator_files, jobs=jobs)[1])

    with _system_memory_pool(), Outputs("corpus publish") as outputs:
        tmp = outputs.folder(output)
        collector = _Documents(manifest, manifest_path)
        configs: dict[str, dict[str, SplitSummary]] = {DEFAULT_CONFIG: {}}
        empty: list[str] = []
        for split, path in split_files.items():
            summary = _write_split([path], tmp, DEFAULT_CONFIG, split, progress,
                                   on_table=lambda table, split=split: collector.add(table, split))
            collector.check_count(split, summary.rows)
            # `datasets` cannot load a split without rows, so an empty split is left out.
            if summary.rows:
                configs[DEFAULT_CONFIG][split] = summary
            else:
                empty.append(split)
        if not configs[DEFAULT_CONFIG]:
            raise CorpusToolsError(f"{display(split_dir)}: every split is empty; nothing to publish")
        agreement_table = None
        if annotator_files:
            summary = _write_split(annotator_files, tmp, ANNOTATORS_CONFIG, ANNOTATORS_SPLIT, progress)
            if not summary.rows:
                raise CorpusToolsError("the --annotators files hold no records")
            configs[ANNOTATORS_CONFIG] = {ANNOTATORS_SPLIT: summary}
            agreement_table = _agreement_table(annotator_files)
        shutil.copyfile(manifest_path, tmp / MANIFEST_NAME)

        from corpus_tools.card import render_card, render_rights

        documents = collector.documents()
        card_license = _card_license(metadata, documents)
        languages = sorted({d.language for d in documents}) or ["en"]
        result = PublishResult(output=output, configs=configs, empty_splits=empty,
                               documents=documents, license=card_license, languages=languages,
                               validation=reports)

        def write_card() -> None:
            card = render_card(result, metadata=metadata, manifest=manifest,
                               agreement=agreement_table, download_sizes=_download_sizes(tmp, configs))
            (tmp / "README.md").write_text(card, encoding="utf-8")

        write_card()
        (tmp / "LICENSE.md").write_text(render_rights(result, metadata=metadata), encoding="utf-8")
        if progress:
            progress("verify", 0, 1)
        recorded = verify(tmp, {c: {s: v.rows for s, v in splits.items()} for c, splits in configs.items()})
        if progress:
            progress("verify", 1, 1)
        # `datasets` computes num_bytes itself while loading and does not check it; if ours
        # differs (Arrow buffer padding), record its figure so the card matches what it reports.
        changed = False
        for config, splits in recorded.items():
            for split, num_bytes in splits.items():
                if configs[config][split].num_bytes != num_bytes:
                    configs[config][split].num_bytes = num_bytes
                    changed = True
        if changed:
            write_card()
        outputs.commit()
    if hub is not None:
        result.pushed = hub.upload(output, metadata)
    return result


# -- reading the split folder -----------------------------------------------------------------


def _read_manifest(split_dir: Path) -> tuple[Path, Manifest]:
    if not split_dir.is_dir():
        raise CorpusToolsError(f"{display(split_dir)}: no such folder (make one with `corpus split`)")
    path = split_dir / MANIFEST_NAME
    if not path.exists():
        raise CorpusToolsError(f"{display(path)}: no such file; {display(split_dir)} is not a split "
                               "folder (make one with `corpus split`)")
    return path, load_manifest(path)


class _Documents:
    """Collects each document's rights while writing, and checks the files against the manifest."""

    def __init__(self, manifest: Manifest, path: Path) -> None:
        self.manifest = manifest
        self.path = path
        self.assigned: dict[str, str] = dict(manifest.documents)
        self.docs: dict[str, DocumentRights] = {}

    def add(self, table: pa.Table, split: str) -> None:
        for row in table.select(["doc_id", "meta"]).to_pylist():
            doc_id = row["doc_id"]
            if self.assigned.get(doc_id) != split:
                where = self.assigned.get(doc_id)
                said = f"puts it in {where}" if where else "does not list it"
                raise CorpusToolsError(
                    f"{self.path.parent / (split + '.jsonl')}: doc_id {doc_id!r} is in {split}, but "
                    f"{self.path} {said}; the split folder was changed by hand: run `corpus split` "
                    "again")
            if doc_id not in self.docs:
                meta = row["meta"] or {}
                # Licences, rights notices and sources repeat across documents: keep one copy.
                self.docs[doc_id] = DocumentRights(
                    doc_id=doc_id, split=split,
                    **{k: sys.intern(v) if k in _SHARED else v for k, v in meta.items()
                       if k in _RIGHTS_FIELDS and v is not None})

    def check_count(self, split: str, rows: int) -> None:
        entry = self.manifest.counts.get(split)  # type: ignore[call-overload]
        if entry is None:
            return
        expected = entry.records
        if expected != rows:
            raise CorpusToolsError(
                f"{self.path.parent / (split + '.jsonl')} has {rows} record(s) but {self.path} "
                f"counts {expected}; the split folder was changed by hand: run `corpus split` again")

    def documents(self) -> list[DocumentRights]:
        return [self.docs[d] for d in sorted(self.docs)]


_RIGHTS_FIELDS = frozenset(f.name for f in dataclasses.fields(DocumentRights))
_SHARED = frozenset({"source", "license", "license_url", "rights", "language"})


@contextlib.contextmanager
def _system_memory_pool() -> Iterator[None]:
    """Use the system allocator for Arrow while publishing, then restore the previous pool.

    Arrow's default pool (mimalloc or jemalloc) keeps freed memory for reuse; over a streamed
    write and the verifying load that added about 100 MB to the peak for a 150 MB corpus.
    """
    previous = pa.default_memory_pool()
    pa.set_memory_pool(pa.system_memory_pool())
    try:
        yield
    finally:
        pa.set_memory_pool(previous)


# -- writing parquet --------------------------------------------------------------------------


def _write_split(sources: list[Path], root: Path, config: str, split: str,
                 progress: Progress | None,
                 on_table: Callable[[pa.Table], None] | None = None) -> SplitSummary:
    """Stream `sources` into `root/data/<config>/<split>-NNNNN-of-NNNNN.parquet`."""
    folder = root / "data" / config
    folder.mkdir(parents=True, exist_ok=True)
    schema = feats.arrow_schema()
    stats = _Stats()
    shards: list[Path] = []
    writer: pq.ParquetWriter | None = None
    shard_bytes = 0
    total = sum(p.stat().st_size for p in sources)
    done = 0
    step = f"write {config}/{split}"
    try:
        for path in sources:
            for table, position in _read_tables(path):
                if not table.num_rows:
                    continue
                if writer is None or shard_bytes >= MAX_SHARD_BYTES:
                    if writer is not None:
                        writer.close()
                    shards.append(folder / f".{split}-{len(shards):05d}.parquet.tmp")
                    writer = _parquet_writer(shards[-1], schema)
                    shard_bytes = 0
                writer.write_table(table)
                shard_bytes += table.nbytes
                stats.add(table)
                if on_table is not None:
                    on_table(table)
                if progress:
                    progress(step, done + position, total)
            done += path.stat().st_size
    finally:
        if writer is not None:
            writer.close()
    names = []
    for i, shard in enumerate(shards):
        final = folder / f"{split}-{i:05d}-of-{len(shards):05d}.parquet"
        os.replace(shard, final)
        names.append(final.relative_to(root).as_posix())
    if progress:
        progress(step, total, total)
    return stats.summary(names)


def _parquet_writer(path: Path, schema: pa.Schema) -> pq.ParquetWriter:
    # Dictionary encoding costs more than it saves on long unique texts; the annotator's name is
    # the one column that repeats a handful of values.
    return pq.ParquetWriter(path, schema, compression="snappy", use_dictionary=["annotator"],
                            write_statistics=["doc_id", "annotator"])


def _read_tables(path: Path) -> Iterator[tuple[pa.Table, int]]:
    """Yield conformed tables of `path`, one chunk of whole lines at a time, with the byte
    position reached.

    Chunks are cut at line ends here rather than by Arrow's streaming reader, which reads many
    blocks ahead (over 100 MB in flight) and fails on a line longer than its block.
    """
    options = pa_json.ParseOptions(explicit_schema=feats.read_schema(), unexpected_field_behavior="error")
    line = 1
    position = 0
    for data in _chunks(path):
        position += len(data)
        lines = data.count(b"\n")
        try:
            table = feats.conform(_parse(data, options))
        except (pa.ArrowInvalid, feats.LabelError) as e:
            raise CorpusToolsError(
                f"{path}, lines {line}-{line + lines - 1}: cannot convert the records ({e}); run "
                f"`corpus validate {path}` to find the problem") from None
        line += lines
        yield table, position


def _parse(data: bytes, options: pa_json.ParseOptions) -> pa.Table:
    buffer = pa.py_buffer(data)
    try:
        # Blocks smaller than the chunk let Arrow parse on several threads.
        return pa_json.read_json(buffer, parse_options=options, read_options=pa_json.ReadOptions(
            block_size=min(PARSE_BLOCK, len(data)), use_threads=True))
    except pa.ArrowInvalid as e:
        if "straddl" not in str(e):
            raise
    # A line longer than a block: parse the chunk as one block.
    return pa_json.read_json(buffer, parse_options=options,
                             read_options=pa_json.ReadOptions(block_size=len(data) + 1))


def _chunks(path: Path) -> Iterator[bytes]:
    """Yield `path` in pieces of about `CHUNK_SIZE` bytes that end at a line end."""
    rest = b""
    with open(path, "rb") as f:
        while data := f.read(CHUNK_SIZE):
            data = rest + data if rest else data
            cut = data.rfind(b"\n") + 1
            rest = data[cut:]
            chunk = data[:cut]
            if chunk and not chunk.isspace():
                yield chunk
        if rest and not rest.isspace():
            yield rest + b"\n"


@dataclass
class _Stats:
    rows: int = 0
    num_bytes: int = 0
    items: Counter[str] = field(default_factory=Counter)
    labels: dict[str, Counter[str]] = field(default_factory=lambda: {layer: Counter() for layer in LABELS})
    annotators: Counter[str] = field(default_factory=Counter)

    def add(self, table: pa.Table) -> None:
        self.rows += table.num_rows
        self.num_bytes += table.nbytes
        for layer, (label, _model, names) in LABELS.items():
            items = pc.list_flatten(table.column(layer))
            self.items[layer] += len(items)
            for entry in pc.value_counts(pc.struct_field(items, label)).to_pylist():
                self.labels[layer][names[entry["values"]]] += entry["counts"]
        for entry in pc.value_counts(table.column("annotator")).to_pylist():
            self.annotators[entry["values"]] += entry["counts"]

    def summary(self, files: list[str]) -> SplitSummary:
        return SplitSummary(
            rows=self.rows, num_bytes=self.num_bytes, files=files,
            items={layer: self.items[layer] for layer in LABELS},
            labels={layer: {name: self.labels[layer][name] for name in LABELS[layer][2]}
                    for layer in LABELS},
            annotators=dict(sorted(self.annotators.items())))


def _download_sizes(root: Path, configs: dict[str, dict[str, SplitSummary]]) -> dict[str, int]:
    return {c: sum((root / f).stat().st_size for s in splits.values() for f in s.files)
            for c, splits in configs.items()}


# -- licence and agreement --------------------------------------------------------------------

_FREE = {"public-domain", "cc0-1.0", "pddl", "cc-pdm-1.0"}
"""Licences that put no condition on reuse: such texts can go under any dataset licence."""


def _card_license(metadata: CardMetadata, documents: list[DocumentRights]) -> str:
    own = metadata.license.lower()
    for doc in documents:
        lic = (doc.license or "").lower()
        if lic != own and lic not in _FREE:
            return "other"
    return metadata.license


def _agreement_table(files: list[Path]) -> str:
    from corpus_tools.agreement import agreement

    return agreement(files).to_markdown()


# -- verification -----------------------------------------------------------------------------


def verify(folder: Path, expected: dict[str, dict[str, int]], *,
           sample: int = SAMPLE_ROWS) -> dict[str, dict[str, int]]:
    """Load `folder` with `datasets` (offline, in a throw-away cache) and check it.

    Checks, for every config: the splits and their sizes, that the features are those of
    `corpus_tools.features`, and that `text[start:end]` equals the span text for every span of
    `sample` rows per split spread over the split.

    Returns:
        Config -> split -> `num_bytes` as `datasets` recorded it while loading.

    Raises:
        CorpusToolsError: naming the first difference found.
    """
    import datasets
    import pyarrow.dataset as pds

    recorded: dict[str, dict[str, int]] = {}
    with _quiet_offline(), tempfile.TemporaryDirectory(prefix="corpus-publish-cache-") as cache:
        for config, splits in expected.items():
            try:
                # Without pre-buffering, datasets reads a row group at a time (50 MB less at peak).
                loaded = datasets.load_dataset(
                    str(folder), config, cache_dir=cache,
                    fragment_scan_options=pds.ParquetFragmentScanOptions(pre_buffer=False))
            except Exception as e:  # anything datasets raises means the output is unusable
                raise CorpusToolsError(f"the written dataset does not load with datasets "
                                       f"(config {config!r}): {type(e).__name__}: {e}") from None
            if set(loaded) != set(splits):
                raise CorpusToolsError(f"config {config!r} loads with splits {sorted(loaded)}, "
                                       f"expected {sorted(splits)}")
            recorded[config] = {}
            for split, rows in splits.items():
                ds = loaded[split]
                if ds.num_rows != rows:
                    raise CorpusToolsError(f"{config}/{split} loads with {ds.num_rows} rows, "
                                           f"expected {rows}")
                if ds.features != feats.features():
                    raise CorpusToolsError(f"{config}/{split} loads with other features than the "
                                           f"card declares: {ds.features}")
                _check_offsets(ds, f"{config}/{split}", sample)
                recorded[config][split] = ds.info.splits[split].num_bytes
            del loaded
    return recorded


def _check_offsets(ds: Any, where: str, sample: int) -> None:
    n = ds.num_rows
    if not n:
        return
    indices = sorted({round(i * (n - 1) / max(sample - 1, 1)) for i in range(min(sample, n))})
    for index, row in zip(indices, ds.select(indices), strict=True):
        text = row["text"]
        for path, span in _spans(row):
            if text[span["start"]:span["end"]] != span["text"]:
                raise CorpusToolsError(
                    f"{where} row {index} (doc_id {row['doc_id']!r}): {path} is "
                    f"[{span['start']}, {span['end']}) = {text[span['start']:span['end']]!r} in the "
                    f"loaded text but its text is {span['text']!r}")


def _spans(row: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for i, q in enumerate(row["rhetorical_questions"]):
        yield f"rhetorical_questions[{i}]", q
        if q["answer"] is not None:
            yield f"rhetorical_questions[{i}].answer", q["answer"]
    for i, a in enumerate(row["attributions"]):
        for part in ("source", "cue", "content"):
            if a[part] is not None:
                yield f"attributions[{i}].{part}", a[part]
    for i, s in enumerate(row["stances"]):
        yield f"stances[{i}]", s


@contextlib.contextmanager
def _quiet_offline() -> Iterator[None]:
    """Make `datasets` work offline and print nothing, and put everything back afterwards."""
    import datasets
    import datasets.utils as ds_utils
    import huggingface_hub.constants
    from datasets.utils import logging as ds_logging

    saved_env = {k: os.environ.get(k) for k in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")}
    saved = (datasets.config.HF_HUB_OFFLINE, huggingface_hub.constants.HF_HUB_OFFLINE,
             ds_logging.get_verbosity(), ds_utils.are_progress_bars_disabled())
    os.environ.update({k: "1" for k in saved_env})
    datasets.config.HF_HUB_OFFLINE = True
    huggingface_hub.constants.HF_HUB_OFFLINE = True
    ds_logging.set_verbosity_error()
    ds_utils.disable_progress_bars()
    try:
        yield
    finally:
        for k, v in saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        datasets.config.HF_HUB_OFFLINE, huggingface_hub.constants.HF_HUB_OFFLINE = saved[0], saved[1]
        ds_logging.set_verbosity(saved[2])
        if not saved[3]:
            ds_utils.enable_progress_bars()


# -- the output folder ------------------------------------------------------------------------


def _check_output(output: Path, inputs: list[Path]) -> None:
    """Refuse an output that would clobber the inputs (whether the folder may be replaced at all
    is `files.Outputs.folder`'s decision)."""
    out = Path(os.path.realpath(output))
    for path in inputs:
        p = Path(os.path.realpath(path))
        if p == out or out in p.parents:
            raise CorpusToolsError(f"--output {display(output)} holds the input {display(path)}; "
                                   "choose another folder")


# -- the Hub ----------------------------------------------------------------------------------


@dataclass
class _Hub:
    api: Any
    repo_id: str
    token: str
    exists: bool

    def upload(self, folder: Path, metadata: CardMetadata) -> str:
        try:
            self.api.create_repo(self.repo_id, repo_type="dataset", exist_ok=True, token=self.token)
            info = self.api.upload_folder(
                repo_id=self.repo_id, folder_path=str(folder), repo_type="dataset", token=self.token,
                commit_message=f"Publish {metadata.pretty_name} with corpus-tools",
                # Replacing a dataset: drop old parquet shards that the new upload does not have.
                delete_patterns=["data/**"] if self.exists else None,
                ignore_patterns=[RECORD_NAME])
        except Exception as e:  # network and Hub errors, reported without the token
            raise CorpusToolsError(f"pushing to the Hub dataset {self.repo_id} failed: "
                                   f"{_scrub(e, self.token)} (the dataset is in {folder})") from None
        return str(getattr(info, "commit_url", info))


def _connect(repo_id: str, *, token: str | None, force: bool, api: Any) -> _Hub:
    """Check, before any work, that pushing to `repo_id` can succeed."""
    import huggingface_hub

    token = token or huggingface_hub.get_token()
    if not token:
        raise CorpusToolsError("--push needs a Hugging Face token: set HF_TOKEN or log in with "
                               "`hf auth login` (a token with write access)")
    api = api if api is not None else huggingface_hub.HfApi()
    try:
        exists = bool(api.repo_exists(repo_id, repo_type="dataset", token=token))
    except Exception as e:  # offline mode, network, bad id: all mean we cannot push
        raise CorpusToolsError(f"cannot check the Hub dataset {repo_id}: {_scrub(e, token)}") from None
    if exists and not force:
        raise CorpusToolsError(f"the Hub dataset {repo_id} already exists; pass --force to "
                               "replace its contents")
    return _Hub(api=api, repo_id=repo_id, token=token, exists=exists)


def _scrub(error: Exception, token: str) -> str:
    """The error without the token, in any case (some messages upper- or lower-case it)."""
    return re.sub(re.escape(token), "***", f"{type(error).__name__}: {error}", flags=re.IGNORECASE)
