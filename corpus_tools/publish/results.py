"""What `corpus publish` produces and reports: the card's settings and the result objects."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel

from corpus_tools.problems import Report

DEFAULT_CONFIG = "default"
ANNOTATORS_CONFIG = "annotators"
ANNOTATORS_SPLIT = "train"
TOKENS_CONFIG = "tokens"
"""Gold as tokens with IOB2 tags per layer (`corpus_tools.publish.tokens`)."""

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
    guidelines_version: str | None = None
    """The version of the annotation guidelines gold follows; the card says it."""
    headline_exclude: tuple[str, ...] = ()
    """Documents left out of the card's headline agreement figures and reported on their own
    (e.g. one the annotation guidelines' examples annotate, which inflates agreement on it)."""
    headline_exclude_reason: str | None = None
    """Why they are left out, for the card."""


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
