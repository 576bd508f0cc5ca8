"""Rows of parquet files, and the JSONL files the commands read for the paths they are given
(see the package docstring)."""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import orjson

from corpus_tools.dataset.features import Feature, FeatureError, from_metadata, label_decoder
from corpus_tools.dataset.folder import Shard, is_dataset, open_dataset
from corpus_tools.dataset.layout import (
    DATA_SUFFIX,
    DOCUMENT_COLUMNS,
    MANIFEST_FILE,
    RECORD_COLUMNS,
    RECORD_CONFIGS,
)
from corpus_tools.errors import CorpusToolsError
from corpus_tools.files import display, input_files, recover, remove_scratch, require_file, scratch_folder

if TYPE_CHECKING:
    import pyarrow as pa

_PARQUET_MAGIC = b"PAR1"
_BATCH_ROWS = 256
"""Rows converted at a time: a record runs to kilobytes, a batch to a few megabytes."""
_SCRATCH_NAME = "corpus-tools-dataset"
"""The stem of the private folders that hold converted parquet files (`files.scratch_folder`)."""


def iter_rows(
    path: Path | str, *, features: Feature | None = None, batch_rows: int = _BATCH_ROWS
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Stream the rows of one parquet file as `(row number from 0, row as a dict)`, with every
    `ClassLabel` index turned back into its label name: by `features` (a dataset's card's, for
    one of its shards), else by the features `datasets` stores in the file (a file without them
    is read as it is).

    Raises:
        CorpusToolsError: naming the file (and the row and column), when it is not a readable
            parquet file.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    try:
        reader = pq.ParquetFile(path)
    except (OSError, pa.ArrowException) as e:
        raise CorpusToolsError(f"{display(path)}: not a readable parquet file: {e}") from None
    with reader:
        if features is None:
            try:
                features = from_metadata(reader.schema_arrow)
            except FeatureError:
                features = None  # a file on its own: its labels are read as they are stored
        decode = label_decoder(features) if features is not None else None
        number = 0
        try:
            for batch in reader.iter_batches(batch_size=batch_rows):
                try:
                    rows = batch.to_pylist()
                except (pa.ArrowException, UnicodeDecodeError, ValueError, OverflowError) as e:
                    raise _unreadable_cell(path, batch, number, e) from None
                for row in rows:
                    yield number, decode(row) if decode is not None else row
                    number += 1
        except (OSError, pa.ArrowException) as e:
            raise CorpusToolsError(f"{display(path)}, row {number}: cannot read the row: {e}") from None


def _unreadable_cell(path: Path, batch: pa.RecordBatch, first: int, error: Exception) -> CorpusToolsError:
    """The first cell of a batch that Arrow cannot turn into a Python value, named."""
    for i in range(batch.num_rows):
        for column, name in zip(batch.columns, batch.schema.names, strict=True):
            try:
                column[i].as_py()
            except Exception as e:  # the same failure, now located
                return CorpusToolsError(
                    f"{display(path)}, row {first + i}: column {name}: cannot read the value: {e}"
                )
    return CorpusToolsError(f"{display(path)}, row {first}: cannot read the rows: {error}")


# -- record inputs ----------------------------------------------------------------------------


class Location(NamedTuple):
    """Where a record is: a file and a 1-based line of JSONL, or a parquet file and a row."""

    file: str
    """The file as shown in messages."""
    line: int | None
    """1-based line of a JSONL file (None for a parquet file)."""
    row: int | None = None
    """0-based row of a parquet file, as `datasets`, pandas and DuckDB number rows."""

    def __str__(self) -> str:
        if self.row is not None:
            return f"{self.file}, row {self.row}"
        return self.file if self.line is None else f"{self.file}:{self.line}"


@dataclass
class Inputs:
    """The JSONL files a command reads for the paths it was given, and where their lines came
    from. Converted files live in a private temporary folder as long as this object does."""

    files: list[Path]
    """JSONL files: those named (or found in folders), and one per converted parquet file."""
    origins: dict[Path, Path] = field(default_factory=dict)
    """A converted file -> the parquet file whose rows its lines are (line N is row N - 1)."""
    aliases: list[Path] = field(default_factory=list)
    """The alias files the published datasets read ship (`aliases.jsonl`)."""
    scratch: Path | None = field(default=None, repr=False)
    """The folder of the converted files (`files.scratch_folder`)."""
    _cleanup: weakref.finalize[[Path], Inputs] | None = field(default=None, init=False, repr=False)

    def where(self, path: Path, line: int | None) -> Location:
        """Where line `line` of `path` (one of `files`) came from."""
        origin = self.origins.get(path)
        if origin is None:
            return Location(display(path), line)
        return Location(display(origin), None, None if line is None else line - 1)

    def shown(self, path: Path) -> str:
        """`path` as messages show it: the parquet file for a converted one."""
        return display(self.origins.get(path, path))

    def close(self) -> None:
        """Remove the converted files now (they also go when this object does)."""
        if self._cleanup is not None:
            self._cleanup()
            self._cleanup = None
        self.scratch = None


@dataclass(frozen=True)
class _Source:
    """A parquet file to convert: a dataset's shard (decoded with the card's features, its rows
    checked against the manifest) or a file named on its own (`shard` None)."""

    path: Path
    shard: Shard | None = None
    documents: dict[str, str] | None = None


def record_inputs(
    paths: Iterable[Path | str],
    *,
    configs: Sequence[str] | None = None,
    split: str | None = None,
    pattern: str = "*.jsonl",
) -> Inputs:
    """The JSONL files to read for `paths`, converting published datasets and parquet files.

    Args:
        paths: JSONL files, folders searched for `pattern`, published dataset folders, and
            parquet files.
        configs: the configs a dataset folder gives (the record configs when None); a config
            a folder lacks is an error.
        split: read only this split of a dataset folder (every split when None).
        pattern: what a plain folder is searched for.

    Raises:
        CorpusToolsError: when a path does not exist, a dataset folder differs from its card or
            lacks a config or split asked for, or a parquet file is unreadable, does not hold
            records, or holds a value a record cannot.
    """
    wanted = tuple(configs) if configs is not None else RECORD_CONFIGS
    files: list[Path] = []
    parquet: list[_Source] = []
    order: list[tuple[bool, int]] = []  # (is parquet, index), to keep the order of the paths
    seen: set[Path] = set()
    aliases: list[Path] = []

    def add(path: Path, source: _Source | None) -> None:
        key = path.resolve()
        if key in seen:
            return
        seen.add(key)
        order.append((source is not None, len(parquet) if source is not None else len(files)))
        if source is not None:
            parquet.append(source)
        else:
            files.append(path)

    for p in map(Path, paths):
        recover(p)
        if p.is_dir() and is_dataset(p):
            dataset = open_dataset(p)
            present = [c for c in wanted if c in dataset.configs]
            if not present:
                raise CorpusToolsError(
                    f"{display(p)}: the dataset has no {' or '.join(repr(c) for c in wanted)} config "
                    f"(it has {', '.join(dataset.configs)}); name its parquet files to read another"
                )
            shards = dataset.shards(present, split)
            if split is not None and not shards:
                raise CorpusToolsError(
                    f"{display(p)}: no split {split!r} in config {present[0]!r} (it has "
                    f"{', '.join(dataset.configs[present[0]])})"
                )
            for shard in shards:
                add(shard.path, _Source(shard.path, shard, dataset.documents))
            if dataset.aliases is not None:
                aliases.append(dataset.aliases)
        elif p.is_dir():
            for f in input_files([p], pattern):
                add(f, None)
        else:
            f = require_file(p, "file or folder")
            add(f, _Source(f) if _is_parquet(f) else None)
    inputs = Inputs([], aliases=aliases)
    converted: list[Path] = []
    if parquet:
        folder = scratch_folder(_SCRATCH_NAME)
        inputs.scratch = folder
        inputs._cleanup = weakref.finalize(inputs, remove_scratch, folder)
        try:
            for i, source in enumerate(parquet):
                target = folder / f"{i:05d}-{source.path.stem[:80]}.jsonl"
                _convert(source, target)
                inputs.origins[target] = source.path
                converted.append(target)
        except BaseException:
            inputs.close()
            raise
    inputs.files = [converted[i] if is_parquet else files[i] for is_parquet, i in order]
    return inputs


def _is_parquet(path: Path) -> bool:
    if path.suffix == DATA_SUFFIX:
        return True
    try:
        with open(path, "rb") as f:
            return f.read(4) == _PARQUET_MAGIC
    except OSError:
        return False  # the reader that opens it reports why


def _convert(source: _Source, target: Path) -> None:
    """Write the rows of a parquet file of records as JSONL lines, one per row, in order."""
    import pyarrow.parquet as pq

    path = source.path
    try:
        columns = pq.read_schema(path).names
    except Exception as e:  # any failure to read the footer means it is no parquet file we can read
        raise CorpusToolsError(f"{display(path)}: not a readable parquet file: {e}") from None
    missing = [c for c in RECORD_COLUMNS if c not in columns]
    if missing:
        raise CorpusToolsError(
            f"{display(path)}: not a file of records (no {', '.join(missing)} column; it has "
            f"{', '.join(columns)}); the record configs are {' and '.join(RECORD_CONFIGS)}"
        )
    shard = source.shard
    with open(target, "wb", buffering=1 << 20) as out:
        for number, row in iter_rows(path, features=shard.features if shard is not None else None):
            for name in DOCUMENT_COLUMNS:
                row.pop(name, None)
            if shard is not None and source.documents is not None:
                _check_split(source.documents, shard, number, row.get("doc_id"))
            try:
                # Nulls stay nulls: the models read a null like an absent optional field.
                line = orjson.dumps(
                    row, default=_as_text, option=orjson.OPT_APPEND_NEWLINE | orjson.OPT_PASSTHROUGH_DATETIME
                )
            except orjson.JSONEncodeError:
                raise _unwritable(path, number, row) from None
            out.write(line)


def _as_text(value: Any) -> str:
    """What orjson cannot write itself: bytes are read as UTF-8 text (a binary column, from a
    writer that did not mark its text as UTF-8); anything else is refused (`_unwritable`)."""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8")
    raise TypeError(type(value).__name__)


def _check_split(documents: dict[str, str], shard: Shard, number: int, doc_id: Any) -> None:
    """A shard's row belongs to a document that the shipped manifest puts in the shard's split."""
    if isinstance(doc_id, bytes):
        doc_id = doc_id.decode("utf-8", "replace")
    if not isinstance(doc_id, str):
        return  # the validator reports a missing or mistyped doc_id
    placed = documents.get(doc_id)
    if placed != shard.split:
        said = f"puts it in {placed!r}" if placed is not None else "does not list it"
        raise CorpusToolsError(
            f"{display(shard.path)}, row {number}: doc_id {doc_id!r} is in split {shard.split!r} here, "
            f"and the dataset's {MANIFEST_FILE} {said}; a document's rows are in its one split in "
            "every config (a shard was moved or renamed)"
        )


def _unwritable(path: Path, number: int, row: dict[str, Any]) -> CorpusToolsError:
    """The error for a row holding a value a record cannot (found by walking the row)."""
    found = _first_unwritable(row, "")
    where, value = found if found is not None else ("?", None)
    if isinstance(value, bytes | bytearray | memoryview):
        data = bytes(value)
        try:
            data.decode("utf-8")
            what = "bytes"
        except UnicodeDecodeError as e:
            what = f"bytes that are not UTF-8 text (byte {e.start} is 0x{data[e.start]:02x})"
    elif isinstance(value, int):
        what = f"the integer {value}, beyond 64 bits"
    else:
        what = f"a {type(value).__name__} value ({value!r})"
    return CorpusToolsError(
        f"{display(path)}, row {number}: column {where}: {what}, which a record cannot hold; a record "
        "holds text, integers, numbers, booleans, lists and structs (write the column as one of those, "
        "text as UTF-8 strings)"
    )


def _first_unwritable(value: Any, where: str) -> tuple[str, Any] | None:
    if value is None or isinstance(value, str | bool | float):
        return None
    if isinstance(value, int):
        return None if -(2**63) <= value < 2**64 else (where, value)
    if isinstance(value, bytes | bytearray | memoryview):
        try:
            bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            return where, value
        return None
    if isinstance(value, list | tuple):
        for i, v in enumerate(value):
            if (found := _first_unwritable(v, f"{where}[{i}]")) is not None:
                return found
        return None
    if isinstance(value, dict):
        for k, v in value.items():
            if (found := _first_unwritable(v, f"{where}.{k}" if where else str(k))) is not None:
                return found
        return None
    return where, value
