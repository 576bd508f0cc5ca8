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
is imported. The tests use it to prove that a fourth layer flows through every command.
"""

from __future__ import annotations

import functools
import importlib
import operator
import os
import types
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Annotated, Any, Literal, Union, cast, get_args, get_origin

from pydantic import BaseModel, Field, create_model

from corpus_tools import schema
from corpus_tools.schema import Item, Span, model_of

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


_CORE = (
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
    """The layers named by `CORPUS_TOOLS_LAYERS` (`module:attribute`, comma-separated)."""
    spec = os.environ.get("CORPUS_TOOLS_LAYERS", "").strip()
    out: list[Layer] = []
    for entry in filter(None, (s.strip() for s in spec.split(","))):
        module, _, attribute = entry.partition(":")
        value = getattr(importlib.import_module(module), attribute)
        for layer in value if isinstance(value, list | tuple) else [value]:
            if not isinstance(layer, Layer):
                raise TypeError(f"CORPUS_TOOLS_LAYERS: {entry} is not a Layer")
            out.append(layer)
    return tuple(out)


def _registry(layers: tuple[Layer, ...]) -> dict[str, Layer]:
    out: dict[str, Layer] = {}
    for layer in layers:
        if layer.name in out or any(other.prefix == layer.prefix for other in out.values()):
            raise ValueError(f"layer {layer.name!r}: its name or id prefix {layer.prefix!r} is taken")
        if not issubclass(layer.model, BaseModel) or layer.label not in layer.model.model_fields:
            raise ValueError(f"layer {layer.name!r}: {layer.label!r} is not a field of its model")
        out[layer.name] = layer
    return out


LAYERS: dict[str, Layer] = _registry((*_CORE, *_extra_layers()))
"""The layers, by record field, in the order they appear in a record."""

TUPLE_LAYERS = tuple(name for name, layer in LAYERS.items() if layer.tuple_fields)
"""The layers with a tuple F1 in agreement (those with more to an item than span and label)."""


def _record_model(layers: dict[str, Layer]) -> type[schema.RecordBase]:
    fields: dict[str, Any] = {
        # `list[layer.model]`, the alias built by hand: the item model is a run-time value.
        name: (types.GenericAlias(list, (layer.model,)), Field(default=[], description=layer.description))
        for name, layer in layers.items()
    }
    model = create_model(
        "Record",
        __base__=schema.RecordBase,
        __module__=schema.__name__,
        __doc__=schema.RecordBase.__doc__,
        **fields,
    )
    return model


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
    created: type[BaseModel] = create_model(
        f"Predicted{model.__name__}",
        __base__=model,
        __module__=schema.__name__,
        __doc__=model.__doc__,
        **overrides,
    )
    return created


PredictedSpan = _predicted(Span, frozenset({"text"}), {})
"""A predicted span: offsets, and the covered text if the model gives it (checked when given)."""


def _prediction_model(layers: dict[str, Layer]) -> type[schema.RecordBase]:
    base = _predicted(schema.RecordBase, frozenset({"annotator"}), {})
    fields: dict[str, Any] = {}
    for name, layer in layers.items():
        item = _predicted(layer.model, layer.optional_in_predictions, {Span: PredictedSpan})
        fields[name] = (types.GenericAlias(list, (item,)), Field(default=[], description=layer.description))
    model = create_model(
        "PredictionRecord",
        __base__=base,
        __module__=schema.__name__,
        __doc__=PREDICTION_DOC,
        **fields,
    )
    return cast("type[schema.RecordBase]", model)


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
