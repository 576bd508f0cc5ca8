"""Writing parquet: JSONL read in chunks of whole lines with Arrow's JSON reader, straight into
the declared schema (`corpus_tools.publish.features`), one row group per chunk.

No record becomes a Python object, so memory stays flat; `datasets`' own `Dataset.from_generator`
plus `to_parquet` encodes every example in Python and is several times slower.
"""

from __future__ import annotations

import contextlib
import os
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from corpus_tools.errors import CorpusToolsError
from corpus_tools.files import chunk_ranges, display, is_blank, read_range
from corpus_tools.layers import LAYERS
from corpus_tools.publish import features as feats
from corpus_tools.publish.results import Progress, SplitSummary

CHUNK_SIZE = 4 << 20
"""Bytes of JSONL read and converted at a time; each chunk becomes one parquet row group."""
PARSE_BLOCK = 1 << 20
"""Arrow parses a chunk in blocks of this size, in parallel."""
MAX_SHARD_BYTES = 500 << 20
"""Start a new parquet file after this many bytes of Arrow data (the Hub prefers files < 1 GB)."""


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


def write_split(
    sources: list[Path],
    root: Path,
    config: str,
    split: str,
    progress: Progress | None,
    on_table: Callable[[pa.Table], None] | None = None,
) -> SplitSummary:
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
    return pq.ParquetWriter(
        path,
        schema,
        compression="snappy",
        use_dictionary=["annotator"],
        write_statistics=["doc_id", "annotator"],
    )


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
        if is_blank(data):  # only blank lines, which validate warns about and skips
            line += lines
            continue
        if b"\r" in data:
            # JSON allows CR only as whitespace between tokens (inside a string it must be
            # escaped), but Arrow's block reader cuts lines at it: make it a space.
            data = data.replace(b"\r", b" ")
        try:
            table = feats.conform(_parse(data if data.endswith(b"\n") else data + b"\n", options))
        except (pa.ArrowInvalid, feats.LabelError) as e:
            raise CorpusToolsError(
                f"{display(path)}, lines {line}-{line + lines - 1}: cannot convert the records ({e}); "
                f"run `corpus validate {display(path)}` to find the problem"
            ) from None
        line += lines
        yield table, position


def _parse(data: bytes, options: pa_json.ParseOptions) -> pa.Table:
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


@dataclass
class _Stats:
    rows: int = 0
    num_bytes: int = 0
    items: Counter[str] = field(default_factory=Counter)
    labels: dict[str, Counter[str]] = field(default_factory=lambda: {layer: Counter() for layer in LAYERS})
    annotators: Counter[str] = field(default_factory=Counter)

    def add(self, table: pa.Table) -> None:
        self.rows += table.num_rows
        self.num_bytes += table.nbytes
        for name, layer in LAYERS.items():
            label, names = layer.label, layer.names
            items = pc.list_flatten(table.column(name))
            self.items[name] += len(items)
            for entry in pc.value_counts(pc.struct_field(items, label)).to_pylist():
                self.labels[name][names[entry["values"]]] += entry["counts"]
        for entry in pc.value_counts(table.column("annotator")).to_pylist():
            self.annotators[entry["values"]] += entry["counts"]

    def summary(self, files: list[str]) -> SplitSummary:
        return SplitSummary(
            rows=self.rows,
            num_bytes=self.num_bytes,
            files=files,
            items={layer: self.items[layer] for layer in LAYERS},
            labels={
                name: {label: self.labels[name][label] for label in layer.names}
                for name, layer in LAYERS.items()
            },
            annotators=dict(sorted(self.annotators.items())),
        )


def download_sizes(root: Path, configs: dict[str, dict[str, SplitSummary]]) -> dict[str, int]:
    return {
        c: sum((root / f).stat().st_size for s in splits.values() for f in s.files)
        for c, splits in configs.items()
    }
