"""The rules of one record that the models cannot express: offsets, span text, references.

They run on the parsed JSON object rather than on a `Record`, and skip whatever has the wrong
type, so that a line with a structural error still gets its offsets and references checked and
the annotator sees every problem of the line in one run. Structural errors themselves are the
models' job (`corpus_tools.schema`).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

from corpus_tools.schema import AUTHOR

Finding = tuple[str, str, str]
"""`(code, field_path, message)`: a problem of one record, before it is given a file and line."""

SPAN_FIELDS = {
    "rhetorical_questions": ((None, "question"), ("answer", "answer")),
    "attributions": (("source", "source"), ("cue", "cue"), ("content", "content")),
    "stances": ((None, "stance"),),
}
"""Where each layer's spans are: a sub-object name (None: the item itself is the span)."""


def check_record(rec: dict[str, Any]) -> Iterator[Finding]:
    """Yield the offset, span, reference and language problems of one parsed record."""
    meta = rec.get("meta")
    language = meta.get("language") if isinstance(meta, dict) else None
    if isinstance(language, str) and not is_language_tag(language):
        yield ("invalid-language", "meta.language",
               f"{language!r} is not a BCP 47 language tag; use one such as 'en', 'en-GB', 'de', "
               "'zh-Hant', or 'und' when the language is not known")
    text = rec.get("text")
    if not isinstance(text, str):
        text = None
    seen_ids: dict[str, str] = {}
    attributions: dict[str, tuple[str, dict[str, Any]]] = {}
    for layer, span_fields in SPAN_FIELDS.items():
        items = rec.get(layer)
        if not isinstance(items, list):
            continue
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                continue
            path = f"{layer}[{i}]"
            item_id = item.get("id")
            if isinstance(item_id, str):
                if item_id in seen_ids:
                    yield ("duplicate-id", f"{path}.id",
                           f"id {item_id!r} is already used by {seen_ids[item_id]}; "
                           "give each annotation of the line its own id")
                else:
                    seen_ids[item_id] = path
                    if layer == "attributions":
                        attributions[item_id] = (path, item)
            if text is not None:
                for name, _label in span_fields:
                    span = item if name is None else item.get(name)
                    if isinstance(span, dict):
                        yield from check_span(text, span, path if name is None else f"{path}.{name}")
            if layer == "rhetorical_questions" and item.get("answer") is not None \
                    and item.get("kind") != "hypophora":
                yield ("answer-without-hypophora", f"{path}.answer",
                       f"the question has an answer but its kind is {item.get('kind')!r}; "
                       "only a hypophora is answered by its author")
    yield from _check_nesting(attributions)
    yield from _check_holders(rec.get("stances"), attributions)


@functools.lru_cache(maxsize=1024)
def is_language_tag(tag: str) -> bool:
    """Whether `tag` is a valid BCP 47 language tag (registered subtags, hyphens, no spaces),
    as the `langcodes` package checks it against the IANA registry."""
    if not tag or "_" in tag or tag != tag.strip() or any(c.isspace() for c in tag):
        return False
    import langcodes  # its registry loads on first use; most corpora use one or two tags

    return bool(langcodes.tag_is_valid(tag))


def check_span(text: str, span: dict[str, Any], path: str) -> Iterator[Finding]:
    """Yield the problems of one `{start, end, text}` span against the document text."""
    start, end, covered = span.get("start"), span.get("end"), span.get("text")
    if type(start) is not int or type(end) is not int:
        return  # a type error the models report
    if start < 0 or end > len(text):
        bad, value = ("start", start) if start < 0 else ("end", end)
        yield ("offset-out-of-range", f"{path}.{bad}",
               f"{bad} {value} is outside the text, which has {len(text)} code points "
               f"(valid offsets are 0..{len(text)})")
        return
    if end <= start:
        yield ("empty-span", f"{path}.end",
               f"end {end} is not after start {start}; spans are half-open [start, end)")
        return
    actual = text[start:end]
    if isinstance(covered, str) and covered != actual:
        yield ("span-text-mismatch", f"{path}.text",
               f"text {_clip(covered)} differs from text[{start}:{end}] = {_clip(actual)}"
               + _locate_hint(text, covered, start))
        return
    if actual[0].isspace() or actual[-1].isspace():
        yield ("span-whitespace", path,
               f"span [{start}, {end}) {_clip(actual)} starts or ends with whitespace; "
               "trim it to the first and last non-space character")
    elif splits_word(text, start, end):
        context = text[max(0, start - 10):end + 10]
        yield ("span-splits-word", path,
               f"span [{start}, {end}) {_clip(actual)} starts or ends inside a word "
               f"(in {_clip(context)}); move the boundary to the word's edge")


def splits_word(text: str, start: int, end: int) -> bool:
    """Whether `[start, end)` cuts a word: a letter or digit on both sides of a boundary.

    Scripts written without spaces between words (Chinese, Japanese, Thai, ...) have no such
    boundaries to check, so their characters never count as cutting a word.
    """
    return ((start > 0 and _in_word(text[start - 1]) and _in_word(text[start]))
            or (end < len(text) and _in_word(text[end]) and _in_word(text[end - 1])))


def _in_word(c: str) -> bool:
    return c.isalnum() and not _unspaced(c)


def _unspaced(c: str) -> bool:
    o = ord(c)
    # Thai, Lao, Tibetan, Myanmar, Khmer; CJK, kana, Hangul and the rest from U+2E80 upwards
    # (Latin, Greek, Cyrillic, Arabic, Hebrew and Indic scripts lie below).
    return 0x0E00 <= o <= 0x109F or 0x1780 <= o <= 0x17FF or 0x2E80 <= o <= 0xD7FF \
        or 0xF900 <= o <= 0xFAFF or o >= 0x20000


def _check_nesting(attributions: dict[str, tuple[str, dict[str, Any]]]) -> Iterator[Finding]:
    for item_id, (path, item) in attributions.items():
        parent_id = item.get("nested_in")
        if not isinstance(parent_id, str):
            continue
        if parent_id not in attributions:
            yield ("unknown-parent", f"{path}.nested_in",
                   f"nested_in {parent_id!r} is not the id of an attribution in this line")
            continue
        # Walk up the chain; a chain that comes back to this item is a cycle.
        chain, current = [item_id], parent_id
        while isinstance(current, str) and current in attributions and current not in chain:
            chain.append(current)
            current = attributions[current][1].get("nested_in")
        if current == item_id:
            yield ("nesting-cycle", f"{path}.nested_in",
                   "attributions nest in a cycle: " + " -> ".join([*chain, item_id]))
            continue
        parent_content = attributions[parent_id][1].get("content")
        bounds = _bounds(parent_content)
        if bounds is None:
            continue
        for part in ("source", "cue", "content"):
            inner = _bounds(item.get(part))
            if inner is not None and not (bounds[0] <= inner[0] and inner[1] <= bounds[1]):
                yield ("nested-outside-parent", f"{path}.{part}",
                       f"{part} [{inner[0]}, {inner[1]}) is not inside the content "
                       f"[{bounds[0]}, {bounds[1]}) of {parent_id!r}, which nested_in names")


def _check_holders(stances: Any, attributions: dict[str, Any]) -> Iterator[Finding]:
    if not isinstance(stances, list):
        return
    for i, item in enumerate(stances):
        holder = item.get("holder") if isinstance(item, dict) else None
        if not isinstance(holder, str) or holder == AUTHOR:
            continue
        if holder not in attributions:
            yield ("unknown-holder", f"stances[{i}].holder",
                   f"holder {holder!r} is neither 'author' nor the id of an attribution "
                   f"in this line (attributions: {', '.join(attributions) or 'none'})")
            continue
        content, span = _bounds(attributions[holder][1].get("content")), _bounds(item)
        if content is not None and span is not None \
                and not (content[0] <= span[0] and span[1] <= content[1]):
            yield ("holder-outside-content", f"stances[{i}].holder",
                   f"the stance [{span[0]}, {span[1]}) lies outside the content "
                   f"[{content[0]}, {content[1]}) of its holder {holder!r}; a stance outside "
                   "any quotation or report is held by 'author'")


def _bounds(span: Any) -> tuple[int, int] | None:
    if isinstance(span, dict) and type(span.get("start")) is int and type(span.get("end")) is int:
        return span["start"], span["end"]
    return None


def _clip(s: str, width: int = 60) -> str:
    return repr(s if len(s) <= width else s[: width - 3] + "...")


def nearest(text: str, needle: str, near: int) -> int | None:
    """Where `needle` occurs in `text` closest to position `near`, or None if nowhere."""
    best, pos = None, text.find(needle) if needle else -1
    while pos != -1:
        if best is None or abs(pos - near) < abs(best - near):
            best = pos
        pos = text.find(needle, pos + 1)
    return best


def _locate_hint(text: str, covered: str, start: int) -> str:
    """Where the span text does occur, nearest to `start`, to tell a shift from a typo."""
    if not covered:
        return ""
    best = nearest(text, covered, start)
    if best is None:
        return "; the span text does not occur in the document"
    shift = best - start
    return (f"; it occurs at [{best}, {best + len(covered)}) ({shift:+d} code points): "
            "offsets counted in UTF-16 units, bytes or with CR LF shift like this")
