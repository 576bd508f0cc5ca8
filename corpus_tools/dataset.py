"""Reading a published dataset: the folder `corpus publish` writes, or any of its parquet files.

A published dataset is a Hugging Face dataset repository: `README.md` (the dataset card, whose
YAML header names each config's data files per split) and parquet files under `data/`. Every
command that reads records accepts one wherever it accepts JSONL (validate, merge, agreement,
split, export, evaluate), and a parquet file named directly too:

- `open_dataset(path)` reads the card's `configs` (never guesses splits from file names);
- `iter_rows(file)` streams the rows of one parquet file as dicts, `ClassLabel` indices turned
  back into label names with the file's own features;
- `record_inputs(paths, configs=...)` turns the paths a command was given into JSONL files to
  read: JSONL files as they are, and each parquet file of the record configs (`default`, gold;
  `annotators`, the raw passes) converted, row by row, into a temporary JSONL file whose line N
  is row N - 1. The commands then read them exactly as they read JSONL, so they report the same
  figures, and `Inputs.where` names the parquet file and row of a line in every message.

Which configs a dataset folder gives depends on the command: `corpus validate` and `corpus
export` read both record configs, `corpus agreement` and `corpus merge` the `annotators`
config (the passes), `corpus split`, `agreement --gold` and `corpus evaluate` the `default`
config (gold). A parquet file named directly is read whatever its config.

Rows are numbered from 0, as `datasets`, pandas, pyarrow and DuckDB (`file_row_number`) number
them. Memory stays flat: parquet is read a batch of rows at a time and written out at once.
"""

from __future__ import annotations

import glob
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import orjson

from corpus_tools.errors import CorpusToolsError
from corpus_tools.files import display, input_files, recover, require_file

DEFAULT_CONFIG = "default"
"""Gold: one adjudicated record per document, with its document's `passes` and `adjudicated`."""
ANNOTATORS_CONFIG = "annotators"
"""The raw passes: every annotator's line, split exactly as gold is."""
CONFLICTS_CONFIG = "conflicts"
"""The adjudication log: every conflict with every annotator's version, its decision and reason,
and the correction lines."""
SPANS_CONFIG = "spans"
"""Gold flattened: one row per part of an item (a question, its answer, a source, ...)."""
TOKENS_CONFIG = "tokens"
"""Gold as tokens with one IOB2 tag sequence per layer (`corpus_tools.publish.tokens`), for token
classifiers; with `corpus publish --tokens`."""
RECORD_CONFIGS = (DEFAULT_CONFIG, ANNOTATORS_CONFIG)
"""The configs whose rows are records, which the commands read."""
DOCUMENT_COLUMNS = ("passes", "adjudicated")
"""Columns the `default` config adds to a gold record: how well its document is annotated. They
are not record fields, so they are left out when a row is read back as a record."""

CARD_NAME = "README.md"
DATA_SUFFIX = ".parquet"
_PARQUET_MAGIC = b"PAR1"
_BATCH_ROWS = 256
"""Rows converted at a time: a record runs to kilobytes, a batch to a few megabytes."""


# -- the dataset folder -----------------------------------------------------------------------


@dataclass(frozen=True)
class PublishedDataset:
    """A published dataset folder: its card's YAML header and each config's files per split."""

    root: Path
    configs: dict[str, dict[str, tuple[Path, ...]]]
    """Config -> split -> parquet files, in the card's order."""
    card: dict[str, Any]
    """The card's YAML header, as parsed."""

    def files(self, configs: Iterable[str] | None = None) -> list[Path]:
        """The data files of `configs` (every config when None), split by split."""
        names = list(self.configs) if configs is None else list(configs)
        return [f for name in names for files in self.configs[name].values() for f in files]

    def split_of(self, config: str) -> dict[Path, str]:
        """Each data file of `config` -> its split."""
        return {f: split for split, files in self.configs[config].items() for f in files}


def is_dataset(path: Path | str) -> bool:
    """Whether `path` is a published dataset folder: one whose `README.md` has a YAML header
    naming `configs` (as `corpus publish` writes it and the Hub reads it)."""
    card = Path(path) / CARD_NAME
    if not Path(path).is_dir() or not card.is_file():
        return False
    header = _front_matter(card)
    return isinstance(header, dict) and "configs" in header


def open_dataset(path: Path | str) -> PublishedDataset:
    """Read a published dataset folder's card: its configs and their data files per split.

    Raises:
        CorpusToolsError: when the folder has no card with `configs`, a config names no file,
            or a data file pattern leaves the folder.
    """
    root = Path(path)
    recover(root)
    card = root / CARD_NAME
    if not card.is_file():
        raise CorpusToolsError(f"{display(root)}: no {CARD_NAME}; not a published dataset folder")
    header = _front_matter(card)
    if not isinstance(header, dict) or not isinstance(header.get("configs"), list):
        raise CorpusToolsError(
            f"{display(card)}: the YAML header names no `configs`; not a dataset written by `corpus publish`"
        )
    configs: dict[str, dict[str, tuple[Path, ...]]] = {}
    for i, entry in enumerate(header["configs"]):
        where = f"{display(card)}: configs[{i}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("config_name"), str):
            raise CorpusToolsError(f"{where}: a config is a mapping with a `config_name`")
        splits: dict[str, list[Path]] = {}
        for split, pattern in _data_files(entry.get("data_files"), where):
            splits.setdefault(split, []).extend(_glob(root, pattern, where))
        if not any(splits.values()):
            raise CorpusToolsError(f"{where}: config {entry['config_name']!r} names no data file that exists")
        configs[entry["config_name"]] = {s: tuple(files) for s, files in splits.items()}
    return PublishedDataset(root, configs, header)


def _front_matter(card: Path) -> Any:
    """The YAML header of a Markdown card (between the first two `---` lines), or None."""
    import yaml  # only when a folder is a dataset candidate

    try:
        text = card.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise CorpusToolsError(f"{display(card)}: cannot read the dataset card: {e}") from None
    match = re.match(r"---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(\r?\n|$)", text, re.S)
    if match is None:
        return None
    try:
        return yaml.safe_load(match.group(1))
    except yaml.YAMLError as e:
        raise CorpusToolsError(f"{display(card)}: the YAML header is not valid YAML: {e}") from None


def _data_files(value: Any, where: str) -> Iterator[tuple[str, str]]:
    """`(split, pattern)` of a config's `data_files`: a pattern, a list of them (split `train`,
    as `datasets` reads it), or a list of `{split, path}` with a pattern or a list of them."""
    if isinstance(value, str):
        yield "train", value
        return
    if not isinstance(value, list) or not value:
        raise CorpusToolsError(f"{where}: `data_files` is a pattern or a list of {{split, path}}")
    for entry in value:
        if isinstance(entry, str):
            yield "train", entry
            continue
        if not isinstance(entry, dict) or not isinstance(entry.get("split"), str):
            raise CorpusToolsError(f"{where}: each of `data_files` has a `split` and a `path`")
        paths = entry.get("path")
        for pattern in paths if isinstance(paths, list) else [paths]:
            if not isinstance(pattern, str):
                raise CorpusToolsError(f"{where}: the `path` of split {entry['split']!r} is not a pattern")
            yield entry["split"], pattern


def _glob(root: Path, pattern: str, where: str) -> list[Path]:
    parts = Path(pattern).parts
    if Path(pattern).is_absolute() or ".." in parts or pattern.startswith(("/", "\\")):
        raise CorpusToolsError(f"{where}: the data file pattern {pattern!r} leaves the dataset folder")
    found = sorted(Path(p) for p in glob.glob(str(root / pattern), recursive=True))
    return [p for p in found if p.is_file() and not p.name.startswith(".")]


# -- rows -------------------------------------------------------------------------------------


def iter_rows(path: Path | str, *, batch_rows: int = _BATCH_ROWS) -> Iterator[tuple[int, dict[str, Any]]]:
    """Stream the rows of one parquet file as `(row number from 0, row as a dict)`, with every
    `ClassLabel` index turned back into its label name (the names come from the features that
    `datasets` stores in the file; a file without them is read as it is).

    Raises:
        CorpusToolsError: naming the file, when it is not a readable parquet file.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    try:
        reader = pq.ParquetFile(path)
    except (OSError, pa.ArrowException) as e:
        raise CorpusToolsError(f"{display(path)}: not a readable parquet file: {e}") from None
    with reader:
        decode = _label_decoder(reader.schema_arrow)
        number = 0
        try:
            for batch in reader.iter_batches(batch_size=batch_rows):
                for row in batch.to_pylist():
                    yield number, decode(row) if decode is not None else row
                    number += 1
        except (OSError, pa.ArrowException, UnicodeDecodeError) as e:
            raise CorpusToolsError(f"{display(path)}, row {number}: cannot read the row: {e}") from None


def _label_decoder(schema: Any) -> Callable[[dict[str, Any]], dict[str, Any]] | None:
    """A function turning a row's `ClassLabel` indices into names, from the `datasets` features
    in the file's metadata; None when no column holds a label."""
    raw = (schema.metadata or {}).get(b"huggingface")
    if raw is None:
        return None
    try:
        features = orjson.loads(raw)["info"]["features"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return None
    if not isinstance(features, dict):
        return None
    decoders = {name: d for name, feature in features.items() if (d := _decoder(feature)) is not None}
    if not decoders:
        return None

    def decode(row: dict[str, Any]) -> dict[str, Any]:
        for name, d in decoders.items():
            if name in row:
                row[name] = d(row[name])
        return row

    return decode


def _decoder(feature: Any) -> Callable[[Any], Any] | None:
    """How to decode one value of `feature` (a feature as `datasets` serialises it)."""
    if not isinstance(feature, dict):
        return None
    kind = feature.get("_type")
    if kind == "ClassLabel" and isinstance(feature.get("names"), list):
        names = feature["names"]

        def label(value: Any) -> Any:
            return names[value] if isinstance(value, int) and 0 <= value < len(names) else value

        return label
    if kind in ("List", "LargeList", "Sequence"):
        inner = _decoder(feature.get("feature"))
        if inner is None:
            return None
        return lambda value: [inner(v) for v in value] if isinstance(value, list) else value
    if kind is None:  # a struct: a mapping of fields
        fields = {k: d for k, v in feature.items() if (d := _decoder(v)) is not None}
        if not fields:
            return None

        def struct(value: Any) -> Any:
            if isinstance(value, dict):
                for k, d in fields.items():
                    if k in value:
                        value[k] = d(value[k])
            return value

        return struct
    return None


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
    from. Converted files live in a temporary folder as long as this object does."""

    files: list[Path]
    """JSONL files: those named (or found in folders), and one per converted parquet file."""
    origins: dict[Path, Path] = field(default_factory=dict)
    """A converted file -> the parquet file whose rows its lines are (line N is row N - 1)."""
    scratch: tempfile.TemporaryDirectory[str] | None = field(default=None, repr=False)

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
        if self.scratch is not None:
            self.scratch.cleanup()
            self.scratch = None


def record_inputs(
    paths: Iterable[Path | str], *, configs: Sequence[str] | None = None, pattern: str = "*.jsonl"
) -> Inputs:
    """The JSONL files to read for `paths`, converting published datasets and parquet files.

    Args:
        paths: JSONL files, folders searched for `pattern`, published dataset folders, and
            parquet files.
        configs: the configs a dataset folder gives (the record configs when None); a config
            a folder lacks is an error.
        pattern: what a plain folder is searched for.

    Raises:
        CorpusToolsError: when a path does not exist, a dataset folder lacks a config asked
            for, or a parquet file is unreadable or does not hold records.
    """
    wanted = tuple(configs) if configs is not None else RECORD_CONFIGS
    files: list[Path] = []
    parquet: list[Path] = []
    order: list[tuple[bool, int]] = []  # (is parquet, index), to keep the order of the paths
    seen: set[Path] = set()

    def add(path: Path, is_parquet: bool) -> None:
        key = path.resolve()
        if key in seen:
            return
        seen.add(key)
        target = parquet if is_parquet else files
        order.append((is_parquet, len(target)))
        target.append(path)

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
            for f in dataset.files(present):
                add(f, f.suffix != ".jsonl")
        elif p.is_dir():
            for f in input_files([p], pattern):
                add(f, False)
        else:
            f = require_file(p, "file or folder")
            add(f, _is_parquet(f))
    inputs = Inputs([])
    if parquet:
        inputs.scratch = tempfile.TemporaryDirectory(prefix="corpus-tools-")
        folder = Path(inputs.scratch.name)
        converted = []
        for i, source in enumerate(parquet):
            target = folder / f"{i:05d}-{source.stem[:80]}.jsonl"
            _convert(source, target)
            inputs.origins[target] = source
            converted.append(target)
        parquet = converted
    inputs.files = [(parquet if is_parquet else files)[i] for is_parquet, i in order]
    return inputs


def _is_parquet(path: Path) -> bool:
    if path.suffix == DATA_SUFFIX:
        return True
    try:
        with open(path, "rb") as f:
            return f.read(4) == _PARQUET_MAGIC
    except OSError:
        return False  # the reader that opens it reports why


def _convert(source: Path, target: Path) -> None:
    """Write the rows of a parquet file of records as JSONL lines, one per row, in order."""
    import pyarrow.parquet as pq

    try:
        columns = pq.read_schema(source).names
    except Exception as e:  # any failure to read the footer means it is no parquet file we can read
        raise CorpusToolsError(f"{display(source)}: not a readable parquet file: {e}") from None
    missing = [c for c in ("doc_id", "annotator", "text") if c not in columns]
    if missing:
        raise CorpusToolsError(
            f"{display(source)}: not a file of records (no {', '.join(missing)} column; it has "
            f"{', '.join(columns)}); the record configs are {' and '.join(RECORD_CONFIGS)}"
        )
    with open(target, "wb", buffering=1 << 20) as out:
        for _number, row in iter_rows(source):
            for name in DOCUMENT_COLUMNS:
                row.pop(name, None)
            # Nulls stay nulls: the models read a null like an absent optional field.
            out.write(orjson.dumps(row, option=orjson.OPT_APPEND_NEWLINE))


def layout_name(config: str, split: str, index: int, total: int) -> str:
    """Where `corpus publish` writes shard `index` of `total` of a split, relative to the dataset
    folder: `data/<config>/<split>-00000-of-00001.parquet` (the Hub's naming)."""
    return f"data/{config}/{split}-{index:05d}-of-{total:05d}{DATA_SUFFIX}"


def data_pattern(config: str, split: str) -> str:
    """The card's `data_files` pattern of a split: every shard `layout_name` gives it."""
    return f"data/{config}/{split}-*{DATA_SUFFIX}"
