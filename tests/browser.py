"""Headless Chromium for the browser tests: Debian's `chromium` package, driven by Playwright.

Playwright's own browser downloads are never used: `executable_path` points at the system
browser (`make test` installs Debian's `chromium` when it is missing and it can). Where there is
no browser, or no Playwright, `unavailable()` says why, and the tests skip with that reason.
`scripts/screenshot.py` uses the same launcher.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM_ENV = "CORPUS_TOOLS_CHROMIUM"
"""Names the browser to use instead of `chromium` on the PATH."""


def chromium_path() -> str | None:
    """The Chromium executable: `$CORPUS_TOOLS_CHROMIUM`, or `chromium` on the PATH."""
    given = os.environ.get(CHROMIUM_ENV)
    if given:
        return given if Path(given).is_file() else None
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


def unavailable() -> str | None:
    """Why the browser tests cannot run here (None: they can)."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed (it comes with the dev extra: pip install -e '.[dev]')"
    if chromium_path() is None:
        return (
            "no Chromium: install Debian's package (`apt-get install chromium`; `make test` does "
            f"when run as root) or set {CHROMIUM_ENV}"
        )
    return None


@contextmanager
def launch() -> Iterator[Any]:
    """A headless Chromium browser (Playwright's `Browser`)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), headless=True)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Visit:
    """A page opened from a site folder, with what it logged and requested."""

    page: Any
    url: str
    errors: list[str] = field(default_factory=list)
    """Console errors and warnings, and uncaught exceptions."""
    requests: list[str] = field(default_factory=list)
    """Every request the page made, the page itself included (all of them were refused but the
    page's own file)."""


@contextmanager
def visit(browser: Any, path: Path, *, width: int = 1280, height: int = 900) -> Iterator[Visit]:
    """Open `path` in a fresh context. Every request is recorded, and any but the page's own
    file is aborted, so nothing could leave the machine."""
    context = browser.new_context(viewport={"width": width, "height": height})
    url = path.resolve().as_uri()
    seen = Visit(page=None, url=url)

    def route(r: Any) -> None:
        seen.requests.append(r.request.url)
        if r.request.url == url:
            r.continue_()
        else:
            r.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.on(
        "console",
        lambda m: seen.errors.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None,
    )
    page.on("pageerror", lambda e: seen.errors.append(f"pageerror: {e}"))
    seen.page = page
    try:
        page.goto(url)
        yield seen
    finally:
        context.close()
