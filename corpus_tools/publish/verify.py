"""Loading a written dataset back with `datasets`, offline, and checking it before it replaces
the output: every config's splits, row counts and features, the offsets of a sample of record
and `tokens` rows, and a sample of the `spans` rows against the gold text."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from corpus_tools.dataset import DEFAULT_CONFIG, SPANS_CONFIG, TOKENS_CONFIG
from corpus_tools.errors import CorpusToolsError
from corpus_tools.layers import LAYERS

SAMPLE_ROWS = 64
"""Rows per split whose offsets are checked after loading the result back."""


def verify(
    folder: Path, expected: dict[str, dict[str, int]], *, cache: Path, sample: int = SAMPLE_ROWS
) -> dict[str, dict[str, int]]:
    """Load `folder` with `datasets` (offline, in the throw-away `cache` folder) and check it.

    Checks, for every config: the splits and their sizes, that the features are those the
    config declares (`corpus_tools.publish.configs`), and that `text[start:end]` equals the span
    text for every span of `sample` rows per split spread over the split (for `spans`, the text
    of the `default` row of the span's document; for `tokens`, every token of the row).

    Returns:
        Config -> split -> `num_bytes` as `datasets` recorded it while loading.

    Raises:
        CorpusToolsError: naming the first difference found.
    """
    import datasets
    import pyarrow.dataset as pds

    from corpus_tools.publish.configs import CONFIGS

    recorded: dict[str, dict[str, int]] = {}
    gold: Any = None
    with _quiet_offline():
        for config, splits in expected.items():
            try:
                # Without pre-buffering, datasets reads a row group at a time (50 MB less at peak).
                loaded = datasets.load_dataset(
                    str(folder),
                    config,
                    cache_dir=str(cache),
                    fragment_scan_options=pds.ParquetFragmentScanOptions(pre_buffer=False),
                )
            except Exception as e:  # anything datasets raises means the output is unusable
                raise CorpusToolsError(
                    f"the written dataset does not load with datasets "
                    f"(config {config!r}): {type(e).__name__}: {e}"
                ) from None
            if set(loaded) != set(splits):
                raise CorpusToolsError(
                    f"config {config!r} loads with splits {sorted(loaded)}, expected {sorted(splits)}"
                )
            recorded[config] = {}
            spec = CONFIGS[config]
            for split, rows in splits.items():
                ds = loaded[split]
                if ds.num_rows != rows:
                    raise CorpusToolsError(f"{config}/{split} loads with {ds.num_rows} rows, expected {rows}")
                if ds.features != spec.features():
                    raise CorpusToolsError(
                        f"{config}/{split} loads with other features than the card declares: {ds.features}"
                    )
                if spec.records or config == TOKENS_CONFIG:
                    _check_offsets(ds, f"{config}/{split}", sample)
                elif config == SPANS_CONFIG and gold is not None:
                    _check_spans(ds, gold[split], f"{config}/{split}", sample)
                recorded[config][split] = ds.info.splits[split].num_bytes
            if config == DEFAULT_CONFIG:
                gold = loaded
            else:
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
            if text[span["start"] : span["end"]] != span["text"]:
                raise CorpusToolsError(
                    f"{where} row {index} (doc_id {row['doc_id']!r}): {path} is "
                    f"[{span['start']}, {span['end']}) = {text[span['start'] : span['end']]!r} in the "
                    f"loaded text but its text is {span['text']!r}"
                )


def _check_spans(ds: Any, gold: Any, where: str, sample: int) -> None:
    """A sample of flat spans against their document's gold text."""
    n = ds.num_rows
    if not n:
        return
    # The column as Arrow: iterating `gold["doc_id"]` would format the rows one by one.
    rows = {doc_id: i for i, doc_id in enumerate(gold.data.column("doc_id").to_pylist())}
    indices = sorted({round(i * (n - 1) / max(sample - 1, 1)) for i in range(min(sample, n))})
    for index, span in zip(indices, ds.select(indices), strict=True):
        doc = rows.get(span["doc_id"])
        text = gold[doc]["text"] if doc is not None else None
        if text is None or text[span["start"] : span["end"]] != span["text"]:
            raise CorpusToolsError(
                f"{where} row {index}: the span [{span['start']}, {span['end']}) of {span['doc_id']!r} "
                f"is not {span['text']!r} in that document's gold text"
            )


def _spans(row: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every span of a loaded row, with its path (`attributions[1].source`); a `tokens` row's
    tokens (`tokens[3]`)."""
    if "tokens" in row:
        for i, (token, start, end) in enumerate(
            zip(row["tokens"], row["token_starts"], row["token_ends"], strict=True)
        ):
            yield f"tokens[{i}]", {"start": start, "end": end, "text": token}
        return
    for name, layer in LAYERS.items():
        for i, item in enumerate(row[name]):
            for part in layer.parts:
                span = part.of(item)
                if span is not None:
                    yield (f"{name}[{i}]" if part.field is None else f"{name}[{i}].{part.field}"), span


@contextlib.contextmanager
def _quiet_offline() -> Iterator[None]:
    """Make `datasets` work offline and print nothing, and put everything back afterwards."""
    import datasets
    import datasets.utils as ds_utils
    import huggingface_hub.constants
    from datasets.utils import logging as ds_logging

    saved_env = {k: os.environ.get(k) for k in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")}
    saved = (
        datasets.config.HF_HUB_OFFLINE,
        huggingface_hub.constants.HF_HUB_OFFLINE,
        ds_logging.get_verbosity(),
        ds_utils.are_progress_bars_disabled(),
    )
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
