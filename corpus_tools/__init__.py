"""corpus-tools: validate, merge, split and publish discourse-annotated corpora.

The library does the work and returns result objects; the `corpus` command line only parses
arguments and prints them. One function per command:

    corpus_tools.validate(paths)                         -> Report
    corpus_tools.merge(paths, output=..., conflicts=...) -> MergeResult
    corpus_tools.agreement(paths)                        -> AgreementReport
    corpus_tools.split(paths, output=...)                -> SplitResult
    corpus_tools.import_records(fmt, paths)              -> ImportResult
    corpus_tools.publish.publish(split_dir, output=...)  -> PublishResult
    corpus_tools.build.build(config)                     -> BuildResult

Importing the package is cheap: nothing here loads numpy, pyarrow or `datasets` (publish, build
and the converters are imported when first used).
"""

from typing import Any

from corpus_tools.agreement import agreement
from corpus_tools.errors import CorpusToolsError, InvalidInputError
from corpus_tools.layers import LAYERS, Layer, Record
from corpus_tools.merge import merge
from corpus_tools.problems import CATALOGUE, Problem, Report
from corpus_tools.schema import Attribution, Meta, RhetoricalQuestion, Span, Stance
from corpus_tools.split import split
from corpus_tools.validate import Validated, require_valid, validate

__version__ = "0.1.0"

__all__ = [
    "CATALOGUE",
    "LAYERS",
    "Attribution",
    "CorpusToolsError",
    "InvalidInputError",
    "Layer",
    "Meta",
    "Problem",
    "Record",
    "Report",
    "RhetoricalQuestion",
    "Span",
    "Stance",
    "Validated",
    "agreement",
    "export_records",
    "import_records",
    "merge",
    "require_valid",
    "split",
    "validate",
]


def __getattr__(name: str) -> Any:
    # The converters load on first use: `corpus validate` never needs them.
    if name in ("import_records", "export_records"):
        from corpus_tools import convert

        return getattr(convert, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
