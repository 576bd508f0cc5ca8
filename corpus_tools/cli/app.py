"""The Typer application object and what every command shares: error handling and output."""

from __future__ import annotations

import sys
from collections.abc import Callable
from enum import Enum
from functools import wraps
from typing import Any, TypeVar

import typer

from corpus_tools.errors import CorpusToolsError

app = typer.Typer(
    name="corpus",
    help="Validate, merge, split and publish discourse-annotated corpora.",
    context_settings={"help_option_names": ["-h", "--help"]},
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    add_completion=False,
)

F = TypeVar("F", bound=Callable[..., Any])


class ReportFormat(str, Enum):
    """How a report is printed."""

    text = "text"
    json = "json"
    github = "github"


def handle_errors(func: F) -> F:
    """Turn a `CorpusToolsError`, or an `OSError` from writing, into a one-line message on stderr
    and exit status 2."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except CorpusToolsError as e:
            typer.echo(f"error: {e}", err=True)
            raise typer.Exit(code=2) from None
        except OSError as e:  # e.g. an output path under a file, a full disk
            where = f"{e.filename}: " if e.filename else ""
            typer.echo(f"error: {where}{e.strerror or e}", err=True)
            raise typer.Exit(code=2) from None

    return wrapper  # type: ignore[return-value]


def out(text: str = "") -> None:
    """Print a result line to stdout."""
    sys.stdout.write(text + "\n")


def err(text: str) -> None:
    """Print a diagnostic line to stderr."""
    sys.stderr.write(text + "\n")
