"""The shape of a tool's export, checked where it is read.

Each format module describes the records of its tool's export as Pydantic models (`Shape`):
strict about the types a reader relies on (an offset is an integer, a label a string, a list a
list), lenient about everything else (tools add keys from version to version, so unknown keys
are ignored). `check` validates one record and turns every wrong type, anywhere in it, into a
place and a message: `[0].annotations[1].result[3].value.labels[0]`, `expected a string,
found null`. A reader reports those as `import-bad-format` problems and never looks inside a
record that failed, so hostile input cannot reach code that assumes a shape.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, PlainValidator, ValidationError
from pydantic_core import PydanticCustomError

T = TypeVar("T", bound=BaseModel)


class Shape(BaseModel):
    """A record of a tool's export: strict types, unknown keys ignored."""

    model_config = ConfigDict(strict=True, extra="ignore", populate_by_name=True)


def _key(value: Any) -> str:
    if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
        return str(value)
    raise PydanticCustomError(
        "shape", "expected a string or an integer, found {found}", {"found": found(value)}
    )


Key = Annotated[str, PlainValidator(_key)]
"""An id a tool writes as a string or an integer (region ids, entity ids, user ids)."""


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    raise PydanticCustomError(
        "shape", "expected a string or a list of strings, found {found}", {"found": found(value)}
    )


Strings = Annotated[list[str], PlainValidator(_strings)]
"""A string, or a list of strings (Label Studio's text areas write either)."""


def found(value: Any) -> str:
    """What a JSON value is, for a message: `null`, `true`, `the number 3.5`, `a list`."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the string {value[:40]!r}" + ("..." if len(value) > 40 else "")
    if isinstance(value, list):
        return "an empty list" if not value else "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


_EXPECTED = {
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "string_type": "a string",
    "bool_type": "true or false",
    "list_type": "a list",
    "dict_type": "an object",
    "model_type": "an object",
    "model_attributes_type": "an object",
    "float_type": "a number",
}


def join(prefix: str, loc: tuple[Any, ...] | list[Any]) -> str:
    """A place in a JSON value: `join("[0]", ("annotations", 1, "id")) == "[0].annotations[1].id"`."""
    out = prefix
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def check(model: type[T], value: Any, where: str = "") -> tuple[T | None, list[tuple[str, str]]]:
    """Validate `value` as `model`.

    Returns:
        The record, or None and every error as `(place, message)`, the place joined to `where`.
    """
    try:
        return model.model_validate(value), []
    except ValidationError as e:
        errors: list[tuple[str, str]] = []
        for err in e.errors(include_url=False):
            place = join(where, err["loc"])  # Pydantic names each key as the tool writes it
            kind = err["type"]
            if kind == "missing":
                message = "is missing"
            elif kind in _EXPECTED:
                message = f"expected {_EXPECTED[kind]}, found {found(err['input'])}"
            elif kind == "literal_error":
                message = f"expected {err['ctx']['expected']}, found {found(err['input'])}"
            elif kind == "too_short":
                message = f"expected at least {err['ctx']['min_length']} item(s), found {found(err['input'])}"
            else:
                message = err["msg"]
            errors.append((place, message))
        return None, errors
