"""The dataset card (`README.md` of a published dataset) and its licence file.

The YAML header is built with `huggingface_hub.DatasetCardData` and `datasets`' own
`DatasetInfosDict`, so `dataset_info` (features, split sizes) is written exactly as `datasets`
reads it back. The body takes the layers, labels and field descriptions from the Pydantic models
(never retyped), the counts from the data as written, the split options from the manifest, and the
licence and rights notice from every document's `meta`.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import urllib.parse
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from datasets import ClassLabel, DatasetInfo, List, SplitDict, SplitInfo, Value
from datasets.info import DatasetInfosDict
from huggingface_hub import DatasetCardData
from pydantic import BaseModel

from corpus_tools import __version__
from corpus_tools.layers import LAYERS, Record
from corpus_tools.publish import features as feats
from corpus_tools.publish.results import TOKENS_CONFIG
from corpus_tools.schema import Span, model_of, strip_optional

if TYPE_CHECKING:
    from corpus_tools.publish.results import CardMetadata, PublishResult
    from corpus_tools.split import Manifest

TASK_CATEGORIES = ["text-classification", "token-classification"]
TASK_IDS = ["multi-class-classification"]
"""The Hub's subtasks (huggingface.js `pipelines.ts`): classifying an item's label given its span.
None of the token-classification subtasks (NER, part of speech, parsing, lemmatization, word
sense, coreference) names discourse span tagging, so none is claimed."""
TAGS = ["rhetorical-questions", "attribution", "reported-speech", "stance", "argument-mining"]


def render_card(
    result: PublishResult,
    *,
    metadata: CardMetadata,
    manifest: Manifest,
    agreement: str | None,
    download_sizes: dict[str, int],
    sections: Sequence[str] = (),
) -> str:
    """The whole `README.md`: YAML header and Markdown body; `sections` (Markdown, each with
    its own `##` heading: the `tokens` config, baseline results) go after the agreement."""
    return (
        f"---\n{card_yaml(result, metadata=metadata, download_sizes=download_sizes)}---\n\n"
        f"{_body(result, metadata=metadata, manifest=manifest, agreement=agreement, sections=sections)}"
    )


def card_yaml(result: PublishResult, *, metadata: CardMetadata, download_sizes: dict[str, int]) -> str:
    """The card's YAML header (without the `---` lines)."""
    extra: dict[str, Any] = {}
    if result.license == "other":
        extra = {"license_name": metadata.license_name, "license_link": "LICENSE.md"}
    rows = sum(s.rows for s in result.configs["default"].values())
    data = DatasetCardData(
        pretty_name=metadata.pretty_name,
        language=result.languages,
        license=result.license,
        annotations_creators=list(metadata.annotations_creators),
        language_creators=["found"],
        multilinguality=["monolingual" if len(result.languages) == 1 else "multilingual"],
        size_categories=[size_category(rows)],
        source_datasets=["original"],
        task_categories=TASK_CATEGORIES,
        task_ids=TASK_IDS,
        tags=TAGS,
        **extra,
        configs=[
            {
                "config_name": config,
                "data_files": [
                    {"split": split, "path": f"data/{config}/{split}-*.parquet"} for split in splits
                ],
                **({"default": True} if config == "default" else {}),
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
            features=feats.config_features(config),
            splits=split_dict,
            download_size=download_sizes[config],
            dataset_size=sum(s.num_bytes for s in splits.values()),
        )
    infos.to_dataset_card_data(data)
    if TOKENS_CONFIG in result.configs:
        from corpus_tools.publish.tokens import train_eval_index

        data.train_eval_index = train_eval_index(list(result.configs[TOKENS_CONFIG])) or None
    return data.to_yaml() + "\n"


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
    sections: Sequence[str] = (),
) -> str:
    default = result.configs["default"]
    n_docs = len(result.documents)
    parts = [
        f"# {md(metadata.pretty_name)}\n",
        f"{n_docs} documents annotated with three layers: rhetorical questions, attributions "
        "(reported speech and thought) and stance. Offsets are Unicode code points into the exact "
        "document text, half-open `[start, end)`: `text[start:end]` is the span's `text`, as in "
        "Python. Built with corpus-tools " + __version__ + ".\n",
        "## Configurations\n",
        "| config | splits | rows | what a row is |",
        "|---|---|---:|---|",
        f"| `default` | {', '.join(default)} | {sum(s.rows for s in default.values())} "
        "| one document with its adjudicated (gold) annotations |",
    ]
    if "annotators" in result.configs:
        ann = result.configs["annotators"]
        parts.append(
            f"| `annotators` | {', '.join(ann)} | {sum(s.rows for s in ann.values())} "
            "| one annotator's raw annotations of one document, to study disagreement |"
        )
    if TOKENS_CONFIG in result.configs:
        tok = result.configs[TOKENS_CONFIG]
        parts.append(
            f"| `{TOKENS_CONFIG}` | {', '.join(tok)} | {sum(s.rows for s in tok.values())} "
            "| one document's gold annotations as tokens with IOB2 tags per layer |"
        )
    parts.append("")
    if "annotators" in result.configs:
        parts.append(
            "`default` and `annotators` have the same features. `annotator` tells whose "
            "annotations a row holds (`gold` for adjudicated records); in gold records "
            "each item's `annotators` lists who proposed it.\n"
        )
    parts += [_loading(result, metadata), _fields(), _layers(result), _counts(result)]
    if metadata.annotation_process or metadata.guidelines_version:
        parts.append("## Annotations\n")
        if metadata.guidelines_version:
            parts.append(
                f"Gold follows version {md(metadata.guidelines_version)} of the annotation guidelines.\n"
            )
        if metadata.annotation_process:
            parts.append(metadata.annotation_process.strip() + "\n")
    if agreement:
        parts += [
            "## Inter-annotator agreement\n",
            "Computed from the files of the `annotators` configuration (before adjudication) and "
            "against the gold records of every split (after).\n",
            agreement.strip() + "\n",
        ]
    parts += [section.strip() + "\n" for section in sections]
    parts += [_splits(manifest, result), _rights(result, metadata, level=2), _citation(metadata)]
    return "\n".join(parts)


def _loading(result: PublishResult, metadata: CardMetadata) -> str:
    where = json.dumps(metadata.repo_id or str(result.output), ensure_ascii=False)
    lines = [
        "## How to load it\n",
        "```python",
        "from datasets import load_dataset",
        "",
        f"ds = load_dataset({where})              # train, validation, test",
        'row = ds["train"][0]',
        'q = row["rhetorical_questions"][0]',
        'assert row["text"][q["start"]:q["end"]] == q["text"]',
        'kind = ds["train"].features["rhetorical_questions"].feature["kind"]   # a ClassLabel',
        'print(kind.int2str(q["kind"]))',
    ]
    if "annotators" in result.configs:
        lines += [
            "",
            f'raw = load_dataset({where}, "annotators", split="train")  # one row per annotator line',
        ]
    lines += [
        "```",
        "",
        "Labels are stored as `ClassLabel` indices; `features[...].int2str` gives their names. "
        "Optional spans (`answer`, `source`, `cue`) are `None` when absent.\n",
    ]
    return "\n".join(lines)


def _fields() -> str:
    lines = [
        "## Fields\n",
        "Generated from the record models of corpus-tools (`corpus_tools/schema.py`).\n",
        "| field | type | description |",
        "|---|---|---|",
    ]
    lines += [
        f"| `{path}` | {kind} | {_cell(desc)} |"
        for path, kind, desc in _field_rows(Record, feats.features(), "")
    ]
    span_fields = ", ".join(f"`{n}` ({_cell(i.description)})" for n, i in Span.model_fields.items())
    lines += ["", f"A *span* is a struct {{start: int32, end: int32, text: string}}: {span_fields}\n"]
    return "\n".join(lines)


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
    default = result.configs["default"]
    lines = ["## Layers and labels\n"]
    for layer, spec in LAYERS.items():
        label, names, model = spec.label, spec.names, spec.model
        doc = " ".join((model.__doc__ or "").split())
        description = model.model_fields[label].description or ""
        lines += [
            f"### `{layer}` ({model.__name__})\n",
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
    default = result.configs["default"]
    lines = [
        "## Sizes\n",
        "| split | rows | " + " | ".join(f"`{layer}`" for layer in LAYERS) + " |",
        "|---|---:|" + "---:|" * len(LAYERS),
    ]
    for split, s in default.items():
        lines.append(f"| {split} | {s.rows} | " + " | ".join(str(s.items[layer]) for layer in LAYERS) + " |")
    if "annotators" in result.configs:
        ann = next(iter(result.configs["annotators"].values()))
        lines += [
            "",
            "The `annotators` configuration: lines per annotator.\n",
            "| annotator | lines |",
            "|---|---:|",
        ]
        lines += [f"| `{name}` | {n} |" for name, n in ann.annotators.items()]
    lines.append("")
    return "\n".join(lines)


def _splits(manifest: Manifest, result: PublishResult) -> str:
    group_by = manifest.group_by
    lines = [
        "## How the splits were made\n",
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
        lines.append(f"{h}# `{d.doc_id}`\n")  # doc_ids are names: letters, digits, . _ -
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


def _citation(metadata: CardMetadata) -> str:
    entry = (metadata.citation or _bibtex(metadata)).strip()
    return f"## Citation\n\n{fenced(entry, 'bibtex')}\n"


def _bibtex(metadata: CardMetadata) -> str:
    fields = {
        "title": "{" + bibtex(metadata.pretty_name) + "}",
        "author": "{corpus-tools maintainers}",
        "year": str(_build_year()),
        "note": "{Built with corpus-tools}",
    }
    if metadata.homepage and _is_web_url(metadata.homepage):
        fields["howpublished"] = "{\\url{" + bibtex(metadata.homepage) + "}}"
    body = ",\n".join(f"  {k} = {v}" for k, v in fields.items())
    return f"@misc{{corpus_tools_dataset,\n{body}\n}}"


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


# -- escaping: every value that comes from the data goes through one of these --------------------

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~])")


def md(text: str | None) -> str:
    """`text` as inline Markdown that shows it literally: one line, with every character that
    could start markup or HTML (headings, links, tags, emphasis, tables) escaped."""
    if not text:
        return ""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(text.split())).replace("&", "&amp;")


def cell(text: str | None) -> str:
    """`text` for a Markdown table cell: `md`, so a `|` or a line break cannot add a cell or a row."""
    return md(text)


def code(text: str) -> str:
    """`text` as an inline code span, with a fence longer than any run of backticks in it."""
    text = " ".join(text.split())
    run = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * (run + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def fenced(text: str, lang: str = "") -> str:
    """A fenced code block holding `text`, fenced with more backticks than it holds in a row."""
    run = max((len(m) for m in re.findall(r"`{3,}", text)), default=2)
    fence = "`" * (run + 1)
    return f"{fence}{lang}\n{text}\n{fence}"


def quote(text: str) -> str:
    """A multi-line notice as a Markdown block quote, each line shown literally."""
    return "\n".join("> " + _md_line(line) if line.strip() else ">" for line in text.splitlines())


def _md_line(line: str) -> str:
    escaped = _MD_SPECIAL.sub(r"\\\1", line.strip()).replace("&", "&amp;")
    # A line that starts like a list item, a rule or a setext heading underline stays text.
    if re.match(r"[-=.:]", escaped) or re.match(r"\d+[.)]", escaped):
        escaped = "\\" + escaped if not escaped[0].isdigit() else re.sub(r"^(\d+)([.)])", r"\1\\\2", escaped)
    return escaped


def link(url: str | None) -> str:
    """A link for an http(s) URL; anything else (a `javascript:` URL, a typo) as plain text."""
    if not url:
        return ""
    if _is_web_url(url):
        return "<" + urllib.parse.quote(url.strip(), safe=":/?#[]@!$&'()*+,;=%~-._") + ">"
    return md(url)


def _is_web_url(url: str) -> bool:
    parts = urllib.parse.urlsplit(url.strip())
    return (
        parts.scheme.lower() in ("http", "https")
        and bool(parts.netloc)
        and not any(c.isspace() or c in '<>"' for c in url.strip())
    )


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
