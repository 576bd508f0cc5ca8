"""The one exception the toolkit raises when it cannot run (as opposed to problems in the data)."""

from __future__ import annotations

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
