"""The `corpus` command line: one module per command group, all registered on one Typer app."""

from corpus_tools.cli import convert, evaluate, merge, publish, schema, split, validate, view  # noqa: F401  (registers the commands)
from corpus_tools.cli.app import app, run

__all__ = ["app", "main"]


def main() -> None:
    """Run the command line (the `corpus` script's entry point is `corpus_tools.__main__.main`,
    which starts signal-safe and then runs the same)."""
    run()
