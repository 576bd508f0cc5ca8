"""The `datasets` features of a published record, derived from the Pydantic models.

This is the one place that maps the record format onto Hugging Face `datasets` and Arrow types,
so the parquet files, the card's `dataset_info` and the models cannot disagree:

- strings (ids, text, names, meta fields) -> `Value("string")`;
- offsets (`int`) -> `Value("int32")`;
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

from corpus_tools.layers import LAYERS, Record
from corpus_tools.publish.results import TOKENS_CONFIG
from corpus_tools.schema import strip_optional

_LABEL_NAMES: dict[tuple[str, str], tuple[str, ...]] = {
    (layer.model.__name__, layer.label): layer.names for layer in LAYERS.values()
}


class LabelError(ValueError):
    """A label value that is not in its closed vocabulary (the input was not validated)."""


@cache
def features() -> Features:
    """The `datasets.Features` of one published row: a `Record`, field for field."""
    return Features(_model_features(Record))


def config_features(config: str) -> Features:
    """The features of a config: a record's (`features()`), or a `tokens` row's."""
    if config == TOKENS_CONFIG:
        from corpus_tools.publish import tokens

        return tokens.features()
    return features()


@cache
def arrow_schema() -> pa.Schema:
    """The Arrow schema of the parquet files: `features()` as `datasets` stores it."""
    return features().arrow_schema


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


def _model_features(model: type[BaseModel]) -> dict[str, Any]:
    return {name: _feature(info.annotation, model, name) for name, info in model.model_fields.items()}


def _feature(annotation: Any, model: type[BaseModel], field: str) -> Any:
    annotation = strip_optional(annotation)
    origin = get_origin(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _model_features(annotation)
    if origin is list:
        (item,) = get_args(annotation)
        return List(_feature(item, model, field))
    if origin is Literal:
        names = _LABEL_NAMES.get((model.__name__, field))
        if names is None or tuple(get_args(annotation)) != names:
            raise TypeError(
                f"{model.__name__}.{field}: a Literal must be a layer's label "
                "(`layers.LAYERS`), in the same order"
            )
        return ClassLabel(names=list(names))
    if annotation is str:
        return Value("string")
    if annotation is int:
        return Value("int32")  # offsets; code points of a document fit easily
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
