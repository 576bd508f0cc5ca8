"""The schema's msgspec mirror: `Struct` types generated from the Pydantic models, field for field,
with the same constraints.

The validator's fast path (`corpus_tools.validate.mirror`) decodes every line with them and calls
a line clean only when the full check (the models and the rules) would find nothing; merge decodes
validated lines with them. So a struct must reject whatever its model rejects: a constraint, a
type, a validator or a setting of the model that the mirror does not copy makes it refuse to
build (`MirrorError`, naming the model and the field) rather than let invalid lines pass as
clean. The layer registry (`corpus_tools.layers`) builds the mirror of every layer when it
registers it, so a layer the mirror cannot copy is refused before any command runs.

What it copies: `str` (`min_length`, `max_length`, `pattern`), `int` (`ge`, `gt`, `le`, `lt`,
`multiple_of`), `float` (`ge`, `gt`, `le`, `lt`), `bool`, `Literal` strings, lists (`min_length`,
`max_length`), nested models, and `X | None`; models as strict as `schema._Strict` (unknown fields
forbidden, no coercion), as msgspec decodes.
"""

from __future__ import annotations

import functools
import types
from collections.abc import Callable
from typing import Annotated, Any, Literal, Union, cast, get_args, get_origin

import annotated_types
import msgspec
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic.types import Strict

from corpus_tools.errors import CorpusToolsError
from corpus_tools.schema import NAME_PATTERN

UNSET = msgspec.UNSET

Names = frozenset[tuple[type[BaseModel], str]]
"""`(model, field)` pairs whose `NAME_PATTERN` is checked outside the struct (by the fast path,
with a cache), so the struct leaves it out."""

_STRUCTS: dict[tuple[type[BaseModel], bool, Names], type[msgspec.Struct]] = {}


class MirrorError(CorpusToolsError):
    """A model uses something the msgspec mirror cannot reproduce: extend the mirror (and the
    fast path's `is_clean`) before the model, or invalid lines would pass as clean."""


def struct_for(
    model: type[BaseModel], *, presence: bool = False, names_checked: Names = frozenset()
) -> type[msgspec.Struct]:
    """The msgspec `Struct` equivalent of a Pydantic model (cached), built from its fields.

    With `presence`, an optional field that the JSON leaves out is `UNSET` instead of its
    default, so a decoded struct tells which keys the line had (the validator needs that to
    find duplicate keys); without, it holds the model's defaults (what merge works on). The
    fields in `names_checked` keep every constraint but `NAME_PATTERN`.

    Raises:
        MirrorError: naming the model and the field, for anything the mirror cannot copy.
    """
    key = (model, presence, names_checked)
    if key not in _STRUCTS:
        _refuse_model_features(model)
        fields: list[Any] = []
        for name, info in model.model_fields.items():
            where = f"{model.__name__}.{name}"
            _refuse_field_features(info, where)
            names = (model, name) in names_checked
            tp = _convert(info.annotation, info.metadata, presence, names_checked, where, names)
            if info.is_required():
                fields.append((name, tp))
            elif presence:
                fields.append((name, Union[tp, msgspec.UnsetType], UNSET))  # noqa: UP007
            elif info.default_factory is not None:
                # No model's factory takes the validated data (pydantic's other kind of factory).
                factory = cast("Callable[[], Any]", info.default_factory)
                fields.append((name, tp, msgspec.field(default_factory=factory)))
            elif isinstance(info.default, list):
                fields.append(
                    (name, tp, msgspec.field(default_factory=functools.partial(list, info.default)))
                )
            else:
                fields.append((name, tp, info.default))
        try:
            # gc=False: a decoded record is a tree, never a cycle, and tens of structs per line
            # would otherwise keep the garbage collector busy.
            struct = msgspec.defstruct(
                model.__name__, fields, forbid_unknown_fields=True, kw_only=True, gc=False
            )
        except TypeError as e:  # e.g. a mutable default msgspec does not take
            raise MirrorError(f"{model.__name__}: the msgspec mirror cannot copy it: {e}") from None
        _STRUCTS[key] = struct
    return _STRUCTS[key]


_SUPPORTED = "str, int, float, bool, Literal strings, lists of those, nested models, each optionally `| None`"


def _convert(
    tp: Any, metadata: list[Any], presence: bool, names_checked: Names, where: str, names: bool
) -> Any:
    """Translate one field annotation (and its constraints) into a msgspec type.

    `names`: the field's `NAME_PATTERN` is checked elsewhere (it is in `names_checked`).
    """
    if get_origin(tp) is Annotated:
        base, *extra = get_args(tp)
        return _convert(base, [*metadata, *extra], presence, names_checked, where, names)
    constraints = _constraints(metadata, where, names)
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        arms = get_args(tp)
        if len([a for a in arms if a is not type(None)]) != 1:
            raise MirrorError(f"{where}: the msgspec mirror copies `X | None`, not the union {tp!r}")
        # Pydantic applies a field's constraints to the arm that is not None (`str | None`).
        return Union[tuple(_convert(a, metadata, presence, names_checked, where, names) for a in arms)]  # noqa: UP007
    if tp is type(None):
        return tp
    if origin is list:
        (item,) = get_args(tp)
        _only(constraints, {"min_length", "max_length"}, tp, where)
        converted = types.GenericAlias(list, (_convert(item, [], presence, names_checked, where, names),))
        return Annotated[converted, msgspec.Meta(**constraints)] if constraints else converted
    if origin is Literal:
        _only(constraints, set(), tp, where)
        if not all(type(v) is str for v in get_args(tp)):
            raise MirrorError(f"{where}: the msgspec mirror copies Literals of strings, not {tp!r}")
        return tp
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        _only(constraints, set(), tp, where)
        return struct_for(tp, presence=presence, names_checked=names_checked)
    if tp is str:
        _only(constraints, {"min_length", "max_length", "pattern"}, tp, where)
    elif tp is int:
        _only(constraints, {"ge", "gt", "le", "lt", "multiple_of"}, tp, where)
    elif tp is float:
        # msgspec's float `multiple_of` is not Pydantic's (which allows for rounding).
        _only(constraints, {"ge", "gt", "le", "lt"}, tp, where)
    elif tp is bool:
        _only(constraints, set(), tp, where)
    else:
        raise MirrorError(f"{where}: the msgspec mirror has no equivalent of {tp!r}; it copies {_SUPPORTED}")
    return Annotated[tp, msgspec.Meta(**constraints)] if constraints else tp


def _only(constraints: dict[str, Any], allowed: set[str], tp: Any, where: str) -> None:
    refused = sorted(set(constraints) - allowed)
    if refused:
        raise MirrorError(f"{where}: the msgspec mirror cannot copy {', '.join(refused)} on {tp!r}")


_COPIED = {  # annotated_types constraint -> its msgspec.Meta keyword
    annotated_types.MinLen: "min_length",
    annotated_types.MaxLen: "max_length",
    annotated_types.Ge: "ge",
    annotated_types.Gt: "gt",
    annotated_types.Le: "le",
    annotated_types.Lt: "lt",
    annotated_types.MultipleOf: "multiple_of",
}


def _constraints(metadata: list[Any], where: str, names: bool) -> dict[str, Any]:
    """The msgspec.Meta keywords of a field's constraints.

    Raises:
        MirrorError: for a constraint or validator it cannot copy.
    """
    out: dict[str, Any] = {}
    for m in metadata:
        if type(m) in _COPIED:
            name = _COPIED[type(m)]
            out[name] = getattr(m, name)
        elif isinstance(m, Strict):
            if not m.strict:  # the models are strict, so only strict=False would change them
                raise MirrorError(
                    f"{where}: the msgspec mirror cannot copy strict=False (it is always strict)"
                )
        elif isinstance(m, FieldInfo):
            _refuse_field_features(m, where)
            out.update(_constraints(m.metadata, where, names))
        elif getattr(m, "pattern", None) is not None and type(m).__name__ in (
            "StringConstraints",
            "_PydanticGeneralMetadata",
        ):
            if not (names and m.pattern == NAME_PATTERN):  # else checked by is_clean (in C)
                out["pattern"] = _anchored(m.pattern)
            rest = {k: v for k, v in vars(m).items() if v is not None and k != "pattern"}
            if rest:
                raise MirrorError(f"{where}: the msgspec mirror does not copy {rest} (with pattern)")
        else:
            raise MirrorError(f"{where}: the msgspec mirror cannot copy the constraint {m!r}")
    return out


_FIELD_FEATURES = (
    "alias",
    "validation_alias",
    "serialization_alias",
    "discriminator",
    "exclude",
    "exclude_if",
)
"""Settings of a field that change which keys are read or written: the mirror reads the field's
own name, as every command does."""

_DOCUMENTATION = {
    "title",
    "use_attribute_docstrings",
    "json_schema_extra",
    "json_schema_mode_override",
    "model_title_generator",
    "field_title_generator",
    "protected_namespaces",
    "defer_build",
}
"""Model settings that only document (or, `defer_build`, say when the validator is built); any
other must be the strict base's (`schema._Strict`)."""


def _refuse_field_features(info: FieldInfo, where: str) -> None:
    found = [f"{name}={getattr(info, name)!r}" for name in _FIELD_FEATURES if getattr(info, name) is not None]
    if info.validate_default:
        found.append("validate_default=True")
    if found:
        raise MirrorError(f"{where}: the msgspec mirror cannot copy {', '.join(found)}; remove it")


def _refuse_model_features(model: type[BaseModel]) -> None:
    decorators = model.__pydantic_decorators__
    found = [
        *decorators.model_validators,
        *decorators.field_validators,
        *decorators.root_validators,
        *decorators.validators,
        *decorators.field_serializers,
        *decorators.model_serializers,
        *decorators.computed_fields,
    ]
    if found:
        raise MirrorError(
            f"{model.__name__} has validators, serializers or computed fields ({', '.join(found)}) "
            "that the msgspec mirror cannot copy; check their rule in validate/rules.py and "
            "is_clean instead"
        )
    if model.__pydantic_post_init__ is not None:
        raise MirrorError(
            f"{model.__name__} runs model_post_init after validation (an override, or private "
            "attributes), which the msgspec mirror cannot copy; remove it"
        )
    config = model.model_config
    changed = sorted(
        f"{k}={v!r}"
        for k, v in config.items()
        if k not in _DOCUMENTATION and (k, v) not in (("extra", "forbid"), ("strict", True))
    )
    if changed or config.get("extra") != "forbid" or config.get("strict") is not True:
        raise MirrorError(
            f"{model.__name__}: the msgspec mirror copies models configured as strict as "
            "schema._Strict (extra='forbid', strict=True, and no other setting that changes "
            f"validation); its model_config has {', '.join(changed) or 'not those'}"
        )


def _anchored(pattern: str) -> str:
    """The pattern as Pydantic applies it: msgspec uses Python's `re.search`, where a final `$`
    also matches before a trailing newline ("2017\n"); `\\Z` matches only at the very end."""
    return pattern[:-1] + r"\Z" if pattern.endswith("$") and not pattern.endswith(r"\$") else pattern
