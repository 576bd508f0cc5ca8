"""The annotation layers: one `Layer` per layer, the one place that says what a layer is.

Every command that works layer by layer loops over `LAYERS` and asks the layer: its item model,
its closed label and the label names, the span its items are matched by, its span parts, the
field that refers to an attribution, the id prefix of gold items, the attributes that make up a
tuple for agreement, and the weights that break ties between equally good matches. The record
model (`schema.Record`), the validator's rules and fast path, merge, agreement, split, publish
and the converters derive what they need from here.

Adding a layer takes its item model (in `schema.py`) and one entry in `CORE`. A project can also
add layers without editing the package, for a prototype: `CORPUS_TOOLS_LAYERS=module:attribute`
names `Layer` objects (or sequences of them) that are appended to the core layers when the package
is imported. The tests use it to prove that extra layers flow through every command.

Every layer is checked when it is registered (`registry`), so that one the commands cannot
handle is refused with a `LayerError` saying why, before any command starts on it: its fields
must be of the types validate, merge, publish and export support, its key a required span, its
reference one to attributions, its mirror (`corpus_tools.structs`) buildable. The command line
prints the error in one line and exits 2.
"""

from __future__ import annotations

import functools
import importlib
import operator
import os
import re
import types
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Annotated, Any, Literal, Union, cast, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, create_model

from corpus_tools import schema, structs
from corpus_tools.errors import LayerError
from corpus_tools.problems import CATALOGUE
from corpus_tools.schema import Item, Span, int_bounds, model_of, unwrap
from corpus_tools.structs import MirrorError

Bounds = tuple[int, int]

AUTHOR = schema.AUTHOR


@dataclass(frozen=True)
class Part:
    """A span of an item: the item's own `start`/`end`/`text` (`field` None) or a `Span` field."""

    field: str | None
    name: str
    """What messages and annotation tools call it: `question`, `answer`, `source`, `content`."""
    only_if: tuple[str, str] | None = None
    """`(label field, label)`: the part belongs only to items with that label (a `hypophora`'s
    `answer`); given on another, the validator warns `answer-without-hypophora`."""

    def of(self, item: Any) -> Any:
        """The part's span object on an item (a model, a struct or a dict), or None."""
        if self.field is None:
            return item
        return item.get(self.field) if isinstance(item, dict) else getattr(item, self.field)


@dataclass(frozen=True)
class Reference:
    """A field by which an item refers to an attribution of the same record."""

    field: str
    """`holder` or `nested_in`."""
    author: bool
    """Whether the value may be `author` (the document's author instead of an attribution)."""
    unknown: str
    """The problem code when the value names no attribution."""
    outside: str
    """The problem code when the item's parts do not lie inside the attribution's content."""
    cycles: bool = False
    """Whether following the references can loop (attributions nested in attributions)."""
    target: str = "attributions"
    """The layer referred to; its items' `content` is the span the item must lie inside."""


@dataclass(frozen=True)
class Layer:
    """One annotation layer and everything the commands need to know about it."""

    name: str
    """The field of `Record` that holds the layer: `rhetorical_questions`."""
    model: type[Item]
    label: str
    """The closed label field: `kind`, `type`, `polarity`."""
    prefix: str
    """The prefix of gold ids: `q` gives `q1`, `q2`, ..."""
    key: str | None
    """The part items are matched by across annotators: None for the item's own span, or a
    span field (`content` for attributions)."""
    parts: tuple[Part, ...]
    """The item's spans, in the order they are checked and shown."""
    description: str
    """What the layer holds, for the record field's docstring and the dataset card."""
    tool_prefix: str
    """The prefix of the layer's labels in annotation tools: `RQ-open`, `ATTR-source`."""
    reference: Reference | None = None
    tuple_fields: tuple[str, ...] = ()
    """The fields that, with the key span, make up a whole item for tuple F1 in agreement."""
    similarity: tuple[tuple[str, int], ...] = ()
    """`(field, weight)`: how much each agreeing field counts when equally good span matches
    must be told apart (in merge's clustering and in agreement's pairing)."""
    token_tags: Literal["label", "parts"] = "label"
    """What the layer's IOB2 tags in the `tokens` config name: `label`, the key span by its label
    (`B-hypophora`); `parts`, every part by its name (`B-source`, `B-cue`, `B-content`)."""
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    """Anything a particular command needs that the others do not (kept out of the core)."""

    @cached_property
    def names(self) -> tuple[str, ...]:
        """The label names, in the model's order (the `ClassLabel` indices)."""
        annotation = self.model.model_fields[self.label].annotation
        if get_origin(annotation) is not Literal:
            raise TypeError(f"{self.model.__name__}.{self.label} must be a Literal of label names")
        return tuple(get_args(annotation))

    @cached_property
    def voted(self) -> tuple[str, ...]:
        """The attributes merge votes on, in the order of a version's values: the key span
        first (`span` for the item's own), then every other field of the model but the item's
        bookkeeping (`id`, `annotators`, `note`)."""
        own = {"start", "end", "text"}
        fields = [f for f in self.model.model_fields if f not in ("id", "annotators", "note")]
        rest = [f for f in fields if f not in own and f != self.key]
        return (self.key or "span", *rest)

    def key_span(self, item: Any) -> Bounds:
        """The span an item is matched by: its own span, or its key part (an attribution's
        content)."""
        span = item if self.key is None else getattr(item, self.key)
        return span.start, span.end

    def kind_of(self, attribute: str) -> str:
        """How an attribute is compared: `span` (offsets), `label` (the closed label),
        `reference` (an attribution), `text` (free text, compared normalised) or `value`."""
        if attribute == "span" or attribute == self.key:
            return "span"
        if attribute == self.label:
            return "label"
        if self.reference is not None and attribute == self.reference.field:
            return "reference"
        info = self.model.model_fields[attribute]
        if model_of(info.annotation) is Span:
            return "span"
        if info.annotation in (str, str | None):
            return "text"
        return "value"

    def spans(self, item: Any) -> Iterator[tuple[Part, Any]]:
        """Each part of `item` with its span (None for an absent optional part)."""
        for part in self.parts:
            yield part, part.of(item)

    @cached_property
    def optional_in_predictions(self) -> frozenset[str]:
        """The fields a prediction may leave out, because a model need not predict them: the
        item's bookkeeping (`id`, `annotators`, `note`), its label, its reference (`holder`,
        `nested_in`), its free-text fields (`target`, `source_name`) and the text of its own
        span. Offsets and the key part are always given: they are what is predicted."""
        fields = {"id", "annotators", "note", self.label}
        if self.reference is not None:
            fields.add(self.reference.field)
        if any(part.field is None for part in self.parts):
            fields.add("text")
        own = {"start", "end", "text"}
        fields.update(f for f in self.model.model_fields if f not in own and self.kind_of(f) == "text")
        return frozenset(fields)

    @property
    def gold_fields(self) -> tuple[str, ...]:
        """The fields of a gold item, in the model's order (what a dump writes)."""
        return tuple(self.model.model_fields)


CORE = (
    Layer(
        name="rhetorical_questions",
        model=schema.RhetoricalQuestion,
        label="kind",
        prefix="q",
        key=None,
        parts=(Part(None, "question"), Part("answer", "answer", only_if=("kind", "hypophora"))),
        description="Questions that function rhetorically.",
        tool_prefix="RQ",
        similarity=(("kind", 2), ("answer", 1)),
    ),
    Layer(
        name="attributions",
        model=schema.Attribution,
        label="type",
        prefix="t",
        key="content",
        parts=(Part("source", "source"), Part("cue", "cue"), Part("content", "content")),
        description="Attributions of speech or thought, nested ones included.",
        tool_prefix="ATTR",
        reference=Reference(
            "nested_in", author=False, unknown="unknown-parent", outside="nested-outside-parent", cycles=True
        ),
        tuple_fields=("source", "cue", "type"),
        similarity=(("type", 2), ("source", 1), ("cue", 1), ("source_name", 1)),
        token_tags="parts",
    ),
    Layer(
        name="stances",
        model=schema.Stance,
        label="polarity",
        prefix="s",
        key=None,
        parts=(Part(None, "stance"),),
        description="Evaluative spans with their holder, target and polarity.",
        tool_prefix="STANCE",
        reference=Reference(
            "holder", author=True, unknown="unknown-holder", outside="holder-outside-content"
        ),
        tuple_fields=("target", "polarity", "holder"),
        similarity=(("target", 2), ("polarity", 2), ("holder", 1)),
    ),
)


def _extra_layers() -> tuple[Layer, ...]:
    """The layers named by `CORPUS_TOOLS_LAYERS` (`module:attribute`, comma-separated).

    Raises:
        LayerError: for an entry that is not `module:attribute`, a module that does not import,
            a missing attribute, or a value that is not a `Layer` or a sequence of them.
    """
    spec = os.environ.get("CORPUS_TOOLS_LAYERS", "").strip()
    out: list[Layer] = []
    for entry in filter(None, (s.strip() for s in spec.split(","))):
        where = f"CORPUS_TOOLS_LAYERS entry {entry!r}"
        module, sep, attribute = entry.partition(":")
        if not (sep and module.strip() and attribute.strip()):
            raise LayerError(f"{where}: write module:attribute (e.g. mylayers:LAYER)")
        try:
            value = getattr(importlib.import_module(module.strip()), attribute.strip())
        except ModuleNotFoundError as e:
            raise LayerError(f"{where}: no module named {e.name!r} (is its folder on PYTHONPATH?)") from e
        except AttributeError:
            raise LayerError(
                f"{where}: module {module.strip()!r} has no attribute {attribute.strip()!r}"
            ) from None
        except Exception as e:  # the project's module itself fails to import
            raise LayerError(f"{where}: importing {module.strip()!r} failed: {type(e).__name__}: {e}") from e
        for layer in value if isinstance(value, list | tuple) else [value]:
            if not isinstance(layer, Layer):
                what = (
                    f"the class {layer.__name__}" if isinstance(layer, type) else f"a {type(layer).__name__}"
                )
                raise LayerError(
                    f"{where} is {what}, not a Layer (corpus_tools.layers.Layer) or a list of them"
                )
            out.append(layer)
    return tuple(out)


def registry(layers: Iterable[Layer]) -> dict[str, Layer]:
    """Check layers and index them by record field, as `LAYERS` is built (the core layers, then
    those of `CORPUS_TOOLS_LAYERS`); each is checked (`_check`) against the ones before it.

    Raises:
        LayerError: naming the layer, for one the commands cannot handle.
    """
    out: dict[str, Layer] = {}
    for layer in layers:
        try:
            _check(layer, out)
        except LayerError as e:
            raise LayerError(f"layer {layer.name!r}: {e}") from None
        out[layer.name] = layer
    return out


_OWN_SPAN = ("start", "end", "text")
_BOOKKEEPING = ("id", "annotators", "note")
_SUPPORTED = (
    "an item's fields may be str (or schema.Name), int bounded within int64 (Field(ge=..., "
    "le=...)), float, bool, a list of those, a Span (one of the layer's parts) or, for the "
    "label, a Literal of strings; each may be `| None`"
)


def _check(layer: Layer, before: dict[str, Layer]) -> None:
    """Refuse what validate, merge, agreement, split, publish or export cannot handle (each
    would fail on it later, in the middle of a command).

    Raises:
        LayerError: saying what is wrong.
    """
    model = layer.model
    if not (isinstance(model, type) and issubclass(model, Item)):
        raise LayerError(f"its model must be a subclass of corpus_tools.schema.Item, not {model!r}")
    fields = model.model_fields
    if (
        not layer.name.isidentifier()
        or layer.name.startswith("_")
        or layer.name in schema.RecordBase.model_fields
    ):
        raise LayerError("its name must be a Python identifier that is not a field of RecordBase")
    if not re.fullmatch(r"[A-Za-z]+", layer.prefix) or not re.fullmatch(
        r"[A-Za-z][A-Za-z0-9]*", layer.tool_prefix
    ):
        raise LayerError(
            f"its id prefix {layer.prefix!r} must be letters and its tool prefix "
            f"{layer.tool_prefix!r} letters and digits (gold ids are <prefix><n>, tool labels "
            "<tool prefix>-<label>)"
        )
    for other in before.values():
        taken = [
            what
            for what, mine, theirs in (
                ("name", layer.name, other.name),
                ("id prefix", layer.prefix, other.prefix),
                ("tool prefix", layer.tool_prefix, other.tool_prefix),
            )
            if mine == theirs
        ]
        if taken:
            raise LayerError(
                f"its {' and '.join(taken)} {'are' if len(taken) > 1 else 'is'} taken by {other.name!r}"
            )
    for name in _BOOKKEEPING:
        if fields[name].annotation != Item.model_fields[name].annotation:
            raise LayerError(f"{model.__name__}.{name} must keep its type from Item")
    if layer.label not in fields:
        raise LayerError(f"its label {layer.label!r} is not a field of {model.__name__}")
    try:
        names = layer.names
    except TypeError as e:
        raise LayerError(str(e)) from None
    if not names or not all(isinstance(n, str) and n and not any(c.isspace() for c in n) for n in names):
        raise LayerError(f"{model.__name__}.{layer.label} must be a Literal of label names without spaces")
    parts = {part.field: part for part in layer.parts}
    if len(parts) != len(layer.parts) or len({p.name for p in layer.parts}) != len(layer.parts):
        raise LayerError("two of its parts have the same field or name")
    own = None in parts
    if own and not all(f in fields for f in _OWN_SPAN):
        raise LayerError(
            f"its part Part(None, ...) is the item's own span, so {model.__name__} needs start, end and text"
        )
    if layer.key is None:
        if not own:
            raise LayerError("its key None (the item's own span) needs a part Part(None, ...)")
    elif (
        layer.key not in parts
        or layer.key not in fields
        or fields[layer.key].annotation is not Span
        or not fields[layer.key].is_required()
    ):
        raise LayerError(
            f"its key {layer.key!r} must be a required Span field of {model.__name__} (merge and "
            "agreement match items by it) and one of its parts"
        )
    for part in layer.parts:
        if part.field is not None and (
            part.field not in fields or unwrap(fields[part.field].annotation)[0] is not Span
        ):
            raise LayerError(
                f"its part {part.name!r} names {part.field!r}, which is not a Span field of {model.__name__}"
            )
        if part.only_if is not None and (part.only_if[0] != layer.label or part.only_if[1] not in names):
            raise LayerError(
                f"its part {part.name!r} has only_if {part.only_if!r}, which is not (label field, label)"
            )
        if part.field not in (None, layer.key) and part.name in names:
            raise LayerError(
                f"its part {part.name!r} has the name of a label (both would be {layer.tool_prefix}-{part.name})"
            )
    _check_reference(layer, fields)
    for name in layer.tuple_fields:
        if name not in fields or name in _BOOKKEEPING:
            raise LayerError(
                f"its tuple field {name!r} is not a field of {model.__name__} (agreement compares it)"
            )
    for entry in layer.similarity:
        if not (
            isinstance(entry, tuple) and len(entry) == 2 and entry[0] in fields and type(entry[1]) is int
        ):
            raise LayerError(f"its similarity {entry!r} must be (field of {model.__name__}, int weight)")
    if layer.token_tags not in ("label", "parts"):
        raise LayerError(f"its token_tags {layer.token_tags!r} must be 'label' or 'parts'")
    for name, info in fields.items():
        _check_field(layer, name, info, parts, own)
    try:
        structs.struct_for(model)
    except MirrorError as e:
        raise LayerError(str(e)) from None


def _check_reference(layer: Layer, fields: dict[str, Any]) -> None:
    ref = layer.reference
    if ref is None:
        return
    if ref.field not in fields or not _is_name(fields[ref.field]):
        raise LayerError(
            f"its reference {ref.field!r} must be a field of {layer.model.__name__} of type Name (or Name | None)"
        )
    if ref.target != "attributions":
        raise LayerError(
            f"its reference targets {ref.target!r}; a reference can only name attributions (the "
            "item must lie inside the attribution's content)"
        )
    if ref.cycles and ref.target != layer.name:
        raise LayerError("its reference has cycles=True, which only a layer referring to itself can have")
    unknown = [code for code in (ref.unknown, ref.outside) if code not in CATALOGUE]
    if unknown:
        raise LayerError(
            f"its reference's problem code(s) {', '.join(unknown)} are not in the catalogue (corpus problems)"
        )


def _is_name(info: Any) -> bool:
    tp, constraints, _optional = unwrap(info.annotation, info.metadata)
    return tp is str and any(getattr(c, "pattern", None) == schema.NAME_PATTERN for c in constraints)


_INT64 = (-(2**63), 2**63 - 1)


def _check_field(layer: Layer, name: str, info: Any, parts: dict[str | None, Part], own: bool) -> None:
    where = f"{layer.model.__name__}.{name}"
    tp, constraints, _optional = unwrap(info.annotation, info.metadata)
    if name in _BOOKKEEPING or name == layer.label:
        return
    if name == "span":
        raise LayerError(f"{where}: `span` is what merge and agreement call the item's own span; rename it")
    if own and name in _OWN_SPAN:
        if tp is not (str if name == "text" else int) or not info.is_required():
            raise LayerError(f"{where}: the item's own span needs start: Offset, end: Offset, text: str")
        return  # offsets are bounded by the text (offset-out-of-range)
    if tp is Span:
        if name not in parts:
            raise LayerError(
                f"{where} is a Span but not one of the layer's parts (its offsets would go unchecked)"
            )
        return
    if get_origin(tp) is list:
        (item,) = get_args(tp)
        tp, constraints, optional = unwrap(item)
        if optional or get_origin(tp) is list:
            raise LayerError(f"{where}: a list's items must be str, int, float or bool; {_SUPPORTED}")
    if tp is int:
        lo, hi = int_bounds(constraints)
        if lo is None or hi is None or lo < _INT64[0] or hi > _INT64[1]:
            raise LayerError(
                f"{where}: an int field needs bounds within int64 (Field(ge=..., le=...) between "
                f"-2**63 and 2**63-1): merge writes JSON integers of 64 bits and publish stores "
                f"int32 or int64 (bounds found: {lo}..{hi})"
            )
    elif tp not in (str, float, bool):
        what = "a Literal other than the label" if get_origin(tp) is Literal else repr(tp)
        raise LayerError(f"{where}: {what} is not supported; {_SUPPORTED}")


LAYERS: dict[str, Layer] = registry((*CORE, *_extra_layers()))
"""The layers, by record field, in the order they appear in a record."""

TUPLE_LAYERS = tuple(name for name, layer in LAYERS.items() if layer.tuple_fields)
"""The layers with a tuple F1 in agreement (those with more to an item than span and label)."""


class _Generated(BaseModel):
    """Mixed into the models made here at run time: they have no source, so Pydantic need not
    look for attribute docstrings in it (a walk of the caller's frames that costs a noticeable
    share of start-up). Their fields are described explicitly, or inherited with descriptions."""

    model_config = ConfigDict(use_attribute_docstrings=False)


def _generated(name: str, base: type[BaseModel], doc: str | None, **fields: Any) -> type[BaseModel]:
    """`create_model(name, __base__=base, ...)`, in the schema's module, without the docstring
    search (`_Generated`)."""
    created: type[BaseModel] = create_model(
        name, __base__=(base, _Generated), __module__=schema.__name__, __doc__=doc, **fields
    )
    return created


def _record_model(layers: dict[str, Layer]) -> type[schema.RecordBase]:
    fields: dict[str, Any] = {
        # `list[layer.model]`, the alias built by hand: the item model is a run-time value.
        name: (types.GenericAlias(list, (layer.model,)), Field(default=[], description=layer.description))
        for name, layer in layers.items()
    }
    return cast(
        "type[schema.RecordBase]",
        _generated("Record", schema.RecordBase, schema.RecordBase.__doc__, **fields),
    )


Record = _record_model(LAYERS)
"""The record model: `schema.RecordBase` and one list of items per layer."""


# -- prediction records ---------------------------------------------------------------------------


def _swap(annotation: Any, models: dict[type[BaseModel], type[BaseModel]]) -> Any:
    """`annotation` with every model in `models` replaced (`Span | None` -> `PredictedSpan | None`)."""
    if isinstance(annotation, type) and annotation in models:
        return models[annotation]
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (Union, types.UnionType):
        return functools.reduce(operator.or_, [_swap(a, models) for a in args])
    if origin is list:
        return types.GenericAlias(list, (_swap(args[0], models),))
    return annotation


def _predicted(
    model: type[BaseModel], optional: frozenset[str], models: dict[type[BaseModel], type[BaseModel]]
) -> type[BaseModel]:
    """`model` as a prediction: the fields in `optional` may be left out (default None; their
    constraints still hold when given), and the models in `models` replaced by their prediction."""
    overrides: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        annotation = _swap(info.annotation, models)
        loosen = name in optional and info.is_required()
        if annotation is info.annotation and not loosen:
            continue
        constrained = Annotated[(annotation, *info.metadata)] if info.metadata else annotation
        if loosen:
            overrides[name] = (constrained | None, Field(default=None, description=info.description))
        elif info.is_required():
            overrides[name] = (constrained, Field(description=info.description))
        else:
            overrides[name] = (constrained, Field(default=info.default, description=info.description))
    return _generated(f"Predicted{model.__name__}", model, model.__doc__, **overrides)


PredictedSpan = _predicted(Span, frozenset({"text"}), {})
"""A predicted span: offsets, and the covered text if the model gives it (checked when given)."""


def _prediction_model(layers: dict[str, Layer]) -> type[schema.RecordBase]:
    base = _predicted(schema.RecordBase, frozenset({"annotator"}), {})
    fields: dict[str, Any] = {}
    for name, layer in layers.items():
        item = _predicted(layer.model, layer.optional_in_predictions, {Span: PredictedSpan})
        fields[name] = (types.GenericAlias(list, (item,)), Field(default=[], description=layer.description))
    return cast("type[schema.RecordBase]", _generated("PredictionRecord", base, PREDICTION_DOC, **fields))


PREDICTION_DOC = """A model's predictions for one document, as `corpus evaluate` reads them: a record in
which what a model does not predict may be left out. The document's `doc_id` and exact `text`
and each item's offsets are required; an item's id, label, reference (`holder`, `nested_in`),
free-text fields (`target`, `source_name`), notes and span texts, the record's `annotator` and
`meta` are optional. A layer left out of the record is not predicted for that document (an
empty list predicts nothing); a field left out of every item of a layer is not predicted, and
the figures that need it are reported as "not predicted" rather than 0. Values that are given
are checked as in a record (offsets, span text, references)."""

PredictionRecord = _prediction_model(LAYERS)
"""The prediction record model (`corpus validate --predictions`, `corpus evaluate --pred`)."""


def document_order(span: Bounds) -> tuple[int, int]:
    """Where an item's key span comes in the document, as ids are numbered (G6): by start, the
    outer (longer) one first on a tie, so that a parent precedes the attributions nested in it."""
    return span[0], -span[1]


def layer_of_field(name: str) -> Layer:
    """The layer held by a record field.

    Raises:
        KeyError: when no layer is.
    """
    return LAYERS[name]
