"""The JSON Schema files in `schema/`, generated from the models and checked for staleness:
`record.schema.json` (a record line) and `prediction.schema.json` (a line of a model's
predictions, what `corpus evaluate` reads)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from corpus_tools.files import atomic_open
from corpus_tools.schema import json_schema, prediction_json_schema

SCHEMA_FILE = "record.schema.json"
PREDICTION_SCHEMA_FILE = "prediction.schema.json"


def _text(schema: Callable[[], dict[str, Any]]) -> str:
    # Keys in the models' field order (as pydantic generates them), two-space indent, final newline.
    return json.dumps(schema(), indent=2, ensure_ascii=False) + "\n"


def schema_text() -> str:
    """The record schema as it is written to disk."""
    return _text(json_schema)


def prediction_schema_text() -> str:
    """The prediction record schema as it is written to disk."""
    return _text(prediction_json_schema)


FILES: dict[str, Callable[[], str]] = {
    SCHEMA_FILE: schema_text,
    PREDICTION_SCHEMA_FILE: prediction_schema_text,
}
"""Each schema file and what it holds."""


def write_schema_dir(folder: Path) -> list[Path]:
    """Write the schema files into `folder` (atomically) and return their paths."""
    paths = []
    for name, text in FILES.items():
        path = Path(folder) / name
        with atomic_open(path, "w") as f:
            f.write(text())
        paths.append(path)
    return paths


def check_schema_dir(folder: Path) -> list[str]:
    """Names of the schema files in `folder` that are missing or differ from the models."""
    # The texts first: a registry that cannot be built stops the check here.
    expected = {name: text() for name, text in FILES.items()}
    stale = []
    for name, text in expected.items():
        path = Path(folder) / name
        try:
            current = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):  # missing, unreadable or not UTF-8: stale
            current = None
        if current != text:
            stale.append(str(path))
    return stale
