"""Import from and export to the annotation tools annotators use, with offsets proven.

`import_records` reads a tool's export (Label Studio, doccano, Prodigy, brat, the SemEval-2020
PTC, INCEpTION UIMA CAS JSON), converts every offset to code points, checks every span against
the document text, maps labels and relations onto our layers (`mapping`), and returns the
records that converted cleanly with a `Problem` for everything that did not. `export_records`
writes validated records as a Label Studio task file (with the records as predictions) or a
brat collection; `export_config` writes each tool's labelling configuration from the models'
vocabularies, so that annotators start with exactly the labels the import expects.

See docs/convert.md for the formats, the label convention and the offset units.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from corpus_tools.convert.assemble import Conversion
    from corpus_tools.convert.mapping import LabelMap, load_label_map
    from corpus_tools.convert.run import (
        ExportResult,
        ImportResult,
        Tally,
        export_config,
        export_records,
        import_records,
    )

__all__ = [
    "EXPORT_CONFIGS",
    "EXPORT_FORMATS",
    "IMPORT_FORMATS",
    "Conversion",
    "ExportResult",
    "ImportResult",
    "LabelMap",
    "Tally",
    "export_config",
    "export_records",
    "import_records",
    "load_label_map",
]

IMPORT_FORMATS: dict[str, str | None] = {
    "labelstudio": "*.json",
    "doccano": "*.jsonl",
    "prodigy": "*.jsonl",
    "brat": None,
    "ptc": None,
    "inception": None,
}
"""Each import format (its reader is `corpus_tools.convert.<format>.read`) and the files it takes
from a folder (None: the reader decides)."""

EXPORT_FORMATS = ("labelstudio", "brat")
EXPORT_CONFIGS = ("labelstudio-config", "brat-config")


def __getattr__(name: str) -> Any:
    # The readers and writers load on first use, so that the command line's other commands
    # (and its start-up) do not pay for them.
    if name in ("LabelMap", "load_label_map"):
        from corpus_tools.convert import mapping

        return getattr(mapping, name)
    if name in __all__:
        from corpus_tools.convert import run

        return getattr(run, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
