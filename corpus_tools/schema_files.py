"""The JSON Schema files in `schema/`, generated from the models and checked for staleness."""

from __future__ import annotations

import json
from pathlib import Path

from corpus_tools.files import atomic_open
from corpus_tools.schema import json_schema

SCHEMA_FILE = "record.schema.json"


def schema_text() -> str:
    """The record schema as it is written to disk: keys in the models' field order (as pydantic
    generates them), two-space indent, final newline."""
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


def write_schema_dir(folder: Path) -> list[Path]:
    """Write the schema files into `folder` (atomically) and return their paths."""
    path = Path(folder) / SCHEMA_FILE
    with atomic_open(path, "w") as f:
        f.write(schema_text())
    return [path]


def check_schema_dir(folder: Path) -> list[str]:
    """Names of the schema files in `folder` that are missing or differ from the models."""
    path = Path(folder) / SCHEMA_FILE
    expected = schema_text()  # first: a registry that cannot be built stops the check here
    try:
        current = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):  # missing, unreadable or not UTF-8: all stale
        return [str(path)]
    return [] if current == expected else [str(path)]
