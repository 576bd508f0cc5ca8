"""Regenerate the generated parts of README.md from the corpus (`make docs`).

The README's corpus table, gold counts and agreement tables (before and after adjudication) are
produced here from `annotations/` and the adjudication log, with the library and the settings of
`[tool.corpus]` in pyproject.toml, between `<!-- NAME:start -->` and `<!-- NAME:end -->` markers;
`make test` runs it with `--check`, which fails when they are stale (as sqlite-utils keeps its docs
with cog).

Usage: python scripts/sync_readme.py [--check]
"""

from __future__ import annotations

import re
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

from corpus_tools.agreement import agreement
from corpus_tools.build import load_config
from corpus_tools.files import atomic_open
from corpus_tools.merge import merge
from corpus_tools.validate import iter_records, require_valid

ROOT = Path(__file__).resolve().parent.parent


def corpus_table(files: tuple[Path, ...]) -> str:
    """One row per document: its licence, length and who annotated it."""
    docs: dict[str, dict] = defaultdict(lambda: {"annotators": set()})
    for _path, _line, rec in iter_records(files):
        doc = docs[rec.doc_id]
        doc["annotators"].add(rec.annotator)
        doc.update(license=rec.meta.license, chars=len(rec.text), genre=rec.meta.genre)
    rows = ["| document | genre | licence | code points | annotators |", "|---|---|---|---:|---|"]
    for doc_id in sorted(docs):
        d = docs[doc_id]
        rows.append(
            f"| `{doc_id}` | {d['genre']} | {d['license']} | {d['chars']:,} | "
            f"{', '.join(sorted(d['annotators']))} |"
        )
    return "\n".join(rows)


def gold_counts(gold: Path) -> str:
    """Items per label in gold, per layer."""
    from corpus_tools.layers import LAYERS

    counts = {name: dict.fromkeys(layer.names, 0) for name, layer in LAYERS.items()}
    docs = 0
    for _path, _line, rec in iter_records([gold]):
        docs += 1
        for name, layer in LAYERS.items():
            for item in getattr(rec, name):
                counts[name][getattr(item, layer.label)] += 1
    rows = ["| layer | label | gold items |", "|---|---|---:|"]
    for name, labels in counts.items():
        rows += [f"| {name} | `{label}` | {n:,} |" for label, n in labels.items()]
        rows.append(f"| {name} | all | {sum(labels.values()):,} |")
    return "\n".join(rows) + f"\n\n{docs} documents in gold."


def sections(root: Path) -> dict[str, str]:
    """The generated content of each marked section: the corpus, and agreement before and after
    adjudication on the headline documents and on those held out of the headline (the seed
    article, whose worked examples in the guidelines raise agreement on it), as the card has them."""
    config = load_config(root / "pyproject.toml")
    annotations = require_valid(config.annotations)
    held = set(config.headline_exclude)
    with tempfile.TemporaryDirectory() as tmp:
        gold = Path(tmp) / "gold.jsonl"
        decisions = config.decisions if config.decisions is not None and config.decisions.exists() else None
        merge(
            annotations,
            output=gold,
            conflicts=Path(tmp) / "conflicts.jsonl",
            decisions=decisions,
            match=config.match,
            overlap=config.overlap,
            min_votes=config.min_votes,
        )
        out = {
            "corpus-table": corpus_table(annotations.files),
            "gold-counts": gold_counts(gold),
            "agreement-before": agreement(annotations, exclude=held).to_markdown(),
            "agreement-after": agreement(annotations, gold=[gold], exclude=held).to_markdown(),
        }
        if held:
            out["agreement-held-out-before"] = agreement(annotations, only=held).to_markdown()
            out["agreement-held-out-after"] = agreement(annotations, gold=[gold], only=held).to_markdown()
    return out


def render(readme: str, generated: dict[str, str]) -> str:
    """`readme` with each marked section replaced by its generated content."""
    for name, content in generated.items():
        pattern = re.compile(rf"(<!-- {name}:start -->\n).*?(<!-- {name}:end -->)", re.S)
        if not pattern.search(readme):
            raise SystemExit(f"README.md has no {name} markers")
        readme = pattern.sub(lambda m, c=content: m.group(1) + c.rstrip("\n") + "\n" + m.group(2), readme)
    return readme


def main() -> int:
    path = ROOT / "README.md"
    current = path.read_text(encoding="utf-8")
    updated = render(current, sections(ROOT))
    if "--check" in sys.argv:
        if updated != current:
            print("README.md is stale: run `make docs`", file=sys.stderr)
            return 1
        return 0
    with atomic_open(path, "w") as f:
        f.write(updated)
    return 0


if __name__ == "__main__":
    sys.exit(main())
