"""Regenerate docs/view.png, the README's picture of a `corpus view` document page (`make screenshot`).

Writes the site of the bundled corpus (`annotations/`) to a temporary folder, opens one pass of a
document in headless Chromium (Debian's `chromium`, as the browser tests drive it: see
tests/browser.py), scrolls to a passage where every layer shows (questions with an answer, a
nested attribution, stances held by a speaker), puts the keyboard focus on a stance's tag so that
its details show, and saves the window.

Usage: python scripts/screenshot.py [OUTPUT.png] [--doc DOC_ID] [--annotator NAME] [--at OFFSET]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the browser launcher of the tests

from corpus_tools.view import view  # noqa: E402

from browser import launch, unavailable, visit  # noqa: E402

SCROLL = """at => {
  const parts = [...document.querySelectorAll('.items q.part')].filter(q => +q.dataset.start >= at);
  const first = parts.sort((a, b) => a.dataset.start - b.dataset.start)[0];
  const tag = document.getElementById(first.closest('.card').id + '-tag');
  window.scrollTo(0, tag.getBoundingClientRect().top + window.scrollY - 48);
  const visible = el => { const r = el.getBoundingClientRect(); return r.top > 80 && r.bottom < innerHeight - 80; };
  const stances = [...document.querySelectorAll('.text .tag[data-layer=stances]')].filter(visible);
  const held = stances.find(t => document.getElementById(t.dataset.item).textContent.includes('holder\\nt'));
  return (held || stances[0]).id;
}"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", nargs="?", type=Path, default=ROOT / "docs" / "view.png")
    parser.add_argument("--doc", default="hoyer-americans-will-judge")
    parser.add_argument("--annotator", default="ann-v")
    parser.add_argument("--at", type=int, default=3400, help="The code point to scroll to.")
    args = parser.parse_args()
    reason = unavailable()
    if reason is not None:
        print(f"cannot take the screenshot: {reason}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp) / "site"
        view([ROOT / "annotations"], output=site)
        with launch() as browser, visit(browser, site / "doc" / args.doc / f"{args.annotator}.html") as v:
            tag = v.page.evaluate(SCROLL, args.at)
            v.page.evaluate("id => document.getElementById(id).focus({preventScroll: true})", tag)
            v.page.screenshot(path=str(args.output))
            if v.errors:
                print("\n".join(v.errors), file=sys.stderr)
                return 1
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
