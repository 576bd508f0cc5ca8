"""`corpus split`: stable, grouped train/validation/test splits with a manifest.

The unit of a split is the document: every line of a `doc_id` (one per annotator) goes to the
same split. With `group_by`, the unit is a group of documents sharing a field value (the same
`meta.source`, say), so that a source never appears on both sides of an evaluation. Documents with
exactly the same text are placed together too, even under different `doc_id`s, because a model
that saw a text in training has seen it in the test set as well.

How groups are placed:

1. Groups (and documents) that an existing manifest already assigns stay where they are. New
   documents of a known group, and new groups whose text duplicates a placed document's, follow.
2. The remaining groups are sorted largest first (ties by a hash of the seed and the group key,
   never by input order) and each goes to the split furthest below its target number of
   documents. Placing big groups first and small ones last brings every split close to its ratio.

The files are read twice: once to index each document (its group, a hash of its text and where
its lines are), and once to copy the lines into the split files, in `doc_id` order. Only that
index is kept in memory, never the records.
"""

from __future__ import annotations

import hashlib
import math
import os
import types
import typing
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt, ValidationError

from corpus_tools.dataset import DEFAULT_CONFIG, MANIFEST_FILE, Location, is_dataset
from corpus_tools.errors import CorpusToolsError, InvalidInputError
from corpus_tools.files import (
    RECORD_NAME,
    DocIndex,
    Outputs,
    display,
    input_files,
    is_blank,
    parse_json,
    read_text,
    same_file,
)
from corpus_tools.layers import LAYERS, Record
from corpus_tools.problems import Report, ReportBuilder, make_problem
from corpus_tools.validate import Validated, require_valid

SplitName = Literal["train", "validation", "test"]

SPLITS: tuple[SplitName, SplitName, SplitName] = ("train", "validation", "test")
"""The split names, as `datasets` names them; also the file names (`train.jsonl`, ...)."""

MANIFEST_NAME = "splits.json"
"""The manifest's file name inside the output folder, unless `manifest` says otherwise."""

MANIFEST_VERSION = 1

_RATIO_TOLERANCE = 1e-6
_MAX_PROBLEMS = 100


class SplitCounts(BaseModel):
    """What one split holds."""

    documents: int = Field(default=0, ge=0)
    """Distinct `doc_id`s."""
    groups: int = Field(default=0, ge=0)
    """Distinct groups (equal to `documents` without `group_by`)."""
    records: int = Field(default=0, ge=0)
    """Lines written (more than `documents` when several annotators' records are split)."""
    items: dict[str, NonNegativeInt] = {}
    """Annotations per layer, over all lines of the split."""


class Leak(BaseModel):
    """One text that occurs under several `doc_id`s placed in different splits."""

    text_hash: str
    """BLAKE2b (128-bit) hex digest of the UTF-8 text, to find the documents again."""
    documents: dict[str, str]
    """Each `doc_id` with this text and its split."""

    def __str__(self) -> str:
        docs = ", ".join(f"{d} ({s})" for d, s in self.documents.items())
        return f"identical text in different splits: {docs}"


class SplitResult(BaseModel):
    """The outcome of `split`: where everything went, with the figures the manifest records."""

    output: Path
    files: dict[str, Path]
    """Each split's JSONL file."""
    manifest: Path
    seed: int
    ratios: dict[str, float]
    group_by: str | None
    documents: dict[str, str]
    """Each `doc_id` of the input and its split, sorted by `doc_id`."""
    groups: dict[str, str]
    """Each group and its split (without `group_by`, each document is its own group)."""
    counts: dict[str, SplitCounts]
    labels: dict[str, dict[str, dict[str, int]]]
    """Per split, per layer: how many items carry each label (every label listed, zeros too)."""
    leakage: list[Leak] = []
    """Identical texts under different `doc_id`s that ended up in different splits."""
    kept: int = 0
    """Documents whose split came from the existing manifest (or the dataset's)."""
    shipped: Path | None = None
    """The manifest of the published dataset being re-split, whose splits were kept."""
    placed: int = 0
    """Documents placed by this run (all of them when there was no manifest)."""
    removed: dict[str, str] = {}
    """Documents listed in the existing manifest but absent from the input, with their split."""
    removed_groups: dict[str, str] = {}
    """Groups listed in the existing manifest that no longer have any document."""
    validation: Report = Report()
    """The validation report of the inputs (warnings only, since errors stop the split)."""

    def share(self, split_name: str) -> float:
        """The fraction of all documents that went to `split_name`."""
        total = sum(c.documents for c in self.counts.values())
        return self.counts[split_name].documents / total if total else 0.0

    def manifest_data(self) -> dict[str, Any]:
        """The manifest, as written to `self.manifest` (see docs/split.md)."""
        return {
            "version": MANIFEST_VERSION,
            "seed": self.seed,
            "ratios": self.ratios,
            "group_by": self.group_by,
            "documents": self.documents,
            "groups": self.groups,
            "counts": {s: c.model_dump() for s, c in self.counts.items()},
            "labels": self.labels,
            "leakage": [leak.model_dump() for leak in self.leakage],
            "removed": {"documents": self.removed, "groups": self.removed_groups},
        }


def split(
    paths: Iterable[Path | str] | Validated,
    *,
    output: Path,
    ratios: Sequence[float] = (0.8, 0.1, 0.1),
    seed: int = 0,
    group_by: str | None = None,
    manifest: Path | None = None,
    new_split: bool = False,
) -> SplitResult:
    """Split validated (normally gold) files into train, validation and test.

    Writes `output/train.jsonl`, `output/validation.jsonl`, `output/test.jsonl` (the input lines,
    unchanged, in `doc_id` order) and the manifest, all or nothing.

    Args:
        paths: JSONL files, or folders searched for `*.jsonl`, published dataset folders (their
            `default` config, gold) or parquet files of records, or a `Validated` handle (then
            they are not validated again).
        output: the folder to write the splits to (created if needed).
        ratios: shares of documents for train, validation and test; non-negative, summing to 1.
        seed: decides the order in which groups of equal size are placed.
        group_by: a field path such as `meta.source`: documents with the same value always share
            a split. None makes every document its own group.
        manifest: the manifest to read (if it exists) and write; `output/splits.json` by default.
            When it exists, every document and group it lists keeps its split.
        new_split: for a published dataset among `paths`, make a new split instead of keeping
            the one it ships. Without it, the dataset's `splits.json` is read like an existing
            manifest: every document keeps its split, and the options must be those it was made
            with.

    Returns:
        A `SplitResult` with the assignments, counts, label counts and leakage.

    Raises:
        InvalidInputError: when the inputs fail validation, or a document has no value (or
            several values) for `group_by`; its report names file and line.
        CorpusToolsError: for bad ratios, an unknown `group_by` path, a missing input path, a
            manifest made with other options, or a document that would have to change split
            (also for a published dataset's manifest, unless `new_split`).
    """
    output = Path(output)
    manifest = Path(manifest) if manifest is not None else output / MANIFEST_NAME
    if any(same_file(manifest, output / f"{s}.jsonl") for s in SPLITS):
        raise CorpusToolsError(f"{display(manifest)}: the manifest cannot be one of the split files")
    _check_seed(seed)
    if manifest.name == RECORD_NAME:
        raise CorpusToolsError(
            f"--manifest {display(manifest)}: that name is the toolkit's record of "
            "the files it wrote; name the manifest otherwise"
        )
    ratio_map = check_ratios(ratios)
    group_path = check_group_path(group_by) if group_by is not None else None
    previous = _read_manifest(manifest, seed=seed, ratios=ratio_map, group_by=group_by)
    given = list(paths.files) if isinstance(paths, Validated) else [Path(p) for p in paths]
    _check_places(given, output, manifest)
    shipped = None if new_split else _shipped_manifest(given)
    if shipped is not None:
        hint = (
            "re-splitting a published dataset keeps every document in the split it ships in: run "
            "with those options, or give --new-split to make a new split (documents then move, "
            "and results on the two splits are not comparable)"
        )
        kept = _read_manifest(shipped, seed=seed, ratios=ratio_map, group_by=group_by, hint=hint)
        previous = _with_shipped(previous, manifest, kept, shipped) if kept is not None else previous

    valid = require_valid(paths if isinstance(paths, Validated) else given, configs=(DEFAULT_CONFIG,))
    files, report = list(valid.files), valid.report
    index = _index(files, group_path, group_by, valid.where)
    plan = _assign(index, previous, ratio_map, seed)

    result = SplitResult(
        output=output,
        files={s: output / f"{s}.jsonl" for s in SPLITS},
        manifest=manifest,
        seed=seed,
        ratios=ratio_map,
        group_by=group_by,
        documents={d: plan.doc_split[d] for d in sorted(index.docs)},
        groups=dict(sorted(plan.group_split.items())),
        counts={},
        labels={},
        leakage=_leakage(index, plan.doc_split),
        kept=plan.kept,
        placed=len(index.docs) - plan.kept,
        removed=plan.removed,
        removed_groups=plan.removed_groups,
        validation=report,
        shipped=shipped,
    )
    counts, labels = _write(index, files, result)
    result.counts, result.labels = counts, labels
    return result


# -- options and the previous manifest


def check_ratios(ratios: Iterable[Any]) -> dict[str, float]:
    try:
        values = [float(r) for r in ratios]
    except (TypeError, ValueError):
        raise CorpusToolsError(f"ratios must be three numbers, got {ratios!r}") from None
    if len(values) != 3:
        raise CorpusToolsError(f"ratios must be three numbers (train, validation, test), got {len(values)}")
    if any(not math.isfinite(v) or v < 0 for v in values):
        raise CorpusToolsError(f"ratios must be non-negative numbers, got {values}")
    if abs(sum(values) - 1) > _RATIO_TOLERANCE:
        raise CorpusToolsError(f"ratios must sum to 1, got {values} (sum {sum(values):g}); e.g. 0.8,0.1,0.1")
    return dict(zip(SPLITS, values, strict=True))


def group_paths() -> list[str]:
    """The field paths `group_by` accepts: the record's and `meta`'s text fields but `text`."""
    out: list[str] = []

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, info in model.model_fields.items():
            ann = info.annotation
            if isinstance(ann, type) and issubclass(ann, BaseModel):
                walk(ann, f"{prefix}{name}.")
            elif ann is str or _is_optional_str(ann):
                out.append(f"{prefix}{name}")

    walk(Record, "")
    return [p for p in out if p != "text"]


def _is_optional_str(ann: Any) -> bool:
    is_union = typing.get_origin(ann) in (typing.Union, types.UnionType)
    return is_union and set(typing.get_args(ann)) == {str, type(None)}


def check_group_path(group_by: str) -> tuple[str, ...]:
    allowed = group_paths()
    if group_by not in allowed:
        raise CorpusToolsError(
            f"cannot group by {group_by!r}: not a text field of a record; use one of {', '.join(allowed)}"
        )
    return tuple(group_by.split("."))


@dataclass
class _Previous:
    """The assignments an existing manifest fixes (current and removed ones alike)."""

    documents: dict[str, str] = field(default_factory=dict)
    groups: dict[str, str] = field(default_factory=dict)


class _Removed(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    documents: dict[str, SplitName] = {}
    groups: dict[str, SplitName] = {}


class Manifest(BaseModel):
    """`splits.json` as `corpus split` writes it, checked field by field when read back (by
    split, to extend it, and by publish, which puts its figures on the card)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    version: Literal[1]
    seed: int
    ratios: dict[SplitName, float]
    group_by: str | None = None
    documents: dict[str, SplitName] = {}
    groups: dict[str, SplitName] = {}
    counts: dict[SplitName, SplitCounts] = {}
    labels: dict[SplitName, dict[str, dict[str, int]]] = {}
    leakage: list[Leak] = []
    removed: _Removed = _Removed()


def load_manifest(path: Path) -> Manifest:
    """Read and check a split manifest.

    Raises:
        CorpusToolsError: naming the file and the first wrong field.
    """
    data = parse_json(read_text(path, "split manifest"), f"{display(path)}: the split manifest")
    if not isinstance(data, dict) or data.get("version") != MANIFEST_VERSION:
        raise CorpusToolsError(
            f"{display(path)}: not a split manifest of version {MANIFEST_VERSION} "
            "(write one with `corpus split`)"
        )
    try:
        manifest = Manifest.model_validate(data)
    except ValidationError as e:
        first = e.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "the manifest"
        raise CorpusToolsError(
            f"{display(path)}: {where}: {first['msg']} (the split manifest was "
            "changed by hand; write it again with `corpus split`)"
        ) from None
    # What `corpus split` itself checks of its options, so that a manifest edited by hand into
    # something split never writes is refused, not printed on a dataset card.
    where = f"{display(path)}: "
    if set(manifest.ratios) != set(SPLITS):
        raise CorpusToolsError(f"{where}ratios: must give train, validation and test")
    for key, check in (
        ("ratios", lambda: check_ratios(manifest.ratios[s] for s in SPLITS)),
        ("group_by", lambda: manifest.group_by is None or check_group_path(manifest.group_by)),
        ("seed", lambda: _check_seed(manifest.seed)),
    ):
        try:
            check()
        except CorpusToolsError as e:
            raise CorpusToolsError(f"{where}{key}: {e}") from None
    moved = sorted(set(manifest.documents) & set(manifest.removed.documents))
    if moved:
        raise CorpusToolsError(f"{where}removed: lists {moved[0]!r}, which `documents` places too")
    for leak in manifest.leakage:
        stray = [d for d, s in leak.documents.items() if manifest.documents.get(d) != s]
        if stray:
            raise CorpusToolsError(f"{where}leakage: {stray[0]!r} is not in the split `documents` gives it")
    return manifest


def _check_seed(seed: int) -> None:
    if not 0 <= seed < 2**63:
        raise CorpusToolsError(f"--seed must be between 0 and 2**63 - 1, not {seed}")


def _read_manifest(
    path: Path,
    *,
    seed: int,
    ratios: dict[str, float],
    group_by: str | None,
    hint: str = "run with the same options to extend it, or pass another --manifest to make a new split",
) -> _Previous | None:
    if not path.exists():
        return None
    data = load_manifest(path)
    # Other options would place new documents by other rules than the old ones; refuse rather
    # than silently mix two splitting schemes in one manifest.
    differences = []
    if data.seed != seed:
        differences.append(f"--seed {data.seed} (not {seed})")
    if any(abs(data.ratios[s] - ratios[s]) > 1e-9 for s in SPLITS):
        old = ",".join(f"{data.ratios[s]:g}" for s in SPLITS)
        differences.append(f"--ratios {old} (not {','.join(f'{ratios[s]:g}' for s in SPLITS)})")
    if data.group_by != group_by:
        differences.append(f"--group-by {data.group_by or 'none'} (not {group_by or 'none'})")
    if differences:
        raise CorpusToolsError(f"{display(path)} was made with {', '.join(differences)}; {hint}")
    return _Previous(
        documents={**data.removed.documents, **data.documents}, groups={**data.removed.groups, **data.groups}
    )


def _shipped_manifest(paths: list[Path]) -> Path | None:
    """The split manifest of the published dataset among `paths`, if there is one."""
    datasets = [p for p in paths if p.is_dir() and is_dataset(p)]
    if len(datasets) > 1:
        raise CorpusToolsError(
            f"{display(datasets[0])} and {display(datasets[1])} are both published datasets, each with "
            "its own split; re-split one at a time, or give --new-split to make a new split of both"
        )
    return datasets[0] / MANIFEST_FILE if datasets else None


def _with_shipped(previous: _Previous | None, manifest: Path, shipped: _Previous, path: Path) -> _Previous:
    """The assignments of an existing manifest and of a dataset's, which must agree."""
    if previous is None:
        return shipped
    for kind, ours, theirs in (
        ("document", previous.documents, shipped.documents),
        ("group", previous.groups, shipped.groups),
    ):
        for key in sorted(ours.keys() & theirs.keys()):
            if ours[key] != theirs[key]:
                raise CorpusToolsError(
                    f"{display(manifest)} puts {kind} {key!r} in {ours[key]}, and the dataset's "
                    f"{display(path)} in {theirs[key]}; write the split elsewhere, or give --new-split"
                )
    return _Previous({**previous.documents, **shipped.documents}, {**previous.groups, **shipped.groups})


def _check_places(paths: list[Path], output: Path, manifest: Path) -> None:
    """Refuse outputs that would overwrite the inputs or be read back as inputs next time."""
    out = Path(os.path.realpath(output))
    for p in paths:
        real = Path(os.path.realpath(p))
        if p.is_dir() and (real == out or real in out.parents):
            raise CorpusToolsError(
                f"--output {display(output)} lies inside the input folder "
                f"{display(p)}; the split files would be read back as input "
                "next time: write them outside it"
            )
        if p.is_dir() and real in Path(os.path.realpath(manifest)).parents and is_dataset(p):
            raise CorpusToolsError(
                f"--manifest {display(manifest)} lies inside the published dataset {display(p)}, an "
                "input, which a command never changes: write the manifest outside it"
            )
    for f in input_files(paths):
        real = Path(os.path.realpath(f))
        if real == out or out in real.parents or same_file(real, manifest):
            raise CorpusToolsError(
                f"{display(f)} is both an input and an output of the split; "
                "write the splits to a folder outside the inputs"
            )


# -- pass 1: the index


@dataclass
class _Doc:
    group: str
    text_hash: bytes
    file: int
    line: int
    lines: list[tuple[str, int, int, int]]
    """`(annotator, file index, byte offset, length)` of each of the document's lines."""


@dataclass
class _Index:
    docs: dict[str, _Doc]
    files: list[Path]
    group_by: str | None
    where: Callable[[Path, int | None], Location]
    """Where a line of one of `files` came from (a parquet file's row, for a converted file)."""


def _index(
    files: list[Path],
    group_path: tuple[str, ...] | None,
    group_by: str | None,
    where: Callable[[Path, int | None], Location],
) -> _Index:
    docs: dict[str, _Doc] = {}
    builder = ReportBuilder(max_per_code=_MAX_PROBLEMS)
    for file_index, path in enumerate(files):
        builder.files += 1
        for number, offset, length, obj in _scan(path):
            builder.records += 1
            doc_id, annotator = obj["doc_id"], obj["annotator"]
            group = doc_id
            if group_path is not None:
                value = _lookup(obj, group_path)
                if not isinstance(value, str) or not value.strip():
                    at = where(path, number)
                    builder.add(
                        make_problem(
                            "missing-group",
                            at.file,
                            at.line,
                            group_by,
                            f"doc_id {doc_id!r} has no {group_by} to group by; fill it in every "
                            f"record, or split by another field",
                            row=at.row,
                        )
                    )
                    continue
                group = value
            doc = docs.get(doc_id)
            if doc is None:
                text_hash = hashlib.blake2b(obj["text"].encode(), digest_size=16).digest()
                docs[doc_id] = _Doc(
                    group, text_hash, file_index, number, [(annotator, file_index, offset, length)]
                )
                continue
            if doc.group != group:
                at = where(path, number)
                builder.add(
                    make_problem(
                        "group-mismatch",
                        at.file,
                        at.line,
                        group_by,
                        f"doc_id {doc_id!r} has {group_by} {group!r} here but {doc.group!r} at "
                        f"{where(files[doc.file], doc.line)}; all records of a document must agree",
                        row=at.row,
                    )
                )
            doc.lines.append((annotator, file_index, offset, length))
    report = builder.build()
    if not report.valid:
        raise InvalidInputError(report)
    return _Index(docs, files, group_by, where)


def _scan(path: Path) -> Iterator[tuple[int, int, int, dict[str, Any]]]:
    """`(line number, byte offset, length, parsed object)` of each non-blank line of a validated
    file."""
    offset = 0
    with open(path, "rb") as f:
        for number, line in enumerate(f, start=1):
            start, offset = offset, offset + len(line)
            if not is_blank(line):
                yield number, start, len(line), orjson.loads(line)


def _lookup(obj: dict[str, Any], parts: tuple[str, ...]) -> Any:
    """The value at a dotted path of a parsed record, with the model's default where absent."""
    model: type[BaseModel] = Record
    value: Any = obj
    for part in parts:
        info = model.model_fields[part]
        if isinstance(value, dict) and part in value:
            value = value[part]
        else:
            value = info.get_default(call_default_factory=True)
            if isinstance(value, BaseModel):
                value = value.model_dump()
        if isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel):
            model = info.annotation
    return value


# -- placing groups


@dataclass
class _Plan:
    doc_split: dict[str, str]
    group_split: dict[str, str]
    kept: int
    removed: dict[str, str]
    removed_groups: dict[str, str]


def _assign(index: _Index, previous: _Previous | None, ratios: dict[str, float], seed: int) -> _Plan:
    previous = previous or _Previous()
    members: dict[str, list[str]] = {}
    for doc_id, doc in index.docs.items():
        members.setdefault(doc.group, []).append(doc_id)

    # What the manifest fixes, per group: its own entry and its documents' entries must agree,
    # or keeping every assignment would split the group.
    fixed: dict[str, str] = {}
    kept = 0
    for group, doc_ids in members.items():
        claims: list[tuple[str | None, str]] = []  # (doc_id or None for the group entry, split)
        if group in previous.groups:
            claims.append((None, previous.groups[group]))
        for doc_id in sorted(doc_ids):
            if doc_id in previous.documents:
                kept += 1
                claims.append((doc_id, previous.documents[doc_id]))
        if len({s for _d, s in claims}) > 1:
            raise CorpusToolsError(_conflict_message(index, group, claims))
        if claims:
            fixed[group] = claims[0][1]

    # Groups that share a text form one cluster, placed as a whole.
    parent = {g: g for g in members}

    def find(g: str) -> str:
        while parent[g] != g:
            parent[g] = parent[parent[g]]
            g = parent[g]
        return g

    by_text: dict[bytes, str] = {}
    for doc in index.docs.values():
        other = by_text.setdefault(doc.text_hash, doc.group)
        a, b = find(other), find(doc.group)
        if a != b:
            parent[max(a, b)] = min(a, b)  # order-independent: the smaller key is the root
    clusters: dict[str, list[str]] = {}
    for g in members:
        clusters.setdefault(find(g), []).append(g)

    total = len(index.docs)
    targets = {s: ratios[s] * total for s in SPLITS}
    filled: Counter[str] = Counter()
    group_split: dict[str, str] = dict(fixed)
    for g, s in fixed.items():
        filled[s] += len(members[g])

    fresh: list[tuple[int, bytes, str, list[str]]] = []
    for key, groups in clusters.items():
        size = sum(len(members[g]) for g in groups)
        held: Counter[str] = Counter({s: 0 for s in SPLITS})
        for g in groups:
            if g in fixed:
                held[fixed[g]] += len(members[g])
        if any(held.values()):
            # A new group that duplicates a placed text joins it (the split that holds most of
            # the cluster if a manifest has already spread it over several).
            home = max(SPLITS, key=lambda s: (held[s], -SPLITS.index(s)))
            for g in groups:
                if g not in fixed:
                    group_split[g] = home
                    filled[home] += len(members[g])
        else:
            digest = hashlib.blake2b(f"{seed}:{key}".encode(), digest_size=8).digest()
            fresh.append((-size, digest, key, groups))

    for neg_size, _digest, _key, groups in sorted(fresh):
        # The split furthest below its target; on a tie the larger ratio, then train first.
        home = max(SPLITS, key=lambda s: (targets[s] - filled[s], ratios[s], -SPLITS.index(s)))
        for g in groups:
            group_split[g] = home
        filled[home] += -neg_size

    doc_split = {d: group_split[doc.group] for d, doc in index.docs.items()}
    removed = {d: s for d, s in sorted(previous.documents.items()) if d not in index.docs}
    removed_groups = {g: s for g, s in sorted(previous.groups.items()) if g not in members}
    return _Plan(doc_split, group_split, kept, removed, removed_groups)


def _conflict_message(index: _Index, group: str, claims: list[tuple[str | None, str]]) -> str:
    # The group's own entry, if any, comes first, so the first disagreeing claim is a document.
    doc_id, here = next((d, s) for d, s in claims if s != claims[0][1])
    assert doc_id is not None
    doc = index.docs[doc_id]
    others = ", ".join(sorted({s for _d, s in claims if s != here}))
    return (
        f"{index.where(index.files[doc.file], doc.line)}: the manifest puts doc_id {doc_id!r} in {here}, "
        f"but its {index.group_by} {group!r} (or other documents of it) in {others}: the "
        f"document's {index.group_by} has changed since the split was made. Restore the old "
        "value, or remove the document from the manifest so that it is placed again"
    )


def _leakage(index: _Index, doc_split: dict[str, str]) -> list[Leak]:
    by_text: dict[bytes, list[str]] = {}
    for doc_id, doc in index.docs.items():
        by_text.setdefault(doc.text_hash, []).append(doc_id)
    leaks = []
    for text_hash, doc_ids in by_text.items():
        if len({doc_split[d] for d in doc_ids}) > 1:
            leaks.append(
                Leak(text_hash=text_hash.hex(), documents={d: doc_split[d] for d in sorted(doc_ids)})
            )
    return sorted(leaks, key=lambda leak: next(iter(leak.documents)))


# -- pass 2: writing


def _write(
    index: _Index, files: list[Path], result: SplitResult
) -> tuple[dict[str, SplitCounts], dict[str, dict[str, dict[str, int]]]]:
    """Write the split files and the manifest as one set of outputs (see `files.Outputs`)."""
    output, manifest = result.output, result.manifest
    with Outputs("corpus split") as outputs:
        folder = outputs.folder(output)
        inside = Path(os.path.realpath(manifest)).parent == Path(os.path.realpath(output))
        manifest_temp = folder / manifest.name if inside else outputs.file(manifest, option="--manifest")
        counts: dict[str, SplitCounts] = {}
        labels: dict[str, dict[str, dict[str, int]]] = {}
        by_split: dict[str, list[str]] = {s: [] for s in SPLITS}
        for doc_id, s in result.documents.items():
            by_split[s].append(doc_id)
        with DocIndex(files, locations={}) as readers:
            for s in SPLITS:
                counts[s], labels[s] = _write_split(folder / f"{s}.jsonl", by_split[s], index, readers)
        result.counts, result.labels = counts, labels
        data = orjson.dumps(result.manifest_data(), option=orjson.OPT_INDENT_2) + b"\n"
        manifest_temp.write_bytes(data)
        if not (inside and manifest.name == MANIFEST_NAME):
            # The split folder always describes itself (publish reads its splits.json), also
            # when the manifest that is kept and extended lives elsewhere.
            (folder / MANIFEST_NAME).write_bytes(data)
        outputs.commit()
    return counts, labels


def _write_split(
    path: Path, doc_ids: list[str], index: _Index, readers: DocIndex
) -> tuple[SplitCounts, dict[str, dict[str, int]]]:
    items: Counter[str] = Counter({layer: 0 for layer in LAYERS})
    labels = {name: dict.fromkeys(layer.names, 0) for name, layer in LAYERS.items()}
    records = 0
    seen_groups: set[str] = set()
    with open(path, "wb") as out:
        for doc_id in doc_ids:
            doc = index.docs[doc_id]
            seen_groups.add(doc.group)
            for _annotator, file_index, offset, length in sorted(doc.lines):
                line = readers.line(file_index, offset, length).rstrip(b"\r\n") + b"\n"
                out.write(line)
                records += 1
                obj = orjson.loads(line)
                for name, layer in LAYERS.items():
                    layer_items = obj.get(name) or []
                    items[name] += len(layer_items)
                    for item in layer_items:
                        labels[name][item[layer.label]] += 1
    counts = SplitCounts(documents=len(doc_ids), groups=len(seen_groups), records=records, items=dict(items))
    return counts, labels
