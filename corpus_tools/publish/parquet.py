"""Writing parquet as `datasets` writes it for the Hub, streamed.

Reading: JSONL is read in chunks of whole lines with Arrow's JSON reader, straight into the
declared schema (`corpus_tools.publish.features`). No record becomes a Python object, so memory
stays flat; `datasets`' own `Dataset.from_generator` plus `to_parquet` encodes every example in
Python and is several times slower.

Writing (`Sink`): one split of one config, with the options `datasets`' own parquet writer uses
(`datasets.arrow_writer.ParquetWriter`, `datasets.io.parquet.ParquetDatasetWriter`): snappy
compression, dictionary encoding, statistics, a page index, and content-defined chunking of the
data pages (so that the Hub's storage deduplicates the pages a new version leaves unchanged), with
its options recorded in the file's metadata as `datasets` records them.

The row-group rule: row groups are sized by bytes, as `datasets` sizes them (it aims at
`config.MAX_ROW_GROUP_SIZE`, 100 MB of Arrow data per row group, whatever the number of rows).
Tables are buffered until they hold `ROW_GROUP_BYTES` of Arrow data, then written as one row
group; a file's last row group holds the rest. So every row group of a file but the last holds at
least `ROW_GROUP_BYTES`, and a file of B bytes of Arrow data has at most ceil(B / ROW_GROUP_BYTES)
row groups: one for any file under 100 MB, however many input files or chunks it came from. A
split is cut into shards of `MAX_SHARD_BYTES` (`datasets`' `config.MAX_SHARD_SIZE`), at row-group
boundaries. The buffer is the only thing that grows, and it is bounded by `ROW_GROUP_BYTES`.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from corpus_tools.dataset import layout_name
from corpus_tools.errors import CorpusToolsError
from corpus_tools.files import chunk_ranges, display, is_blank, read_range
from corpus_tools.layers import LAYERS
from corpus_tools.publish import features as feats
from corpus_tools.publish.results import SplitSummary


def _datasets_setting(name: str, default: Any) -> Any:
    """A setting of the installed `datasets`' writer (`datasets.config`), so that publish keeps
    writing as `datasets` does; `default` is its value in `datasets` 5."""
    import datasets.config

    return getattr(datasets.config, name, default)


def _size(value: Any) -> int:
    from datasets.utils.py_utils import convert_file_size_to_int

    return int(convert_file_size_to_int(value))


ROW_GROUP_BYTES = _size(_datasets_setting("MAX_ROW_GROUP_SIZE", "100MB"))
"""Arrow bytes buffered before a row group is written: `datasets`' `MAX_ROW_GROUP_SIZE`."""
MAX_SHARD_BYTES = _size(_datasets_setting("MAX_SHARD_SIZE", "500MB"))
"""Start a new parquet file after this many bytes of Arrow data: `datasets`' `MAX_SHARD_SIZE`
(the Hub prefers files under 1 GB)."""
CDC_OPTIONS: dict[str, int] = dict(
    _datasets_setting(
        "DEFAULT_CDC_OPTIONS", {"min_chunk_size": 256 * 1024, "max_chunk_size": 1024 * 1024, "norm_level": 0}
    )
)
"""Content-defined chunking of data pages, as `datasets` configures it (`DEFAULT_CDC_OPTIONS`)."""
CHUNK_SIZE = 4 << 20
"""Bytes of JSONL read and converted at a time."""
PARSE_BLOCK = 1 << 20
"""Arrow parses a chunk in blocks of this size, in parallel."""


@contextlib.contextmanager
def system_memory_pool() -> Iterator[None]:
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


# -- writing ----------------------------------------------------------------------------------


class Sink:
    """One split of one config: tables in, `root/data/<config>/<split>-NNNNN-of-NNNNN.parquet`
    out, row groups and shards cut by bytes (see the module docstring).

    Use it as a context manager, or call `close()`; until then the files have temporary names.
    """

    def __init__(self, root: Path, config: str, split: str, schema: pa.Schema) -> None:
        self.root = root
        self.config = config
        self.split = split
        self.schema = schema
        self.folder = root / "data" / config
        self.rows = 0
        self.num_bytes = 0
        self.files: list[str] = []
        self._shards: list[Path] = []
        self._writer: pq.ParquetWriter | None = None
        self._shard_bytes = 0
        self._buffer: list[pa.Table] = []
        self._buffered = 0

    def __enter__(self) -> Sink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def write(self, table: pa.Table) -> None:
        """Add rows (a table of the sink's schema)."""
        if not table.num_rows:
            return
        self.rows += table.num_rows
        self.num_bytes += table.nbytes
        self._buffer.append(table)
        self._buffered += table.nbytes
        if self._buffered >= ROW_GROUP_BYTES:
            self._flush()

    def close(self) -> list[str]:
        """Write what is buffered, close the last file and give every file its final name.

        Returns:
            The files written, relative to `root` (none for a split without rows).
        """
        self._flush()
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self._shards and not self.files:
            for i, shard in enumerate(self._shards):
                final = self.root / layout_name(self.config, self.split, i, len(self._shards))
                os.replace(shard, final)
                self.files.append(final.relative_to(self.root).as_posix())
        return self.files

    def _flush(self) -> None:
        if not self._buffer:
            return
        table = pa.concat_tables(self._buffer)
        self._buffer, self._buffered = [], 0
        if self._writer is None or self._shard_bytes >= MAX_SHARD_BYTES:
            if self._writer is not None:
                self._writer.close()
            self.folder.mkdir(parents=True, exist_ok=True)
            self._shards.append(self.folder / f".{self.split}-{len(self._shards):05d}.parquet.tmp")
            self._writer = _writer(self._shards[-1], self.schema)
            self._shard_bytes = 0
        # One call, one row group: every row buffered for it (pyarrow would cut at 1M rows).
        self._writer.write_table(table, row_group_size=max(table.num_rows, 1))
        self._shard_bytes += table.nbytes


def _writer(path: Path, schema: pa.Schema) -> pq.ParquetWriter:
    writer = pq.ParquetWriter(
        path,
        schema,
        compression="snappy",
        use_dictionary=True,
        write_statistics=True,
        write_page_index=True,
        use_content_defined_chunking=CDC_OPTIONS,
    )
    writer.add_key_value_metadata({"content_defined_chunking": json.dumps(CDC_OPTIONS)})
    return writer


# -- reading JSONL ----------------------------------------------------------------------------


def read_records(path: Path) -> Iterator[tuple[pa.Table, int]]:
    """Conformed record tables of a JSONL file (`features.record_schema()`), one chunk of whole
    lines at a time, with the byte position reached.

    Raises:
        CorpusToolsError: naming the file and lines, when a chunk cannot be converted (the input
            was not validated).
    """
    yield from _read_tables(path)


def _read_tables(path: Path) -> Iterator[tuple[pa.Table, int]]:
    """Chunks are cut at line ends here rather than by Arrow's streaming reader, which reads
    many blocks ahead (over 100 MB in flight) and fails on a line longer than its block."""
    line = 1
    position = 0
    for data in _chunks(path):
        position += len(data)
        lines = data.count(b"\n")
        if not is_blank(data):  # a chunk of blank lines (validate warns about them) holds no record
            yield parse_records(data, f"{display(path)}, lines {line}-{line + lines - 1}", path), position
        line += lines


def parse_records(data: bytes, where: str, path: Path | None = None) -> pa.Table:
    """Whole JSONL lines of records as one conformed table.

    Raises:
        CorpusToolsError: naming `where`, when the lines cannot be converted.
    """
    try:
        return feats.conform(parse_lines(data, feats.read_schema()))
    except (pa.ArrowInvalid, feats.LabelError) as e:
        hint = f"; run `corpus validate {display(path)}` to find the problem" if path is not None else ""
        raise CorpusToolsError(f"{where}: cannot convert the records ({e}){hint}") from None


def parse_lines(data: bytes, schema: pa.Schema) -> pa.Table:
    """Whole JSONL lines (blank ones skipped) as a table of `schema`; unknown fields are errors.

    Raises:
        pyarrow.ArrowInvalid: when a line does not fit the schema.
    """
    if b"\r" in data:
        # JSON allows CR only as whitespace between tokens (inside a string it must be
        # escaped), but Arrow's block reader cuts lines at it: make it a space.
        data = data.replace(b"\r", b" ")
    if not data.endswith(b"\n"):
        data += b"\n"
    options = pa_json.ParseOptions(explicit_schema=schema, unexpected_field_behavior="error")
    buffer = pa.py_buffer(data)
    try:
        # Blocks smaller than the chunk let Arrow parse on several threads.
        return pa_json.read_json(
            buffer,
            parse_options=options,
            read_options=pa_json.ReadOptions(block_size=min(PARSE_BLOCK, len(data)), use_threads=True),
        )
    except pa.ArrowInvalid as e:
        if "straddl" not in str(e):
            raise
    # A line longer than a block: parse the chunk as one block.
    return pa_json.read_json(
        buffer, parse_options=options, read_options=pa_json.ReadOptions(block_size=len(data) + 1)
    )


def _chunks(path: Path) -> Iterator[bytes]:
    """`path` in pieces of about `CHUNK_SIZE` bytes that end at a line end (`files.chunk_ranges`,
    the validator's chunker)."""
    for start, end in chunk_ranges(path, CHUNK_SIZE):
        data = read_range(path, start, end)
        if data:
            yield data


# -- what a split of records holds, for the card ------------------------------------------------


@dataclass
class RecordStats:
    """Counts over the record tables of one split: items and labels per layer, lines per
    annotator."""

    rows: int = 0
    items: Counter[str] = field(default_factory=Counter)
    labels: dict[str, Counter[str]] = field(default_factory=lambda: {layer: Counter() for layer in LAYERS})
    annotators: Counter[str] = field(default_factory=Counter)

    def add(self, table: pa.Table) -> None:
        self.rows += table.num_rows
        for name, layer in LAYERS.items():
            label, names = layer.label, layer.names
            items = pc.list_flatten(table.column(name))
            self.items[name] += len(items)
            for entry in pc.value_counts(pc.struct_field(items, label)).to_pylist():
                self.labels[name][names[entry["values"]]] += entry["counts"]
        for entry in pc.value_counts(table.column("annotator")).to_pylist():
            self.annotators[entry["values"]] += entry["counts"]

    def summary(self, sink: Sink) -> SplitSummary:
        return SplitSummary(
            rows=sink.rows,
            num_bytes=sink.num_bytes,
            files=list(sink.files),
            items={layer: self.items[layer] for layer in LAYERS},
            labels={
                name: {label: self.labels[name][label] for label in layer.names}
                for name, layer in LAYERS.items()
            },
            annotators=dict(sorted(self.annotators.items())),
        )


def download_sizes(root: Path, configs: dict[str, dict[str, SplitSummary]]) -> dict[str, int]:
    """Bytes of parquet per config, as the card's `download_size` gives them."""
    return {
        c: sum((root / f).stat().st_size for s in splits.values() for f in s.files)
        for c, splits in configs.items()
    }
