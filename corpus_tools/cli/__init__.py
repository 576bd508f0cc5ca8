"""The `corpus` command line: one module per command group, all registered on one Typer app."""

from corpus_tools.cli import convert, evaluate, merge, publish, schema, split, validate, view  # noqa: F401  (registers the commands)
from corpus_tools.cli.app import app, run

__all__ = ["app", "main"]


def main() -> None:
    """Entry point of the `corpus` console script."""
    run()
