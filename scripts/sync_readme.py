"""Regenerate the generated parts of README.md from the corpus (`make docs`).

The README's corpus table and agreement table are produced here from `annotations/` with the
library, between `<!-- NAME:start -->` and `<!-- NAME:end -->` markers; `make test` runs it with
`--check`, which fails when they are stale (as sqlite-utils keeps its docs with cog).

Usage: python scripts/sync_readme.py [--check]
"""

from __future__ import annotations

import re
import sys
from collections import defaultdict
from pathlib import Path

from corpus_tools.agreement import agreement
from corpus_tools.files import atomic_open
from corpus_tools.validate import iter_records, require_valid

ROOT = Path(__file__).resolve().parent.parent


def corpus_table(annotations: Path) -> str:
    """One row per document: its licence, length and who annotated it."""
    files = require_valid([annotations]).files
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


SEED = "isis-last-stand"
"""The seed article: the guidelines' worked examples annotate much of it, which inflates its
agreement, so the README also gives the figures without it."""


def sections(annotations: Path) -> dict[str, str]:
    """The generated content of each marked section."""
    without_seed = sorted(p for p in annotations.rglob("*.jsonl") if p.stem != SEED)
    return {
        "corpus-table": corpus_table(annotations),
        "agreement": agreement([annotations]).to_markdown(),
        "agreement-without-seed": agreement(without_seed).to_markdown(),
    }


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
    updated = render(current, sections(ROOT / "annotations"))
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
