"""corpus-tools: validate, merge, split and publish discourse-annotated corpora.

The library does the work and returns result objects; the `corpus` command line only parses
arguments and prints them. One function per command:

    corpus_tools.validate(paths)                         -> Report
    corpus_tools.merge(paths, output=..., conflicts=...) -> MergeResult
    corpus_tools.agreement(paths)                        -> AgreementReport
    corpus_tools.evaluate(gold, pred)                    -> EvaluationReport
    corpus_tools.split(paths, output=...)                -> SplitResult
    corpus_tools.import_records(fmt, paths)              -> ImportResult
    corpus_tools.publish.publish(split_dir, output=...)  -> PublishResult
    corpus_tools.build.build(config)                     -> BuildResult
    corpus_tools.view.view(paths, output=...)            -> ViewResult
    corpus_tools.baseline.baselines(split_dir)           -> BaselineResults

Importing the package is cheap: nothing here loads numpy, pyarrow, `datasets` or Jinja2 (publish,
build, view and the converters are imported when first used).
"""

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from corpus_tools.agreement import agreement
    from corpus_tools.convert import export_records, import_records
    from corpus_tools.errors import CorpusToolsError, InvalidInputError
    from corpus_tools.evaluate import evaluate
    from corpus_tools.layers import LAYERS, Layer, PredictionRecord, Record
    from corpus_tools.merge import merge
    from corpus_tools.problems import CATALOGUE, Problem, Report
    from corpus_tools.schema import Attribution, Meta, RhetoricalQuestion, Span, Stance
    from corpus_tools.split import split
    from corpus_tools.validate import Validated, require_valid, validate

__version__ = "0.1.0"

_HOMES = {
    "agreement": "agreement",
    "evaluate": "evaluate",
    "merge": "merge",
    "split": "split",
    "validate": "validate",
    "export_records": "convert",
    "import_records": "convert",
    "CorpusToolsError": "errors",
    "InvalidInputError": "errors",
    "LAYERS": "layers",
    "Layer": "layers",
    "Record": "layers",
    "PredictionRecord": "layers",
    "CATALOGUE": "problems",
    "Problem": "problems",
    "Report": "problems",
    "Attribution": "schema",
    "Meta": "schema",
    "RhetoricalQuestion": "schema",
    "Span": "schema",
    "Stance": "schema",
    "Validated": "validate",
    "require_valid": "validate",
}
"""Where each public name lives. They load on first use (PEP 562), so that a command imports only
what it needs: `corpus validate` never loads the converters, numpy or pyarrow."""

__all__ = [
    "CATALOGUE",
    "LAYERS",
    "Attribution",
    "CorpusToolsError",
    "InvalidInputError",
    "Layer",
    "Meta",
    "PredictionRecord",
    "Problem",
    "Record",
    "Report",
    "RhetoricalQuestion",
    "Span",
    "Stance",
    "Validated",
    "agreement",
    "evaluate",
    "export_records",
    "import_records",
    "merge",
    "require_valid",
    "split",
    "validate",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"corpus_tools.{home}"), name)
    globals()[name] = value
    return value


class _Package(types.ModuleType):
    """The package, whose functions named like their modules (`validate`, `merge`, `split`,
    `agreement`, `evaluate`) keep their names: the import system binds every submodule it loads on its
    package, which would hide the function behind the module."""

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, types.ModuleType) and _HOMES.get(name) == name:
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
