"""Types of the C module `_native.c` (the validator's fast path; see `mirror.py`)."""

from collections.abc import Callable
from typing import Any

SOURCE: str
"""The SHA-256 of `_native.c` as built (set by setup.py)."""

def configure(
    *,
    decode: Callable[[bytes], Any],
    decode_errors: tuple[type[BaseException], ...],
    unset: Any,
    plan: tuple[tuple[Any, ...], ...],
    references: tuple[tuple[Any, ...], ...],
    aliases: dict[Any, frozenset[str]],
    splits_word: Callable[[str, int, int], bool],
    answer_follows: Callable[..., bool],
    outer_first: Callable[[str, str], bool],
    in_aside: Callable[..., bool],
    target_occurs: Callable[..., bool],
    is_language_tag: Callable[[str], bool],
) -> None: ...
def is_clean(rec: Any, /) -> bool: ...
def repeats_a_key(raw: bytes, /) -> bool | None: ...
def clean_record(raw: bytes, /) -> Any | None: ...
