"""The Typer application object and what every command shares: error handling and output."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from enum import Enum
from functools import wraps
from typing import Any, NoReturn, ParamSpec, TypeVar, overload

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


@overload
def handle_errors(func: Callable[P, R], /) -> Callable[P, R]: ...


@overload
def handle_errors(
    *, writes: bool = True, invalid_status: int = 1, format_param: str | None = None
) -> Callable[[Callable[P, R]], Callable[P, R]]: ...


def handle_errors(
    func: Callable[P, R] | None = None,
    /,
    *,
    writes: bool = True,
    invalid_status: int = 1,
    format_param: str | None = None,
) -> Callable[P, R] | Callable[[Callable[P, R]], Callable[P, R]]:
    """The one place where the library's exceptions become exit statuses.

    - `InvalidInputError`: the validation report of the inputs on stderr, and "nothing was
      written" for a command that writes; exit status `invalid_status` (1: problems in the data;
      `corpus evaluate` gives 2, keeping 1 for its `--min-f1` gate);
    - `CorpusToolsError`: one line on stderr, exit status 2;
    - `OSError` (a full disk, a path under a file): one line naming the file, exit status 2.

    With `format_param`, the command's parameter choosing the output format: when it is `json`,
    stdout holds a JSON object in every case (the report `{"problems": [...], "summary":
    {...}}`, or `{"error": "..."}`), so that a script can always parse it.

    Use as `@handle_errors` or `@handle_errors(writes=False, ...)`.
    """

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        @wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            fmt = kwargs.get(format_param) if format_param else None
            as_json = getattr(fmt, "value", fmt) == "json"
            try:
                return func(*args, **kwargs)
            except InvalidInputError as e:
                from corpus_tools.cli.render import report_json, report_text

                if as_json:
                    out(report_json(e.report))
                else:
                    err(report_text(e.report))
                if writes:
                    err("nothing was written")
                raise typer.Exit(code=invalid_status) from None
            except CorpusToolsError as e:
                _error(str(e), as_json)
            except OSError as e:
                _error(describe_os_error(e), as_json)

        return wrapper

    return decorate if func is None else decorate(func)


def _error(message: str, as_json: bool) -> NoReturn:
    if as_json:
        import orjson

        out(orjson.dumps({"error": message}, option=orjson.OPT_INDENT_2).decode())
    err(f"error: {message}")
    raise typer.Exit(code=2) from None


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
