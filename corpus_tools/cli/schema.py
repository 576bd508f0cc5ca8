"""`corpus schema`: write or check the JSON Schema generated from the models."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from corpus_tools.cli.app import app, err, handle_errors, out
from corpus_tools.schema_files import check_schema_dir, write_schema_dir


@app.command()
@handle_errors
def schema(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Folder to write the schema files to.")
    ] = None,
    check: Annotated[
        bool, typer.Option("--check", help="Exit 1 if the files in the folder are stale.")
    ] = False,
) -> None:
    """Print, write or check the JSON Schema (draft 2020-12) of a record line.

    Example: corpus schema --check --output schema/
    """
    if check:
        stale = check_schema_dir(output or Path("schema"))
        for name in stale:
            err(f"stale: {name} (run `corpus schema --output {output or 'schema'}`)")
        if stale:
            raise typer.Exit(code=1)
        out("schema is up to date")
        return
    if output is None:
        from corpus_tools.schema_files import schema_text

        out(schema_text().rstrip("\n"))
        return
    for path in write_schema_dir(output):
        out(f"wrote {path}")
