"""A test-only fourth layer, `hedges` ("perhaps", "it seems"), added through `CORPUS_TOOLS_LAYERS`
without editing the package: one `Layer` entry plus its model, as `corpus_tools/layers.py` says.
`test_fourth_layer.py` runs every command with it."""

from __future__ import annotations

from typing import Literal

from corpus_tools.layers import Layer, Part, Reference
from corpus_tools.schema import Item, Name, Offset


class Hedge(Item):
    """A hedge: words that weaken the writer's commitment to a claim."""

    start: Offset
    end: Offset
    text: str
    strength: Literal["weak", "strong"]
    holder: Name


LAYER = Layer(
    name="hedges",
    model=Hedge,
    label="strength",
    prefix="h",
    key=None,
    parts=(Part(None, "hedge"),),
    description="Hedges weakening a claim.",
    tool_prefix="HEDGE",
    reference=Reference("holder", author=True, unknown="unknown-holder", outside="holder-outside-content"),
    tuple_fields=("strength", "holder"),
    similarity=(("strength", 2), ("holder", 1)),
)
