"""`corpus build`: validate, merge, split and publish in one go, from settings in a TOML file.

The settings live in `pyproject.toml` under `[tool.corpus]`, or in a small TOML file of their own
(with the same keys at the top level, or under `[tool.corpus]`). Paths are relative to the file
that names them. See docs/publish.md for the keys.
"""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from corpus_tools.errors import CorpusToolsError
from corpus_tools.files import Kind, check_target, display, parse_toml, read_text
from corpus_tools.problems import Report

if TYPE_CHECKING:
    from corpus_tools.merge import MergeResult
    from corpus_tools.publish import CardMetadata, PublishResult
    from corpus_tools.split import SplitResult

Progress = Callable[[str, int, int], None]
"""`progress(step, done, total)`, called as each step starts, advances and ends."""

STEPS = ("validate", "merge", "split", "publish", "view")


_SEED_MAX = 2**63 - 1


_PATH_SETTINGS = (
    "decisions",
    "gold",
    "conflicts",
    "split_dir",
    "manifest",
    "output",
    "site",
    "aliases",
    "guidelines",
    "baselines",
)
"""The settings that name one path, relative to the settings file (`annotations` names several)."""


class BuildConfig(BaseModel):
    """The settings of `corpus build` (`[tool.corpus]`). Relative paths are resolved against
    the folder of the file they come from by `load_config`. Types are strict: `seed = true` is
    not the number 1, and `ratios = "0.8"` is not a list."""

    model_config = ConfigDict(extra="forbid", strict=True, use_attribute_docstrings=True)

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
    manifest: Path | None = None
    """The split manifest to keep and extend (`split_dir/splits.json` when None): commit it, and
    every document it lists keeps its split however the corpus grows."""
    output: Path
    """The dataset folder `publish` writes."""
    site: Path | None = None
    """The folder of the static site `corpus view` writes after publishing (every record, the
    passes compared, the decisions); none: no site."""
    ratios: tuple[float, float, float] = (0.8, 0.1, 0.1)
    """Shares of documents for train, validation and test."""
    seed: int = Field(default=0, ge=0, le=_SEED_MAX)
    """Seed of the split."""
    group_by: str | None = None
    """Field path whose documents always share a split (e.g. `meta.author`)."""
    match: Literal["exact", "overlap"] = "exact"
    """How `merge` matches items: `exact` offsets or `overlap`."""
    overlap: float = Field(default=0.5, gt=0, le=1)
    """The Jaccard threshold of `overlap` matching."""
    min_votes: int | None = Field(default=None, ge=1)
    """Annotators needed to accept an item; a majority by default."""
    pretty_name: str | None = None
    """The dataset's name on its card."""
    license: str | None = None
    """The licence of the annotations (the dataset's own licence), as a Hub licence id."""
    homepage: str | None = None
    """The project's home page: the card's link and the citation's URL."""
    version: str | None = None
    """The dataset's version for the card and its citation; the `[project] version` of the
    same file when absent."""
    authors: str | None = None
    """Who made the dataset, as a BibTeX author list, for the citation."""
    citation: str | None = None
    """A BibTeX entry for the card; one is made from the name, authors, version and homepage
    when absent."""
    repo_id: str | None = None
    """The Hub id the card's loading examples use (`user/name`)."""
    annotations_creators: list[str] | None = None
    """Who made the annotations, as Hub card tags (`expert-generated`, `machine-generated`, ...)."""
    annotation_process: str | None = None
    """Who annotated and how, in a few sentences, for the card's "Annotations" section."""
    curation_rationale: str | None = None
    """Why the corpus was made, for the card's "Curation rationale"."""
    uses: str | None = None
    """What the dataset is for, beyond the uses the card lists for every such corpus."""
    out_of_scope_uses: str | None = None
    """What it must not be used for, beyond what the card says for every such corpus."""
    personal_information: str | None = None
    """What the texts and annotations say about people, for the card."""
    limitations: str | None = None
    """The corpus's bias, risks and limitations, said plainly, for the card (which adds the
    figures it computes: size, years, passes)."""
    guidelines: Path | None = None
    """The annotation guidelines (e.g. `CONTRIBUTING.md`): their `Guidelines version: N` line goes
    on the card, and their section is shipped with the data as `GUIDELINES.md`."""
    split_note: str | None = None
    """How the splits were chosen beyond the seeded rule, for the card (e.g. a committed manifest
    edited so that the test split holds every label)."""
    headline_exclude: list[str] = []
    """Documents left out of the card's headline agreement figures and reported on their own."""
    headline_exclude_reason: str | None = None
    """Why, in a sentence, for the card."""
    aliases: Path | None = None
    """The alias file of stance targets (`documents/aliases.jsonl`) the validator checks
    targets against (`target-not-in-text`)."""
    strict: bool = False
    """Stop the build on validation warnings too (the annotations must be clean)."""
    tokens: bool = False
    """Publish the `tokens` config too (gold as tokens with IOB2 tags; needs the `tokens` extra)."""
    baselines: Path | None = None
    """The results file of `corpus baseline`, whose table goes on the card; skipped while it does
    not exist."""

    @field_validator("annotations", *_PATH_SETTINGS, mode="before")
    @classmethod
    def _paths_are_strings(cls, value: Any) -> Any:
        # Strict mode takes only Path objects; TOML gives strings. Anything else stays wrong.
        for text in value if isinstance(value, list) else [value]:
            if isinstance(text, str) and ("\x00" in text or not text.strip()):
                raise ValueError("a path must not be empty or hold a NUL character")
        if isinstance(value, str):
            return Path(value)
        if isinstance(value, list):
            return [Path(v) if isinstance(v, str) else v for v in value]
        return value

    @field_validator("ratios", mode="before")
    @classmethod
    def _ratios_from_a_list(cls, value: Any) -> Any:
        return tuple(value) if isinstance(value, list) else value


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
    view: Any = None
    """The `ViewResult`, when a `site` is configured."""
    decisions_applied: bool
    """False when the configured decisions file does not exist yet."""
    baselines_applied: bool = False
    """Whether the card got the baseline results (False when the configured file does not exist)."""


SECTION = "[tool.corpus]"


def load_config(path: Path | str | None = None) -> BuildConfig:
    """Read the build settings from `path`, or from `pyproject.toml` in the current folder, and
    check every one of them (see `check_config`) before anything runs.

    Raises:
        CorpusToolsError: when the file is missing or unreadable, has no settings, or a setting
            is unknown, of the wrong type, out of range or in conflict with another; the message
            names the setting as `[tool.corpus] key`.
    """
    explicit = path is not None
    path = Path(path) if path is not None else Path("pyproject.toml")
    if not path.exists():
        hint = "" if explicit else " (run `corpus build` in the project folder, or give --config)"
        raise CorpusToolsError(f"{display(path)}: no such file{hint}")
    text = read_text(path, "settings file")
    data = parse_toml(text, f"{display(path)}: cannot read the settings")
    tool = data.get("tool")
    if tool is not None and not isinstance(tool, dict):
        raise CorpusToolsError(
            f"{display(path)}: `tool` must be a table ([tool.corpus]), not {_toml_type(tool)}"
        )
    settings = tool.get("corpus") if tool is not None else None
    if settings is None:
        if not explicit or tool is not None:
            raise CorpusToolsError(f"{display(path)}: no {SECTION} section; see docs/publish.md")
        settings = data
    if not isinstance(settings, dict):
        raise CorpusToolsError(
            f"{display(path)}: {SECTION} must be one table of settings, not "
            f"{_toml_type(settings)}; see docs/publish.md"
        )
    return check_config(_parse(settings, path, data.get("project")))


def project_aliases(folder: Path | str = ".") -> Path | None:
    """The alias file of stance targets that the project in `folder` names (`[tool.corpus]
    aliases` in its `pyproject.toml`), or None when it names none.

    `corpus validate` uses it when no `--aliases` is given, so that validating the corpus in its
    own folder applies the same S7 check as `corpus build`. Only this one setting is read: a
    validator must not fail because a publishing setting is wrong.

    Raises:
        CorpusToolsError: when the setting is not a string or names a file that does not exist.
    """
    path = Path(folder) / "pyproject.toml"
    if not path.is_file():
        return None
    data = parse_toml(read_text(path, "settings file"), f"{display(path)}: cannot read the settings")
    tool = data.get("tool")
    settings = tool.get("corpus") if isinstance(tool, dict) else None
    if not isinstance(settings, dict) or "aliases" not in settings:
        return None
    value = settings["aliases"]
    if not isinstance(value, str):
        raise CorpusToolsError(
            f"{display(path)}: {SECTION} aliases: must be a path (got {_toml_type(value)})"
        )
    aliases = path.parent / value
    if not aliases.is_file():
        raise CorpusToolsError(
            f"{display(path)}: {SECTION} aliases names {display(aliases)}, which does not exist; "
            "fix the setting, or give --aliases"
        )
    return aliases


def _toml_type(value: Any) -> str:
    if isinstance(value, list):
        return (
            "an array of tables ([[...]])"
            if value and all(isinstance(v, dict) for v in value)
            else "an array"
        )
    if isinstance(value, bool):
        return "a boolean"
    return {str: "a string", int: "an integer", float: "a number"}.get(type(value), type(value).__name__)


def _parse(settings: dict[str, Any], path: Path, project: Any = None) -> BuildConfig:
    """The settings checked and their paths resolved; `project` is the file's `[project]`
    table, whose version is the dataset's unless `version` is set."""
    unknown = sorted(set(settings) - set(BuildConfig.model_fields))
    if unknown:
        close = difflib.get_close_matches(unknown[0], BuildConfig.model_fields, n=1)
        hint = (
            f"; did you mean {close[0]!r}?"
            if close
            else f"; known keys: {', '.join(BuildConfig.model_fields)}"
        )
        raise CorpusToolsError(f"{display(path)}: {SECTION} unknown setting {unknown[0]!r}{hint}")
    try:
        config = BuildConfig.model_validate(settings)
    except ValidationError as e:
        first = e.errors(include_url=False)[0]
        key = str(first["loc"][0]) if first["loc"] else ""
        rest = "".join(f"[{p}]" for p in first["loc"][1:])
        value = settings.get(key)
        shown = json.dumps(value, ensure_ascii=False, default=str) if key in settings else ""
        got = f" (got {_toml_type(value)} {shown})" if key in settings else ""
        raise CorpusToolsError(f"{display(path)}: {SECTION} {key}{rest}: {first['msg']}{got}") from None
    base = path.parent
    updates: dict[str, Any] = {"annotations": [base / p for p in config.annotations]}
    if config.version is None and isinstance(project, dict) and isinstance(project.get("version"), str):
        updates["version"] = project["version"]
    for key in _PATH_SETTINGS:
        value = getattr(config, key)
        if value is not None:
            updates[key] = base / value
    return config.model_copy(update=updates)


def check_config(config: BuildConfig) -> BuildConfig:
    """Check what the types cannot: ratios, the grouping field, and that no two places collide
    (an output that is another output, an input, or inside one). Nothing is written before this
    passes, so a bad setting never leaves a half-built corpus.

    Raises:
        CorpusToolsError: naming the setting as `[tool.corpus] key`.
    """
    from corpus_tools.split import check_group_path, check_ratios

    if config.guidelines is not None:
        guidelines_version(config.guidelines)
    card_metadata(config)  # the card's settings, against the Hub's vocabularies
    for key, check in (
        ("ratios", lambda: check_ratios(config.ratios)),
        ("group_by", lambda: config.group_by is None or check_group_path(config.group_by)),
    ):
        try:
            check()
        except CorpusToolsError as e:
            raise CorpusToolsError(f"{SECTION} {key}: {e}") from None
    real = {
        key: Path(os.path.realpath(value))
        for key, value in (
            ("gold", config.gold),
            ("conflicts", config.conflicts),
            ("split_dir", config.split_dir),
            ("output", config.output),
            ("site", config.site),
            ("decisions", config.decisions),
        )
        if value is not None
    }
    outputs = [key for key in ("gold", "conflicts", "split_dir", "output", "site") if key in real]
    for i, a in enumerate(outputs):
        for b in [*outputs[i + 1 :], "decisions"]:
            if b not in real:
                continue
            if real[a] == real[b] or real[a] in real[b].parents or real[b] in real[a].parents:
                relation = "is" if real[a] == real[b] else "overlaps"
                raise CorpusToolsError(
                    f"{SECTION} {a} = {str(getattr(config, a))!r} {relation} {b} = "
                    f"{str(getattr(config, b))!r}; every output needs a place of its own"
                )
    if config.manifest is not None:
        # The manifest may live in split_dir (its default place) or anywhere of its own, but it
        # is never another output, the decisions, or inside the dataset folder.
        manifest = Path(os.path.realpath(config.manifest))
        for key in ("gold", "conflicts", "output", "site", "decisions"):
            if key in real and (manifest == real[key] or real[key] in manifest.parents):
                raise CorpusToolsError(
                    f"{SECTION} manifest = {str(config.manifest)!r} overlaps {key} = "
                    f"{str(getattr(config, key))!r}; give it a place of its own"
                )
        real["manifest"] = manifest
    for source in config.annotations:
        src = Path(os.path.realpath(source))
        for key in [*outputs, *(["manifest"] if "manifest" in real else [])]:
            target = real[key]
            if target == src or src in target.parents or target in src.parents:
                # Outputs among the annotations would be read back as another annotator.
                raise CorpusToolsError(
                    f"{SECTION} {key} = {str(getattr(config, key))!r} overlaps the "
                    f"annotations {str(source)!r}; write it elsewhere"
                )
    # Each step may replace what is at its outputs: a folder publish did not write stops the
    # build here, not after merge and split have rewritten theirs.
    steps: tuple[tuple[str, Kind, str], ...] = (
        ("gold", "file", "corpus merge"),
        ("conflicts", "file", "corpus merge"),
        ("split_dir", "folder", "corpus split"),
        ("output", "folder", "corpus publish"),
        ("site", "folder", "corpus view"),
    )
    for key, kind, command in steps:
        if getattr(config, key) is not None:
            check_target(getattr(config, key), kind, command, option=f"{SECTION} {key}")
    return config


def card_metadata(config: BuildConfig) -> CardMetadata:
    """What the settings say the dataset card should say about the dataset.

    Raises:
        CorpusToolsError: naming the setting (`[tool.corpus] license: ...`), when a value is not
            in the Hub's vocabulary (a licence id, `annotations_creators`, a repository id).
    """
    from corpus_tools.publish import CardMetadata

    defaults = CardMetadata()
    try:
        return CardMetadata(
            pretty_name=config.pretty_name or defaults.pretty_name,
            license=config.license if config.license is not None else defaults.license,
            homepage=config.homepage,
            version=config.version,
            authors=config.authors,
            citation=config.citation,
            repo_id=config.repo_id,
            annotations_creators=tuple(
                config.annotations_creators
                if config.annotations_creators is not None
                else defaults.annotations_creators
            ),
            annotation_process=config.annotation_process,
            split_note=config.split_note,
            curation_rationale=config.curation_rationale,
            uses=config.uses,
            out_of_scope_uses=config.out_of_scope_uses,
            personal_information=config.personal_information,
            limitations=config.limitations,
            headline_exclude=tuple(config.headline_exclude),
            headline_exclude_reason=config.headline_exclude_reason,
        )
    except CorpusToolsError as e:
        raise CorpusToolsError(f"{SECTION} {e}") from None


def guidelines_version(path: Path) -> str:
    """The version the guidelines file states on its `Guidelines version: N` line.

    Raises:
        CorpusToolsError: when the file cannot be read or states no version (or several).
    """
    from corpus_tools.guidelines import read_guidelines

    try:
        return read_guidelines(path).version
    except CorpusToolsError as e:
        raise CorpusToolsError(f"{SECTION} guidelines = {str(path)!r}: {e}") from None


def build(config: BuildConfig, *, progress: Progress | None = None) -> BuildResult:
    """Validate the annotations, merge them into gold, split it, publish the dataset, and write
    the site when one is configured (`site`).

    Each step writes its outputs atomically; a step that fails stops the build, leaving the
    outputs of the earlier steps in place and those of the failing step as they were.

    Args:
        config: the settings (see `load_config`).
        progress: called as `progress(step, done, total)`; steps are `validate`, `merge`,
            `split`, then `publish`'s own steps (`write default/train`, ..., `verify`), then
            `view`.

    Returns:
        A `BuildResult` with each step's result.

    Raises:
        InvalidInputError: when the annotations do not validate (carries the report).
        CorpusToolsError: when a step cannot run.
    """
    from corpus_tools.merge import merge
    from corpus_tools.publish import check_headline_exclude, publish
    from corpus_tools.split import split
    from corpus_tools.validate import Validated, require_valid

    def step(name: str, done: int) -> None:
        if progress is not None:
            progress(name, done, 1)

    check_config(config)

    # The annotations are validated once; every later step takes the handle (files, report and
    # document index) instead of validating or indexing them again. Gold and the split files are
    # written by the toolkit from validated input, valid by construction.
    step("validate", 0)
    annotations = require_valid(config.annotations, aliases=config.aliases, strict=config.strict, passes=True)
    step("validate", 1)
    with annotations.index() as index:  # before merge writes anything: a typo stops the build
        check_headline_exclude(config.headline_exclude, index.doc_ids(), f"{SECTION} headline_exclude")

    step("merge", 0)
    decisions = config.decisions if config.decisions is not None and config.decisions.exists() else None
    merged: MergeResult = merge(
        annotations,
        output=config.gold,
        conflicts=config.conflicts,
        decisions=decisions,
        match=config.match,
        overlap=config.overlap,
        min_votes=config.min_votes,
    )
    step("merge", 1)

    step("split", 0)
    splitted: SplitResult = split(
        Validated.trusted([config.gold]),
        output=config.split_dir,
        ratios=config.ratios,
        seed=config.seed,
        group_by=config.group_by,
        manifest=config.manifest,
    )
    step("split", 1)

    metadata = card_metadata(config)
    results = config.baselines if config.baselines is not None and config.baselines.exists() else None
    published: PublishResult = publish(
        config.split_dir,
        output=config.output,
        annotators=annotations,
        conflicts=config.conflicts,
        guidelines=config.guidelines,
        metadata=metadata,
        validate=False,
        progress=progress,
        tokens=config.tokens,
        results=results,
        aliases=config.aliases,
    )
    site = None
    if config.site is not None:
        from corpus_tools.view import view

        # The passes and their gold, with the conflicts file merge just wrote (every conflict,
        # open or decided, and the corrections), joined to the passes by conflict id as the
        # merge joins them, so with the merge's options.
        site = view(
            [annotations, Validated.trusted([config.gold])],
            output=config.site,
            decisions=config.conflicts,
            title=config.pretty_name or "Annotated corpus",
            match=config.match,
            overlap=config.overlap,
            min_votes=config.min_votes,
            progress=progress,
        )
    return BuildResult(
        config=config,
        validation=annotations.report,
        merge=merged,
        split=splitted,
        publish=published,
        view=site,
        decisions_applied=decisions is not None,
        baselines_applied=results is not None,
    )
