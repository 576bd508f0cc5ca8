"""The rules of one record that the models cannot express: offsets, span text, references,
the language tag. They loop over the layers (`corpus_tools.layers`), so a new layer's spans and
references are checked without a line here.

They run on the parsed JSON object rather than on a `Record`, and skip whatever has the wrong
type, so that a line with a structural error still gets its offsets and references checked and
the annotator sees every problem of the line in one run. Structural errors themselves are the
models' job (`corpus_tools.schema`).
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

from corpus_tools.errors import CorpusToolsError
from corpus_tools.files import display, iter_json_lines
from corpus_tools.layers import LAYERS, Layer, Reference
from corpus_tools.matching import fold, normalise_target
from corpus_tools.schema import AUTHOR, is_name


class Finding(NamedTuple):
    """A problem of one record, before it is given a file and a line."""

    code: str
    path: str
    """Where in the record: `attributions[1].content.end` (empty for the whole line)."""
    message: str


def check_record(rec: dict[str, Any], *, guidelines: bool = True) -> Iterator[Finding]:
    """Yield the offset, span, reference and language problems of one parsed record, and with
    `guidelines` the warnings of the guidelines a machine can check (a model's predictions are
    scored, not held to the annotation guidelines)."""
    meta = rec.get("meta")
    language = meta.get("language") if isinstance(meta, dict) else None
    if isinstance(language, str) and not is_language_tag(language):
        yield Finding(
            "invalid-language",
            "meta.language",
            f"{language!r} is not a BCP 47 language tag; use one such as 'en', 'en-GB', 'de', "
            "'zh-Hant', or 'und' when the language is not known",
        )
    text = rec.get("text")
    if not isinstance(text, str):
        text = None
    seen_ids: dict[str, str] = {}
    # The items that references may name, by layer: id -> (path, item).
    named: dict[str, dict[str, tuple[str, dict[str, Any]]]] = {
        layer.reference.target: {} for layer in LAYERS.values() if layer.reference is not None
    }
    for layer in LAYERS.values():
        items = rec.get(layer.name)
        if not isinstance(items, list):
            continue
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                continue
            path = f"{layer.name}[{i}]"
            item_id = item.get("id")
            if isinstance(item_id, str):
                if item_id in seen_ids:
                    yield Finding(
                        "duplicate-id",
                        f"{path}.id",
                        f"id {item_id!r} is already used by {seen_ids[item_id]}; "
                        "give each annotation of the line its own id",
                    )
                else:
                    seen_ids[item_id] = path
                    if layer.name in named:
                        named[layer.name][item_id] = (path, item)
            for part in layer.parts:
                span = part.of(item)
                if text is not None and isinstance(span, dict):
                    yield from check_span(text, span, path if part.field is None else f"{path}.{part.field}")
                if part.only_if is not None and span is not None:
                    label, required = part.only_if
                    # Without the label (a prediction may leave it out) there is nothing to compare.
                    if item.get(label) is not None and item.get(label) != required:
                        yield Finding(
                            "answer-without-hypophora",
                            f"{path}.{part.field}",
                            f"the {layer.parts[0].name} has an {part.name} but its {label} is "
                            f"{item.get(label)!r}; only a {required} is answered by its author",
                        )
    for layer in LAYERS.values():
        if layer.reference is not None and isinstance(rec.get(layer.name), list):
            yield from _check_references(
                layer, layer.reference, rec[layer.name], named[layer.reference.target]
            )
    if text is not None and guidelines:
        doc_id = rec.get("doc_id")
        yield from _check_guidelines(rec, text, ALIASES.get(doc_id) if isinstance(doc_id, str) else None)


# -- checks of the guidelines that a machine can make -----------------------------------------
#
# Each is a warning: it flags what breaks a rule of CONTRIBUTING.md in most cases. The
# validator's fast path (`_native.c`) calls the same predicates where they take more than a
# comparison (word cuts, an answer's position, asides, targets, nested ids, language tags), so
# both agree; the rest (a question's `?`, the innermost content, a holder) it mirrors, and
# `tests/test_mirror.py` checks that it agrees.

ALIASES: dict[Any, frozenset[str]] = {}
"""`doc_id -> normalised targets` declared in the alias file (`load_aliases`): targets that do
not occur in the text in that form (the author's name, one string for several wordings, S7)."""


def target_occurs(target: str, text: str, folded: list[str], declared: frozenset[str] | None) -> bool:
    """Whether a stance target can be checked against the document (S7): it occurs in the text
    (a leading "the" aside, case and spacing ignored), or the alias file declares it.
    `folded` caches the normalised text across a record's stances (computed on first need)."""
    t = target[4:] if target[:4].lower() == "the " else target
    if t and t in text:
        return True
    n = normalise_target(t)
    if not n:
        return False
    if declared is not None and normalise_target(target) in declared:
        return True
    if not folded:
        folded.append(fold(text))
    return n in folded[0]


def innermost(span: tuple[int, int], contents: dict[str, tuple[int, int]]) -> str | None:
    """The id of the innermost attribution whose content contains `span` (S9), or None."""
    start, end = span
    best: str | None = None
    width = 0
    for attribution_id, (lo, hi) in contents.items():
        if lo <= start and end <= hi and (best is None or hi - lo < width):
            best, width = attribution_id, hi - lo
    return best


_OPEN, _CLOSE = "([", ")]"


def in_aside(text: str, content: tuple[int, int], span: tuple[int, int]) -> bool:
    """Whether `span` lies in a bracketed aside inside a content ("(and she bared her right arm
    to the shoulder, showing her tremendous muscular power)"): the author's words, not the
    source's (A9, S9, H14), though the quotation runs over them."""
    before = text[content[0] : span[0]]
    if "(" not in before and "[" not in before:  # the usual case, found by two C scans
        return False
    depth = 0
    for ch in before:
        depth += (ch in _OPEN) - (ch in _CLOSE)
        depth = max(depth, 0)
    if depth == 0:
        return False
    for ch in text[span[1] : content[1]]:
        depth -= (ch in _CLOSE) - (ch in _OPEN)
        if depth == 0:
            return True
    return False


def answer_follows(
    text: str, question: tuple[int, int], answer: tuple[int, int], questions: list[tuple[int, int]]
) -> bool:
    """Whether an answer comes right after its question, or after the run of questions it ends
    (Q4: position): between them only spaces, quotation marks, dashes and other questions, and a
    coordinating conjunction that Q8 and Q10 leave out of a span (the `Or` between alternative
    questions, Q11; the `But` of "But no: I find")."""
    if answer[0] < question[1]:
        return False
    covered = sorted(q for q in questions if question[1] <= q[0] and q[1] <= answer[0])
    position = question[1]
    for lo, hi in [*covered, (answer[0], answer[0])]:
        gap = text[position:lo].strip(_BETWEEN)
        # Before the next question of the run, the words of its own sentence may come first
        # ("I ask every sensible man if that is not so?", an item from `if`, Q8); before the
        # answer, only a conjunction.
        within_sentence = lo != answer[0] and not any(c in gap for c in ".!?")
        if gap and gap.casefold() not in _CONJUNCTIONS and not within_sentence:
            return False
        position = max(position, hi)
    return True


_BETWEEN = " \t\r\n\"'\u201c\u201d\u2018\u2019\u00ab\u00bb\u2014\u2013-)(]["
_CONJUNCTIONS = frozenset({"and", "but", "or", "nor", "so", "yet", "for"})
_ID_NUMBER = re.compile(r"[A-Za-z]+(\d+)")


@functools.lru_cache(maxsize=4096)  # ids repeat across records (t1, t2, ...)
def outer_first(child_id: str, parent_id: str) -> bool:
    """Whether a nested attribution's id comes after its parent's (G6: outer first), for ids
    numbered with a prefix (`t3`); other ids cannot be compared."""
    child, parent = _ID_NUMBER.fullmatch(child_id), _ID_NUMBER.fullmatch(parent_id)
    return child is None or parent is None or int(parent[1]) < int(child[1])


def _check_guidelines(rec: dict[str, Any], text: str, declared: frozenset[str] | None) -> Iterator[Finding]:
    spans = [b for b in (_bounds(q) for q in _items(rec, "rhetorical_questions")) if b is not None]
    for i, q in _indexed(rec, "rhetorical_questions"):
        covered, bounds = q.get("text"), _bounds(q)
        if isinstance(covered, str) and covered and not covered.endswith("?"):
            yield Finding(
                "question-without-mark",
                f"rhetorical_questions[{i}].end",
                f"the question {_clip(covered)} does not end with its '?' (Q9: the span "
                "ends on the question mark; Q1: only clauses ending in '?' are annotated)",
            )
        answer = _bounds(q.get("answer"))
        if (
            bounds is not None
            and answer is not None
            and 0 <= bounds[1] <= len(text)
            and answer[0] <= len(text)
            and not answer_follows(text, bounds, answer, spans)
        ):
            yield Finding(
                "answer-not-next",
                f"rhetorical_questions[{i}].answer",
                f"the answer [{answer[0]}, {answer[1]}) does not come right after the "
                "question (or the run of questions it ends); Q4: a later answer makes no "
                "hypophora",
            )
    attributions = list(_items(rec, "attributions"))
    contents = {
        a["id"]: b
        for a in attributions
        if isinstance(a.get("id"), str)
        and (b := _bounds(a.get("content"))) is not None
        and 0 <= b[0] < b[1] <= len(text)
    }
    parents = {a["id"]: a.get("nested_in") for a in attributions if isinstance(a.get("id"), str)}
    quoted = {
        a["id"]
        for a in attributions
        if a.get("type") == "direct" and isinstance(a.get("id"), str) and a["id"] in contents
    }
    for i, a in _indexed(rec, "attributions"):
        parent, own = a.get("nested_in"), a.get("id")
        if (
            isinstance(parent, str)
            and isinstance(own, str)
            and parent in contents
            and not _in_cycle(own, parents)
            and not outer_first(own, parent)
        ):
            yield Finding(
                "attribution-order",
                f"attributions[{i}].id",
                f"{own!r} is nested in {parent!r} but numbered before it; number "
                "attributions outer first (G6)",
            )
    folded: list[str] = []
    for i, s in _indexed(rec, "stances"):
        bounds, holder, target = _bounds(s), s.get("holder"), s.get("target")
        if bounds is not None and isinstance(holder, str):
            inner = innermost(bounds, contents)
            if (
                holder == AUTHOR
                and inner is not None
                and inner in quoted
                and not in_aside(text, contents[inner], bounds)
            ):
                yield Finding(
                    "holder-not-innermost",
                    f"stances[{i}].holder",
                    f"the stance lies inside the direct quotation {inner!r}, whose words "
                    f"are its source's: the holder is {inner!r}, not 'author' (S9)",
                )
            elif (
                holder != AUTHOR
                and holder in contents
                and inner is not None
                and inner != holder
                and contents[inner] != contents[holder]
                and contents[holder][0] <= bounds[0]
                and bounds[1] <= contents[holder][1]
            ):
                yield Finding(
                    "holder-not-innermost",
                    f"stances[{i}].holder",
                    f"the stance lies inside {inner!r}, which is nested in {holder!r}: the "
                    f"holder is the innermost attribution whose content holds it, {inner!r} (S9)",
                )
        if isinstance(target, str) and target and not target_occurs(target, text, folded, declared):
            yield Finding(
                "target-not-in-text",
                f"stances[{i}].target",
                f"the target {target!r} does not occur in the text (S7: write it in the "
                "document's words; a form that does not occur needs an entry in the alias "
                "file)",
            )


@contextlib.contextmanager
def using_aliases(paths: Iterable[Path]) -> Iterator[None]:
    """Check targets against the alias files at `paths` (none: no aliases; several: a
    document's entries in each are merged) while the block runs (workers forked in it inherit
    them)."""
    ALIASES.clear()
    for path in paths:
        for doc_id, targets in load_aliases(path).items():
            ALIASES[doc_id] = ALIASES.get(doc_id, frozenset()) | targets
    try:
        yield
    finally:
        ALIASES.clear()


def _indexed(rec: dict[str, Any], layer: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """`(index, item)` of the layer's items that are objects (a wrong type is the models' to
    report)."""
    items = rec.get(layer)
    if isinstance(items, list):
        yield from ((i, item) for i, item in enumerate(items) if isinstance(item, dict))


def _items(rec: dict[str, Any], layer: str) -> Iterator[dict[str, Any]]:
    return (item for _i, item in _indexed(rec, layer))


def _in_cycle(start: str, parents: dict[str, Any]) -> bool:
    seen, current = {start}, parents.get(start)
    while isinstance(current, str) and current in parents:
        if current in seen:
            return True
        seen.add(current)
        current = parents[current]
    return False


def load_aliases(path: Path) -> dict[str, frozenset[str]]:
    """The alias file (`documents/aliases.jsonl`): one line per document,
    `{"doc_id": ..., "aliases": {"<target>": ["<form in the text>", ...]}}`.

    Raises:
        CorpusToolsError: naming the file and line, for a line that is not of that shape.
    """
    out: dict[str, frozenset[str]] = {}
    for number, obj in iter_json_lines(path, "alias file"):
        aliases = obj.get("aliases") if isinstance(obj, dict) else None
        doc_id = obj.get("doc_id") if isinstance(obj, dict) else None
        if (
            not isinstance(doc_id, str)
            or not isinstance(aliases, dict)
            or not all(
                isinstance(k, str) and isinstance(v, list) and v and all(isinstance(f, str) for f in v)
                for k, v in aliases.items()
            )
        ):
            raise CorpusToolsError(
                f"{display(path)}:{number}: an alias line is "
                '{"doc_id": "...", "aliases": {"<target>": ["<form in the text>", ...]}}'
            )
        if doc_id in out:
            raise CorpusToolsError(f"{display(path)}:{number}: {doc_id!r} has a line already; keep one")
        out[doc_id] = frozenset(normalise_target(k) for k in aliases)
    return out


def _check_references(
    layer: Layer, ref: Reference, items: list[Any], named: dict[str, tuple[str, dict[str, Any]]]
) -> Iterator[Finding]:
    """`holder` and `nested_in`: the attribution named exists, contains the item, and (nesting)
    the chain of references does not come back to the item."""
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            continue
        path = f"{layer.name}[{i}]"
        value = item.get(ref.field)
        if not isinstance(value, str) or (ref.author and value == AUTHOR):
            continue
        if value not in named:
            either = "neither 'author' nor" if ref.author else "not"
            yield Finding(
                ref.unknown,
                f"{path}.{ref.field}",
                f"{ref.field} {value!r} is {either} the id of an attribution in this line "
                f"(attributions: {', '.join(filter(is_name, named)) or 'none'})",
            )
            continue
        item_id = item.get("id")
        if ref.cycles and isinstance(item_id, str):
            # Walk up the chain; a chain that comes back to this item is a cycle. (An item
            # without a string id cannot be named, so no chain comes back to it.)
            chain: list[Any] = [item_id]
            current: Any = value
            while isinstance(current, str) and current in named and current not in chain:
                chain.append(current)
                current = named[current][1].get(ref.field)
            if current == item_id:
                yield Finding(
                    "nesting-cycle",
                    f"{path}.{ref.field}",
                    "attributions nest in a cycle: " + " -> ".join(map(str, [*chain, item_id])),
                )
                continue
        bounds = _bounds(named[value][1].get("content"))
        if bounds is None:
            continue
        for part in layer.parts:
            inner = _bounds(part.of(item))
            if inner is None or (bounds[0] <= inner[0] and inner[1] <= bounds[1]):
                continue
            if ref.author:
                yield Finding(
                    ref.outside,
                    f"{path}.{ref.field}",
                    f"the {part.name} [{inner[0]}, {inner[1]}) lies outside the content "
                    f"[{bounds[0]}, {bounds[1]}) of its {ref.field} {value!r}; a {part.name} "
                    "outside any quotation or report is held by 'author'",
                )
            else:
                yield Finding(
                    ref.outside,
                    f"{path}.{part.field}",
                    f"{part.name} [{inner[0]}, {inner[1]}) is not inside the content "
                    f"[{bounds[0]}, {bounds[1]}) of {value!r}, which {ref.field} names",
                )


COMMON_LANGUAGE_TAGS = frozenset(
    """en en-US en-GB en-AU en-CA en-IE en-NZ en-IN de de-DE de-AT de-CH fr fr-FR fr-CA fr-BE fr-CH es
    es-ES es-MX es-419 it pt pt-BR pt-PT nl ru pl uk cs sk sl hr sr sr-Latn sr-Cyrl bg ro hu el tr
    sv da nb nn no fi et lv lt ga cy eu ca gl is mt sq mk bs ar he fa ur hi bn ta te mr gu pa zh
    zh-CN zh-TW zh-Hans zh-Hant ja ko vi th id ms tl sw yo ha am la grc und""".split()  # noqa: SIM905
)
"""Tags that `langcodes` accepts, known without loading its registry (which takes as long to
load as a small file takes to validate); a test checks each against `langcodes`."""


@functools.lru_cache(maxsize=1024)
def is_language_tag(tag: str) -> bool:
    """Whether `tag` is a valid BCP 47 language tag (registered subtags, hyphens, no spaces),
    as the `langcodes` package checks it against the IANA registry."""
    if tag in COMMON_LANGUAGE_TAGS:
        return True
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
        yield Finding(
            "offset-out-of-range",
            f"{path}.{bad}",
            f"{bad} {value} is outside the text, which has {len(text)} code points "
            f"(valid offsets are 0..{len(text)})",
        )
        return
    if end <= start:
        yield Finding(
            "empty-span",
            f"{path}.end",
            f"end {end} is not after start {start}; spans are half-open [start, end)",
        )
        return
    actual = text[start:end]
    if isinstance(covered, str) and covered != actual:
        yield Finding(
            "span-text-mismatch",
            f"{path}.text",
            f"text {_clip(covered)} differs from text[{start}:{end}] = {_clip(actual)}"
            + _locate_hint(text, covered, start),
        )
        return
    if actual[0].isspace() or actual[-1].isspace():
        yield Finding(
            "span-whitespace",
            path,
            f"span [{start}, {end}) {_clip(actual)} starts or ends with whitespace; "
            "trim it to the first and last non-space character",
        )
    elif splits_word(text, start, end):
        context = text[max(0, start - 10) : end + 10]
        yield Finding(
            "span-splits-word",
            path,
            f"span [{start}, {end}) {_clip(actual)} starts or ends inside a word "
            f"(in {_clip(context)}); move the boundary to the word's edge",
        )


def splits_word(text: str, start: int, end: int) -> bool:
    """Whether `[start, end)` cuts a word: a letter or digit on both sides of a boundary.

    Scripts written without spaces between words (Chinese, Japanese, Thai, ...) have no such
    boundaries to check, so their characters never count as cutting a word.
    """
    return (start > 0 and _in_word(text[start - 1]) and _in_word(text[start])) or (
        end < len(text) and _in_word(text[end]) and _in_word(text[end - 1])
    )


def _in_word(c: str) -> bool:
    return c.isalnum() and not _unspaced(c)


def _unspaced(c: str) -> bool:
    o = ord(c)
    # Thai, Lao, Tibetan, Myanmar, Khmer; CJK, kana, Hangul and the rest from U+2E80 upwards
    # (Latin, Greek, Cyrillic, Arabic, Hebrew and Indic scripts lie below).
    return (
        0x0E00 <= o <= 0x109F
        or 0x1780 <= o <= 0x17FF
        or 0x2E80 <= o <= 0xD7FF
        or 0xF900 <= o <= 0xFAFF
        or o >= 0x20000
    )


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
    return (
        f"; it occurs at [{best}, {best + len(covered)}) ({shift:+d} code points): "
        "offsets counted in UTF-16 units, bytes or with CR LF shift like this"
    )
