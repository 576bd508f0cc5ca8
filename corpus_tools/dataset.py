"""Reading a published dataset folder (what `corpus publish` writes) back as records.

One reader, `published_records`, so that a command accepting a published folder reads it as
every other does: the split's parquet files, as the card's `configs` name them, streamed one
batch of rows at a time with pyarrow, labels turned from `ClassLabel` indices back into names.
A row then is the JSON object of a record line (`Record.model_validate` accepts it). Only the
`default` config's rows are records; other configs (`tokens`) are not read here.
"""

from __future__ import annotations

import glob
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from corpus_tools.errors import CorpusToolsError
from corpus_tools.files import display, read_text
from corpus_tools.layers import LAYERS

CARD = "README.md"
BATCH_ROWS = 256
"""Rows converted at a time: memory holds one batch, not the split."""


def is_published(path: Path | str) -> bool:
    """Whether `path` is a published dataset folder: a folder with a card and a `data/` folder."""
    path = Path(path)
    return path.is_dir() and (path / CARD).is_file() and (path / "data").is_dir()


def published_splits(folder: Path | str, config: str = "default") -> dict[str, list[Path]]:
    """The parquet files of each split of `config`, from the card's `configs` (the files
    `datasets` loads), else `data/<config>/<split>-*.parquet`.

    Raises:
        CorpusToolsError: when the card cannot be read or the config has no files.
    """
    folder = Path(folder)
    patterns: dict[str, list[str]] = {}
    for entry in _card_configs(folder):
        if isinstance(entry, dict) and entry.get("config_name") == config:
            for data in entry.get("data_files") or []:
                if isinstance(data, dict) and isinstance(data.get("split"), str):
                    paths = data.get("path")
                    paths = [paths] if isinstance(paths, str) else paths
                    patterns[data["split"]] = [p for p in paths or [] if isinstance(p, str)]
    if not patterns:
        for path in sorted((folder / "data" / config).glob("*.parquet")):
            patterns.setdefault(path.name.split("-")[0], []).append(str(path.relative_to(folder)))
    splits = {
        split: sorted({Path(p) for pattern in globs for p in glob.glob(str(folder / pattern))})
        for split, globs in patterns.items()
    }
    splits = {split: files for split, files in splits.items() if files}
    if not splits:
        raise CorpusToolsError(
            f"{display(folder)}: the published dataset has no parquet files for config {config!r}"
        )
    return splits


def published_records(folder: Path | str, split: str, config: str = "default") -> Iterator[dict[str, Any]]:
    """Stream the records of one split of a published dataset folder, as JSON objects of record
    lines (labels as names).

    Raises:
        CorpusToolsError: when the split does not exist, or the data's label names are not the
            layers' (a dataset published with other labels).
    """
    import pyarrow.parquet as pq

    folder = Path(folder)
    splits = published_splits(folder, config)
    if split not in splits:
        raise CorpusToolsError(
            f"{display(folder)}: no split {split!r} in config {config!r} (it has {', '.join(splits)})"
        )
    for path in splits[split]:
        try:
            source = pq.ParquetFile(path)
        except (OSError, ValueError) as e:  # Arrow's errors derive from these
            raise CorpusToolsError(f"{display(path)}: cannot read the parquet file: {e}") from None
        _check_labels(path, source.schema_arrow.metadata or {})
        for group in range(source.num_row_groups):  # one row group in memory at a time
            try:
                table = source.read_row_group(group)
            except (OSError, ValueError) as e:
                raise CorpusToolsError(f"{display(path)}: cannot read row group {group}: {e}") from None
            for batch in table.to_batches(BATCH_ROWS):
                for row in batch.to_pylist():
                    yield _names(row)


def _names(row: dict[str, Any]) -> dict[str, Any]:
    """A row with each label's `ClassLabel` index turned back into its name."""
    for name, layer in LAYERS.items():
        for item in row.get(name) or ():
            value = item.get(layer.label)
            if isinstance(value, int):
                item[layer.label] = layer.names[value]
    return row


def _card_configs(folder: Path) -> list[Any]:
    """The `configs` list of the card's YAML header (empty without a card or header)."""
    path = folder / CARD
    if not path.is_file():
        return []
    text = read_text(path, "dataset card")
    if not text.startswith("---\n"):
        return []
    header, _sep, _rest = text[4:].partition("\n---")
    import yaml

    try:
        data = yaml.safe_load(header)
    except yaml.YAMLError as e:
        raise CorpusToolsError(f"{display(path)}: the card's YAML header does not parse: {e}") from None
    configs = data.get("configs") if isinstance(data, dict) else None
    return configs if isinstance(configs, list) else []


def _check_labels(path: Path, metadata: dict[bytes, bytes]) -> None:
    """Refuse a file whose `ClassLabel` names (in its `datasets` metadata) differ from the
    layers': its indices would be read as other labels."""
    raw = metadata.get(b"huggingface")
    if raw is None:
        return
    try:
        features = json.loads(raw)["info"]["features"]
    except (ValueError, KeyError, TypeError):
        return
    for name, layer in LAYERS.items():
        feature = features.get(name) if isinstance(features, dict) else None
        inner = feature.get("feature") if isinstance(feature, dict) else None
        label = inner.get(layer.label) if isinstance(inner, dict) else None
        names = label.get("names") if isinstance(label, dict) else None
        if names is not None and tuple(names) != layer.names:
            raise CorpusToolsError(
                f"{display(path)}: {name}.{layer.label} has the labels {names}, not "
                f"{list(layer.names)}; it was published with other labels"
            )
