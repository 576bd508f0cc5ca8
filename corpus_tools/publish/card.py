"""The dataset card (`README.md` of a published dataset) and its licence file.

The YAML header is built with `huggingface_hub.DatasetCardData` and `datasets`' own
`DatasetInfosDict`, so `dataset_info` (features, split sizes) is written exactly as `datasets`
reads it back; each config's entry also carries the description, citation, homepage and licence
that `load_dataset_builder(path, config).info` reports. The body follows the Hub's dataset card
template (details, uses, structure, creation, bias and limitations, citation): the layers, labels
and field descriptions come from the models (never retyped), the counts from the data as written,
the split options from the manifest, the facts about the texts (years, genres, sources) and the
licence and rights notice from every document's `meta`, and what only the project can say
(rationale, intended uses, limitations) from `CardMetadata`.
"""

from __future__ import annotations

import datetime
import json
import os
import re
from typing import TYPE_CHECKING, Any

from datasets import ClassLabel, DatasetInfo, List, SplitDict, SplitInfo, Value
from datasets.info import DatasetInfosDict
from huggingface_hub import DatasetCardData
from pydantic import BaseModel

from corpus_tools import __version__
from corpus_tools.dataset import (
    ANNOTATORS_CONFIG,
    CONFLICTS_CONFIG,
    DEFAULT_CONFIG,
    DOCUMENT_COLUMNS,
    SPANS_CONFIG,
    TOKENS_CONFIG,
    data_pattern,
)
from corpus_tools.layers import LAYERS, Record
from corpus_tools.markdown import cell, code, fenced, is_web_url, link, md, prose, quote
from corpus_tools.publish import conflicts, spans
from corpus_tools.publish import features as feats
from corpus_tools.publish.configs import CONFIGS
from corpus_tools.schema import Span, model_of, strip_optional

if TYPE_CHECKING:
    from corpus_tools.publish.results import CardMetadata, DocumentRights, PublishResult
    from corpus_tools.split import Manifest

TASK_CATEGORIES = ["text-classification", "token-classification"]
TASK_IDS = ["multi-class-classification", "sentiment-classification"]
"""The Hub's subtasks (huggingface.js `pipelines.ts`): each item's label is one of several
classes; stance polarity is target-dependent sentiment (as TweetEval's stance configurations are
tagged). None of the token-classification subtasks (NER, part of speech, parsing, lemmatization,
word sense, coreference) names discourse span tagging, so none is claimed."""
TAGS = ["rhetorical-questions", "attribution", "reported-speech", "stance", "argument-mining"]
EXAMPLE_TEXT = 300
"""Code points of the example instance's text shown on the card."""
SMALL = 1000
"""Documents below which the card calls the corpus small (the Hub's `n<1K`)."""


def render_card(
    result: PublishResult,
    *,
    metadata: CardMetadata,
    manifest: Manifest,
    agreement: str | None,
    download_sizes: dict[str, int],
    tokens: str | None = None,
    baselines: str | None = None,
) -> str:
    """The whole `README.md`: YAML header and Markdown body. `tokens` is the section on the
    `tokens` config (`publish.tokens.card_section`, in "Dataset structure"), `baselines` the
    baseline results (`baseline.results_section`, a section of its own after it)."""
    body = _body(
        result, metadata=metadata, manifest=manifest, agreement=agreement, tokens=tokens, baselines=baselines
    )
    return f"---\n{card_yaml(result, metadata=metadata, download_sizes=download_sizes)}---\n\n{body}"


def card_yaml(result: PublishResult, *, metadata: CardMetadata, download_sizes: dict[str, int]) -> str:
    """The card's YAML header (without the `---` lines)."""
    extra: dict[str, Any] = {}
    if result.license == "other":
        extra = {"license_name": metadata.license_name, "license_link": "LICENSE.md"}
    rows = sum(s.rows for s in result.configs[DEFAULT_CONFIG].values())
    data = DatasetCardData(
        pretty_name=metadata.pretty_name,
        language=result.languages,
        license=result.license,
        annotations_creators=list(metadata.annotations_creators),
        language_creators=["found"],
        multilinguality=["monolingual" if len(result.languages) == 1 else "multilingual"],
        size_categories=[size_category(rows)],
        source_datasets=source_datasets(result),
        task_categories=TASK_CATEGORIES,
        task_ids=TASK_IDS,
        tags=TAGS,
        **extra,
        configs=[
            {
                "config_name": config,
                "data_files": [{"split": split, "path": data_pattern(config, split)} for split in splits],
                **({"default": True} if config == DEFAULT_CONFIG else {}),
            }
            for config, splits in result.configs.items()
        ],
    )
    infos = DatasetInfosDict()
    for config, splits in result.configs.items():
        split_dict = SplitDict()
        for split, summary in splits.items():
            split_dict.add(SplitInfo(name=split, num_bytes=summary.num_bytes, num_examples=summary.rows))
        infos[config] = DatasetInfo(
            features=CONFIGS[config].features(),
            splits=split_dict,
            download_size=download_sizes[config],
            dataset_size=sum(s.num_bytes for s in splits.values()),
        )
    infos.to_dataset_card_data(data)
    # `datasets` writes only features and sizes into the card, but reads back every field of
    # `DatasetInfo` it finds there: these fill `load_dataset_builder(path).info`.
    entries = data["dataset_info"] if isinstance(data["dataset_info"], list) else [data["dataset_info"]]
    about = {
        "citation": _citation_entry(metadata, result),
        "homepage": url(metadata) or "",
        "license": result.license
        if result.license != "other"
        else f"other ({metadata.license_name}): see LICENSE.md",
    }
    for entry in entries:
        name = entry.get("config_name", DEFAULT_CONFIG)
        entry["description"] = f"{metadata.pretty_name}. {CONFIGS[name].description}"
        entry.update(about)
    if TOKENS_CONFIG in result.configs:
        from corpus_tools.publish.tokens import train_eval_index

        data.train_eval_index = train_eval_index(list(result.configs[TOKENS_CONFIG])) or None
    return data.to_yaml() + "\n"


def source_datasets(result: PublishResult) -> list[str]:
    """Where the texts came from: each distinct `meta.source` (`original` for texts without)."""
    sources = sorted({" ".join(d.source.split()) for d in result.documents if d.source})
    if any(not d.source for d in result.documents) or not sources:
        sources.append("original")
    return sources


def size_category(n: int) -> str:
    """The Hub's `size_categories` value for `n` examples."""
    bounds = [
        (10**3, "n<1K"),
        (10**4, "1K<n<10K"),
        (10**5, "10K<n<100K"),
        (10**6, "100K<n<1M"),
        (10**7, "1M<n<10M"),
        (10**8, "10M<n<100M"),
        (10**9, "100M<n<1B"),
        (10**10, "1B<n<10B"),
        (10**11, "10B<n<100B"),
        (10**12, "100B<n<1T"),
    ]
    return next((name for bound, name in bounds if n < bound), "n>1T")


def render_rights(result: PublishResult, *, metadata: CardMetadata) -> str:
    """`LICENSE.md`: the dataset's licence and every document's licence and rights notice."""
    return f"# Licences of {md(metadata.pretty_name)}\n\n{_rights(result, metadata, level=2)}"


# -- the body ---------------------------------------------------------------------------------


def _body(
    result: PublishResult,
    *,
    metadata: CardMetadata,
    manifest: Manifest,
    agreement: str | None,
    tokens: str | None = None,
    baselines: str | None = None,
) -> str:
    parts = [
        f"# {md(metadata.pretty_name)}\n",
        _summary(result, metadata),
        _details(result, metadata),
        _uses(result, metadata),
        "## Dataset structure\n",
        _configurations(result),
        _loading(result, metadata),
        _example(result),
        _fields(result),
        _layers(result),
        _counts(result),
        tokens.strip() + "\n" if tokens else "",
        _splits(manifest, result, metadata),
        baselines.strip() + "\n" if baselines else "",
        "## Dataset creation\n",
        _rationale(result, metadata),
        _source_data(result),
        _annotations(result, metadata, agreement),
        _personal(result, metadata),
        _limitations(result, metadata),
        _rights(result, metadata, level=2),
        _citation(metadata, result),
    ]
    return "\n".join(p for p in parts if p)


def _n(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _documents_in(result: PublishResult) -> dict[str, int]:
    return {s: v.rows for s, v in result.configs[DEFAULT_CONFIG].items()}


def _summary(result: PublishResult, metadata: CardMetadata) -> str:
    n_docs = len(result.documents)
    default = result.configs[DEFAULT_CONFIG]
    items = {name: sum(s.items[name] for s in default.values()) for name in LAYERS}
    lines = [
        f"{_n(n_docs, 'document')} annotated with {len(LAYERS)} discourse layers, "
        f"{_n(sum(items.values()), 'gold item')} in all:\n",
    ]
    lines += [
        f"- **{name}** ({items[name]:,}): {' '.join(layer.description.split())}"
        for name, layer in LAYERS.items()
    ]
    facts = []
    if result.years:
        facts.append(f"texts published {_years(result)}")
    if result.genres:
        facts.append("genres: " + _genres(result))
    facts.append("language: " + _languages(result))
    lines += [
        "",
        "Offsets are Unicode code points into the exact document text, half-open `[start, end)`: "
        "`text[start:end]` is the span's `text`, as in Python. "
        + _sentence("; ".join(facts))
        + f". Annotations: {_creators(metadata)} (see [Annotations](#annotations) and "
        "[Bias, risks and limitations](#bias-risks-and-limitations)). "
        f"Built with corpus-tools {__version__}.\n",
    ]
    return "\n".join(lines)


def _sentence(text: str) -> str:
    """`text` with its first character upper-cased and the rest as it is (`str.capitalize`
    would lower-case `Speech` and `en-US`)."""
    return text[:1].upper() + text[1:]


def _genres(result: PublishResult) -> str:
    return ", ".join(f"{md(g)} ({n})" for g, n in result.genres.items())


def _languages(result: PublishResult) -> str:
    return ", ".join(code(lang) for lang in result.languages)


def _creators(metadata: CardMetadata) -> str:
    return ", ".join(code(c) for c in metadata.annotations_creators)


def _years(result: PublishResult) -> str:
    if result.years is None:
        return ""
    first, last = result.years
    return str(first) if first == last else f"{first}–{last}"


def _details(result: PublishResult, metadata: CardMetadata) -> str:
    facts = [
        ("Curated by", md(metadata.authors)),
        ("Language(s)", _languages(result)),
        (
            "Licence",
            f"{code(result.license)} (the annotations: {code(metadata.license)}; see [Licence and rights](#licence-and-rights))",
        ),
        ("Version", md(metadata.version)),
        ("Homepage", link(url(metadata))),
    ]
    if result.guidelines_version:
        shipped = f" in [{result.guidelines}]({result.guidelines})" if result.guidelines else ""
        facts.append(("Annotation guidelines", f"version {md(result.guidelines_version)}{shipped}"))
    lines = ["## Dataset details\n"]
    lines += [f"- **{k}**: {v}" for k, v in facts if v]
    return "\n".join(lines) + "\n"


def _uses(result: PublishResult, metadata: CardMetadata) -> str:
    labels = ", ".join(f"`{layer.label}` of `{name}`" for name, layer in LAYERS.items())
    direct = [
        "- Training and evaluating models that find the spans of each layer and label them "
        f"({labels}), on the `default` configuration's train, validation and test splits.",
    ]
    if ANNOTATORS_CONFIG in result.configs:
        direct.append(
            "- Studying disagreement between annotators, and learning from it: the `annotators` "
            "configuration holds every pass before adjudication"
            + (
                ", the `conflicts` configuration every disagreement with its decision and reason."
                if CONFLICTS_CONFIG in result.configs
                else "."
            )
        )
    if TOKENS_CONFIG in result.configs:
        direct.append(
            "- Training token classifiers (one IOB2 tag sequence per layer) on the `tokens` "
            "configuration, and scoring them on the corpus's own terms, character spans, with "
            "`corpus evaluate` of corpus-tools (`corpus_tools.tokens.from_bio` turns tags back "
            "into spans)."
        )
    direct.append(
        "- Querying the annotations as a table (which targets are judged, who is quoted, which "
        "questions go unanswered) from pandas, R or DuckDB: the `spans` configuration."
    )
    out_of_scope = [
        "- Judging the people, groups or institutions the texts name: a stance item records that "
        "a text evaluates its target, not whether the evaluation is fair or true.",
        "- Generalising beyond these texts, which are "
        + (", ".join(md(g) for g in result.genres) or "of genres not given")
        + " in "
        + _languages(result)
        + (f", published {_years(result)}" if result.years else "")
        + "; see [Bias, risks and limitations](#bias-risks-and-limitations).",
    ]
    if "machine-generated" in metadata.annotations_creators:
        out_of_scope.insert(
            0,
            "- Measuring agreement with human experts, or as a gold standard of expert judgement: "
            "the annotations are machine-generated (see [Annotations](#annotations)).",
        )
    groups = _not_under_license(result)
    lines = ["## Uses\n", "### Direct use\n", *direct]
    if groups:
        lines += ["", *_restricted_use(groups, metadata)]
    if metadata.uses:
        lines += ["", prose(metadata.uses)]
    lines += ["", "### Out-of-scope use\n", *out_of_scope]
    if groups:
        named = [
            _doc_list(docs) + f" ({code(lic)})"
            if _own_terms(lic) or len(docs) == 1
            else f"{_n(len(docs), 'document')} under {code(lic)}"
            for lic, docs in groups.items()
        ]
        lines.append(
            "- Using a text that is not under the dataset's licence beyond its own terms: "
            + (", ".join(named[:-1]) + " and " + named[-1] if len(named) > 1 else named[0])
            + " (see [Direct use](#direct-use)). In particular, commercial use of a text whose "
            "terms do not allow it, training a commercial model on it included, without the "
            "permission of its rights holder."
        )
    if metadata.out_of_scope_uses:
        lines += ["", prose(metadata.out_of_scope_uses)]
    return "\n".join(lines) + "\n"


QUOTED_TERMS = 5
"""Documents with terms of their own (licence `other`, or none) whose rights notice "Direct use"
quotes; the rest are named, their notices under "Licence and rights"."""


def _not_under_license(result: PublishResult) -> dict[str, list[DocumentRights]]:
    """The documents whose text is not under the dataset's licence, by their licence (terms of
    their own first: `other`, none given)."""
    restricted = set(result.not_under_license)
    groups: dict[str, list[DocumentRights]] = {}
    for d in result.documents:
        if d.doc_id in restricted:
            groups.setdefault(d.license or "not given", []).append(d)
    return dict(sorted(groups.items(), key=lambda kv: (not _own_terms(kv[0]), kv[0])))


def _own_terms(license: str) -> bool:
    """Whether a text's licence is no public licence but terms of its own (its rights notice)."""
    return license.lower() in ("other", "unknown", "not given")


def _doc_list(documents: list[DocumentRights]) -> str:
    return ", ".join(code(d.doc_id) for d in documents)


def _restricted_use(groups: dict[str, list[DocumentRights]], metadata: CardMetadata) -> list[str]:
    """What "Direct use" says of the documents whose text is not under the dataset's licence:
    which they are, that their own terms govern their texts, and those terms: a rights notice
    that is the terms (licence `other`, or none) quoted, a public licence named with where each
    document's notice is."""
    n = sum(len(docs) for docs in groups.values())
    lines = [
        f"**Not every text is under the dataset's licence.** The annotations are under "
        f"{code(metadata.license)}; the {'text' if n == 1 else 'texts'} of {_n(n, 'document')} "
        f"{'is' if n == 1 else 'are'} not, and {'keeps its' if n == 1 else 'keep their'} own terms, "
        "which govern what you may do with them: use each only as its terms allow. What they do "
        "not grant needs the permission of the rights holder: unless a document's terms allow "
        "commercial use, that includes any commercial use of its text, such as training a "
        "commercial model on it or shipping it in a commercial product.",
        "",
    ]
    quoted = 0
    for lic, docs in groups.items():
        if not _own_terms(lic):
            lines.append(
                f"- Under {code(lic)} ({_n(len(docs), 'document')}): {_doc_list(docs)}; with the "
                "credit and the changes each document's notice in `meta.rights` states (see "
                "[Licence and rights](#licence-and-rights))."
            )
            continue
        for d in docs:
            if quoted == QUOTED_TERMS:
                rest = docs[docs.index(d) :]
                lines.append(
                    f"- Licence {code(lic)}, terms of their own: {_doc_list(rest)} (their notices are "
                    "under [Licence and rights](#licence-and-rights))."
                )
                break
            quoted += 1
            title = f", {md(d.title)}" if d.title else ""
            terms = quote(d.rights) if d.rights else "> No rights notice is given: ask the rights holder."
            lines += [f"- {code(d.doc_id)}{title} (licence {code(lic)}); its terms (`meta.rights`):", ""]
            lines += [_indent(terms), ""]
    return lines[:-1] if lines[-1] == "" else lines


def _indent(block: str) -> str:
    """A block indented to continue a list item."""
    return "\n".join("  " + line for line in block.splitlines())


def _configurations(result: PublishResult) -> str:
    lines = [
        "### Configurations\n",
        "| config | splits | rows | what a row is |",
        "|---|---|---:|---|",
    ]
    for name, splits in result.configs.items():
        lines.append(
            f"| `{name}` | {', '.join(splits)} | {sum(s.rows for s in splits.values()):,} | {CONFIGS[name].row} |"
        )
    others = [f"`{c}`" for c in result.configs if c != DEFAULT_CONFIG]
    lines += [
        "",
        f"Every configuration is split exactly like `default`: {', '.join(others)} hold the rows "
        "of a document in the split its gold record is in (the same documents in each split), so "
        "nothing of a validation or test document is ever in a train split, in any configuration.",
    ]
    if ANNOTATORS_CONFIG in result.configs:
        lines.append(
            "`default` and `annotators` rows are records of the same format: `annotator` tells "
            "whose annotations a row holds (`gold` for adjudicated records), and in gold each "
            "item's `annotators` lists who proposed it. A gold row also says how well its "
            "document is annotated: "
            + ", ".join(f"`{c}`" for c in DOCUMENT_COLUMNS)
            + " (see [Fields](#fields))."
        )
    if result.empty_splits:
        lines.append(f"Left out because they hold no documents: {', '.join(result.empty_splits)}.")
    for config, missing in result.missing_splits.items():
        lines.append(
            f"`{config}` has no {' or '.join(missing)} split: {MISSING[config]} of "
            f"{'that split' if len(missing) == 1 else 'those splits'}, and `datasets` cannot load "
            "a split without rows."
        )
    return "\n".join(lines) + "\n"


MISSING = {
    ANNOTATORS_CONFIG: "the annotators' files hold no pass of a document",
    CONFLICTS_CONFIG: "the adjudication log has no line about a document",
    SPANS_CONFIG: "gold has no item in any document",
    TOKENS_CONFIG: "there is no document",
}
"""Why a config has no rows in a split that `default` has, as the card says it."""


def _loading(result: PublishResult, metadata: CardMetadata) -> str:
    """How to load each configuration: `datasets` (on the example row, which has what the
    snippet shows), then pandas, DuckDB and R for `spans`. Paths are the Hub id when the card
    has a `repo_id`, else the output folder as given, quoted for each language (Python, SQL
    inside Python, R), so that any folder name stays one string."""
    where = metadata.repo_id or str(result.output)
    splits = ", ".join(result.configs[DEFAULT_CONFIG])
    lines = [
        "### How to load it\n",
        "```python",
        "from datasets import load_dataset",
        "",
        f"ds = load_dataset({_literal(where)})              # gold: {splits}",
    ]
    if result.example_at is not None and result.example is not None:
        split, index = result.example_at
        row = result.example
        layer = next((name for name in LAYERS if row[name]), None)
        lines.append(
            f"row = ds[{_literal(split)}][{index}]  # {_literal(row['doc_id'])}, the example instance below"
        )
        if layer is not None:
            label = LAYERS[layer].label
            lines += [
                f"item = row[{_literal(layer)}][0]",
                'assert row["text"][item["start"]:item["end"]] == item["text"]   # offsets are code points',
                f"label = ds[{_literal(split)}].features[{_literal(layer)}].feature[{_literal(label)}]   # a ClassLabel",
                f"print(label.int2str(item[{_literal(label)}]))   # {_literal(row[layer][0][label])}",
            ]
    for config in (ANNOTATORS_CONFIG, CONFLICTS_CONFIG, SPANS_CONFIG, TOKENS_CONFIG):
        if config in result.configs:
            lines.append(f"{config} = load_dataset({_literal(where)}, {_literal(config)})")
    lines += [
        "```",
        "",
        "Labels are stored as `ClassLabel` indices; `features[...].int2str` gives their names. "
        "Optional spans (`answer`, `source`, `cue`) are `None` when absent.",
    ]
    if SPANS_CONFIG in result.configs:
        folder = (
            f"hf://datasets/{metadata.repo_id}" if metadata.repo_id else str(result.output)
        ) + "/data/spans"
        sql = (
            "SELECT layer, label, count(DISTINCT doc_id || '/' || id) AS items, count(*) AS spans FROM "
            + "'"
            + (folder + "/*.parquet").replace("'", "''")
            + "' GROUP BY ALL ORDER BY ALL"
        )
        if metadata.repo_id:
            r_line = (
                "In R, on a copy of the repository (`hf download "
                + metadata.repo_id
                + " --repo-type dataset --local-dir DIR`): "
                + code('arrow::open_dataset("DIR/data/spans")')
                + "."
            )
        else:
            r_line = f"In R: {code(f'arrow::open_dataset({_literal(folder)})')}."
        lines += [
            "",
            "The `spans` configuration is a flat table, labels as strings, for data-frame tools:",
            "",
            "```python",
            "import pandas as pd",
            f"spans = pd.read_parquet({_literal(folder)})   # one row per span of an item",
            "",
            "import duckdb",
            f"counts = duckdb.sql({_literal(sql)}).df()",
            "```",
            "",
            r_line,
        ]
    return "\n".join(lines) + "\n"


def _literal(text: str) -> str:
    """`text` as a string literal of Python and of R (a JSON string is both), so that any path
    or id stays one string in the card's code."""
    return json.dumps(text, ensure_ascii=False)


def _example(result: PublishResult) -> str:
    if result.example is None or result.example_at is None:
        return ""
    split, index = result.example_at
    row = dict(result.example)
    text = row["text"]
    row["text"] = text[:EXAMPLE_TEXT] + ("…" if len(text) > EXAMPLE_TEXT else "")
    shown = []
    for name in LAYERS:
        items = row[name]
        row[name] = items[:1]
        shown.append(f"{name} {min(len(items), 1)} of {len(items)}")
    notes = (
        [f"the text shortened to {EXAMPLE_TEXT:,} of {len(text):,} code points"]
        if len(text) > EXAMPLE_TEXT
        else []
    )
    notes.append("one item per layer (" + ", ".join(shown) + ")")
    notes.append("labels as names (the data stores `ClassLabel` indices)")
    which = (
        "the first gold row with an item in every layer"
        if result.example_complete
        else "the first gold row (no row has an item in every layer)"
    )
    return "\n".join(
        [
            "### Example instance\n",
            f"Row {index} of the `{split}` split, {code(row['doc_id'])}: {which}, with "
            + "; ".join(notes)
            + ":\n",
            fenced(json.dumps(row, ensure_ascii=False, indent=2), "json"),
            "",
        ]
    )


def _fields(result: PublishResult) -> str:
    lines = [
        "### Fields\n",
        "Generated from the record models of corpus-tools (`corpus_tools/schema.py`). "
        "`default` and `annotators` rows:\n",
        "| field | type | description |",
        "|---|---|---|",
    ]
    lines += [
        f"| `{path}` | {kind} | {_cell(desc)} |"
        for path, kind, desc in _field_rows(Record, feats.features(), "")
    ]
    span_fields = ", ".join(f"`{n}` ({_cell(i.description)})" for n, i in Span.model_fields.items())
    lines += ["", f"A *span* is a struct {{start: int32, end: int32, text: string}}: {span_fields}\n"]
    document = feats.document_features()
    lines += [
        "A `default` (gold) row also has:\n",
        "| field | type | description |",
        "|---|---|---|",
    ]
    lines += [
        f"| `{name}` | {_type_name(document[name])}, nullable | {_cell(desc)} |"
        for name, desc in feats.document_descriptions().items()
    ]
    if SPANS_CONFIG in result.configs:
        lines += ["", "A `spans` row:\n", "| field | type | description |", "|---|---|---|"]
        flat = spans.features()
        lines += [
            f"| `{name}` | {_type_name(flat[name])} | {_cell(desc)} |"
            for name, desc in spans.descriptions().items()
        ]
    if CONFLICTS_CONFIG in result.configs:
        log = conflicts.features()
        lines += [
            "",
            "A `conflicts` row (an *item* is a struct of every layer's item fields, labels as "
            "strings, null where its layer lacks a field; see `docs/merge.md` of corpus-tools):\n",
            "| field | type | description |",
            "|---|---|---|",
        ]
        lines += [
            f"| `{name}` | {_log_type(log[name])} | {_cell(desc)} |"
            for name, desc in conflicts.descriptions().items()
        ]
    if TOKENS_CONFIG in result.configs:
        lines += [
            "",
            "A `tokens` row: its columns and tag names are in "
            "[The `tokens` configuration](#the-tokens-configuration).",
        ]
    return "\n".join(lines) + "\n"


def _log_type(feature: Any) -> str:
    item = conflicts.features()["versions"].feature["item"]
    if feature == item:
        return "item"
    if isinstance(feature, List) and isinstance(feature.feature, dict):
        return "list of {" + ", ".join(f"{k}: {_log_type(v)}" for k, v in feature.feature.items()) + "}"
    if isinstance(feature, dict):
        return "{" + ", ".join(f"{k}: {_log_type(v)}" for k, v in feature.items()) + "}"
    return _type_name(feature)


def _field_rows(model: type[BaseModel], features: dict[str, Any], prefix: str) -> list[tuple[str, str, str]]:
    rows = []
    for name, info in model.model_fields.items():
        feature = features[name]
        inner = strip_optional(info.annotation)
        optional = inner is not info.annotation and _is_optional(info.annotation)
        sub_model = model_of(inner)
        path = prefix + name
        if sub_model is Span:
            rows.append((path, "span" + (", nullable" if optional else ""), info.description or ""))
            continue
        rows.append((path, _type_name(feature) + (", nullable" if optional else ""), info.description or ""))
        if sub_model is not None:
            sub = feature.feature if isinstance(feature, List) else feature
            rows += _field_rows(sub_model, sub, path + ("[]." if isinstance(feature, List) else "."))
    return rows


def _is_optional(annotation: Any) -> bool:
    return type(None) in getattr(annotation, "__args__", ())


def _type_name(feature: Any) -> str:
    if isinstance(feature, ClassLabel):
        return "ClassLabel (" + ", ".join(f"{i} {n}" for i, n in enumerate(feature.names)) + ")"
    if isinstance(feature, Value):
        dtype: str = feature.dtype  # `datasets` has no type information; a Value's dtype is a name
        return dtype
    if isinstance(feature, List):
        inner = feature.feature
        return "list of " + ("struct" if isinstance(inner, dict) else _type_name(inner))
    if isinstance(feature, dict):
        return "struct"
    return type(feature).__name__


def _layers(result: PublishResult) -> str:
    default = result.configs[DEFAULT_CONFIG]
    lines = ["### Layers and labels\n"]
    for layer, spec in LAYERS.items():
        label, names, model = spec.label, spec.names, spec.model
        doc = " ".join((model.__doc__ or "").split())
        description = model.model_fields[label].description or ""
        lines += [
            f"#### `{layer}` ({model.__name__})\n",
            f"{doc}\n",
            f"`{label}`: {' '.join(description.split())}\n",
            "| index | label | " + " | ".join(default) + " | total |",
            "|---:|---|" + "---:|" * (len(default) + 1),
        ]
        for i, name in enumerate(names):
            counts = [default[s].labels[layer][name] for s in default]
            lines.append(f"| {i} | `{name}` | " + " | ".join(map(str, counts)) + f" | {sum(counts)} |")
        lines.append("")
    return "\n".join(lines)


def _counts(result: PublishResult) -> str:
    default = result.configs[DEFAULT_CONFIG]
    lines = [
        "### Sizes\n",
        "| split | documents | " + " | ".join(f"`{layer}`" for layer in LAYERS) + " |",
        "|---|---:|" + "---:|" * len(LAYERS),
    ]
    for split, s in default.items():
        lines.append(f"| {split} | {s.rows} | " + " | ".join(str(s.items[layer]) for layer in LAYERS) + " |")
    lines += [
        "",
        "Documents by their number of annotation passes (`passes`): "
        + ", ".join(
            f"{k} {'passes' if k != '1' else 'pass'}: {v}" if k != "unknown" else f"unknown: {v}"
            for k, v in result.passes.items()
        )
        + "; by `adjudicated`: "
        + ", ".join(f"{k}: {v}" for k, v in result.adjudicated.items())
        + ".",
    ]
    if ANNOTATORS_CONFIG in result.configs:
        ann: dict[str, int] = {}
        for s in result.configs[ANNOTATORS_CONFIG].values():
            for name, n in s.annotators.items():
                ann[name] = ann.get(name, 0) + n
        lines += [
            "",
            "The `annotators` configuration: lines (documents) per annotator.\n",
            "| annotator | lines |",
            "|---|---:|",
        ]
        lines += [f"| {code(name)} | {n} |" for name, n in sorted(ann.items())]
    lines.append("")
    return "\n".join(lines)


def _splits(manifest: Manifest, result: PublishResult, metadata: CardMetadata) -> str:
    group_by = manifest.group_by
    lines = [
        "### How the splits were made\n",
        "The splits were made with `corpus split`, which assigns whole documents (every "
        "annotator's record of a document) to one split.",
    ]
    if group_by:
        lines.append(
            f"Documents were grouped by {code(group_by)}: documents sharing a value always "
            "share a split, so no group is seen on both sides of an evaluation."
        )
    else:
        lines.append("Each document was its own group.")
    lines.append("Documents with identical text are kept together too.\n")
    if metadata.split_note:
        lines.append(prose(metadata.split_note) + "\n")
    lines += [
        f"- seed: {code(str(manifest.seed))}",
        "- target ratios: " + ", ".join(f"{k} {v:g}" for k, v in manifest.ratios.items()),
        f"- grouping: {code(group_by) if group_by else 'none (by document)'}",
    ]
    if manifest.counts:
        lines.append(
            "- documents (groups) per split: "
            + ", ".join(f"{s} {c.documents} ({c.groups})" for s, c in manifest.counts.items())
        )
    lines.append(f"- identical texts under different `doc_id`s in different splits: {len(manifest.leakage)}")
    if result.empty_splits:
        lines.append(f"- left out because they hold no documents: {', '.join(result.empty_splits)}")
    lines += [
        "",
        "The manifest `splits.json` (shipped with the data) lists every document's and "
        "group's split. `corpus split` reads it back, so documents keep their split when the "
        "corpus grows and new documents fill the splits towards the ratios.\n",
    ]
    return "\n".join(lines)


def _rationale(result: PublishResult, metadata: CardMetadata) -> str:
    text = (
        prose(metadata.curation_rationale)
        if metadata.curation_rationale
        else "Three discourse phenomena of argumentative text annotated on the same documents, "
        "so that they can be studied together: who is quoted, what is judged, and which "
        "questions are asked only to make a point."
    )
    return f"### Curation rationale\n\n{text}\n"


def _source_data(result: PublishResult) -> str:
    by_source: dict[str, int] = {}
    for d in result.documents:
        key = " ".join(d.source.split()) if d.source else "not given"
        by_source[key] = by_source.get(key, 0) + 1
    lines = [
        "### Source data\n",
        f"{_n(len(result.documents), 'document')}"
        + (f", published {_years(result)}" if result.years else "")
        + ". Each text is reproduced exactly as its source gives it (the offsets index into it); "
        "`meta` gives its title, author, source, date, licence and rights notice, listed per "
        "document under [Licence and rights](#licence-and-rights).\n",
        "| source | documents |",
        "|---|---:|",
    ]
    lines += [f"| {cell(s)} | {n} |" for s, n in sorted(by_source.items(), key=lambda kv: (-kv[1], kv[0]))]
    return "\n".join(lines) + "\n"


def _aliases(result: PublishResult) -> str:
    """What the shipped alias file is, and a line of it."""
    lines = [
        "Stance targets are written in the document's own words (guideline S7): a `target` "
        'occurs in its document\'s text (case, spacing and a leading "the" aside), or the alias '
        f"file lists it for the document. That file ships with the data as [{result.aliases}]"
        f"({result.aliases}) (the guidelines call it `documents/aliases.jsonl`), with a line for "
        f"{_n(result.aliases_documents, 'document')}: each target whose name does not occur in "
        "its text, with the forms the text uses for it, such as a speaker or author who is the "
        'target of their own "I". Check a target against the text and this file.'
    ]
    if result.aliases_example is not None:
        lines.append(
            "\n\nFor example:\n\n" + fenced(json.dumps(result.aliases_example, ensure_ascii=False), "json")
        )
    return "".join(lines)


def _annotations(result: PublishResult, metadata: CardMetadata, agreement: str | None) -> str:
    lines = ["### Annotations\n"]
    if result.guidelines_version:
        where = (
            f", shipped with the data as [{result.guidelines}]({result.guidelines})"
            if result.guidelines
            else ""
        )
        lines.append(
            f"Gold follows version {md(result.guidelines_version)} of the annotation guidelines{where}.\n"
        )
    if result.aliases:
        lines.append(_aliases(result) + "\n")
    if metadata.annotation_process:
        lines.append(prose(metadata.annotation_process) + "\n")
    lines.append(
        "Gold is voted from the passes of each document (a majority of its annotators; a single "
        "pass goes into gold as it is); every disagreement is a conflict for an adjudicator to "
        "decide, and gold items the passes agreed on can be corrected afterwards."
    )
    log = result.configs.get(CONFLICTS_CONFIG)
    if log:
        totals: dict[str, dict[str, int]] = {}
        for s in log.values():
            for column, counts in s.counts.items():
                for value, n in counts.items():
                    totals.setdefault(column, {})[value] = totals.setdefault(column, {}).get(value, 0) + n
        kinds = totals.get("kind", {})
        lines.append(
            "The adjudication log (`conflicts`) has "
            + ", ".join(f"{n} {code(k)}" for k, n in sorted(kinds.items()))
            + " line(s); by status: "
            + ", ".join(f"{n} {code(k)}" for k, n in sorted(totals.get("status", {}).items()))
            + "; decisions: "
            + ", ".join(f"{n} {code(k)}" for k, n in sorted(totals.get("decision", {}).items()))
            + "."
        )
        if result.conflicts_left_out:
            lines.append(
                f"{result.conflicts_left_out} stale line(s) about documents outside the dataset were left out."
            )
    lines.append("")
    if agreement:
        lines += [
            "#### Inter-annotator agreement\n",
            "Computed from the `annotators` configuration (before adjudication) and against the "
            "gold records of every split (after).\n",
            re.sub(r"^### ", "##### ", agreement.strip(), flags=re.M) + "\n",
        ]
    return "\n".join(lines)


def _personal(result: PublishResult, metadata: CardMetadata) -> str:
    lines = [
        "### Personal and sensitive information\n",
        "The texts name people: speakers, authors, officials and the people they discuss. The "
        "annotations record who is quoted (attribution sources) and who or what is judged and "
        "by whom (stance targets and holders), from the published texts alone.",
    ]
    if metadata.personal_information:
        lines += ["", prose(metadata.personal_information)]
    return "\n".join(lines) + "\n"


def _limitations(result: PublishResult, metadata: CardMetadata) -> str:
    default = result.configs[DEFAULT_CONFIG]
    n_docs = len(result.documents)
    test = default.get("test")
    figures = [f"- Annotations: {_creators(metadata)} (the `annotations_creators` of this card)."]
    if "machine-generated" in metadata.annotations_creators:
        figures[0] = figures[0][:-1] + ": agreement between such annotators is not agreement between people."
    size = f"- Size: {_n(n_docs, 'document')}"
    if test is not None:
        size += (
            f", {_n(test.rows, 'document')} and {_n(sum(test.items.values()), 'gold item')} in the test split"
        )
    if n_docs < SMALL:
        size += ": a small corpus, on which scores vary widely with a few items"
    figures.append(size + ".")
    texts = "- Texts: " + _languages(result)
    if result.years:
        texts += f", published {_years(result)}"
    if result.genres:
        texts += "; " + _genres(result)
    figures.append(texts + ".")
    single = result.passes.get("1", 0)
    open_docs = result.adjudicated.get("false", 0)
    figures.append(
        "- Annotation depth: documents by passes: "
        + ", ".join(f"{k}: {v}" for k, v in result.passes.items())
        + "; by `adjudicated`: "
        + ", ".join(f"{k}: {v}" for k, v in result.adjudicated.items())
        + (
            f". Filter on `passes` and `adjudicated` to leave out the {single + open_docs} less "
            "annotated document(s)."
            if single or open_docs
            else "."
        )
    )
    lines = ["## Bias, risks and limitations\n"]
    if metadata.limitations:
        lines += [prose(metadata.limitations), ""]
    lines += ["In figures:\n", *figures]
    lines += [
        "",
        "### Recommendations\n",
        "Report which configuration and split you used, and the guidelines version. Compare "
        "models on the test split only, with its size in mind; use the `annotators` and "
        "`conflicts` configurations to see where the labels are uncertain.",
    ]
    return "\n".join(lines) + "\n"


def _rights(result: PublishResult, metadata: CardMetadata, *, level: int) -> str:
    h = "#" * level
    by_license: dict[str, int] = {}
    for d in result.documents:
        by_license[d.license or "not given"] = by_license.get(d.license or "not given", 0) + 1
    lines = [
        f"{h} Licence and rights\n",
        f"The annotations are released under {code(metadata.license)}. The texts keep their own "
        "licences, listed per document below with the rights notice that must travel with "
        "each text (it is also in every row's `meta.rights`).",
    ]
    if result.license == "other":
        lines.append(
            "Some texts are not under the dataset's own licence, so the card declares "
            f"`license: other` ({code(metadata.license_name)}): reuse each text under its own "
            "terms."
        )
    lines += ["", "| text licence | documents |", "|---|---:|"]
    lines += [f"| {cell(lic)} | {n} |" for lic, n in sorted(by_license.items())]
    lines.append("")
    for d in result.documents:
        lines.append(f"{h}# {code(d.doc_id)}\n")
        facts = [
            ("title", md(d.title)),
            ("author", md(d.author)),
            ("source", md(d.source)),
            ("url", link(d.url)),
            ("licence", md(d.license or "not given")),
            ("licence url", link(d.license_url)),
            ("split", d.split),
        ]
        lines += [f"- {k}: {v}" for k, v in facts if v]
        if d.rights:
            lines += ["", quote(d.rights)]
        lines.append("")
    return "\n".join(lines)


def url(metadata: CardMetadata) -> str | None:
    """The dataset's URL: its homepage, or its Hub page once it has a `repo_id`."""
    if metadata.homepage and is_web_url(metadata.homepage):
        return metadata.homepage.strip()
    if metadata.repo_id:
        return f"https://huggingface.co/datasets/{metadata.repo_id}"
    return None


def _citation(metadata: CardMetadata, result: PublishResult) -> str:
    return f"## Citation\n\n{fenced(_citation_entry(metadata, result), 'bibtex')}\n"


def _citation_entry(metadata: CardMetadata, result: PublishResult) -> str:
    return (metadata.citation or _bibtex(metadata, result)).strip()


def _bibtex(metadata: CardMetadata, result: PublishResult) -> str:
    """A `@misc` entry naming the dataset, its version and where it is (BibLaTeX reads `version`
    and `url`; BibTeX styles show `howpublished` and `note`)."""
    where = url(metadata)
    fields = {"title": "{" + bibtex(metadata.pretty_name) + "}"}
    if metadata.authors:
        fields["author"] = "{" + bibtex(metadata.authors) + "}"
    fields["year"] = str(_build_year())
    if metadata.version:
        fields["version"] = "{" + bibtex(metadata.version) + "}"
    if where:
        fields["howpublished"] = "{\\url{" + bibtex(where) + "}}"
        fields["url"] = "{" + bibtex(where) + "}"
    note = [f"Version {metadata.version}"] if metadata.version else []
    if result.guidelines_version:
        note.append(f"annotation guidelines version {result.guidelines_version}")
    note.append(f"built with corpus-tools {__version__}")
    fields["note"] = "{" + bibtex("; ".join(note)) + "}"
    key = re.sub(r"[^a-z0-9]+", "_", (metadata.repo_id or metadata.pretty_name).lower()).strip("_")[:40]
    if metadata.version:
        key += "_v" + re.sub(r"[^a-z0-9]+", "_", metadata.version.lower()).strip("_")
    body = ",\n".join(f"  {k} = {v}" for k, v in fields.items())
    return f"@misc{{{key or 'dataset'},\n{body}\n}}"


def _build_year() -> int:
    """This year, or the year of `SOURCE_DATE_EPOCH` when set (reproducible builds' convention),
    so that a rebuild of the same data can give the same card."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        return datetime.datetime.fromtimestamp(int(epoch), tz=datetime.timezone.utc).year
    return datetime.date.today().year


def _cell(text: str | None) -> str:
    # For the models' own descriptions, whose backticks are meant as code.
    return " ".join((text or "").split()).replace("|", "\\|")


# -- BibTeX ---------------------------------------------------------------------------------------


_BIBTEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "%": r"\%",
    "#": r"\#",
    "&": r"\&",
    "$": r"\$",
    "_": r"\_",
    "^": r"\^{}",
    "~": r"\~{}",
}


def bibtex(text: str) -> str:
    """`text` for a braced BibTeX field: one line, with braces and TeX specials escaped, so
    the entry always parses."""
    return "".join(_BIBTEX_SPECIAL.get(c, c) for c in " ".join(text.split()))
