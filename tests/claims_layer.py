"""A test-only extra layer of another shape than `fourth_layer.py`'s hedges, added through
`CORPUS_TOOLS_LAYERS`: its items are matched by a part (`key="claim"`), have an optional second
part (`evidence`), an optional reference to an attribution, and fields of every supported type
(a bounded int, a bool, a float, a name that is no reference, lists with length constraints).
`test_claims_layer.py` runs every command with it."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from corpus_tools.layers import Layer, Part, Reference
from corpus_tools.schema import Item, Name, Span


class Claim(Item):
    """A claim the text makes, with the evidence it gives for it."""

    claim: Span
    """What is claimed."""
    evidence: Span | None = None
    """The evidence given for it, if any."""
    stance: Literal["assert", "deny"]
    """Whether the claim is asserted or denied."""
    holder: Name | None = None
    """`author`, or the attribution whose source makes the claim; null when unclear."""
    strength: int = Field(ge=1, le=5)
    """How strongly it is made, 1 to 5."""
    hedged: bool = False
    """Whether it is hedged."""
    confidence: float | None = Field(None, ge=0, le=1)
    """The annotator's confidence, 0 to 1."""
    speaker: Name | None = None
    """A name for whoever makes the claim (not a reference: any valid name)."""
    tags: list[str] = Field(default=[], max_length=2)
    """At most two free tags."""
    cues: list[str] | None = Field(None, min_length=1)
    """The cue words, when given: at least one."""
    reach: int | None = Field(None, ge=0, le=2**62)
    """How many readers it reached (beyond int32: published as int64)."""


LAYER = Layer(
    name="claims",
    model=Claim,
    label="stance",
    prefix="c",
    key="claim",
    parts=(Part("claim", "claim"), Part("evidence", "evidence")),
    description="Claims with their evidence.",
    tool_prefix="CLAIM",
    reference=Reference("holder", author=True, unknown="unknown-holder", outside="holder-outside-content"),
    tuple_fields=("stance", "strength", "holder"),
    similarity=(("stance", 2), ("evidence", 1), ("strength", 1)),
)
