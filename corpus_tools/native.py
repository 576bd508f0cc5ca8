"""The package's compiled modules (`validate/_native.c`, `merge/_native.c`): refuse one that was
built from another version of its source, or that is missing.

A checkout edited since `make` or `pip install -e .` last built it would otherwise run the old
module silently: the validator's old rules, or merge's old clustering. Each module records the
SHA-256 of the source it was built from (`SOURCE`, set by setup.py).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from corpus_tools.errors import CorpusToolsError


def digest(source: Path, header: Path) -> str:
    """The SHA-256 setup.py records in a module: of its C file, then the header both include."""
    return hashlib.sha256(source.read_bytes() + header.read_bytes()).hexdigest()


HEADER = Path(__file__).with_name("_slots.h")


def check_built(source: Path, built: str, header: Path = HEADER) -> None:
    """Raise when `source` (a C file beside its module) or the header it includes (`_slots.h`)
    is not what the module was built from (`built`, their SHA-256). An installed package has no
    source beside it; a module built without setup.py records none.

    Raises:
        CorpusToolsError: naming the file and how to rebuild.
    """
    if source.exists() and header.exists() and built and digest(source, header) != built:
        raise CorpusToolsError(
            f"{source} (or {header.name}) has changed since its module was built; rebuild it with `make setup` "
            "(or `pip install -e .` in the environment)"
        )


def missing(source: Path) -> CorpusToolsError:
    """The error for a compiled module that is not there (a checkout installed before the
    module was added, or never built)."""
    return CorpusToolsError(
        f"the module built from {source} is missing; build it with `make setup` "
        "(or `pip install -e .` in the environment)"
    )
