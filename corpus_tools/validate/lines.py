"""The checks of one line on its own: syntax, duplicate keys, structure (the models) and the
rules (`corpus_tools.validate.rules`), with the fast path (`mirror`) in front.

`check_line` is what the validator runs on every line; `check_line_fully` is the reference it
must agree with, and what produces the findings of a line that is not clean. Between the two,
a line whose structure is sound (it decodes into the structs, its names are valid, no key is
repeated) but that breaks a rule, typically a guideline warning, gets its findings from the
rules alone: the models would find nothing, and they cost a hundred times the fast path.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import orjson
from pydantic import BaseModel, ValidationError

from corpus_tools.files import is_blank, json_object, json_path, repeated_keys, utf8_error
from corpus_tools.layers import LAYERS, PredictionRecord, Record
from corpus_tools.problems import applies_to_predictions
from corpus_tools.schema import model_of
from corpus_tools.validate import mirror
from corpus_tools.validate.rules import Finding, check_record

_LABEL_FIELDS = {layer.label for layer in LAYERS.values()}


class LineKey(NamedTuple):
    """What the cross-line checks keep of a structurally readable line.

    A tuple rather than a dataclass: with `--jobs`, one is pickled per line from the workers.
    """

    doc_id: str
    annotator: str
    text_hash: int
    text_len: int


def check_line(
    raw: bytes, text_hash: Callable[[str], int] = hash, *, predictions: bool = False
) -> tuple[list[Finding], LineKey | None]:
    """Check one raw JSONL line on its own; with `predictions`, as a prediction record
    (`layers.PredictionRecord`: what a model does not predict may be left out, and the rules of
    the guidelines do not apply: `problems.applies_to_predictions`). `text_hash` hashes the text
    for the key (Python's `hash` by default, which is the same only within one process tree: a
    cluster of machines passes `stable_hash`).

    Returns:
        The findings `(code, path, message)` and the key for cross-line checks (None when the
        line has no usable `doc_id`, `annotator` and `text`; a prediction's key has the
        annotator `""`, since one document has one prediction).
    """
    if predictions:
        # No fast path: its structs mirror the record, in which these fields are required.
        return check_line_fully(raw, text_hash, predictions=True)
    rec = mirror.decode(raw)
    if rec is not None and not mirror.may_repeat_a_key(raw):
        key = LineKey(rec.doc_id, rec.annotator, text_hash(rec.text), len(rec.text))
        if mirror.is_clean(rec):
            return [], key
        if mirror.names_ok(rec):
            # Sound structure: what `check_line_fully` would report comes from the rules only
            # (parsed by Python's parser, as there, for integers beyond 64 bits).
            return list(check_record(json.loads(raw))), key
    return check_line_fully(raw, text_hash)


def stable_hash(text: str) -> int:
    """A hash of `text` that is the same in every process and on every machine (Python's
    `hash` of a str is seeded per process), as a signed 64-bit int."""
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True)


def check_line_fully(
    raw: bytes, text_hash: Callable[[str], int] = hash, *, predictions: bool = False
) -> tuple[list[Finding], LineKey | None]:
    """`check_line` without the fast path: the reference checks, which produce the findings."""
    model = PredictionRecord if predictions else Record
    if is_blank(raw):
        return [Finding("blank-line", "", "blank line; remove it")], None
    try:
        orjson.loads(raw)  # the strict parser decides what is JSON, and names the error
    except orjson.JSONDecodeError as e:
        return [_decode_finding(raw, e)], None
    # Parsed again by Python's parser, which keeps integers beyond 64 bits exact (orjson makes
    # 10**30 the float 1e+30) and lets the keys given twice be found.
    try:
        obj = json.loads(raw, object_pairs_hook=json_object)
    except RecursionError:
        return [
            Finding(
                "too-deep",
                "",
                "objects and lists are nested hundreds of levels deep; a "
                "record nests at most a few levels (record, item, span)",
            )
        ], None
    if not isinstance(obj, dict):
        return [
            Finding(
                "not-an-object",
                "",
                f"the line is a JSON {_json_type(obj)}, not an object; each line must be one record object",
            )
        ], None
    findings: list[Finding] = list(_duplicate_keys(obj))
    try:
        model.model_validate(obj)
    except ValidationError as e:
        findings.extend(_structure_findings(e, model))
    # The guideline checks proper are not even run on predictions (none of their codes applies).
    findings.extend(check_record(obj, guidelines=not predictions))
    doc_id, annotator, text = obj.get("doc_id"), obj.get("annotator"), obj.get("text")
    if predictions:
        findings = [f for f in findings if applies_to_predictions(f.code)]
        annotator = ""
    key = None
    if isinstance(doc_id, str) and isinstance(annotator, str) and isinstance(text, str):
        key = LineKey(doc_id, annotator, text_hash(text), len(text))
    return findings, key


# -- turning parse and model errors into findings ------------------------------------------


def _duplicate_keys(parsed: Any) -> Iterator[Finding]:
    """A finding for every key given twice in one object of the line (the last value counts
    for JSON parsers, but Arrow, which `corpus publish` reads with, refuses the line)."""
    for loc, key in repeated_keys(parsed):
        yield Finding(
            "duplicate-key",
            json_path((*loc, key)),
            f"key {key!r} is given more than once in this object; keep one (JSON "
            "readers disagree on which value counts)",
        )


def _decode_finding(raw: bytes, e: orjson.JSONDecodeError) -> Finding:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as u:
        return Finding("invalid-utf8", "", f"{utf8_error(raw, u)}; save the file as UTF-8")
    if raw.startswith(b"\xef\xbb\xbf"):
        return Finding(
            "invalid-json",
            "",
            "the line starts with a byte-order mark (U+FEFF); save the file as UTF-8 without BOM",
        )
    where = f"{e.msg} at column {e.colno}"
    if "surrogate" in e.msg:
        return Finding(
            "lone-surrogate",
            "",
            f"{where}: a lone UTF-16 surrogate escape cannot be stored as UTF-8; write the character itself",
        )
    return Finding("invalid-json", "", f"{where}; each line must be one complete JSON object")


def _structure_findings(error: ValidationError, model: type[BaseModel]) -> Iterator[Finding]:
    for err in error.errors(include_url=False):
        loc = err["loc"]
        path = json_path(loc)
        kind = err["type"]
        field = next((p for p in reversed(loc) if isinstance(p, str)), "")
        if kind == "missing":
            yield Finding("missing-field", path, f"required field {field!r} is missing")
        elif kind == "extra_forbidden":
            allowed = _fields_at(loc[:-1], model)
            close = difflib.get_close_matches(field, allowed, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; allowed here: {', '.join(allowed)}"
            yield Finding("unknown-field", path, f"unknown field {field!r}{hint}")
        elif kind in ("literal_error", "enum"):
            code = "invalid-label" if field in _LABEL_FIELDS else "invalid-value"
            yield Finding(code, path, f"{_show(err['input'])} is not allowed: {err['msg'].lower()}")
        elif kind == "string_pattern_mismatch":
            code = (
                "invalid-name" if field in mirror.NAME_FIELDS or isinstance(loc[-1], int) else "invalid-value"
            )
            yield Finding(
                code,
                path,
                f"{_show(err['input'])} does not match the pattern {err.get('ctx', {}).get('pattern')}",
            )
        elif kind.endswith("_type") or kind in (
            "model_attributes_type",
            "dict_type",
            "list_type",
            "none_required",
        ):
            got = "null" if err["input"] is None else f"{_json_type(err['input'])} {_show(err['input'])}"
            yield Finding("wrong-type", path, f"{err['msg'].lower()}, got {got}")
        else:
            yield Finding("invalid-value", path, f"{_show(err['input'])}: {err['msg']}")


def _fields_at(loc: tuple[int | str, ...], model: type[BaseModel]) -> list[str]:
    """The field names allowed at `loc`, found by walking the models from `model`."""
    for part in loc:
        if isinstance(part, int):
            continue
        info = model.model_fields.get(part)
        if info is None:
            return []
        model = model_of(info.annotation) or model
    return list(model.model_fields)


def _json_type(value: Any) -> str:
    """The JSON name of a parsed value's type (objects are parsed as `JsonObject`, a dict; a bool is
    an int to Python, so it is asked first)."""
    for tp, name in (
        (bool, "boolean"),
        (int, "integer"),
        (float, "number"),
        (str, "string"),
        (list, "array"),
        (dict, "object"),
        (type(None), "null"),
    ):
        if isinstance(value, tp):
            return name
    return type(value).__name__


def _show(value: Any, width: int = 60) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."
