"""What `corpus publish` produces and reports: the card's settings and the result objects."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from corpus_tools.dataset import (
    ANNOTATORS_CONFIG,
    CONFLICTS_CONFIG,
    DEFAULT_CONFIG,
    SPANS_CONFIG,
    TOKENS_CONFIG,
)
from corpus_tools.problems import Report

__all__ = [
    "ANNOTATORS_CONFIG",
    "CONFLICTS_CONFIG",
    "DEFAULT_CONFIG",
    "SPANS_CONFIG",
    "TOKENS_CONFIG",
    "CardMetadata",
    "DocumentRights",
    "Progress",
    "PublishResult",
    "SplitSummary",
]

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
    """Where the dataset lives (its repository, or its Hub page): the card's link and the
    citation's URL (the Hub page of `repo_id` when None)."""
    version: str | None = None
    """The dataset's version, for the card and the citation (`corpus build` takes the project's)."""
    authors: str | None = None
    """Who made the dataset, as a BibTeX author list (`A and B`), for the citation."""
    citation: str | None = None
    """A BibTeX entry; one is made from the name, authors, version and URL when None."""
    repo_id: str | None = None
    """The Hub id the card's loading examples use; the output folder's name when None."""
    annotations_creators: tuple[str, ...] = ("expert-generated",)
    """Who made the annotations, as Hub card tags (`expert-generated`, `machine-generated`, ...)."""
    annotation_process: str | None = None
    """Who annotated and how; the card's "Annotations" section says it when given."""
    split_note: str | None = None
    """How the splits were chosen beyond the seeded rule (e.g. documents moved by hand so that the
    test split holds every label); the card's splits section says it."""
    guidelines_version: str | None = None
    """The version of the annotation guidelines gold follows; the card says it (a guidelines file
    given to `publish` states its own, which must agree)."""
    curation_rationale: str | None = None
    """Why the dataset was made, for the card's "Curation rationale" (Markdown)."""
    uses: str | None = None
    """What the dataset is meant for, beyond what the card says of every such corpus."""
    out_of_scope_uses: str | None = None
    """What it must not be used for, beyond what the card says of every such corpus."""
    personal_information: str | None = None
    """What the texts and annotations say about people, for "Personal and sensitive information"."""
    limitations: str | None = None
    """Bias, risks and limitations of this corpus (who annotated, which texts, how many), said
    plainly; the card adds the figures it computes (size, years, passes)."""
    headline_exclude: tuple[str, ...] = ()
    """Documents left out of the card's headline agreement figures and reported on their own
    (e.g. one the annotation guidelines' examples annotate, which inflates agreement on it)."""
    headline_exclude_reason: str | None = None
    """Why they are left out, for the card."""

    def __post_init__(self) -> None:
        """Check the values the Hub reads from the card against its vocabularies (a licence id,
        `annotations_creators` values, a repository id), so a card never claims what the Hub
        does not understand.

        Raises:
            CorpusToolsError: naming the setting, the value and the closest known value.
        """
        from corpus_tools.publish import vocabulary

        vocabulary.check_license(self.license)
        vocabulary.check_annotations_creators(self.annotations_creators)
        if self.repo_id is not None:
            vocabulary.check_repo_id(self.repo_id)


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
    counts: dict[str, dict[str, int]] = {}
    """Rows per value of a column, for the configs that are not records (`conflicts`: per
    `layer`, `kind`, `status` and `decision`; `spans`: per `layer` and `part`)."""


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
    published: str | None = None
    genre: str | None = None


class PublishResult(BaseModel):
    """The outcome of `publish`: what was written, what the card declares, where it was pushed."""

    output: Path
    configs: dict[str, dict[str, SplitSummary]]
    """Config name -> split name -> summary."""
    empty_splits: list[str] = []
    """Splits of the split folder without records, left out (`datasets` cannot load them)."""
    missing_splits: dict[str, list[str]] = {}
    """Config -> the splits of `default` it has no rows in, left out of it (`datasets` cannot
    load a split without rows): `spans` of a split whose gold has no items, `conflicts` of a
    split without a conflict, `annotators` of one without a pass."""
    documents: list[DocumentRights]
    """Every document of the default config, sorted by `doc_id`."""
    passes: dict[str, int] = {}
    """Documents by their number of passes (`"2": 40`), or `{"unknown": n}` without the
    annotators' files."""
    adjudicated: dict[str, int] = {}
    """Documents by `adjudicated` (`"true"`, `"false"`, or `"unknown"` without the conflicts)."""
    years: tuple[int, int] | None = None
    """The first and last year the texts were published (`meta.published`), when any says."""
    genres: dict[str, int] = {}
    """Documents per `meta.genre`."""
    conflicts_left_out: int = 0
    """Stale lines of the conflicts file about documents outside the dataset, left out."""
    guidelines: str | None = None
    """The guidelines file shipped with the data (`GUIDELINES.md`), when one was given."""
    guidelines_version: str | None = None
    """The version of the guidelines the card states."""
    example: dict[str, Any] | None = None
    """The card's example instance (labels as names): the first gold row, in split order, with
    an item in every layer, else the first gold row."""
    example_at: tuple[str, int] | None = None
    """The example's split and its row index there (from 0, as `datasets` counts)."""
    example_complete: bool = False
    """Whether the example has an item in every layer."""
    aliases: str | None = None
    """The alias file of stance targets shipped with the data (`aliases.jsonl`), when one was given."""
    aliases_documents: int = 0
    """Documents with a line in the shipped alias file."""
    aliases_example: dict[str, Any] | None = None
    """The first line of the shipped alias file, shown on the card."""
    license: str
    """The card's `license`: `CardMetadata.license`, or `other` when some text is not under it."""
    not_under_license: list[str] = []
    """The documents whose text is not under `CardMetadata.license` (another licence that puts
    conditions on reuse, or none): the card names them and their terms where it says how the
    dataset may be used."""
    languages: list[str]
    pushed: str | None = None
    """The URL of the Hub commit, when pushed."""
    validation: list[Report] = []
    """The validation reports of the inputs (warnings only; errors stop the publish)."""

    def rows(self, config: str = DEFAULT_CONFIG) -> dict[str, int]:
        """Rows per split of `config`."""
        return {s: summary.rows for s, summary in self.configs[config].items()}
