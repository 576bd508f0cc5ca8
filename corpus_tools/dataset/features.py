"""The features of a published dataset's configs, as `datasets` describes them: read from the
card's `dataset_info` (the YAML list form) and from a parquet file's own metadata (the JSON form),
compared with each other and with the file's Arrow columns, and used to turn label indices back
into names.

Reading them here, rather than through `datasets.Features`, keeps `datasets` (two seconds to
import) out of every command that reads a dataset; the forms are those `Features._to_yaml_list`
writes and `Features._from_yaml_list` reads, and a test compares the result with `datasets`' own
reading of the cards `corpus publish` writes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import orjson

if TYPE_CHECKING:
    import pyarrow as pa


@dataclass(frozen=True)
class Feature:
    """A `datasets` feature, as far as reading records needs it: a value of a dtype, a
    `ClassLabel` with its names, a list of a feature, a struct of named features, or a kind the
    toolkit does not read (`other`, which any column fits and which is passed on as it is)."""

    kind: Literal["value", "label", "list", "struct", "other"]
    dtype: str = ""
    """A value's dtype (`string`, `int32`, ...) or the name of an `other` kind."""
    names: tuple[str, ...] = ()
    """A `ClassLabel`'s names, index order."""
    inner: Feature | None = None
    """A list's element."""
    fields: tuple[tuple[str, Feature], ...] = ()
    """A struct's fields, in order."""

    def canonical(self) -> Feature:
        """The feature with every struct's fields in name order: two features that differ only in
        that order describe the same data (`datasets` matches struct fields by name)."""
        if self.kind == "list" and self.inner is not None:
            return Feature("list", inner=self.inner.canonical())
        if self.kind == "struct":
            return Feature(
                "struct",
                fields=tuple(sorted(((n, f.canonical()) for n, f in self.fields), key=lambda x: x[0])),
            )
        return self

    def __str__(self) -> str:
        if self.kind == "value":
            return self.dtype
        if self.kind == "label":
            return f"ClassLabel({', '.join(self.names)})"
        if self.kind == "list":
            return f"list of {self.inner}"
        if self.kind == "struct":
            return f"struct of {', '.join(name for name, _ in self.fields)}"
        return self.dtype


class FeatureError(ValueError):
    """A features description that is not one `datasets` writes."""


def from_dict(obj: Any) -> Feature:
    """A feature from the form `datasets` stores in a parquet file's metadata and in
    `dataset_info.json` (`{"dtype": ..., "_type": "Value"}`, a mapping of fields for a struct)."""
    if not isinstance(obj, dict):
        raise FeatureError(f"a feature is a mapping, not {obj!r}")
    kind = obj.get("_type")
    if kind is None:
        return Feature("struct", fields=tuple((str(k), from_dict(v)) for k, v in obj.items()))
    if kind == "Value":
        dtype = obj.get("dtype")
        if not isinstance(dtype, str):
            raise FeatureError(f"a Value has a dtype, not {dtype!r}")
        return Feature("value", dtype=_DTYPE_ALIASES.get(dtype, dtype))
    if kind == "ClassLabel":
        names = obj.get("names")
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise FeatureError("a ClassLabel has a list of names")
        return Feature("label", names=tuple(names))
    if kind in ("List", "LargeList", "Sequence"):
        return Feature("list", inner=from_dict(obj.get("feature")))
    return Feature("other", dtype=str(kind))


def from_card(fields: Any) -> Feature:
    """The features of a config from the card's `dataset_info.features`, the list form
    `datasets` writes there (`Features._to_yaml_list`), read as `Features._from_yaml_list`
    reads it."""
    return from_dict(_yaml_fields(fields))


def _yaml_fields(fields: Any) -> dict[str, Any]:
    if not isinstance(fields, list):
        raise FeatureError("features are a list of `{name: ..., <type>: ...}`")
    out: dict[str, Any] = {}
    for entry in fields:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise FeatureError(f"each feature has a `name`, not {entry!r}")
        out[entry["name"]] = _yaml_feature({k: v for k, v in entry.items() if k != "name"})
    return out


def _yaml_feature(obj: Any) -> Any:
    if isinstance(obj, list):
        return _yaml_fields(obj)
    if not isinstance(obj, dict) or not obj:
        raise FeatureError(f"a feature is a mapping naming its type, not {obj!r}")
    kind = next(iter(obj))
    value = obj[kind]
    if kind in ("list", "large_list", "sequence"):
        inner = {"dtype": value} if isinstance(value, str) else value
        return {"feature": _yaml_feature(inner), "_type": "LargeList" if kind == "large_list" else "List"}
    if kind == "struct":
        return _yaml_fields(value)
    if kind == "dtype":
        return {"dtype": value, "_type": "Value"} if isinstance(value, str) else _yaml_feature(value)
    if kind == "class_label":
        names = value.get("names") if isinstance(value, dict) else None
        if isinstance(names, dict):  # {'0': name, '1': name}, as the Hub requires
            try:
                ids = sorted(names, key=int)
            except (TypeError, ValueError):
                raise FeatureError("a class_label's names are keyed by index") from None
            if [int(i) for i in ids] != list(range(len(ids))):
                raise FeatureError("a class_label's names have every index from 0")
            names = [names[i] for i in ids]
        return {"names": names, "_type": "ClassLabel"}
    return {"_type": kind}


_DTYPE_ALIASES = {"float": "float32", "double": "float64", "half": "float16"}
"""Value dtypes `datasets` normalises (`Value("double")` is float64)."""


def _value_fits(dtype: str, t: pa.DataType) -> bool | None:
    """Whether an Arrow column type holds values of `dtype` unambiguously; None for a dtype the
    toolkit does not judge."""
    import pyarrow as pa

    if dtype in ("string", "large_string"):
        # Binary columns are what writers that do not mark text as UTF-8 produce; their bytes
        # are read as UTF-8 text, row by row (an error names any that are not).
        return bool(
            pa.types.is_string(t)
            or pa.types.is_large_string(t)
            or pa.types.is_binary(t)
            or pa.types.is_large_binary(t)
            or getattr(pa.types, "is_string_view", lambda _: False)(t)
            or getattr(pa.types, "is_binary_view", lambda _: False)(t)
        )
    if re.fullmatch(r"u?int(8|16|32|64)", dtype):
        return bool(pa.types.is_integer(t))
    if dtype == "bool":
        return bool(pa.types.is_boolean(t))
    if dtype in ("float16", "float32", "float64"):
        return bool(pa.types.is_floating(t) or pa.types.is_integer(t))
    return None


def _misfit(t: pa.DataType, feature: Feature, where: str) -> str | None:
    """Why a column (or a part of one) of Arrow type `t` does not hold `feature`, or None."""
    import pyarrow as pa

    if pa.types.is_null(t) or feature.kind == "other":
        return None  # a column of nulls fits anything; a kind we do not read is not judged
    if feature.kind == "value":
        if _value_fits(feature.dtype, t) is False:
            return f"{where} is {t}, and the card declares {feature.dtype}"
        return None
    if feature.kind == "label":
        if not pa.types.is_integer(t):
            return f"{where} is {t}, and the card declares a ClassLabel (label indices, integers)"
        return None
    if feature.kind == "list":
        if not (
            pa.types.is_list(t)
            or pa.types.is_large_list(t)
            or pa.types.is_fixed_size_list(t)
            or getattr(pa.types, "is_list_view", lambda _: False)(t)
            or getattr(pa.types, "is_large_list_view", lambda _: False)(t)
        ):
            return f"{where} is {t}, and the card declares a list"
        return _misfit(t.value_type, feature.inner or Feature("other"), f"{where}[]")
    if not pa.types.is_struct(t):
        return f"{where} is {t}, and the card declares a struct"
    return misfit([(t.field(i).name, t.field(i).type) for i in range(t.num_fields)], feature, where)


def misfit(columns: list[tuple[str, pa.DataType]], feature: Feature, where: str) -> str | None:
    """Why named columns (a table's, or a struct's fields) do not hold a struct `feature`."""
    declared = dict(feature.fields)
    names = [name for name, _ in columns]
    inside = f" of {where}" if where else ""
    missing = [n for n in declared if n not in names]
    if missing:
        return f"no field {', '.join(missing)}{inside}, which the card declares"
    extra = [n for n in names if n not in declared]
    if extra:
        return f"field {', '.join(extra)}{inside}, which the card does not declare"
    for name, t in columns:
        why = _misfit(t, declared[name], f"{where}.{name}" if where else name)
        if why is not None:
            return why
    return None


def difference(a: Feature, b: Feature, where: str = "") -> str:
    """Where two different features first differ, for a message (`a` the file's, `b` the card's)."""
    at = where or "the features"
    if a.kind != b.kind or (a.kind in ("value", "other") and a.dtype != b.dtype):
        return f"{at}: {a} in the file, {b} on the card"
    if a.kind == "label":
        return f"{at}: ClassLabel names {list(a.names)} in the file, {list(b.names)} on the card"
    if a.kind == "list" and a.inner is not None and b.inner is not None:
        return difference(a.inner, b.inner, f"{where}[]")
    names_a, names_b = [n for n, _ in a.fields], [n for n, _ in b.fields]
    if names_a != names_b:
        return f"{at}: fields {', '.join(names_a)} in the file, {', '.join(names_b)} on the card"
    for (name, fa), (_, fb) in zip(a.fields, b.fields, strict=True):
        if fa != fb:
            return difference(fa, fb, f"{where}.{name}" if where else name)
    return at


def label_decoder(feature: Feature) -> Callable[[Any], Any] | None:
    """How to turn a value of `feature` back into labels: each `ClassLabel` index into its name
    (an index out of range is left as it is, for the validator to report); None when the feature
    holds no label."""
    if feature.kind == "label":
        names = feature.names

        def label(value: Any) -> Any:
            return names[value] if isinstance(value, int) and 0 <= value < len(names) else value

        return label
    if feature.kind == "list" and feature.inner is not None:
        inner = label_decoder(feature.inner)
        if inner is None:
            return None
        return lambda value: [inner(v) for v in value] if isinstance(value, list) else value
    if feature.kind == "struct":
        fields = {k: d for k, v in feature.fields if (d := label_decoder(v)) is not None}
        if not fields:
            return None

        def struct(value: Any) -> Any:
            if isinstance(value, dict):
                for k, d in fields.items():
                    if k in value:
                        value[k] = d(value[k])
            return value

        return struct
    return None


def from_metadata(schema: pa.Schema) -> Feature | None:
    """The `datasets` features a parquet file stores in its own metadata (`huggingface`), or None
    when it has none (a file rewritten by DuckDB or pandas, say).

    Raises:
        FeatureError: when the metadata is there but is not features `datasets` writes.
    """
    raw = (schema.metadata or {}).get(b"huggingface")
    if raw is None:
        return None
    try:
        info = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise FeatureError("its `huggingface` metadata is not JSON") from None
    inner = info.get("info") if isinstance(info, dict) else None
    if not isinstance(inner, dict) or inner.get("features") is None:
        return None
    return from_dict(inner["features"])
