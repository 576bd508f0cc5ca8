"""Rendering the pages: Jinja2 templates with autoescaping, and the page's one stylesheet and one
script, inlined and allowed by a Content-Security-Policy that names their hashes.

Every value from the data (texts, titles, targets, notes, ids, decisions) reaches the page
through a template, escaped for where it goes: element text and quoted attributes. Links are
made only from `http(s)` URLs. The policy allows no other script, style, image, font, frame or
connection, so a value that did slip through could still not run or load anything; a page makes
no network request.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

import jinja2
from markupsafe import Markup, escape

from corpus_tools import __version__
from corpus_tools.agreement import AgreementReport
from corpus_tools.errors import CorpusToolsError
from corpus_tools.layers import LAYERS, Layer
from corpus_tools.schema import Meta, RecordBase
from corpus_tools.view.compare import Comparison
from corpus_tools.view.marks import STATUS_SIGN, ItemView, Token, clip, containers, layer_title

PACKAGE = "corpus_tools.view"


@dataclass(frozen=True)
class Assets:
    """The stylesheet and script every page inlines, and the policy that allows exactly them."""

    css: str
    js: str

    @property
    def csp(self) -> str:
        """The Content-Security-Policy of every page."""
        return (
            "default-src 'none'; "
            f"script-src '{_sha256(self.js)}'; "
            f"style-src '{_sha256(self.css)}'; "
            "base-uri 'none'; form-action 'none'"
        )


def _sha256(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


@cache
def assets() -> Assets:
    """The package's stylesheet and script (`corpus_tools/view/static/`).

    Raises:
        CorpusToolsError: when the package is installed without them, or one of them could end
            its element early (a bug: they are inlined as they are).
    """
    static = resources.files(PACKAGE) / "static"
    try:
        css = (static / "view.css").read_text(encoding="utf-8")
        js = (static / "view.js").read_text(encoding="utf-8")
    except OSError as e:
        raise CorpusToolsError(f"the site's stylesheet or script is missing from the package: {e}") from None
    if "</style" in css.lower() or "</script" in js.lower() or "<!--" in js:
        raise CorpusToolsError("the site's stylesheet or script would end its element early")
    return Assets(Markup(css), Markup(js))


@cache
def environment() -> jinja2.Environment:
    """The templates, autoescaped, with undefined values an error rather than empty."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader(PACKAGE, "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["text"] = document_text
    env.filters["clip"] = clip
    env.filters["f1"] = _f1
    env.globals.update(
        layer_title=layer_title,
        safe_url=safe_url,
        status_sign=STATUS_SIGN,
        version=__version__,
    )
    return env


def document_text(text: str) -> Markup:
    """Document text escaped for element content, keeping what HTML parsing would change: a
    carriage return becomes `&#13;` (the parser turns a raw one into a line feed), so the page's
    text keeps the record's code points and offsets."""
    return escape(text).replace("\r", Markup("&#13;"))


def safe_url(url: str | None) -> str | None:
    """`url` when it is an `http(s)` URL with a host (the only links made from data)."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    if any(c in url for c in "\x00\n\r\t"):
        return None
    return url.strip()


def _f1(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


# -- what the pages show --------------------------------------------------------------------------


@dataclass(frozen=True)
class LayerInfo:
    """A layer as the legend and the toggles show it."""

    layer: Layer
    title: str
    parts: tuple[tuple[str, bool], ...]
    """`(part name, drawn in brackets)`, in the layer's order."""
    labels: tuple[str, ...]


def layer_infos() -> list[LayerInfo]:
    """Every layer of the registry, for the legend."""
    bracketed = containers()
    return [
        LayerInfo(
            layer,
            layer_title(layer),
            tuple(
                (p.name, layer.name in bracketed and bracketed[layer.name] == p.field) for p in layer.parts
            ),
            layer.names,
        )
        for layer in LAYERS.values()
    ]


@dataclass(frozen=True)
class Link:
    """A link between the pages of one document."""

    text: str
    href: str
    current: bool = False


@dataclass
class Column:
    """One record drawn on a page: its items and its text cut into tokens."""

    record: RecordBase
    views: list[ItemView]
    tokens: list[Token]
    prefix: str

    def counts(self) -> dict[str, int]:
        """Items per layer."""
        return {name: sum(v.layer.name == name for v in self.views) for name in LAYERS}

    def by_layer(self) -> list[tuple[Layer, list[ItemView]]]:
        """The items grouped by layer, every layer listed."""
        return [(layer, [v for v in self.views if v.layer is layer]) for layer in LAYERS.values()]


@dataclass
class IndexRow:
    """One document on the index."""

    doc_id: str
    meta: Meta
    length: int
    records: list[tuple[RecordBase, str, dict[str, int], bool]]
    """`(record, page, items per layer, is gold)`."""
    compare: str | None
    agreement: AgreementReport | None


def _render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(assets=assets(), layers=layer_infos(), **context)


def record_page(
    *, doc_id: str, meta: Meta, column: Column, gold: bool, nav: Sequence[Link], root: str
) -> str:
    """The page of one record: its text with every layer drawn, the legend and the items."""
    return _render("document.html.j2", doc_id=doc_id, meta=meta, column=column, gold=gold, nav=nav, root=root)


def compare_page(
    *,
    doc_id: str,
    meta: Meta,
    columns: Sequence[Column],
    comparison: Comparison,
    agreement: AgreementReport,
    decisions: str | None,
    nav: Sequence[Link],
    root: str,
) -> str:
    """The page comparing the passes of one document, side by side, with the disagreements."""
    return _render(
        "compare.html.j2",
        doc_id=doc_id,
        meta=meta,
        columns=columns,
        comparison=comparison,
        agreement=agreement,
        decisions=decisions,
        nav=nav,
        root=root,
    )


def index_page(*, rows: Sequence[IndexRow], title: str, decisions: str | None) -> str:
    """The list of documents with their records, counts and agreement."""
    return _render("index.html.j2", rows=rows, title=title, decisions=decisions, root="")
