"""The exceptions the toolkit raises when it cannot run (as opposed to problems in the data): one
class, `CorpusToolsError`, and subclasses that carry what a caller may need."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from corpus_tools.problems import Report


class CorpusToolsError(Exception):
    """A command cannot run: a missing path, a bad option, an unusable configuration.

    Problems in annotation data are not exceptions: they are `Problem`s in a `Report`. The CLI
    prints this error in one line and exits with status 2.
    """


class InvalidInputError(CorpusToolsError):
    """Input files failed validation; `report` says why. The CLI prints the report, exits 1."""

    def __init__(self, report: Report) -> None:
        super().__init__("the input files are not valid; see the validation report")
        self.report = report


class LayerError(CorpusToolsError):
    """The layer registry cannot be built: `CORPUS_TOOLS_LAYERS` names no importable `Layer`, or a
    layer is one the commands cannot handle (`corpus_tools.layers` says which and why). Raised
    when the registry is first imported, so by any command that reads or writes records.

    The message is one line (the CLI prints it as `error: ...`), whatever it quotes.
    """

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))


class RefusedDecision(CorpusToolsError):
    """A line of the decisions file that the merge cannot apply: an `accept` of an annotator
    without a version, an adjudicator's item that is malformed or names no adjudicator, an
    ambiguous correction, corrected gold that would be invalid. `corpus merge` stops on it (exit
    2, like any `CorpusToolsError`); `corpus view` shows the line as refused, with this message.

    `lines` are the lines of the decisions file to blame (several when the merge cannot tell
    which of a document's corrections made its gold invalid).
    """

    def __init__(self, message: str, lines: Iterable[int | None]) -> None:
        super().__init__(message)
        self.lines = tuple(sorted({n for n in lines if n is not None}))
