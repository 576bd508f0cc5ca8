"""Markdown for the dataset card: every value that comes from the data or the settings goes in
through one of these, so that none can add a heading, a link, an image or raw HTML to the card.

- `md`: a value shown literally, on one line (titles, genres, names, ids);
- `cell`: the same for a table cell;
- `code`: a value as an inline code span;
- `fenced`: a block of code (an example row, a BibTeX entry, a command);
- `quote`: a multi-line notice, shown literally, as a block quote (rights notices);
- `link`: a link for an http(s) URL only;
- `prose`: the project's own Markdown (the card's settings: rationale, uses, limitations, ...),
  which keeps paragraphs, lists, emphasis, inline code and http(s) links, but not headings, code
  fences, raw HTML, images or links to anything but a web page.
"""

from __future__ import annotations

import re
import urllib.parse

__all__ = ["cell", "code", "fenced", "is_web_url", "link", "md", "prose", "quote"]

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
    if is_web_url(url):
        return "<" + urllib.parse.quote(url.strip(), safe=":/?#[]@!$&'()*+,;=%~-._") + ">"
    return md(url)


def is_web_url(url: str) -> bool:
    """Whether `url` is an absolute http(s) URL without spaces or characters that end a link."""
    parts = urllib.parse.urlsplit(url.strip())
    return (
        parts.scheme.lower() in ("http", "https")
        and bool(parts.netloc)
        and not any(c.isspace() or c in '<>"' for c in url.strip())
    )


# -- the project's own Markdown -----------------------------------------------------------------

_BLOCK = re.compile(
    r"^( {0,3})("
    r"#"  # an ATX heading
    r"|=+\s*$|-+\s*$"  # a setext heading's underline (or a rule)
    r"|([*_])(\s*\3){2,}\s*$"  # a thematic break
    r"|`{3,}|~{3,}"  # a code fence, which would swallow the rest of the card if left open
    r"|\[[^\]]*\]:"  # a link reference definition
    r")"
)
_AUTOLINK = re.compile(r"<https?://[^\s<>]*>", re.I)
_LINK_TARGET = re.compile(r"\]\((?!\s*<?(https?://|#|[\w][\w./-]*[\s)>]))", re.I)
"""A link's opening `](` but for a web page, a section (`#...`) or a relative path of plain
characters (an entity such as `&#58;` cannot hide a `javascript:` in one)."""


def prose(text: str | None) -> str:
    """The project's own Markdown (a card setting) as the card shows it: paragraphs, lists,
    emphasis, inline code and links to http(s) pages or the card's own sections stay; headings,
    rules, code fences, link definitions, images, raw HTML and links to anything else (such as
    `javascript:`) are shown as the text they are, so a setting cannot forge a section of the
    card or put a script or a tracking image in it."""
    if not text:
        return ""
    out = []
    for line in text.strip().splitlines():
        block = _BLOCK.match(line)
        if block:  # escape the character that opens the block; the line stays text
            at = len(block.group(1))
            line = line[:at] + "\\" + line[at:]
        out.append(_inline(line))
    return "\n".join(out)


def _inline(line: str) -> str:
    """A line with its code spans kept as they are and, outside them, `<` (raw HTML, but for an
    http(s) autolink), `![` (an image) and a link to anything but a web page escaped. A backtick
    that opens no code span on this line is escaped, so that no code span runs into the next line
    (which a line-by-line reading could not follow)."""
    out: list[str] = []
    text: list[str] = []
    i, n = 0, len(line)

    def flush() -> None:
        segment = "".join(text)
        text.clear()
        segment = _LINK_TARGET.sub(r"]\\(", segment.replace("![", "!\\["))
        parts = []
        last = 0
        for m in _AUTOLINK.finditer(segment):
            parts.append(segment[last : m.start()].replace("<", "\\<"))
            parts.append(m.group())
            last = m.end()
        parts.append(segment[last:].replace("<", "\\<"))
        out.append("".join(parts))

    while i < n:
        c = line[i]
        if c == "\\" and i + 1 < n:  # a backslash escape: the pair stays as it is
            text.append(line[i : i + 2])
            i += 2
            continue
        if c == "`":
            j = i
            while j < n and line[j] == "`":
                j += 1
            run = j - i
            close = _closing_run(line, j, run)
            if close is None:
                text.append("\\`" * run)
                i = j
                continue
            flush()
            out.append(line[i : close + run])
            i = close + run
            continue
        text.append(c)
        i += 1
    flush()
    return "".join(out)


def _closing_run(line: str, start: int, run: int) -> int | None:
    """Where the next run of exactly `run` backticks after `start` begins (None: there is none)."""
    i, n = start, len(line)
    while i < n:
        if line[i] == "`":
            j = i
            while j < n and line[j] == "`":
                j += 1
            if j - i == run:
                return i
            i = j
        else:
            i += 1
    return None
