"""The annotation record: one JSONL line holds one annotator's annotations of one document.

These Pydantic models are the single definition of the format. The JSON Schema in `schema/`,
the dataset card's label descriptions and the `datasets` features are all derived from them.

The models check structure, types and vocabularies. Rules that need the document text or look
across items (offsets, span text, references, duplicate ids) live in `corpus_tools.rules`, so
that they can still run, and be reported, on a line whose structure is partly wrong.

A gold record (the output of `corpus merge`) is the same record: its `annotator` is the name
of the gold standard (``gold`` by default) and each item may list the `annotators` who
proposed it.
"""

from __future__ import annotations

import math
import re
import types
from collections.abc import Iterable
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeGuard, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"
"""Pattern of `doc_id`, `annotator` and annotation `id`s: safe as file names and URLs."""

GOLD = "gold"
"""The `annotator` of the gold records `corpus merge` writes: reserved, no pass may use it."""

NAME_RULE = "1 to 128 characters from A-Z a-z 0-9 . _ - starting with a letter or digit"
"""`NAME_PATTERN` in words, for messages."""

_NAME = re.compile(NAME_PATTERN)


def is_name(value: Any) -> TypeGuard[str]:
    """Whether `value` is a valid `doc_id`, `annotator` or item id, as the models judge it.

    `fullmatch`, because Python's `$` also matches before a final newline ("a\\n").
    """
    return isinstance(value, str) and _NAME.fullmatch(value) is not None


Name = Annotated[str, StringConstraints(pattern=NAME_PATTERN)]
Offset = Annotated[int, Field(json_schema_extra={"minimum": 0})]

QuestionKind = Literal["assertive", "hypophora", "echo", "open"]
AttributionType = Literal["direct", "indirect", "mixed"]
Polarity = Literal["favor", "against"]

AUTHOR = "author"
"""The `holder` value for a stance held by the document's author."""


class _Strict(BaseModel):
    # extra="forbid" catches annotators' typos (`attributons`); strict=True keeps "12" from
    # passing as an offset and 12.0 from passing as an integer. defer_build: the validators are
    # built on first use, as most runs never need them (the validator's fast path decodes with
    # the msgspec mirror, and only a line that is not clean meets the models).
    model_config = ConfigDict(extra="forbid", strict=True, use_attribute_docstrings=True, defer_build=True)


class Span(_Strict):
    """A half-open `[start, end)` range of Unicode code points into the document text."""

    start: Offset
    """Index of the first code point of the span (0-based)."""
    end: Offset
    """Index one past the last code point of the span."""
    text: str
    """The covered text, exactly `text[start:end]` of the document; repeated to catch drift."""


class Item(_Strict):
    """What every annotation has: an id, and in gold the annotators who proposed it."""

    id: Name
    """Identifier of the annotation, unique within its line (e.g. `q1`, `t3`, `s12`)."""
    annotators: list[Name] | None = None
    """In gold records: the annotators who proposed this item. Absent in annotator files."""
    note: str | None = None
    """Free-text comment by the annotator or adjudicator; not part of the label."""


class RhetoricalQuestion(Item):
    """A question that functions rhetorically rather than as a request for information."""

    start: Offset
    """Index of the first code point of the question."""
    end: Offset
    """Index one past the last code point of the question (after its `?`)."""
    text: str
    """The question text, exactly `text[start:end]` of the document."""
    kind: QuestionKind
    """`assertive`: stands for a statement, the answer is implied; `hypophora`: the author asks
    and then answers it; `echo`: restates another's claim as a question to challenge it;
    `open`: left to the reader, often speculative."""
    answer: Span | None = None
    """For a hypophora: the span where the author answers the question."""


class Attribution(Item):
    """Reported speech or thought: who (source) said (cue) what (content)."""

    type: AttributionType
    """`direct`: quoted verbatim; `indirect`: paraphrased; `mixed`: a paraphrase that embeds a
    partial quotation."""
    source: Span | None = None
    """The span naming who said it; null for an unnamed or implicit source."""
    cue: Span | None = None
    """The verb or phrase that introduces the content (`said`, `according to`); null if none."""
    content: Span
    """What was said or thought."""
    source_name: str | None = None
    """Normalised name of the source (e.g. `Valery Gerasimov`), to link mentions."""
    nested_in: Name | None = None
    """The `id` of the attribution whose content contains this one; null at the top level."""


class Stance(Item):
    """An evaluative expression: a holder is for or against a target."""

    start: Offset
    """Index of the first code point of the evaluative expression."""
    end: Offset
    """Index one past the last code point of the evaluative expression."""
    text: str
    """The evaluative expression, exactly `text[start:end]` of the document."""
    target: str = Field(min_length=1)
    """What the stance is about, in a short normalised form (e.g. `the neocons`)."""
    polarity: Polarity
    """`favor` or `against` the target (guidelines 2.0 dropped `neutral`: an expression with no
    direction is no stance)."""
    holder: Name
    """`author`, or the `id` of the attribution (in the same line) whose source holds it."""


class Meta(_Strict):
    """Provenance and rights of the document; carried into the published dataset."""

    title: str | None = None
    """Title of the document."""
    author: str | None = None
    """Author or speaker."""
    source: str | None = None
    """Publisher, outlet or edition the text was taken from."""
    url: str | None = None
    """Where the original can be found."""
    published: str | None = Field(default=None, pattern=r"^\d{4}(-\d{2}(-\d{2})?)?$")
    """Publication date: `YYYY`, `YYYY-MM` or `YYYY-MM-DD`."""
    license: str | None = None
    """Licence of the text: an SPDX id, `public-domain`, or `other` (then give `rights`)."""
    license_url: str | None = None
    """Link to the licence or terms of reuse."""
    rights: str | None = None
    """The rights notice that must travel with the text, verbatim (attribution, changes made)."""
    language: str = "en"
    """BCP 47 language code of the text."""
    genre: str | None = None
    """Kind of text, e.g. `opinion`, `news`, `speech`, `essay`."""
    work: str | None = None
    """The larger work the text is, or is taken from: the speech an excerpt comes from, a series of
    essays (`The Federalist`), a book of several texts. `corpus split --group-by meta.work` keeps
    the documents of one work in one split, so that no test text comes from a work trained on."""


class RecordBase(_Strict):
    """One annotator's annotations of one document: one line of a JSONL file."""

    doc_id: Name
    """Identifier of the document, the same in every annotator's file."""
    annotator: Name
    """Who made these annotations (`gold` for adjudicated records)."""
    text: str
    """The exact document text; all offsets index into it."""
    meta: Meta = Field(default_factory=Meta)
    """Provenance and rights of the document."""


if TYPE_CHECKING:
    Record = RecordBase
    """For type checkers: the record's layer fields are added from `layers.LAYERS` at run time."""


def __getattr__(name: str) -> Any:
    # `Record` is `RecordBase` plus one list field per layer, built by `corpus_tools.layers`
    # from the registry (which needs the item models above, hence the late import).
    if name == "Record":
        from corpus_tools.layers import Record

        return Record
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def model_of(annotation: Any) -> type[BaseModel] | None:
    """The model a field annotation holds (`Span | None` -> `Span`, `list[Stance]` -> `Stance`)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = model_of(arg)
        if found is not None:
            return found
    return None


def strip_optional(annotation: Any) -> Any:
    """`X | None` and `Annotated[X, ...]` -> `X`: nullability and constraints are not types."""
    if get_origin(annotation) is Annotated:
        return strip_optional(get_args(annotation)[0])
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return strip_optional(args[0])
    return annotation


def unwrap(annotation: Any, metadata: Iterable[Any] = ()) -> tuple[Any, list[Any], bool]:
    """`(type, constraints, optional)` of a field: its annotation without `| None` and
    `Annotated[...]`, the constraints found on the way (after the field's own `metadata`), and
    whether None is allowed. A union of several types is returned as it is."""
    constraints = list(metadata)
    optional = False
    while True:
        if get_origin(annotation) is Annotated:
            annotation, *extra = get_args(annotation)
            constraints += extra
        elif get_origin(annotation) in (Union, types.UnionType):
            args = [a for a in get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return annotation, constraints, optional
            optional, annotation = True, args[0]
        else:
            return annotation, constraints, optional


def int_bounds(constraints: Iterable[Any]) -> tuple[int | None, int | None]:
    """The least and greatest integer that `ge`/`gt`/`le`/`lt` constraints allow (None: no
    bound that side)."""
    lo: int | None = None
    hi: int | None = None
    lows: list[int] = []
    highs: list[int] = []
    for c in constraints:
        if isinstance(getattr(c, "metadata", None), list):  # a `Field(...)` inside `Annotated`
            lo, hi = int_bounds(c.metadata)
            lows += [] if lo is None else [lo]
            highs += [] if hi is None else [hi]
        values = {name: getattr(c, name, None) for name in ("ge", "gt", "le", "lt")}
        for name, value in values.items():
            if not isinstance(value, int | float) or isinstance(value, bool):
                continue
            if name == "ge":
                lows.append(math.ceil(value))
            elif name == "gt":
                lows.append(math.floor(value) + 1)
            elif name == "le":
                highs.append(math.floor(value))
            else:
                highs.append(math.ceil(value) - 1)
    return (max(lows) if lows else None), (min(highs) if highs else None)


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of one line, generated from `Record`."""
    from corpus_tools.layers import Record

    schema = Record.model_json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://github.com/corpus-tools/corpus-tools/schema/record.schema.json",
        **schema,
    }


def prediction_json_schema() -> dict[str, Any]:
    """The JSON Schema of one line of predictions, generated from `layers.PredictionRecord`."""
    from corpus_tools.layers import PredictionRecord

    schema = PredictionRecord.model_json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://github.com/corpus-tools/corpus-tools/schema/prediction.schema.json",
        **schema,
    }
