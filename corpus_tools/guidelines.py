"""The annotation guidelines as a published dataset ships them: their version and their text.

The guidelines are a Markdown file with one line `Guidelines version: N` (in this repository,
the "Annotation guidelines" section of CONTRIBUTING.md). The section the version line belongs to
(from the heading above it to the next heading of the same or a higher level) is the guidelines;
a file whose version line has no heading above it is the guidelines as a whole.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from corpus_tools.errors import CorpusToolsError
from corpus_tools.files import display, read_text

VERSION_LINE = re.compile(r"^Guidelines version: *(\S+) *$", re.M)
_HEADING = re.compile(r"^(#{1,6})[ \t]+\S.*$", re.M)


@dataclass(frozen=True)
class Guidelines:
    """A version of the annotation guidelines."""

    version: str
    text: str
    """The guidelines' section of the file, Markdown, headings as they are."""
    source: Path

    def document(self) -> str:
        """The guidelines as a file of their own (`GUIDELINES.md` of a published dataset): the
        section's heading made the title (every heading raised as much), and a line saying
        where they come from."""
        headings = _headings(self.text)
        shift = headings[0][1] - 1 if headings and headings[0][0] == 0 else 0
        out, last = [], 0
        for start, _level in headings:
            out.append(self.text[last:start])
            last = start + shift
        out.append(self.text[last:])
        text = "".join(out)
        note = (
            f"*Version {self.version}, as published with the dataset: the guidelines its gold "
            f"follows, from {self.source.name}.*\n\n"
        )
        first, _, rest = text.partition("\n")
        return f"{first}\n\n{note}{rest.lstrip()}" if first.startswith("#") else note + text


def read_guidelines(path: Path | str) -> Guidelines:
    """The guidelines in `path`: the version its `Guidelines version: N` line states, and the
    section that line is in.

    Raises:
        CorpusToolsError: when the file cannot be read or states no version (or several).
    """
    path = Path(path)
    text = read_text(path, "guidelines")
    found = list(VERSION_LINE.finditer(text))
    if len(found) != 1:
        raise CorpusToolsError(
            f"{display(path)}: the guidelines must have one line `Guidelines version: N` (found {len(found)})"
        )
    version, at = found[0].group(1), found[0].start()
    headings = _headings(text)
    above = [(start, level) for start, level in headings if start < at]
    if not above:
        return Guidelines(version, text.strip() + "\n", path)
    start, level = above[-1]
    end = next((s for s, lv in headings if s > start and lv <= level), len(text))
    return Guidelines(version, text[start:end].strip() + "\n", path)


def _headings(text: str) -> list[tuple[int, int]]:
    """`(offset, level)` of each ATX heading outside fenced code blocks."""
    out: list[tuple[int, int]] = []
    fence: str | None = None
    offset = 0
    for line in text.splitlines(keepends=True):
        stripped = line.lstrip()
        marker = re.match(r"(`{3,}|~{3,})", stripped)
        if marker is not None:
            if fence is None:
                fence = marker.group(1)[0] * len(marker.group(1))
            elif stripped.startswith(fence):
                fence = None
        elif fence is None and (m := _HEADING.match(line)) is not None:
            out.append((offset, len(m.group(1))))
        offset += len(line)
    return out
