"""The `datasets` features of a published record, derived from the Pydantic models.

This is the one place that maps the record format onto Hugging Face `datasets` and Arrow types,
so the parquet files, the card's `dataset_info` and the models cannot disagree:

- strings (ids, text, names, meta fields) -> `Value("string")`;
- offsets (`int`) -> `Value("int32")`; an extra layer's bounded `int` -> `int32`, or `int64` when
  its bounds need it; `bool` -> `Value("bool")`; `float` -> `Value("float64")`;
- the closed vocabularies (`kind`, `type`, `polarity`) -> `ClassLabel` with the layer's label
  names (`Layer.names`), stored as the label's index;
- a list of items -> `List` of a struct (not `Sequence` of a dict, which `datasets` turns into a
  dict of lists);
- an optional span (`answer`, `source`, `cue`) or `meta` -> a struct, null when absent.

It also turns Arrow data read with `read_schema()` (labels still as strings, defaults missing)
into data of `arrow_schema()`: labels become indices and absent fields get the models' defaults,
so what `datasets` loads matches what Pydantic would have parsed.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any, Literal, cast, get_args, get_origin

import pyarrow as pa
import pyarrow.compute as pc
from datasets import ClassLabel, Features, List, Value
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from corpus_tools.dataset import DOCUMENT_COLUMNS
from corpus_tools.layers import LAYERS, Record
from corpus_tools.schema import int_bounds, strip_optional, unwrap

_LABEL_NAMES: dict[tuple[str, str], tuple[str, ...]] = {
    (layer.model.__name__, layer.label): layer.names for layer in LAYERS.values()
}


class LabelError(ValueError):
    """A label value that is not in its closed vocabulary (the input was not validated)."""


@cache
def features() -> Features:
    """The `datasets.Features` of one published row: a `Record`, field for field."""
    return Features(_model_features(Record))


@cache
def arrow_schema() -> pa.Schema:
    """The Arrow schema of the parquet files: `features()` as `datasets` stores it."""
    return features().arrow_schema


_DOCUMENT: dict[str, tuple[Any, str]] = {
    "passes": (
        Value("int32"),
        "How many annotation passes the document has: its annotators' lines, which the "
        "`annotators` config holds (every annotator gold's items name has one). 1: a single "
        "pass, so gold is that pass, with no vote and no conflict (only a correction line of the "
        "adjudication log can have changed it); null: published without the annotators' files.",
    ),
    "adjudicated": (
        Value("bool"),
        "Whether every conflict between the document's passes was decided: false while some "
        "are open (gold then lacks the disputed items). True for a single pass (nothing to "
        "decide); null: published without the conflicts file.",
    ),
}
"""The document columns of a gold row (`corpus_tools.dataset.DOCUMENT_COLUMNS`): feature and
description."""


def document_features() -> dict[str, Any]:
    """The features of the columns the `default` config adds to a gold record."""
    if tuple(_DOCUMENT) != DOCUMENT_COLUMNS:
        raise TypeError("the document columns must be those of corpus_tools.dataset.DOCUMENT_COLUMNS")
    return {name: feature for name, (feature, _d) in _DOCUMENT.items()}


def document_descriptions() -> dict[str, str]:
    """What each document column says, for the card."""
    return {name: description for name, (_f, description) in _DOCUMENT.items()}


@cache
def gold_features() -> Features:
    """The features of a `default` row: a gold record and its document columns."""
    return Features({**features(), **document_features()})


def item_features(layer_models: list[type[BaseModel]], *, exclude: tuple[str, ...] = ()) -> dict[str, Any]:
    """The fields of several item models as one struct, labels as strings: every field of any
    of the models, in order of first appearance (what a row that may hold an item of any layer
    needs: a version in a conflict, the attributes of a span).

    Raises:
        TypeError: when two models give one field name different types.
    """
    out: dict[str, Any] = {}
    for model in layer_models:
        for name, info in model.model_fields.items():
            if name in exclude:
                continue
            feature = _feature(info.annotation, model, name, info.metadata, labels=False)
            if name in out and out[name] != feature:
                raise TypeError(
                    f"{model.__name__}.{name} has another type than the field of that name in "
                    "an earlier layer's model; give it another name"
                )
            out.setdefault(name, feature)
    return out


@cache
def read_schema() -> pa.Schema:
    """The Arrow schema for reading JSONL: `arrow_schema()` with the labels still as strings."""
    return pa.schema([pa.field(name, _read_type(feature)) for name, feature in features().items()])


def conform(table: pa.Table) -> pa.Table:
    """Turn a table of `read_schema()` into one of `arrow_schema()`.

    Raises:
        LabelError: when a label is not in its vocabulary.
    """
    columns = [_conform(table.column(name).combine_chunks(), Record, name) for name in read_schema().names]
    return pa.Table.from_arrays(columns, schema=arrow_schema())


# -- deriving the features from the models ----------------------------------------------------


def _model_features(model: type[BaseModel], *, labels: bool = True) -> dict[str, Any]:
    return {
        name: _feature(info.annotation, model, name, info.metadata, labels=labels)
        for name, info in model.model_fields.items()
    }


_INT32 = (-(2**31), 2**31 - 1)


def _feature(
    annotation: Any, model: type[BaseModel], field: str, metadata: list[Any], *, labels: bool = True
) -> Any:
    """The feature of one field; with `labels` False, a label is a plain string."""
    annotation, constraints, _optional = unwrap(annotation, metadata)
    origin = get_origin(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _model_features(annotation, labels=labels)
    if origin is list:
        (item,) = get_args(annotation)
        return List(_feature(item, model, field, [], labels=labels))
    if origin is Literal:
        names = _LABEL_NAMES.get((model.__name__, field))
        if names is None or tuple(get_args(annotation)) != names:
            raise TypeError(
                f"{model.__name__}.{field}: a Literal must be a layer's label "
                "(`layers.LAYERS`), in the same order"
            )
        return ClassLabel(names=list(names)) if labels else Value("string")
    if annotation is str:
        return Value("string")
    if annotation is bool:
        return Value("bool")
    if annotation is float:
        return Value("float64")
    if annotation is int:
        # Offsets (unbounded, but within the text) and ints bounded within int32 fit int32;
        # an extra layer's int bounded beyond that needs int64 (the registry bounds it so).
        lo, hi = int_bounds(constraints)
        wide = (lo is not None and lo < _INT32[0]) or (hi is not None and hi > _INT32[1])
        return Value("int64" if wide else "int32")
    raise TypeError(f"{model.__name__}.{field}: no datasets feature for {annotation!r}")


def _read_type(feature: Any) -> pa.DataType:
    if isinstance(feature, ClassLabel):
        return pa.string()
    if isinstance(feature, dict):
        return pa.struct([pa.field(k, _read_type(v)) for k, v in feature.items()])
    if isinstance(feature, List):
        return pa.list_(_read_type(feature.feature))
    return Features({"x": feature}).arrow_schema.field("x").type


# -- conforming arrays read from JSON ---------------------------------------------------------


def _conform(array: pa.Array, model: type[BaseModel], field: str) -> pa.Array:
    """Convert one column (or struct child) of `model.field`, filling the model's default."""
    info = model.model_fields[field]
    annotation = strip_optional(info.annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        array = _conform_struct(array, annotation)
    elif get_origin(annotation) is list:
        (item,) = get_args(annotation)
        item = strip_optional(item)
        if isinstance(item, type) and issubclass(item, BaseModel):
            array = _conform_list(array, item)
    elif get_origin(annotation) is Literal:
        array = _labels_to_indices(array, _LABEL_NAMES[(model.__name__, field)], f"{model.__name__}.{field}")
    if array.null_count:
        default = _default(model, field)
        if default is not None:
            array = pc.fill_null(array, pa.scalar(default, type=array.type))
    return array


def _conform_struct(array: pa.Array, model: type[BaseModel]) -> pa.Array:
    children = [_conform(array.field(name), model, name) for name in model.model_fields]
    mask = array.is_null() if array.null_count else None
    return pa.StructArray.from_arrays(children, names=list(model.model_fields), mask=mask)


def _conform_list(array: pa.Array, item: type[BaseModel]) -> pa.Array:
    # Work on the flat values and rebuild the list with the same offsets and nulls.
    if array.offset:
        array = pa.concat_arrays([array])  # drop a slice offset so offsets index the values
    values = _conform_struct(array.values, item)
    mask = array.is_null() if array.null_count else None
    return pa.ListArray.from_arrays(array.offsets, values, mask=mask)


def _labels_to_indices(array: pa.Array, names: tuple[str, ...], where: str) -> pa.Array:
    indices = pc.index_in(array, value_set=pa.array(names, pa.string()))
    if indices.null_count != array.null_count:
        unknown = pc.filter(array, pc.and_(pc.is_null(indices), pc.is_valid(array)))
        raise LabelError(f"{where}: {unknown[0].as_py()!r} is not one of {', '.join(names)}")
    return indices.cast(pa.int64())


def _default(model: type[BaseModel], field: str) -> Any:
    info = model.model_fields[field]
    if info.default_factory is not None:
        # No model's factory takes the validated data (pydantic's other kind of factory).
        value = cast("Callable[[], Any]", info.default_factory)()
    elif info.default is PydanticUndefined:
        return None
    else:
        value = info.default
    if isinstance(value, BaseModel):
        value = value.model_dump()
    return value
