"""corpus-tools: validate, merge, split and publish discourse-annotated corpora.

The library does the work and returns result objects; the `corpus` command line only parses
arguments and prints them.
"""

from corpus_tools.errors import CorpusToolsError
from corpus_tools.problems import CATALOGUE, Problem, Report
from corpus_tools.schema import Attribution, Meta, Record, RhetoricalQuestion, Span, Stance
from corpus_tools.validate import validate

__version__ = "0.1.0"

__all__ = [
    "CATALOGUE",
    "Attribution",
    "CorpusToolsError",
    "Meta",
    "Problem",
    "Record",
    "Report",
    "RhetoricalQuestion",
    "Span",
    "Stance",
    "validate",
]
