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

`publish` and `build` stay in their modules (`from corpus_tools.publish import publish`) because
they import `datasets`, which takes a second; everything else is importable from here.
"""

from corpus_tools.agreement import agreement
from corpus_tools.convert import export_records, import_records
from corpus_tools.errors import CorpusToolsError, InvalidInputError
from corpus_tools.merge import merge
from corpus_tools.problems import CATALOGUE, Problem, Report
from corpus_tools.schema import Attribution, Meta, Record, RhetoricalQuestion, Span, Stance
from corpus_tools.split import split
from corpus_tools.validate import validate

__version__ = "0.1.0"

__all__ = [
    "CATALOGUE",
    "Attribution",
    "CorpusToolsError",
    "InvalidInputError",
    "Meta",
    "Problem",
    "Record",
    "Report",
    "RhetoricalQuestion",
    "Span",
    "Stance",
    "agreement",
    "export_records",
    "import_records",
    "merge",
    "split",
    "validate",
]
