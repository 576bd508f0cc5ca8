"""Where the work of validate, merge and publish runs: this process (the default), or a cluster.

An engine runs the same library functions as the local run, on another scheduler, and gives the
same outputs. It implements the three steps that read the whole corpus:

- `check_files`: the validation run (`corpus_tools.validate.run.check_files`): the lines checked
  chunk by chunk, and the checks across lines and files keyed on `doc_id`;
- `merge_documents`: every document merged (`corpus_tools.merge.merge_documents`), its gold
  record and conflicts written in `doc_id` order;
- `write_gold`: the `default` and `spans` configs of a published dataset
  (`corpus_tools.publish.configs.write_gold`).

Everything else (options, outputs staged and committed as a set, the card, the checks after
writing) stays in the command's own function, which takes `engine=`. One module per engine:
`dask.py` (`dask.distributed`). Nothing here imports an engine's libraries until
`open_engine` asks for that engine.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol

from corpus_tools.errors import CorpusToolsError

if TYPE_CHECKING:
    import pyarrow as pa

    from corpus_tools.merge import Merged
    from corpus_tools.publish.configs import Documents, Written
    from corpus_tools.validate import Validated
    from corpus_tools.validate.run import Run

ENGINES = ("local", "dask")
"""The engines `--engine` accepts: `local` is this process (with `--jobs` processes)."""

Progress = Callable[[str, int, int], None]
"""Called as `progress(step, done, total)` while an engine works."""


class Engine(Protocol):
    """What an engine provides: the three corpus-wide steps (see the module docstring)."""

    name: str
    dashboard: str | None
    """Where to watch the run (a URL), when the engine has a dashboard."""

    def __enter__(self) -> Engine:
        """Start or join the cluster."""
        ...

    def __exit__(self, *exc: object) -> None:
        """Leave the cluster (and stop it, if the engine started it)."""
        ...

    def check_files(
        self,
        paths: Iterable[Path | str],
        *,
        ignore: Iterable[str] = (),
        max_problems: int | None = None,
        strict: bool = False,
        jobs: int = 1,
        aliases: Path | None = None,
        dataset_aliases: bool = False,
        configs: tuple[str, ...] | None = None,
        split: str | None = None,
        predictions: bool = False,
        passes: bool = False,
    ) -> Run:
        """Validate as `corpus_tools.validate.run.check_files` does (without the index)."""
        ...

    def merge_documents(
        self, valid: Validated, merger: Any, gold: BinaryIO, conflicts: BinaryIO, gold_name: str
    ) -> Merged:
        """Merge every document of `valid` as `corpus_tools.merge.merge_documents` does, writing
        gold and conflicts in `doc_id` order."""
        ...

    def write_gold(
        self,
        split_files: Mapping[str, Path],
        root: Path,
        documents: Documents,
        progress: Progress | None,
        on_table: Callable[[pa.Table, str], None],
    ) -> Written:
        """Write the `default` and `spans` configs as `publish.configs.write_gold` does."""
        ...


def open_engine(
    name: str, *, scheduler: str | None = None, workers: int = 1, progress: Progress | None = None
) -> Engine:
    """The engine called `name`, ready to use as a context manager (which starts or joins its
    cluster, and leaves it when the block ends). The local run needs none: pass `engine=None`.

    Args:
        name: one of `ENGINES` other than `local`.
        scheduler: the address of a running cluster's scheduler to join; without it, a local
            cluster of `workers` processes is started.
        workers: processes of the local cluster.
        progress: called as the engine's tasks finish.

    Raises:
        CorpusToolsError: for an unknown engine, or one whose libraries are not installed.
    """
    if name == "dask":
        try:
            from corpus_tools.engines.dask import DaskEngine
        except ImportError as e:
            raise CorpusToolsError(
                f"--engine dask needs Dask ({e.name} is missing): pip install 'corpus-tools[dask]'"
            ) from None
        return DaskEngine(scheduler=scheduler, workers=workers, progress=progress)
    raise CorpusToolsError(f"--engine must be one of {', '.join(ENGINES)}, not {name!r}")
