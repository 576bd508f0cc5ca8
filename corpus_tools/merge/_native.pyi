"""Types of the C module `_native.c` (merge's usual case; see `voting.py`)."""

from typing import Any

SOURCE: str
"""The SHA-256 of `_native.c` as built (set by setup.py)."""

def clusters(
    layer: str,
    key: str | None,
    steps: tuple[tuple[int, str], ...],
    annotators: list[str],
    items: list[Any],
    refs: list[dict[str, int]],
    norm: Any,
    overlap: float,
    targeted: bool,
    author: str,
    version: type[Any],
    cluster: type[Any],
    /,
) -> list[Any] | None: ...
def candidates(clusters: list[Any], threshold: int, candidate: type[Any], /) -> list[Any]: ...
def gold_items(
    fields: tuple[tuple[str, int, int], ...],
    candidates: list[Any],
    prefix: str,
    ids: Any,
    author: str,
    /,
) -> list[dict[str, Any]] | None: ...

VALUE: int
OWN: int
SPAN: int
TEXT: int
REFERENCE: int
LIST: int
"""How `clusters` makes an attribute comparable (`voting._value_kind`)."""
G_OWN: int
G_SPAN: int
G_REFERENCE: int
G_TEXT: int
G_VALUE: int
"""How `gold_items` writes a field (`gold._steps`)."""
