"""Offset units: detect how a tool counted, convert to code points, and check every span.

Annotation tools count offsets in different units. Python (and our records) count Unicode code
points; Label Studio before 2021, doccano and INCEpTION count UTF-16 code units, so every
character outside the Basic Multilingual Plane (an emoji) shifts later offsets by one; some
tools count UTF-8 bytes; brat counts a CR LF line break as one character because it reads the
text with universal newlines; doccano's "grapheme mode" counts extended grapheme clusters (a CR
LF, an emoji with a skin tone or a ZWJ sequence, a letter with combining marks: one each). An
`OffsetMap` translates one unit into code points for one text.

`resolve` chooses, for one document, the unit under which the tool's spans fit the text best
(its span text, where the tool stores one, must equal the covered text), converts every span,
and says for each span that does not fit what is wrong, so that no span is shifted or dropped
without a word.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import regex

from corpus_tools.validate.rules import nearest

Fragments = list[tuple[int, int]]
"""A span as the tool stores it: one or more `(start, end)` fragments in the tool's unit."""

Matcher = Callable[[list[str], str], bool]
"""`matcher(covered_fragments, tool_text)`: whether the tool's span text fits the covered text."""

Steps = Callable[[str], Iterator[tuple[int, int]]]
"""`steps(text)` walks a text in a unit: `(code points, units)` for each step."""


@dataclass(frozen=True)
class Unit:
    """How a tool counts offsets."""

    name: str
    """Stable name used in reports: `codepoint`, `utf16`, `utf8`, `codepoint+crlf`, `utf16+crlf`,
    `grapheme`."""
    description: str
    """Human wording for messages."""
    steps: Steps
    """How the unit walks a text; an offset exists only between two steps."""
    merges_crlf: bool = False
    """Whether a CR LF pair is one step (then an ASCII text with CR LF is not counted as is)."""


def _per_character(width: Callable[[str], int], crlf: bool) -> Steps:
    def steps(text: str) -> Iterator[tuple[int, int]]:
        i, n = 0, len(text)
        while i < n:
            if crlf and text[i] == "\r" and i + 1 < n and text[i + 1] == "\n":
                yield 2, 1  # brat's universal newlines: CR LF is one character
                i += 2
                continue
            yield 1, width(text[i])
            i += 1

    return steps


def _graphemes(text: str) -> Iterator[tuple[int, int]]:
    # Extended grapheme clusters (Unicode UAX #29), as doccano's grapheme mode counts them.
    for cluster in regex.finditer(r"\X", text):
        yield cluster.end() - cluster.start(), 1


def _cp(ch: str) -> int:
    return 1


def _utf16(ch: str) -> int:
    return 2 if ord(ch) > 0xFFFF else 1


def _utf8(ch: str) -> int:
    o = ord(ch)
    return 1 if o < 0x80 else 2 if o < 0x800 else 3 if o < 0x10000 else 4


UNITS: dict[str, Unit] = {
    u.name: u
    for u in [
        Unit("codepoint", "code points", _per_character(_cp, False)),
        Unit("utf16", "UTF-16 code units", _per_character(_utf16, False)),
        Unit("utf8", "UTF-8 bytes", _per_character(_utf8, False)),
        Unit("codepoint+crlf", "code points with CR LF counted as one", _per_character(_cp, True), True),
        Unit("utf16+crlf", "UTF-16 code units with CR LF counted as one", _per_character(_utf16, True), True),
        Unit("grapheme", "grapheme clusters (CR LF and emoji sequences counted as one)", _graphemes, True),
    ]
}


class OffsetMap:
    """Translate offsets in one unit into code points of one text, and back."""

    def __init__(self, text: str, unit: Unit) -> None:
        self.text = text
        self.unit = unit
        # Most texts are ASCII: every unit is then a code point (in ASCII the only grapheme
        # cluster of two code points is CR LF), so no table is needed.
        self.identity = unit.name == "codepoint" or (
            text.isascii() and not (unit.merges_crlf and "\r\n" in text)
        )
        self._to_cp: array[int] | None = None
        self._from_cp: array[int] | None = None

    def _build(self) -> tuple[array[int], array[int]]:
        if self._to_cp is None or self._from_cp is None:
            to_cp = array("q")
            from_cp = array("q")
            i = pos = 0
            for cps, units in self.unit.steps(self.text):
                from_cp.append(pos)
                from_cp.extend([-1] * (cps - 1))  # inside a step: no offset in this unit
                to_cp.append(i)
                to_cp.extend([-1] * (units - 1))  # offsets inside one step are not boundaries
                i += cps
                pos += units
            to_cp.append(len(self.text))
            from_cp.append(pos)
            self._to_cp, self._from_cp = to_cp, from_cp
        return self._to_cp, self._from_cp

    @property
    def length(self) -> int:
        """Length of the text in this unit."""
        if self.identity:
            return len(self.text)
        return len(self._build()[0]) - 1

    def to_codepoint(self, offset: int) -> int | None:
        """The code point index of `offset`, or None when it is out of range or not a boundary."""
        if self.identity:
            return offset if 0 <= offset <= len(self.text) else None
        to_cp = self._build()[0]
        if not 0 <= offset < len(to_cp):
            return None
        cp = to_cp[offset]
        return None if cp < 0 else cp

    def from_codepoint(self, cp: int) -> int:
        """The offset in this unit of code point index `cp` (for writing a tool's format).

        Raises:
            ValueError: when `cp` is outside the text or inside one step of the unit (between
                the CR and LF of a line break, inside a grapheme cluster).
        """
        if self.identity:
            if not 0 <= cp <= len(self.text):
                raise ValueError(f"offset {cp} is outside the text")
            return cp
        from_cp = self._build()[1]
        if not 0 <= cp < len(from_cp) or from_cp[cp] < 0:
            raise ValueError(f"offset {cp} cannot be expressed in {self.unit.description}")
        return from_cp[cp]


def exact(covered: list[str], given: str) -> bool:
    """The default matcher: fragments joined by one space (brat's convention) equal the text."""
    return " ".join(covered) == given


@dataclass
class SpanCheck:
    """The outcome for one span under one unit."""

    start: int | None = None
    end: int | None = None
    """Code point offsets covering all fragments; None when the span failed."""
    reason: str = ""
    """Why the span failed (empty when it fits)."""
    fits_words: bool = True
    """Whether the span starts and ends on word boundaries (a weak signal for spans without text)."""

    @property
    def ok(self) -> bool:
        return self.start is not None


def check_span(
    text: str, omap: OffsetMap, fragments: Fragments, given: str | None, matcher: Matcher = exact
) -> SpanCheck:
    """Convert one span's fragments with `omap` and check them against the text."""
    covered: list[str] = []
    bounds: list[tuple[int, int]] = []
    for s, e in fragments:
        cs, ce = omap.to_codepoint(s), omap.to_codepoint(e)
        if cs is None or ce is None:
            bad, value = ("start", s) if cs is None else ("end", e)
            if 0 <= value <= omap.length:
                return SpanCheck(
                    reason=f"{bad} {value} falls inside a character when counted in {omap.unit.description}"
                )
            return SpanCheck(
                reason=f"{bad} {value} is outside the text, which has {omap.length} {omap.unit.description}"
            )
        if ce <= cs:
            return SpanCheck(reason=f"end {e} is not after start {s}")
        covered.append(text[cs:ce])
        bounds.append((cs, ce))
    start, end = bounds[0][0], bounds[-1][1]
    if given is not None and not matcher(covered, given):
        return SpanCheck(
            reason=f"its text {_clip(given)} differs from the covered text {_clip(' '.join(covered))}"
        )
    return SpanCheck(start=start, end=end, fits_words=_fits_words(text, start, end))


def _fits_words(text: str, start: int, end: int) -> bool:
    inner = text[start:end]
    if inner[0].isspace() or inner[-1].isspace():
        return False
    if start > 0 and text[start - 1].isalnum() and text[start].isalnum():
        return False
    return not (end < len(text) and text[end - 1].isalnum() and text[end].isalnum())


@dataclass
class Resolution:
    """The unit chosen for one document and the outcome for each of its spans."""

    unit: Unit
    checks: list[SpanCheck]
    hints: dict[int, str]
    """For failed spans (by index): what would have fit, to tell a wrong unit from a bad span."""


def resolve(
    text: str, spans: Sequence[tuple[Fragments, str | None]], units: Sequence[str], matcher: Matcher = exact
) -> Resolution:
    """Choose the unit that fits the most spans of one document, and check every span in it.

    Args:
        text: the document text, exactly as the record will hold it.
        spans: each span's fragments (in the tool's unit) and its text, if the tool stores one.
        units: candidate unit names, the tool's documented unit first; it wins ties.
        matcher: how a tool's span text is compared with the covered text.

    Returns:
        A `Resolution`: the unit, one `SpanCheck` per span, and hints for the failed ones.
    """
    best: tuple[tuple[int, int, int], Unit, list[SpanCheck], OffsetMap] | None = None
    maps: dict[str, OffsetMap] = {}
    for name in units:
        unit = UNITS[name]
        omap = OffsetMap(text, unit)
        maps[name] = omap
        checks = [check_span(text, omap, f, g, matcher) for f, g in spans]
        # Evidence in order of strength: spans whose stored text matches, spans that start and
        # end on word boundaries, spans that merely lie inside the text. Ties go to the tool's
        # documented unit, which comes first.
        score = (
            sum(c.ok and g is not None for c, (_f, g) in zip(checks, spans, strict=True)),
            sum(c.ok and c.fits_words for c in checks),
            sum(c.ok for c in checks),
        )
        if best is None or score > best[0]:
            best = (score, unit, checks, omap)
        if all(c.ok and c.fits_words for c in checks):
            break  # every span fits this unit on word boundaries: no need to look further
    assert best is not None
    _, unit, checks, _ = best
    for i, c in enumerate(checks):
        fragments, given = spans[i]
        if not c.ok or c.fits_words or given is not None:
            continue
        # A span without text that cuts a word here but sits on word boundaries in another of
        # the tool's units: the document fits no one unit, and no guess is made.
        for name in units:
            other = check_span(text, maps.get(name) or OffsetMap(text, UNITS[name]), fragments, None)
            if (
                name != unit.name
                and other.ok
                and other.fits_words
                and (other.start, other.end) != (c.start, c.end)
            ):
                assert c.start is not None and c.end is not None and other.start is not None
                assert other.end is not None
                checks[i] = SpanCheck(
                    reason=(
                        f"counted in {unit.description}, as the document's other spans fit best, it "
                        f"covers {_clip(text[c.start : c.end])}, which cuts a word or starts or ends with "
                        f"a space; counted in {UNITS[name].description} it covers "
                        f"{_clip(text[other.start : other.end])}: no offset unit fits every span of "
                        "this document"
                    )
                )
                break
    hints: dict[int, str] = {}
    for i, c in enumerate(checks):
        if c.ok:
            continue
        fragments, given = spans[i]
        others = [maps.get(n) or OffsetMap(text, UNITS[n]) for n in UNITS if n != unit.name]
        fits = [m.unit.description for m in others if check_span(text, m, fragments, given, matcher).ok]
        if fits and given is not None:
            hints[i] = (
                f"it fits if counted in {fits[0]} while the rest of the document is in "
                f"{unit.description}: a wrong offset unit for this span"
            )
        elif given:
            hints[i] = locate(text, given, fragments[0][0], maps[unit.name])
    return Resolution(unit=unit, checks=checks, hints=hints)


def locate(text: str, needle: str, near: int, omap: OffsetMap) -> str:
    """Where `needle` occurs in `text`, nearest to `near` (in `omap`'s unit), worded for a
    message in the tool's unit, the offsets one types into the tool, and in code points."""
    best = nearest(text, needle, omap.to_codepoint(near) or near)
    if best is None:
        return "the span text does not occur in the document"
    cps = f"[{best}, {best + len(needle)})"
    try:
        start, end = omap.from_codepoint(best), omap.from_codepoint(best + len(needle))
    except ValueError:  # not expressible in the tool's unit (inside a CR LF): code points only
        return f"the span text occurs at {cps} in code points"
    if (start, end) == (best, best + len(needle)):
        return f"the span text occurs at [{start}, {end}) ({omap.unit.description})"
    return f"the span text occurs at [{start}, {end}) in {omap.unit.description} (code points {cps})"


def _clip(s: str, width: int = 60) -> str:
    return repr(s if len(s) <= width else s[: width - 3] + "...")
