"""Which tool wrote an export: the hint an import gives when it was told the wrong format.

An import reads a file only as the format named on the command line; it never guesses which
format to read. But when a file yields no clean record, the import says what the file looks
like (`corpus import doccano x.jsonl` given a Prodigy export: "x.jsonl looks like a Prodigy
export (its first record has `text`, `spans`, `_input_hash`); import it with `corpus import
prodigy x.jsonl`"), so that the user is not left with an empty result or a list of shape errors
that all mean "wrong format".

Each format is recognised by keys no other tool writes at that place, or by its file names
(brat's `.ann`, the PTC's `article<ID>.txt` and labels files). Only the start of a file is read
(a megabyte, enough for the first record of every export seen), and a folder is looked into only
as far as its first few files.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from corpus_tools.files import display

PREFIX = 1 << 20
"""How much of a file is read to recognise it."""
_FOLDER_FILES = 50
"""How many files of a folder are looked at, at most."""

NAMES = {
    "labelstudio": "Label Studio",
    "doccano": "doccano",
    "prodigy": "Prodigy",
    "brat": "brat",
    "ptc": "PTC (SemEval-2020 Task 11)",
    "inception": "INCEpTION (UIMA CAS JSON)",
}
"""Each import format's tool, as messages name it."""

_PRODIGY = ("_input_hash", "_task_hash", "spans", "tokens", "answer")
_DOCCANO = ("label", "labels", "entities", "annotations")
_ARTICLE = re.compile(r"^article\d+\.txt$")


@dataclass(frozen=True)
class Guess:
    """What an export looks like: the import format that reads it, and why it looks so."""

    fmt: str
    evidence: str
    """What gave it away, for the message: `its first record has `data`, `annotations``."""

    def hint(self, path: Path | str, *, named: bool = True) -> str:
        """The advice: what `path` looks like and the command that reads it (`named`: the
        message starts with the path, where the message does not name it already)."""
        tool = NAMES[self.fmt]
        article = "an" if tool[0] in "AEIOU" else "a"
        subject = display(path) if named else "the folder" if Path(path).is_dir() else "the file"
        return (
            f"{subject} looks like {article} {tool} export ({self.evidence}); "
            f"import it with `corpus import {self.fmt} {display(path)}`"
        )


def guess(path: Path) -> Guess | None:
    """The import format `path` (a file or a folder) looks like, or None when it looks like
    none of them (or cannot be read)."""
    try:
        if path.is_dir():
            return _folder(path)
        return _file(path)
    except OSError:
        return None


def _folder(folder: Path) -> Guess | None:
    files: list[Path] = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        files.extend(Path(root) / n for n in sorted(names) if not n.startswith("."))
        if len(files) >= _FOLDER_FILES:
            break
    names = [f.name for f in files]
    if any(n.endswith(".ann") for n in names):
        return Guess("brat", "it holds brat's .ann files")
    if any(_ARTICLE.match(n) for n in names) and any("labels" in n for n in names):
        return Guess("ptc", "it holds article<ID>.txt and labels files")
    for f in files[:_FOLDER_FILES]:
        if f.suffix.lower() in (".json", ".jsonl"):
            found = _file(f)
            if found is not None:
                return Guess(found.fmt, f"{display(f.relative_to(folder))} in it: {found.evidence}")
    return None


def _file(path: Path) -> Guess | None:
    if path.suffix == ".ann":
        return Guess("brat", "a brat .ann file; give the folder holding it and its .txt")
    if _ARTICLE.match(path.name):
        return Guess("ptc", "a PTC article; give it with its labels file, or their folder")
    with open(path, "rb") as f:
        data = f.read(PREFIX)
    text = data.decode("utf-8", "replace").lstrip("\ufeff \t\r\n")
    if "labels" in path.name and re.match(r"^\w+\t", text):
        return Guess("ptc", "a labels file of tab-separated offsets")
    value = _first_value(text)
    if isinstance(value, list):
        first = next((v for v in value if isinstance(v, dict)), None)
        return _record(first, "its first element has") if first is not None else None
    if isinstance(value, dict):
        return _record(value, "its first record has") or _record(_first_task(value), "its task has")
    return None


def _first_value(text: str) -> Any:
    """The first JSON value of `text` (a line of JSON Lines, a whole document, or a document cut
    short by the prefix: then the first element of its top-level array), or None."""
    line = text.split("\n", 1)[0]
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:
        pass
    decoder = json.JSONDecoder()
    try:
        return decoder.raw_decode(text)[0]
    except ValueError:
        pass
    if text.startswith("["):  # an array longer than the prefix: its first element
        try:
            return [decoder.raw_decode(text, len(text) - len(text[1:].lstrip()))[0]]
        except ValueError:
            return None
    return None


def _first_task(value: dict[str, Any]) -> Any:
    """The first task of a wrapper around Label Studio's task list (`{"tasks": [...]}`)."""
    tasks = next((v for v in value.values() if isinstance(v, list) and v), None)
    return tasks[0] if tasks is not None else None


def _record(obj: Any, what: str) -> Guess | None:
    """The format whose record `obj` is, by the keys only that tool writes there."""
    if not isinstance(obj, dict):
        return None

    def has(keys: tuple[str, ...] | list[str]) -> str:
        return f"{what} " + ", ".join(f"`{k}`" for k in keys)

    if "%FEATURE_STRUCTURES" in obj:
        return Guess("inception", has(["%FEATURE_STRUCTURES"]))
    if isinstance(obj.get("data"), dict) and ("annotations" in obj or "predictions" in obj):
        return Guess("labelstudio", has(["data", "annotations" if "annotations" in obj else "predictions"]))
    if "text" in obj and (keys := [k for k in _PRODIGY if k in obj]):
        return Guess("prodigy", has(["text", *keys]))
    text = "text" if "text" in obj else "data" if isinstance(obj.get("data"), str) else None
    if text is not None and (keys := [k for k in _DOCCANO if isinstance(obj.get(k), list)]):
        return Guess("doccano", has([text, *keys]))
    return None
