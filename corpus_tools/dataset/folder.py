"""A published dataset folder, checked against its card (see the package docstring)."""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from corpus_tools.dataset.features import Feature, FeatureError, difference, from_card, from_metadata, misfit
from corpus_tools.dataset.layout import (
    ALIASES_NAME,
    CARD_NAME,
    DATA_SUFFIX,
    DEFAULT_CONFIG,
    MANIFEST_FILE,
    RECORD_COLUMNS,
    RECORD_CONFIGS,
    SHARD,
)
from corpus_tools.errors import CorpusToolsError
from corpus_tools.files import display, recover


@dataclass(frozen=True)
class Shard:
    """One parquet file of a dataset: its config, split and the features the card gives it."""

    path: Path
    config: str
    split: str
    features: Feature


@dataclass(frozen=True)
class PublishedDataset:
    """A published dataset folder, checked against its card: each config's files per split, its
    features, the split manifest and the alias file."""

    root: Path
    configs: dict[str, dict[str, tuple[Path, ...]]]
    """Config -> split -> parquet files, in the card's order."""
    card: dict[str, Any]
    """The card's YAML header, as parsed."""
    features: dict[str, Feature] = field(default_factory=dict)
    """Config -> its features, from the card's `dataset_info`."""
    documents: dict[str, str] = field(default_factory=dict)
    """doc_id -> its split, from the shipped `splits.json`."""
    aliases: Path | None = None
    """The alias file of stance targets the dataset ships (`aliases.jsonl`), if any."""

    def files(self, configs: Iterable[str] | None = None) -> list[Path]:
        """The data files of `configs` (every config when None), split by split."""
        names = list(self.configs) if configs is None else list(configs)
        return [f for name in names for files in self.configs[name].values() for f in files]

    def split_of(self, config: str) -> dict[Path, str]:
        """Each data file of `config` -> its split."""
        return {f: split for split, files in self.configs[config].items() for f in files}

    def shards(self, configs: Iterable[str] | None = None, split: str | None = None) -> list[Shard]:
        """The shards of `configs` (every config when None), of one split or all."""
        names = list(self.configs) if configs is None else list(configs)
        return [
            Shard(f, name, s, self.features[name])
            for name in names
            for s, files in self.configs[name].items()
            if split is None or s == split
            for f in files
        ]


def is_dataset(path: Path | str) -> bool:
    """Whether `path` is a published dataset folder: its `README.md` has a YAML header whose
    `configs` name a config of records (`default` or `annotators`) whose `dataset_info` features
    have the record columns. Never raises: a README that is not UTF-8, not valid YAML or about
    something else leaves the folder a folder of JSONL files."""
    card = Path(path) / CARD_NAME
    try:
        if not Path(path).is_dir() or not card.is_file():
            return False
        header = _front_matter(card)
    except CorpusToolsError:
        return False
    if not isinstance(header, dict) or not isinstance(header.get("configs"), list):
        return False
    named = [c.get("config_name") for c in header["configs"] if isinstance(c, dict)]
    infos = header.get("dataset_info")
    for info in infos if isinstance(infos, list) else [infos]:
        if not isinstance(info, dict):
            continue
        name = info.get("config_name", DEFAULT_CONFIG)
        features = info.get("features")
        if name in RECORD_CONFIGS and name in named and isinstance(features, list):
            columns = [f.get("name") for f in features if isinstance(f, dict)]
            if all(c in columns for c in RECORD_COLUMNS):
                return True
    return False


def open_dataset(path: Path | str) -> PublishedDataset:
    """Read a published dataset folder's card and check the folder against it (see the package
    docstring): configs, splits, shard names and counts, rows per split, each shard's columns
    and metadata, the split manifest.

    Raises:
        CorpusToolsError: when the folder is not a published dataset, or differs from what its
            card declares; the message names the file, what the card says and what was found.
    """
    root = Path(path)
    recover(root)
    card = root / CARD_NAME
    if not card.is_file():
        raise CorpusToolsError(f"{display(root)}: no {CARD_NAME}; not a published dataset folder")
    real_root = Path(os.path.realpath(root))
    _inside(card, real_root, root)
    header = _front_matter(card)
    if not isinstance(header, dict) or not isinstance(header.get("configs"), list):
        raise CorpusToolsError(
            f"{display(card)}: the YAML header names no `configs`; not a dataset written by `corpus publish`"
        )
    infos = _dataset_infos(header, card)
    configs: dict[str, dict[str, tuple[Path, ...]]] = {}
    features: dict[str, Feature] = {}
    rows: dict[str, dict[str, int]] = {}
    pending: list[tuple[str, str, list[str], list[Path], int]] = []
    for i, entry in enumerate(header["configs"]):
        where = f"{display(card)}: configs[{i}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("config_name"), str):
            raise CorpusToolsError(f"{where}: a config is a mapping with a `config_name`")
        name = entry["config_name"]
        if name in configs:
            raise CorpusToolsError(f"{where}: config {name!r} is declared twice")
        info = infos.get(name)
        if info is None:
            raise CorpusToolsError(
                f"{display(card)}: config {name!r} has no `dataset_info` entry (its features and "
                "the rows of each split); the card was not written by `corpus publish`"
            )
        features[name], rows[name] = _config_info(info, f"{display(card)}: dataset_info of {name!r}")
        splits: dict[str, list[Path]] = {}
        patterns: dict[str, list[str]] = {}
        for split, pattern in _data_files(entry.get("data_files"), where):
            splits.setdefault(split, []).extend(_glob(root, real_root, pattern, where))
            patterns.setdefault(split, []).append(pattern)
        undeclared = [s for s in splits if s not in rows[name]]
        if undeclared:
            raise CorpusToolsError(
                f"{display(card)}: config {name!r} has data files for split {undeclared[0]!r}, "
                f"which its dataset_info does not declare (it declares {', '.join(rows[name]) or 'none'})"
            )
        for split, count in rows[name].items():
            if split not in splits:
                raise CorpusToolsError(
                    f"{display(card)}: config {name!r} declares split {split!r} ({count} row(s)) in "
                    "dataset_info but names no data files for it in `configs`"
                )
            pending.append((name, split, patterns[split], splits[split], count))
        configs[name] = {s: tuple(files) for s, files in splits.items()}
    for name, split, globs, files, count in pending:
        _check_shards(root, name, split, globs, files, count, features)
    documents = _manifest(root, real_root, rows)
    aliases = root / ALIASES_NAME
    if aliases.exists():
        _inside(aliases, real_root, root)
    return PublishedDataset(
        root, configs, header, features, documents, aliases if aliases.is_file() else None
    )


def _inside(path: Path, real_root: Path, root: Path) -> None:
    """Refuse a file of the dataset that resolves outside its folder (a symlink out of it)."""
    real = Path(os.path.realpath(path))
    if real != real_root and real_root not in real.parents:
        raise CorpusToolsError(
            f"{display(path)}: resolves to {display(real)}, outside the dataset folder "
            f"{display(root)}; a dataset's files must lie inside it"
        )


def _dataset_infos(header: dict[str, Any], card: Path) -> dict[str, dict[str, Any]]:
    """The card's `dataset_info` entries by config (one mapping, or a list of them)."""
    value = header.get("dataset_info")
    entries = value if isinstance(value, list) else [] if value is None else [value]
    out: dict[str, dict[str, Any]] = {}
    for entry in entries:
        if not isinstance(entry, dict):
            raise CorpusToolsError(f"{display(card)}: dataset_info: each entry is a mapping")
        name = entry.get("config_name", DEFAULT_CONFIG)
        if not isinstance(name, str):
            raise CorpusToolsError(f"{display(card)}: dataset_info: a `config_name` is a name")
        out[name] = entry
    return out


def _config_info(info: dict[str, Any], where: str) -> tuple[Feature, dict[str, int]]:
    """A config's features and the rows of each split, from its `dataset_info` entry."""
    try:
        features = from_card(info.get("features"))
    except FeatureError as e:
        raise CorpusToolsError(f"{where}: features: {e}") from None
    splits = info.get("splits")
    if not isinstance(splits, list):
        raise CorpusToolsError(f"{where}: `splits` lists each split with its `num_examples`")
    rows: dict[str, int] = {}
    for s in splits:
        name = s.get("name") if isinstance(s, dict) else None
        count = s.get("num_examples") if isinstance(s, dict) else None
        if not isinstance(name, str) or not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise CorpusToolsError(f"{where}: each of `splits` has a `name` and a `num_examples` (rows)")
        rows[name] = count
    return features, rows


def _front_matter(card: Path) -> Any:
    """The YAML header of a Markdown card (between the first two `---` lines), or None.

    Raises:
        CorpusToolsError: when the card cannot be read as UTF-8 or its header is not YAML.
    """
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


def _glob(root: Path, real_root: Path, pattern: str, where: str) -> list[Path]:
    parts = Path(pattern).parts
    if Path(pattern).is_absolute() or ".." in parts or pattern.startswith(("/", "\\")):
        raise CorpusToolsError(f"{where}: the data file pattern {pattern!r} leaves the dataset folder")
    found = sorted(Path(p) for p in glob.glob(str(root / pattern), recursive=True))
    files = [p for p in found if p.is_file() and not p.name.startswith(".")]
    for p in files:
        _inside(p, real_root, root)
    return files


def _check_shards(
    root: Path,
    config: str,
    split: str,
    patterns: list[str],
    files: list[Path],
    rows: int,
    features: dict[str, Feature],
) -> None:
    """A split's files are its shards `<split>-NNNNN-of-MMMMM.parquet`, all M of them, with the
    columns of the config's `features`, holding the rows the card declares."""
    said = f"the card declares config {config!r}, split {split!r} with {rows} row(s) in {', '.join(patterns)}"
    if not files:
        raise CorpusToolsError(f"{display(root)}: no data file found; {said}")
    totals: dict[int, list[int]] = {}
    for f in files:
        m = SHARD.fullmatch(f.name)
        if m is None or m["split"] != split:
            raise CorpusToolsError(
                f"{display(f)}: not a shard of split {split!r} (shards are named "
                f"{split}-NNNNN-of-MMMMM{DATA_SUFFIX}); {said}"
            )
        totals.setdefault(int(m["total"]), []).append(int(m["index"]))
    if len(totals) > 1:
        counts = " and ".join(f"-of-{t:05d}" for t in sorted(totals))
        raise CorpusToolsError(
            f"{display(files[0].parent)}: the shards of config {config!r}, split {split!r} disagree on "
            f"how many there are ({counts}); a shard was renamed or left from another version"
        )
    ((total, indexes),) = totals.items()
    if sorted(indexes) != list(range(total)):
        missing = sorted(set(range(total)) - set(indexes))
        what = f"shard {missing[0]:05d} is missing" if missing else "a shard index is out of range"
        raise CorpusToolsError(
            f"{display(files[0].parent)}: config {config!r}, split {split!r} has {len(indexes)} of its "
            f"{total} shard(s): {what}"
        )
    found = sum(_check_file(Shard(f, config, split, features[config]), features) for f in files)
    if found != rows:
        raise CorpusToolsError(
            f"{display(files[0].parent)}: config {config!r}, split {split!r} holds {found} row(s) in "
            f"{len(files)} shard(s); {said}"
        )


def _check_file(shard: Shard, features: dict[str, Feature]) -> int:
    """A shard's columns hold its config's features (a shard of another config is named as
    such), and its own `datasets` metadata, if any, is the card's; returns its rows (from the
    footer, as everything here)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        with pq.ParquetFile(shard.path) as file:
            schema, rows = file.schema_arrow, int(file.metadata.num_rows)
    except (OSError, pa.ArrowException) as e:
        raise CorpusToolsError(f"{display(shard.path)}: not a readable parquet file: {e}") from None
    columns = [(f.name, f.type) for f in schema]
    why = misfit(columns, shard.features, "")
    if why is not None:
        other = next(
            (c for c, f in features.items() if c != shard.config and misfit(columns, f, "") is None),
            None,
        )
        belongs = f"; its columns are those of config {other!r}" if other is not None else ""
        raise CorpusToolsError(
            f"{display(shard.path)}: not a shard of config {shard.config!r}, as the card declares "
            f"it: {why}{belongs}"
        )
    try:
        own = from_metadata(schema)
    except FeatureError as e:
        raise CorpusToolsError(f"{display(shard.path)}: {e}") from None
    if own is not None and own.canonical() != shard.features.canonical():
        raise CorpusToolsError(
            f"{display(shard.path)}: its own `datasets` features (the parquet metadata) disagree with "
            f"the card's for config {shard.config!r}: "
            f"{difference(own.canonical(), shard.features.canonical())}; "
            "`datasets` reads the card's, so the file was changed after publishing"
        )
    return rows


def _manifest(root: Path, real_root: Path, rows: dict[str, dict[str, int]]) -> dict[str, str]:
    """The shipped `splits.json`'s documents, checked to place in each split as many
    documents as gold has rows there."""
    from corpus_tools.split import load_manifest  # split reads datasets through this module

    path = root / MANIFEST_FILE
    if not path.is_file():
        raise CorpusToolsError(
            f"{display(root)}: no {MANIFEST_FILE}; a published dataset ships its split manifest, "
            "which says which split each document is in"
        )
    _inside(path, real_root, root)
    documents: dict[str, str] = dict(load_manifest(path).documents)
    gold = rows.get(DEFAULT_CONFIG)
    if gold is not None:
        placed: dict[str, int] = {}
        for split in documents.values():
            placed[split] = placed.get(split, 0) + 1
        for split in sorted(set(gold) | set(placed)):
            if placed.get(split, 0) != gold.get(split, 0):
                raise CorpusToolsError(
                    f"{display(path)}: places {placed.get(split, 0)} document(s) in {split!r}, and the "
                    f"card declares {gold.get(split, 0)} gold row(s) there (config {DEFAULT_CONFIG!r}); "
                    "the manifest and the data are of different versions"
                )
    return documents
