"""Where things are in a published dataset: its configs, its files and the names of its shards,
as `corpus publish` writes them and this package reads them."""

from __future__ import annotations

import re

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
RECORD_COLUMNS = ("doc_id", "annotator", "text")
"""Columns every record has: a config (or parquet file) without them holds no records."""
DOCUMENT_COLUMNS = ("passes", "adjudicated")
"""Columns the `default` config adds to a gold record: how well its document is annotated. They
are not record fields, so they are left out when a row is read back as a record."""

CARD_NAME = "README.md"
MANIFEST_FILE = "splits.json"
"""The split manifest a dataset ships (`corpus split`'s `splits.json`, copied by publish)."""
ALIASES_NAME = "aliases.jsonl"
"""The alias file of stance targets a dataset ships, when its corpus has one (guideline S7)."""
DATA_SUFFIX = ".parquet"
SHARD = re.compile(r"(?P<split>.+)-(?P<index>\d{5})-of-(?P<total>\d{5})" + re.escape(DATA_SUFFIX))
"""A shard's name, as `layout_name` writes it and the Hub names shards."""


def layout_name(config: str, split: str, index: int, total: int) -> str:
    """Where `corpus publish` writes shard `index` of `total` of a split, relative to the dataset
    folder: `data/<config>/<split>-00000-of-00001.parquet` (the Hub's naming)."""
    return f"data/{config}/{split}-{index:05d}-of-{total:05d}{DATA_SUFFIX}"


def data_pattern(config: str, split: str) -> str:
    """The card's `data_files` pattern of a split: every shard `layout_name` gives it."""
    return f"data/{config}/{split}-*{DATA_SUFFIX}"
