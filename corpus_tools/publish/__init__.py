"""`corpus publish`: turn a split folder into a Hugging Face dataset repository, and push it.

The output folder is a ready Hub dataset repository:

    OUT/README.md                                   the dataset card (YAML header + body)
    OUT/LICENSE.md                                  the licence and rights notice of every document
    OUT/GUIDELINES.md                               the annotation guidelines (with --guidelines)
    OUT/aliases.jsonl                               the stance targets' aliases (with --aliases)
    OUT/splits.json                                 the split manifest, as `corpus split` wrote it
    OUT/data/default/{train,validation,test}-00000-of-00001.parquet      gold
    OUT/data/spans/{train,validation,test}-00000-of-00001.parquet        gold, one row per span
    OUT/data/annotators/{train,validation,test}-00000-of-00001.parquet   the passes (--annotators)
    OUT/data/conflicts/{train,validation,test}-00000-of-00001.parquet    the log (--conflicts)
    OUT/data/tokens/{train,validation,test}-00000-of-00001.parquet       gold as tokens (--tokens)

Every config is split by the manifest: a document's rows are in the same split in all of them.
Everything is written to a temporary folder beside `OUT`, loaded back with `datasets` offline and
checked (split sizes, features, the offsets of a sample of rows), and only then moved onto `OUT`.
A failed publish leaves `OUT` as it was.

- `results.py`: the card's settings (`CardMetadata`) and the result types;
- `configs.py`: the configs, and writing the record configs (`default`, `annotators`);
- `spans.py`: the `spans` config, gold flattened;
- `conflicts.py`: the `conflicts` config, the adjudication log;
- `parquet.py`: JSONL to parquet, streamed, written as `datasets` writes it;
- `features.py`: the `datasets` features and Arrow schema, derived from the models;
- `tokens.py`: the `tokens` config (gold as tokens with IOB2 tags) and its card section;
- `card.py`: the dataset card and the licence file;
- `verify.py`: loading the result back with `datasets` and checking it;
- `hub.py`: pushing to the Hugging Face Hub.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import shutil
import sys
from collections import Counter
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from corpus_tools.dataset.layout import ALIASES_NAME
from corpus_tools.errors import CorpusToolsError
from corpus_tools.files import (
    Outputs,
    display,
    input_files,
    is_blank,
    iter_lines,
    parse_json,
    recover,
    require_file,
    written_files,
)
from corpus_tools.guidelines import Guidelines, read_guidelines
from corpus_tools.layers import LAYERS
from corpus_tools.problems import Report
from corpus_tools.publish import configs as cfg
from corpus_tools.publish.hub import connect
from corpus_tools.publish.parquet import download_sizes, system_memory_pool
from corpus_tools.publish.results import (
    ANNOTATORS_CONFIG,
    CONFLICTS_CONFIG,
    DEFAULT_CONFIG,
    SPANS_CONFIG,
    TOKENS_CONFIG,
    CardMetadata,
    DocumentRights,
    Progress,
    PublishResult,
    SplitSummary,
)
from corpus_tools.publish.verify import verify
from corpus_tools.publish.vocabulary import check_repo_id
from corpus_tools.split import MANIFEST_NAME, SPLITS, Manifest, load_manifest
from corpus_tools.validate import Validated, require_valid

if TYPE_CHECKING:
    from corpus_tools.engines import Engine

__all__ = [
    "CardMetadata",
    "DocumentRights",
    "PublishResult",
    "SplitSummary",
    "check_headline_exclude",
    "publish",
]

GUIDELINES_NAME = "GUIDELINES.md"


def publish(
    split_dir: Path | str,
    *,
    output: Path | str,
    annotators: Iterable[Path | str] | Validated | None = None,
    conflicts: Path | str | None = None,
    guidelines: Path | str | None = None,
    push: str | None = None,
    force: bool = False,
    token: str | None = None,
    metadata: CardMetadata | None = None,
    validate: bool = True,
    jobs: int = 1,
    api: Any = None,
    progress: Progress | None = None,
    tokens: bool = False,
    results: Path | str | None = None,
    aliases: Path | str | None = None,
    engine: Engine | None = None,
) -> PublishResult:
    """Write a Hugging Face dataset repository from a split folder; optionally push it.

    Args:
        split_dir: a folder written by `corpus split`: `train.jsonl`, `validation.jsonl`,
            `test.jsonl` and `splits.json`.
        output: the folder to write; replaced only once the new one has been verified. An
            existing folder must be empty or a previous publish output.
        annotators: the annotator files the gold was merged from (or folders of them); every
            line becomes a row of the `annotators` config, in its document's split, each
            document's row in `default` gets its number of passes, and the card gets the
            agreement tables.
        conflicts: the conflicts file `corpus merge` wrote with the decisions applied (the
            adjudication log): every line becomes a row of the `conflicts` config, and each
            document's row in `default` says whether it is fully adjudicated.
        guidelines: the annotation guidelines (a Markdown file with a `Guidelines version: N`
            line): their section is shipped as `GUIDELINES.md` and the card states the version.
        push: a Hub dataset id (`user/name`) to upload the output to, in one commit.
        force: let `push` replace the contents of an existing Hub dataset.
        token: the Hub token; `HF_TOKEN` or the stored login when None. Never printed.
        metadata: the card's name, licence and citation; `CardMetadata()` when None.
        validate: validate the inputs first (pass False when they were just validated, as
            `build` does).
        jobs: processes to validate the inputs in (see `corpus_tools.validate`).
        api: a `huggingface_hub.HfApi`-like object (for tests); a real one when None.
        progress: called as `progress(step, done, total)` while writing.
        tokens: add the `tokens` config (gold as tokens with IOB2 tags per layer; needs the
            `tokens` extra, spaCy).
        results: a results file of `corpus baseline`, whose table goes on the card (marked
            stale when it was computed on other split files).
        aliases: the alias file of stance targets (`documents/aliases.jsonl`, guideline S7): the
            inputs are validated against it, and the lines of the dataset's documents are
            shipped as `aliases.jsonl`.
        engine: where to validate the inputs and write `default` and `spans`
            (`corpus_tools.engines`); this process when None. The rows are the same.

    Returns:
        A `PublishResult`.

    Raises:
        InvalidInputError: when an input file fails validation.
        CorpusToolsError: when the split folder is incomplete or disagrees with its manifest,
            a `headline_exclude` document is not in it, an annotator's document or a conflict's
            is in no split, gold's items name an annotator whose pass is not among the
            annotators' files (the card would understate the passes), a line of the conflicts
            file is not one merge writes, the guidelines state no version (or another than
            `metadata` says), the results file is not one `corpus baseline` writes, the alias
            file is not one, `tokens` is asked for without spaCy, `push` is not a Hub id, the
            output cannot be replaced, the written dataset does not load back as written, or
            pushing is impossible (no token, the dataset exists without `force`, the Hub cannot
            be reached).
    """
    split_dir, output = Path(split_dir), Path(output)
    metadata = metadata or CardMetadata()
    if push:
        check_repo_id(push, "--push")
        if metadata.repo_id is None:  # the card's examples load what was pushed
            metadata = dataclasses.replace(metadata, repo_id=push)
    manifest_path, manifest = _read_manifest(split_dir)
    check_headline_exclude(metadata.headline_exclude, manifest.documents, "--headline-exclude")
    split_files: dict[str, Path] = {s: split_dir / f"{s}.jsonl" for s in SPLITS}
    for path in split_files.values():
        if not path.is_file():
            raise CorpusToolsError(
                f"{path}: no such file; {split_dir} is not a complete split "
                "folder (make one with `corpus split`)"
            )
    annotator_files = (
        list(annotators.files)
        if isinstance(annotators, Validated)
        else input_files(annotators)
        if annotators
        else []
    )
    if annotators is not None and not annotator_files:
        raise CorpusToolsError("--annotators names no *.jsonl file")
    conflicts_file = require_file(conflicts, "conflicts file") if conflicts is not None else None
    aliases_file = None
    if aliases is not None:
        from corpus_tools.validate.rules import load_aliases

        aliases_file = require_file(aliases, "alias file")
        load_aliases(aliases_file)  # its shape, before any work
    rules = _guidelines(guidelines, metadata)
    if rules is not None:
        metadata = dataclasses.replace(metadata, guidelines_version=rules.version)
    _check_output(
        output,
        [
            *split_files.values(),
            manifest_path,
            *annotator_files,
            *([conflicts_file] if conflicts_file else []),
            *([rules.source] if rules else []),
            *([Path(results)] if results is not None else []),
            *([aliases_file] if aliases_file is not None else []),
        ],
    )
    baselines = None
    if results is not None:  # read first: a bad results file stops the publish before any work
        from corpus_tools.baseline import results_section

        baselines = results_section(results, split_dir, validate=validate)
    if tokens:
        from corpus_tools.tokens import require_tokenizer

        require_tokenizer()
    hub = connect(push, token=token, force=force, api=api) if push else None

    reports: list[Report] = []
    annotator_input: Validated | None = annotators if isinstance(annotators, Validated) else None
    if validate:
        reports.append(
            require_valid(split_files.values(), jobs=jobs, aliases=aliases_file, engine=engine).report
        )
        if annotator_files and annotator_input is None:
            annotator_input = require_valid(
                annotator_files, jobs=jobs, aliases=aliases_file, passes=True, engine=engine
            )
            reports.append(annotator_input.report)
    if annotator_files and annotator_input is None:
        annotator_input = Validated.trusted(annotator_files)
    if annotator_input is not None:  # a pass named like gold would be published as gold twice
        annotator_input = require_valid(annotator_input, passes=True)
    previous = written_files(output)  # what the last publish wrote there, for --push --force

    with system_memory_pool(), Outputs("corpus publish") as outputs:
        tmp = outputs.folder(output)
        collector = _Documents(manifest, manifest_path)
        doc_split = dict(manifest.documents)
        documents = cfg.Documents()
        configs: dict[str, dict[str, SplitSummary]] = {}
        left_out = 0
        adjudicators: dict[str, set[str]] | None = None
        pass_names: dict[str, list[str]] | None = None
        if conflicts_file is not None:
            from corpus_tools.publish.conflicts import write_conflicts

            log = write_conflicts(conflicts_file, doc_split, SPLITS, tmp, progress)
            configs[CONFLICTS_CONFIG] = log.summaries
            documents.open = log.open_documents
            left_out = log.left_out
            adjudicators = log.adjudicators
        if annotator_input is not None:
            configs[ANNOTATORS_CONFIG], pass_names = cfg.write_annotators(
                annotator_input, doc_split, SPLITS, tmp, progress
            )
            if not configs[ANNOTATORS_CONFIG]:
                raise CorpusToolsError("the --annotators files hold no records")
            documents.passes = {doc_id: len(names) for doc_id, names in pass_names.items()}
        write_gold = cfg.write_gold if engine is None else engine.write_gold
        written = write_gold(split_files, tmp, documents, progress, collector.add)
        if pass_names is not None:
            _check_passes(collector.proposers, pass_names, adjudicators)
        for split, summary in written.default.items():
            collector.check_count(split, summary.rows)
        for split in SPLITS:
            if split not in written.default:
                collector.check_count(split, 0)
        if not written.default:
            raise CorpusToolsError(f"{display(split_dir)}: every split is empty; nothing to publish")
        # `datasets` cannot load a split without rows, so an empty split is left out.
        empty = [s for s in SPLITS if s not in written.default]
        tokens_section = None
        if tokens:
            from corpus_tools.publish.tokens import card_section, write_tokens

            configs[TOKENS_CONFIG], tag_stats = write_tokens(
                {split: path for split, path in split_files.items() if split in written.default},
                tmp,
                progress,
            )
            tokens_section = card_section(tag_stats)
        configs = {
            DEFAULT_CONFIG: written.default,
            **({SPANS_CONFIG: written.spans} if written.spans else {}),
            **{c: configs[c] for c in (ANNOTATORS_CONFIG, CONFLICTS_CONFIG, TOKENS_CONFIG) if configs.get(c)},
        }
        configs = {name: configs[name] for name in cfg.CONFIGS if name in configs}
        # A config holds no rows in a split of `default` when none of its documents has any
        # (no span, no conflict, no pass): that split is left out of it, and said so.
        missing = {
            name: [s for s in written.default if s not in splits]
            for name, splits in configs.items()
            if name != DEFAULT_CONFIG and any(s not in splits for s in written.default)
        }
        agreement_table = None
        if annotator_input is not None:
            # Gold is every split's records (empty splits hold none).
            gold = Validated.trusted(split_files.values())
            agreement_table = _agreement_section(annotator_input, gold, metadata)
        shutil.copyfile(manifest_path, tmp / MANIFEST_NAME)
        if rules is not None:
            (tmp / GUIDELINES_NAME).write_text(rules.document(), encoding="utf-8")
        shipped_aliases: list[Any] = []
        if aliases_file is not None:
            shipped_aliases = _ship_aliases(aliases_file, doc_split, tmp / ALIASES_NAME)

        from corpus_tools.publish.card import render_card, render_rights

        docs = collector.documents()
        doc_ids = [d.doc_id for d in docs]
        restricted = _not_under(metadata, docs)
        card_license = "other" if restricted else metadata.license
        languages = sorted({d.language for d in docs}) or ["en"]
        years = sorted(int(d.published[:4]) for d in docs if d.published)
        result = PublishResult(
            output=output,
            configs=configs,
            empty_splits=empty,
            missing_splits=missing,
            documents=docs,
            passes=documents.count_passes(doc_ids),
            adjudicated=documents.count_adjudicated(doc_ids),
            years=(years[0], years[-1]) if years else None,
            genres=dict(Counter(d.genre or "not given" for d in docs).most_common()),
            conflicts_left_out=left_out,
            guidelines=GUIDELINES_NAME if rules is not None else None,
            guidelines_version=metadata.guidelines_version,
            example=written.example.row if written.example else None,
            example_at=(written.example.split, written.example.index) if written.example else None,
            example_complete=bool(written.example and written.example.complete),
            aliases=ALIASES_NAME if aliases_file is not None else None,
            aliases_documents=len(shipped_aliases),
            aliases_example=shipped_aliases[0] if shipped_aliases else None,
            license=card_license,
            not_under_license=restricted,
            languages=languages,
            validation=reports,
        )

        def write_card() -> None:
            card = render_card(
                result,
                metadata=metadata,
                manifest=manifest,
                agreement=agreement_table,
                download_sizes=download_sizes(tmp, configs),
                tokens=tokens_section,
                baselines=baselines,
            )
            (tmp / "README.md").write_text(card, encoding="utf-8")

        write_card()
        (tmp / "LICENSE.md").write_text(render_rights(result, metadata=metadata), encoding="utf-8")
        if progress:
            progress("verify", 0, 1)
        # The cache lives beside the output, so a run killed while loading leaves nothing in /tmp
        # that the next run cannot recognise and remove.
        recorded = verify(
            tmp,
            {c: {s: v.rows for s, v in splits.items()} for c, splits in configs.items()},
            cache=outputs.scratch(output),
        )
        if progress:
            progress("verify", 1, 1)
        # `datasets` computes num_bytes itself while loading and does not check it; if ours
        # differs (Arrow buffer padding), record its figure so the card matches what it reports.
        changed = False
        for config, splits in recorded.items():
            for name, num_bytes in splits.items():
                if configs[config][name].num_bytes != num_bytes:
                    configs[config][name].num_bytes = num_bytes
                    changed = True
        if changed:
            write_card()
        outputs.commit()
    if hub is not None:
        result.pushed = hub.upload(output, metadata, previous=previous)
    return result


def check_headline_exclude(doc_ids: Iterable[str], known: Collection[str], option: str) -> None:
    """Refuse a document to leave out of the headline agreement that the dataset does not hold:
    the card would claim to leave out a document that does not exist, while a typo of the one
    meant kept it in the headline figures.

    Raises:
        CorpusToolsError: naming `option`, the id and the closest known `doc_id`.
    """
    for doc_id in doc_ids:
        if doc_id not in known:
            close = difflib.get_close_matches(doc_id, list(known), n=1, cutoff=0.5)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise CorpusToolsError(f"{option}: {doc_id!r} is not a document of the dataset{hint}")


def _check_passes(
    proposers: dict[str, set[str]], passes: dict[str, list[str]], adjudicators: dict[str, set[str]] | None
) -> None:
    """Refuse annotators' files that leave out a pass gold was merged from: gold's items of a
    document name who proposed them, and each such annotator must have a line of that document
    among the files, or the card would count fewer passes than gold had (and call a voted
    document a single pass). An adjudicator who added an item is named too, though without a
    pass: the conflicts file tells who adjudicated."""
    for doc_id in sorted(proposers):
        have = set(passes.get(doc_id, ()))
        judged = (adjudicators or {}).get(doc_id, set())
        missing = sorted(proposers[doc_id] - have - judged)
        if missing:
            given = ", ".join(sorted(have)) or "none"
            unless = (
                ""
                if adjudicators is not None
                else " (an adjudicator who added items is named there too: give --conflicts to tell them apart)"
            )
            raise CorpusToolsError(
                f"--annotators: gold's items of {doc_id!r} name {', '.join(map(repr, missing))}, whose "
                f"pass of it is not in the annotators' files (passes given: {given}); give every "
                f"annotator file gold was merged from{unless}"
            )


def _ship_aliases(path: Path, doc_split: Collection[str], target: Path) -> list[Any]:
    """Copy the alias file's lines of the dataset's documents to `target`, as they are; return
    them, parsed."""
    kept = []
    with open(target, "wb") as out:
        for number, raw in iter_lines(path):
            if is_blank(raw):
                continue
            line = parse_json(raw, f"{display(path)}:{number}")
            if line["doc_id"] in doc_split:
                out.write(raw + b"\n")
                kept.append(line)
    return kept


def _guidelines(path: Path | str | None, metadata: CardMetadata) -> Guidelines | None:
    if path is None:
        return None
    rules = read_guidelines(require_file(path, "guidelines file"))
    if metadata.guidelines_version is not None and metadata.guidelines_version != rules.version:
        raise CorpusToolsError(
            f"{display(path)} states guidelines version {rules.version}, but version "
            f"{metadata.guidelines_version} was given for the card; give one of them"
        )
    return rules


def _read_manifest(split_dir: Path) -> tuple[Path, Manifest]:
    recover(split_dir)  # a split folder an interrupted split was swapping in is completed first
    if not split_dir.is_dir():
        raise CorpusToolsError(f"{display(split_dir)}: no such folder (make one with `corpus split`)")
    path = split_dir / MANIFEST_NAME
    if not path.exists():
        raise CorpusToolsError(
            f"{display(path)}: no such file; {display(split_dir)} is not a split "
            "folder (make one with `corpus split`)"
        )
    return path, load_manifest(path)


class _Documents:
    """Collects each document's rights while writing, and checks the files against the manifest."""

    def __init__(self, manifest: Manifest, path: Path) -> None:
        self.manifest = manifest
        self.path = path
        self.assigned: dict[str, str] = dict(manifest.documents)
        self.docs: dict[str, DocumentRights] = {}
        self.proposers: dict[str, set[str]] = {}
        """Per document, every name gold's items list among their `annotators`."""

    def add(self, table: pa.Table, split: str) -> None:
        """Note the rights and the items' annotators of the documents of a gold table,
        checking each is in `split`."""
        doc_ids = table.column("doc_id").combine_chunks()
        for name in LAYERS:
            items = table.column(name).combine_chunks()
            annotators = pc.list_flatten(items).field("annotators")
            names = pc.list_flatten(annotators)
            rows = pc.take(pc.list_parent_indices(items), pc.list_parent_indices(annotators))
            for doc_id, who in zip(pc.take(doc_ids, rows).to_pylist(), names.to_pylist(), strict=True):
                self.proposers.setdefault(doc_id, set()).add(who)
        for row in table.select(["doc_id", "meta"]).to_pylist():
            doc_id = row["doc_id"]
            if self.assigned.get(doc_id) != split:
                where = self.assigned.get(doc_id)
                said = f"puts it in {where}" if where else "does not list it"
                raise CorpusToolsError(
                    f"{self.path.parent / (split + '.jsonl')}: doc_id {doc_id!r} is in {split}, but "
                    f"{self.path} {said}; the split folder was changed by hand: run `corpus split` "
                    "again"
                )
            if doc_id not in self.docs:
                meta = row["meta"] or {}
                # Licences, rights notices and sources repeat across documents: keep one copy.
                self.docs[doc_id] = DocumentRights(
                    doc_id=doc_id,
                    split=split,
                    **{
                        k: sys.intern(v) if k in _SHARED else v
                        for k, v in meta.items()
                        if k in _RIGHTS_FIELDS and v is not None
                    },
                )

    def check_count(self, split: str, rows: int) -> None:
        entry = {str(k): v for k, v in self.manifest.counts.items()}.get(split)
        if entry is None:
            return
        expected = entry.records
        if expected != rows:
            raise CorpusToolsError(
                f"{self.path.parent / (split + '.jsonl')} has {rows} record(s) but {self.path} "
                f"counts {expected}; the split folder was changed by hand: run `corpus split` again"
            )

    def documents(self) -> list[DocumentRights]:
        return [self.docs[d] for d in sorted(self.docs)]


_RIGHTS_FIELDS = frozenset(f.name for f in dataclasses.fields(DocumentRights))
_SHARED = frozenset({"source", "license", "license_url", "rights", "language"})


_FREE = {"public-domain", "cc0-1.0", "pddl", "cc-pdm-1.0"}
"""Licences that put no condition on reuse: such texts can go under any dataset licence."""


def _not_under(metadata: CardMetadata, documents: list[DocumentRights]) -> list[str]:
    """The documents whose text is not under the dataset's licence: another licence that puts
    conditions on reuse, or none given."""
    own = metadata.license.lower()
    return [d.doc_id for d in documents if (lic := (d.license or "").lower()) != own and lic not in _FREE]


def _agreement_section(annotators: Validated | None, gold: Validated, metadata: CardMetadata) -> str:
    """The card's agreement figures: between the annotators (before adjudication) and of each
    annotator against gold (after), on the headline documents, then on the documents held out
    of the headline, each on its own."""
    if annotators is None:
        return ""
    from corpus_tools.agreement import agreement
    from corpus_tools.markdown import code, prose

    held = metadata.headline_exclude
    parts = []
    if held:
        names = ", ".join(code(d) for d in held)
        alone = "reported on its own below" if len(held) == 1 else "each reported on its own below"
        why = f" {prose(metadata.headline_exclude_reason)}" if metadata.headline_exclude_reason else ""
        parts.append(f"The headline figures leave out {names}, {alone}.{why}\n")
    parts += [
        "### Before adjudication: between annotators\n",
        agreement(annotators, exclude=held).to_markdown() + "\n",
        "### After adjudication: each annotator against gold\n",
        agreement(annotators, gold=gold, exclude=held).to_markdown() + "\n",
    ]
    for doc_id in held:
        parts += [
            f"### {code(doc_id)} alone\n",
            "Before adjudication:\n",
            agreement(annotators, only={doc_id}).to_markdown() + "\n",
            "After adjudication:\n",
            agreement(annotators, gold=gold, only={doc_id}).to_markdown() + "\n",
        ]
    return "\n".join(parts)


def _check_output(output: Path, inputs: list[Path]) -> None:
    """Refuse an output that would clobber the inputs, or that `datasets` could not load back
    (whether the folder may be replaced at all is `files.Outputs.folder`'s decision)."""
    if display(output) != str(output) or display(os.path.realpath(output)) != os.path.realpath(output):
        raise CorpusToolsError(
            f"--output {display(output)}: the path is not valid UTF-8 (or holds "
            "control characters), which `datasets` and the Hub cannot load; "
            "choose another folder name"
        )
    out = Path(os.path.realpath(output))
    for path in inputs:
        p = Path(os.path.realpath(path))
        if p == out or out in p.parents:
            raise CorpusToolsError(
                f"--output {display(output)} holds the input {display(path)}; choose another folder"
            )
