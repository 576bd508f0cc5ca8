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
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal
from urllib.parse import urlsplit

import jinja2
from markupsafe import Markup

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
    env.filters["pieces"] = pieces
    env.filters["isolate"] = isolate
    env.filters["clip"] = clip
    env.filters["f1"] = _f1
    env.globals.update(
        direction=direction,
        layer_title=layer_title,
        safe_url=safe_url,
        status_sign=STATUS_SIGN,
        version=__version__,
    )
    return env


# -- document text ------------------------------------------------------------------------------

PieceKind = Literal["text", "cr", "break", "nul"]

_SPECIAL = re.compile("\r\n|[\r\x00\x0b\x0c\x85\u2028\u2029]")
"""What HTML parsing or CSS would change: CR (the parser turns it into LF), NUL (the parser
drops it), and the line breaks of Unicode (UAX #14: BK, CR, NL) that `white-space: pre-wrap`
does not break at."""


@dataclass(frozen=True)
class Piece:
    """A run of document text as the template writes it.

    - `text`: written as it is (escaped);
    - `cr`: the CR of a CR LF, written `&#13;` so that the parser keeps it (the LF breaks);
    - `break`: a line break that CSS does not show as one (a lone CR, written `&#13;`; VT, FF,
      NEL, U+2028, U+2029): in an element that draws the break (`.eol`);
    - `nul`: U+0000, which HTML cannot hold (the parser drops it): written as the symbol ␀
      (U+2400, one code point, so offsets hold) in a marked element (`.cc`) whose
      `data-cc` the script turns back into the NUL, so the page's text is the record's.
    """

    kind: PieceKind
    text: str

    @property
    def code(self) -> str:
        """The code point, as `data-cc` gives it (`0000`)."""
        return f"{ord(self.text[0]):04X}"


def pieces(text: str, after: str = "") -> list[Piece]:
    """`text` cut where a character needs more than escaping to reach the page unchanged;
    `after` is the character that follows it in the document (a CR at the end of `text` may be
    the first half of a CR LF)."""
    out = []
    at = 0
    for m in _SPECIAL.finditer(text):
        if m.start() > at:
            out.append(Piece("text", text[at : m.start()]))
        found = m.group()
        if found == "\r" and m.end() == len(text) and after == "\n":
            out.append(Piece("cr", "\r"))
        elif found == "\r\n":
            out += [Piece("cr", "\r"), Piece("text", "\n")]
        else:
            out.append(Piece("nul" if found == "\x00" else "break", found))
        at = m.end()
    if at < len(text):
        out.append(Piece("text", text[at:]))
    return out


_RTL_SCRIPTS = frozenset(["Adlm", "Arab", "Hebr", "Mand", "Nkoo", "Rohg", "Samr", "Syrc", "Thaa", "Yezi"])
_RTL_LANGUAGES = frozenset(
    [
        "ar",
        "arc",
        "azb",
        "ckb",
        "dv",
        "fa",
        "glk",
        "he",
        "iw",
        "ji",
        "lrc",
        "mzn",
        "nqo",
        "pnb",
        "prs",
        "ps",
        "sd",
        "syr",
        "ug",
        "ur",
        "yi",
    ]
)


def direction(language: str | None) -> str:
    """The `dir` of a text in `language` (BCP 47): `rtl` for a right-to-left script (given as a
    subtag, `az-Arab`, or implied by the language, `he`, `ar`), `ltr` for any other language,
    and `auto` (the first strong character decides) when it is undetermined (`und`, `mul`)."""
    tags = (language or "").replace("_", "-").split("-")
    scripts = [t.title() for t in tags[1:] if len(t) == 4 and t.isalpha()]
    if scripts:
        return "rtl" if scripts[0] in _RTL_SCRIPTS else "ltr"
    primary = tags[0].lower()
    if primary in ("", "und", "mul", "zxx", "mis"):
        return "auto"
    return "rtl" if primary in _RTL_LANGUAGES else "ltr"


def isolate(value: str) -> str:
    """`value` between FIRST STRONG ISOLATE and POP DIRECTIONAL ISOLATE, for where no element
    can isolate it (`<title>`): its direction, and any bidi control in it, stay inside."""
    return f"\u2068{value}\u2069"


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
