"""What the commands that read a whole corpus share: `--engine`, `--scheduler` and the progress
display."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from corpus_tools.cli.app import err

if TYPE_CHECKING:
    from corpus_tools.engines import Engine


class EngineName(str, Enum):
    """Where the work runs."""

    local = "local"
    dask = "dask"


EngineOption = Annotated[
    EngineName,
    typer.Option(
        "--engine",
        help="Where to run: this machine (local), or a Dask cluster (dask: --scheduler, or a local one of --jobs workers). Same outputs.",
    ),
]
SchedulerOption = Annotated[
    str | None,
    typer.Option(
        "--scheduler",
        help="With --engine dask: the address of a running cluster's scheduler to join (tcp://host:8786).",
    ),
]


@contextlib.contextmanager
def engine_context(
    name: EngineName, scheduler: str | None, jobs: int, progress: Any = None
) -> Iterator[Engine | None]:
    """The engine to pass to the library (None for local), with its dashboard link on stderr
    and a progress bar while it works (`progress`, the command's own display, when it has one:
    a terminal shows one display at a time)."""
    if name is EngineName.local:
        if scheduler is not None:
            err("note: --scheduler is used with --engine dask only; running locally")
        yield None
        return
    from corpus_tools.engines import open_engine

    with contextlib.ExitStack() as stack:
        if progress is None:
            progress = stack.enter_context(progress_display())
        engine = stack.enter_context(
            open_engine(name.value, scheduler=scheduler, workers=jobs, progress=progress)
        )
        if engine.dashboard:
            err(f"{name.value}: dashboard at {engine.dashboard}")
        yield engine


@contextlib.contextmanager
def progress_display() -> Iterator[Any]:
    """A rich progress display on stderr, fed by the library's `progress(step, done, total)`."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    display = Progress(
        TextColumn("{task.description:<24}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )
    tasks: dict[str, TaskID] = {}

    def update(step: str, done: int, total: int) -> None:
        if step not in tasks:
            tasks[step] = display.add_task(step, total=max(total, 1))
        display.update(tasks[step], completed=done, total=max(total, 1))

    with display:
        yield update
