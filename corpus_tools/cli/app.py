"""The Typer application object and what every command shares: error handling and output."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from enum import Enum
from functools import wraps
from typing import Any, ParamSpec, TypeVar

import typer

from corpus_tools.errors import CorpusToolsError, InvalidInputError
from corpus_tools.files import describe_os_error, printable

app = typer.Typer(
    name="corpus",
    help="Validate, merge, split and publish discourse-annotated corpora.",
    context_settings={"help_option_names": ["-h", "--help"]},
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    add_completion=False,
)

P = ParamSpec("P")
R = TypeVar("R")


class ReportFormat(str, Enum):
    """How a report is printed."""

    text = "text"
    json = "json"
    github = "github"


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """The one place where the library's exceptions become exit statuses.

    - `InvalidInputError`: the validation report of the inputs on stderr, exit status 1;
    - `CorpusToolsError`: one line on stderr, exit status 2;
    - `OSError` (a full disk, a path under a file): one line naming the file, exit status 2.
    """

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except InvalidInputError as e:
            from corpus_tools.cli.render import report_text

            err(report_text(e.report))
            err("nothing was written")
            raise typer.Exit(code=1) from None
        except CorpusToolsError as e:
            err(f"error: {e}")
            raise typer.Exit(code=2) from None
        except OSError as e:
            err(f"error: {describe_os_error(e)}")
            raise typer.Exit(code=2) from None

    return wrapper


def jobs_option(jobs: int) -> int:
    """`--jobs` capped at the CPU count, with a note on stderr when it was capped."""
    from corpus_tools.validate import usable_jobs

    capped = usable_jobs(jobs)
    if capped < jobs:
        err(f"note: --jobs {jobs} is more than the {capped} CPU(s) this process may use; using {capped}")
    return capped


def out(text: str = "") -> None:
    """Print a result line to stdout."""
    _write(sys.stdout, text)


def err(text: str) -> None:
    """Print a diagnostic line to stderr."""
    _write(sys.stderr, text)


def _write(stream: Any, text: str) -> None:
    # Text that cannot be encoded (a file name that is not UTF-8) is escaped, never a traceback.
    data = (printable(text) + "\n").encode(getattr(stream, "encoding", None) or "utf-8", "backslashreplace")
    buffer = getattr(stream, "buffer", None)
    if buffer is not None:
        stream.flush()
        buffer.write(data)
        buffer.flush()
    else:  # a test runner's text stream
        stream.write(data.decode(getattr(stream, "encoding", None) or "utf-8", "replace"))


class Interrupted(BaseException):
    """Raised in the main thread by SIGTERM (as a CI cancel sends) or Ctrl-C, so that every
    `finally` and `except BaseException` in the library runs and temporary outputs go away."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


_received: list[int] = []
"""The signal that interrupted the command, once one has."""


def _interrupt(signum: int, _frame: Any) -> None:
    # Further signals are ignored while the cleanup runs.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _received.append(signum)
    raise Interrupted(signum)


def run() -> None:
    """Run the app with SIGTERM and Ctrl-C turned into a clean stop (exit status 128 + signal)."""
    from corpus_tools.files import left_pending

    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    code = 0
    try:
        app()
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    except BaseException:
        # The signal may surface wrapped by a library that called back into Python (pydantic
        # wraps exceptions raised in serializers): whatever the exception, it is the signal's.
        if not _received:
            raise
    finally:
        # Nothing is left to clean up: a signal now must not interrupt the interpreter's exit.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    if _received:
        name = signal.Signals(_received[0]).name
        if left_pending():
            err(
                f"interrupted by {name} while moving the new outputs into place: the next corpus "
                "command completes the move (a journal beside them says so)"
            )
        else:
            err(f"interrupted by {name}: outputs were left as they were, temporary files removed")
        code = 128 + _received[0]
    sys.exit(code)
