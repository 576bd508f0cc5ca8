"""`corpus build`: validate, merge, split and publish in one go, from settings in a TOML file.

The settings live in `pyproject.toml` under `[tool.corpus]`, or in a small TOML file of their own
(with the same keys at the top level, or under `[tool.corpus]`). Paths are relative to the file
that names them. See docs/publish.md for the keys.
"""

from __future__ import annotations

import difflib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from corpus_tools.errors import CorpusToolsError, InvalidInputError
from corpus_tools.problems import Report

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

if TYPE_CHECKING:
    from corpus_tools.merge import MergeResult
    from corpus_tools.publish import PublishResult
    from corpus_tools.split import SplitResult

Progress = Callable[[str, int, int], None]
"""`progress(step, done, total)`, called as each step starts, advances and ends."""

STEPS = ("validate", "merge", "split", "publish")


class BuildConfig(BaseModel):
    """The settings of `corpus build` (`[tool.corpus]`). Relative paths are resolved against
    the folder of the file they come from by `load_config`."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    annotations: list[Path] = Field(min_length=1)
    """Annotator files, or folders searched for `*.jsonl`."""
    decisions: Path | None = None
    """The adjudicator's decisions (a conflicts file with decisions); skipped while it does not exist."""
    gold: Path
    """The gold JSONL file `merge` writes."""
    conflicts: Path
    """The conflicts JSONL file `merge` writes."""
    split_dir: Path
    """The folder `split` writes (train/validation/test.jsonl and splits.json)."""
    output: Path
    """The dataset folder `publish` writes."""
    ratios: tuple[float, float, float] = (0.8, 0.1, 0.1)
    """Shares of documents for train, validation and test."""
    seed: int = 0
    """Seed of the split."""
    group_by: str | None = None
    """Field path whose documents always share a split (e.g. `meta.author`)."""
    match: str = "exact"
    """How `merge` matches items: `exact` offsets or `overlap`."""
    overlap: float = 0.5
    """The Jaccard threshold of `overlap` matching."""
    min_votes: int | None = None
    """Annotators needed to accept an item; a majority by default."""
    pretty_name: str | None = None
    """The dataset's name on its card."""
    license: str | None = None
    """The licence of the annotations (the dataset's own licence), as a Hub licence id."""
    homepage: str | None = None
    """The project's home page, for the card's citation."""
    citation: str | None = None
    """A BibTeX entry for the card; one is made up when absent."""
    repo_id: str | None = None
    """The Hub id the card's loading examples use (`user/name`)."""
    annotations_creators: list[str] | None = None
    """Who made the annotations, as Hub card tags (`expert-generated`, `machine-generated`, ...)."""
    annotation_process: str | None = None
    """Who annotated and how, in a few sentences, for the card's "Annotations" section."""


class BuildResult(BaseModel):
    """What each step of `build` did."""

    config: BuildConfig
    validation: Report
    merge: Any
    """The `MergeResult`."""
    split: Any
    """The `SplitResult`."""
    publish: Any
    """The `PublishResult`."""
    decisions_applied: bool
    """False when the configured decisions file does not exist yet."""


def load_config(path: Path | str | None = None) -> BuildConfig:
    """Read the build settings from `path`, or from `pyproject.toml` in the current folder.

    Raises:
        CorpusToolsError: when the file is missing or unreadable, has no settings, or a setting
            is unknown or of the wrong type.
    """
    explicit = path is not None
    path = Path(path) if path is not None else Path("pyproject.toml")
    if not path.is_file():
        hint = "" if explicit else " (run `corpus build` in the project folder, or give --config)"
        raise CorpusToolsError(f"{path}: no such file{hint}")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise CorpusToolsError(f"{path}: cannot read the settings: {e}") from None
    settings = data.get("tool", {}).get("corpus")
    if settings is None:
        if not explicit or "tool" in data:
            raise CorpusToolsError(f"{path}: no [tool.corpus] section; see docs/publish.md")
        settings = data
    return _parse(settings, path)


def _parse(settings: dict[str, Any], path: Path) -> BuildConfig:
    unknown = sorted(set(settings) - set(BuildConfig.model_fields))
    if unknown:
        close = difflib.get_close_matches(unknown[0], BuildConfig.model_fields, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else \
            f"; known keys: {', '.join(BuildConfig.model_fields)}"
        raise CorpusToolsError(f"{path}: unknown setting {unknown[0]!r}{hint}")
    try:
        config = BuildConfig.model_validate(settings)
    except ValidationError as e:
        first = e.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"])
        raise CorpusToolsError(f"{path}: setting {where!r}: {first['msg']}") from None
    base = path.parent
    updates: dict[str, Any] = {"annotations": [base / p for p in config.annotations]}
    for key in ("decisions", "gold", "conflicts", "split_dir", "output"):
        value = getattr(config, key)
        if value is not None:
            updates[key] = base / value
    return config.model_copy(update=updates)


def _check_settings(config: BuildConfig) -> None:
    """Check every setting before any step writes anything."""
    from corpus_tools.split import check_group_path, check_ratios

    try:
        check_ratios(config.ratios)
        if config.group_by is not None:
            check_group_path(config.group_by)
    except CorpusToolsError as e:
        raise CorpusToolsError(f"[tool.corpus]: {e}") from None
    inputs = [Path(p).resolve() for p in config.annotations]
    outputs = {"gold": config.gold, "conflicts": config.conflicts, "split_dir": config.split_dir,
               "output": config.output}
    for key, value in outputs.items():
        target = Path(value).resolve()
        for source in inputs:
            if target == source or source in target.parents:
                # Outputs among the annotations would be read back as another annotator.
                raise CorpusToolsError(f"[tool.corpus] {key} = {str(value)!r} lies inside the "
                                       f"annotations {str(source)!r}; write it elsewhere")


def build(config: BuildConfig, *, progress: Progress | None = None) -> BuildResult:
    """Validate the annotations, merge them into gold, split it, and publish the dataset.

    Each step writes its outputs atomically; a step that fails stops the build, leaving the
    outputs of the earlier steps in place and those of the failing step as they were.

    Args:
        config: the settings (see `load_config`).
        progress: called as `progress(step, done, total)`; steps are `validate`, `merge`,
            `split`, then `publish`'s own steps (`write default/train`, ..., `verify`).

    Returns:
        A `BuildResult` with each step's result.

    Raises:
        InvalidInputError: when the annotations do not validate (carries the report).
        CorpusToolsError: when a step cannot run.
    """
    from corpus_tools.merge import merge
    from corpus_tools.publish import CardMetadata, publish
    from corpus_tools.split import split
    from corpus_tools.validate import validate

    def step(name: str, done: int) -> None:
        if progress is not None:
            progress(name, done, 1)

    _check_settings(config)

    step("validate", 0)
    report = validate(config.annotations)
    if not report.valid:
        raise InvalidInputError(report)
    step("validate", 1)

    step("merge", 0)
    decisions = config.decisions if config.decisions is not None and config.decisions.exists() else None
    merged: MergeResult = merge(
        config.annotations, output=config.gold, conflicts=config.conflicts, decisions=decisions,
        match=config.match, overlap=config.overlap, min_votes=config.min_votes)
    step("merge", 1)

    step("split", 0)
    splitted: SplitResult = split([config.gold], output=config.split_dir, ratios=config.ratios,
                                  seed=config.seed, group_by=config.group_by)
    step("split", 1)

    defaults = CardMetadata()
    metadata = CardMetadata(
        pretty_name=config.pretty_name or defaults.pretty_name,
        license=config.license or defaults.license,
        homepage=config.homepage, citation=config.citation, repo_id=config.repo_id,
        annotations_creators=tuple(config.annotations_creators or defaults.annotations_creators),
        annotation_process=config.annotation_process)
    # The inputs were validated above and gold and splits are written by the toolkit itself.
    published: PublishResult = publish(config.split_dir, output=config.output,
                                       annotators=config.annotations, metadata=metadata,
                                       validate=False, progress=progress)
    return BuildResult(config=config, validation=report, merge=merged, split=splitted,
                       publish=published, decisions_applied=decisions is not None)
