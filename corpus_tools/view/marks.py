"""What a page draws: a record's items with their spans, and the text cut into segments.

Spans of one layer may overlap and nest (an attribution inside another's content), and spans of
different layers cross freely (a stance inside a quotation, a question across two stances), so
the text is not drawn as nested elements per span. It is cut at every span boundary into
*segments*; each segment knows the set of spans covering it and is drawn as one element holding
one nested wrapper per covering span (always properly nested, since every wrapper covers the
whole segment). A span's text is the text of the segments that carry its key, in order: the
browser tests read it back that way.

Between segments come the *markers*, which hold no document text (their label is drawn by CSS
from an attribute, so the text element's own text stays exactly the document's): an item's tag
where its first span starts (focusable, it opens the item's details), brackets around the
container part of a layer that others nest in (an attribution's content, with nesting shown by
depth), and, in other layers, a link marker where a further part starts (a hypophora's answer,
linked to its question).

Everything comes from the layer registry (`corpus_tools.layers`): parts, labels, references.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from corpus_tools.layers import LAYERS, Layer
from corpus_tools.schema import AUTHOR, RecordBase

Status = Literal["agree", "differ", "only"]
"""How an item fares against the other passes of its document (comparison pages only)."""

STATUS_SIGN: dict[str, str] = {"agree": "=", "differ": "≠", "only": "∅"}
"""The sign a tag carries for its status, so that status never depends on colour alone."""

_OWN_FIELDS = ("start", "end", "text")


def containers() -> dict[str, str]:
    """`layer -> part field` of the parts other items must lie inside: the `content` of every
    layer a reference points to (`Reference.target`); these parts are drawn in brackets."""
    return {
        layer.reference.target: "content"
        for layer in LAYERS.values()
        if layer.reference is not None and layer.reference.target in LAYERS
    }


@dataclass(frozen=True)
class PartView:
    """One span of an item, as drawn."""

    field: str | None
    name: str
    key: str
    """Unique in the page: segments covering this span carry it in `data-spans`."""
    number: int
    """Its place among the spans of the page (the number in `key`): the last tie-breaker."""
    start: int
    end: int
    text: str
    bracket: bool
    """Drawn in brackets: the container part of a layer that others nest in."""

    @property
    def dom(self) -> str:
        """The id of the span's marker element (a link target)."""
        return f"{self.key}-at"


@dataclass
class Reference:
    """A reference of an item (`holder`, `nested_in`), resolved within its record."""

    field: str
    value: str
    target: ItemView | None
    """The item it names; None for `author` (or a name the record does not hold)."""


@dataclass
class ItemView:
    """One item of a record, with everything its tag, card and details show."""

    dom: str
    """The card's element id; the tag is `<dom>-tag`."""
    order: int
    """Its place among the items of the page (layer order, then record order)."""
    layer: Layer
    item: Any
    label: str
    parts: list[PartView]
    """Present parts, in the layer's order."""
    first: PartView
    """The part that comes first in the text: the tag goes there."""
    depth: int = 1
    """Nesting depth within the layer (1 = not nested in another item of the layer)."""
    fields: list[tuple[str, str]] = field(default_factory=list)
    """Other attributes shown in the details: `(name, value)`."""
    references: list[Reference] = field(default_factory=list)
    status: Status | None = None
    conflict: str | None = None
    """The element id of its entry in a comparison page's list of disagreements."""

    @property
    def id(self) -> str:
        return str(self.item.id)

    @property
    def tag_id(self) -> str:
        return f"{self.dom}-tag"

    @property
    def tag_label(self) -> str:
        """What the tag shows in the text: id and label, after the status sign."""
        sign = f"{STATUS_SIGN[self.status]} " if self.status and self.status != "agree" else ""
        return f"{sign}{self.id} {self.label}"

    @property
    def summary(self) -> str:
        """The item in a phrase, for the tag's accessible name."""
        state = {"differ": ", passes differ", "only": ", not in every pass"}.get(self.status or "", "")
        return f"{layer_title(self.layer)} {self.id}: {self.label}{state}"

    def linked(self, part: PartView) -> bool:
        """Whether `part` starts with a link marker saying whose it is: a part away from the tag
        and from the brackets, so every part of an item without brackets but the first (a
        hypophora's answer), and a part after its item's bracket has closed (a source or cue
        after the content it introduces)."""
        if part is self.first or part.bracket:
            return False
        brackets = [p for p in self.parts if p.bracket]
        return not brackets or any(part.start >= b.end for b in brackets)

    def anchor(self, part: PartView) -> str | None:
        """The element id of the marker where `part` starts in the text, if it has one."""
        if part is self.first:
            return self.tag_id
        if part.bracket or self.linked(part):
            return part.dom
        return None

    def elsewhere(self, part: PartView) -> str | None:
        """`anchor` of a part that is not where the tag is (a hypophora's answer)."""
        return None if part is self.first else self.anchor(part)

    @property
    def note(self) -> str | None:
        note = getattr(self.item, "note", None)
        return note if isinstance(note, str) else None

    @property
    def annotators(self) -> list[str] | None:
        value = getattr(self.item, "annotators", None)
        return list(value) if value is not None else None


def layer_title(layer: Layer) -> str:
    """A layer's name for people: `rhetorical questions`."""
    return layer.name.replace("_", " ")


def natural(text: str) -> tuple[tuple[int, int | str], ...]:
    """A sort key that compares the digits in `text` as numbers: `t2` before `t10`."""
    return tuple((1, int(p)) if p.isdigit() else (0, p) for p in re.split(r"(\d+)", text) if p)


def clip(text: str, width: int = 80) -> str:
    """`text` on one line, cut to about `width` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1].rstrip() + "…"


def item_views(record: RecordBase, prefix: str) -> list[ItemView]:
    """Every item of `record`, in layer order and, within a layer, in record order.

    `prefix` makes element ids unique when a page shows several records (`p0`, `p1`, ...).
    """
    bracketed = containers()
    views: list[ItemView] = []
    by_id: dict[str, dict[str, ItemView]] = defaultdict(dict)
    span_number = 0
    for layer in LAYERS.values():
        for item in getattr(record, layer.name):
            parts = []
            for part, span in layer.spans(item):
                if span is None:
                    continue
                span_number += 1
                parts.append(
                    PartView(
                        field=part.field,
                        name=part.name,
                        key=f"{prefix}-s{span_number}",
                        number=span_number,
                        start=span.start,
                        end=span.end,
                        text=span.text,
                        bracket=layer.name in bracketed and bracketed[layer.name] == part.field,
                    )
                )
            if not parts:  # a valid item always has its key span; nothing to draw otherwise
                continue
            view = ItemView(
                dom=f"{prefix}-i{len(views) + 1}",
                order=len(views),
                layer=layer,
                item=item,
                label=str(getattr(item, layer.label)),
                parts=parts,
                first=min(parts, key=lambda p: (p.start, -p.end)),
                fields=_fields(layer, item),
            )
            views.append(view)
            by_id[layer.name].setdefault(view.id, view)
    for view in views:
        ref = view.layer.reference
        if ref is None:
            continue
        value = getattr(view.item, ref.field)
        if value is None:
            continue
        target = None if value == AUTHOR and ref.author else by_id[ref.target].get(value)
        view.references.append(Reference(ref.field, str(value), target))
    for view in views:
        view.depth = _depth(view)
    return views


def _fields(layer: Layer, item: Any) -> list[tuple[str, str]]:
    """The attributes the details list besides the label, the spans and the references."""
    skip = {"id", "annotators", "note", layer.label, *_OWN_FIELDS}
    skip.update(p.field for p in layer.parts if p.field is not None)
    if layer.reference is not None:
        skip.add(layer.reference.field)
    out = []
    for name in layer.model.model_fields:
        value = getattr(item, name)
        if name not in skip and value is not None:
            out.append((name, str(value)))
    return out


def _depth(view: ItemView) -> int:
    """1 + the number of items of the same layer `view` is nested in, through its reference."""
    depth, seen, current = 1, {id(view)}, view
    while True:
        parent = next(
            (r.target for r in current.references if r.target is not None and r.target.layer is view.layer),
            None,
        )
        if parent is None or id(parent) in seen:
            return depth
        seen.add(id(parent))
        depth += 1
        current = parent


# -- cutting the text into segments -------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Mark:
    """A span of an item, as it covers a segment."""

    view: ItemView
    part: PartView

    @property
    def nesting(self) -> tuple[Any, ...]:
        """Where the mark's wrapper goes among a segment's wrappers (outermost first): by layer and
        part, so that every segment nests the same kinds the same way, outer items first; items
        on one span by id (`t2` before `t10`). The order is total (the span's number last), so
        the same record always gives the same page."""
        return (
            self._layer,
            self._part,
            self.view.depth,
            self.part.start,
            -self.part.end,
            natural(self.view.id),
            self.view.order,
            self.part.number,
        )

    @property
    def opening(self) -> tuple[Any, ...]:
        """The order of the markers that start at one position: outer spans (longer) first, then
        as `nesting` orders wrappers."""
        return (-self.part.end, *self.nesting)

    @property
    def _layer(self) -> int:
        return list(LAYERS).index(self.view.layer.name)

    @property
    def _part(self) -> int:
        return [p.name for p in self.view.layer.parts].index(self.part.name)


TokenKind = Literal["text", "seg", "tag", "open", "close", "link"]


@dataclass(frozen=True)
class Token:
    """One piece of the drawn text, in document order.

    - `text`: document text no span covers;
    - `seg`: document text covered by `marks` (outermost first);
    - `tag`: an item's tag (at its first part);
    - `open`, `close`: the brackets of a container part;
    - `link`: the marker of a further part, linked to its item's tag.
    """

    kind: TokenKind
    text: str = ""
    after: str = ""
    """The document's character after `text` (a CR before an LF is no line break of its own)."""
    marks: tuple[Mark, ...] = ()
    view: ItemView | None = None
    part: PartView | None = None

    @property
    def spans(self) -> str:
        """`data-spans` of a segment: the keys of the spans covering it."""
        return " ".join(m.part.key for m in self.marks)


def tokens(text: str, views: Iterable[ItemView]) -> list[Token]:
    """The text cut at every span boundary, with the markers between the segments.

    Concatenating the `text` of the `text` and `seg` tokens gives `text` back, and concatenating
    the segments that carry a span's key gives that span's text.
    """
    views = list(views)
    marks = [Mark(v, p) for v in views for p in v.parts]
    starting: dict[int, list[Mark]] = defaultdict(list)
    ending: dict[int, list[Mark]] = defaultdict(list)
    for m in marks:
        starting[m.part.start].append(m)
        ending[m.part.end].append(m)
    bounds = sorted({0, len(text), *starting, *ending})
    out: list[Token] = []
    active: set[Mark] = set()
    opened: dict[Mark, int] = {}
    """Each bracket's place in the order brackets were opened."""
    for i, pos in enumerate(bounds):
        closing = [m for m in ending.get(pos, ()) if m.part.bracket]
        # The bracket opened last closes first, so brackets on one span nest, never cross.
        for m in sorted(closing, key=lambda m: -opened.pop(m)):
            out.append(Token("close", view=m.view, part=m.part))
        active.difference_update(ending.get(pos, ()))
        for m in sorted(starting.get(pos, ()), key=lambda m: m.opening):
            out.extend(_markers(m))
            if m.part.bracket:
                opened[m] = len(out)
        active.update(starting.get(pos, ()))
        if i + 1 == len(bounds):
            break
        piece, after = text[pos : bounds[i + 1]], text[bounds[i + 1] : bounds[i + 1] + 1]
        if active:
            out.append(Token("seg", piece, after, tuple(sorted(active, key=lambda m: m.nesting))))
        else:
            out.append(Token("text", piece, after))
    return out


def _markers(m: Mark) -> list[Token]:
    """The markers where a span starts: an item's tag (at its first part), then its bracket or
    its link marker."""
    out = []
    if m.part is m.view.first:
        out.append(Token("tag", view=m.view, part=m.part))
    if m.part.bracket:
        out.append(Token("open", view=m.view, part=m.part))
    elif m.view.linked(m.part):
        out.append(Token("link", view=m.view, part=m.part))
    return out
