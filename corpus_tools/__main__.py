"""The program's entry point: the `corpus` command and `python -m corpus_tools`.

Ctrl-C and SIGTERM are turned into a clean stop from the first moment: while the command line is
still loading, nothing has been read or written, so the process just says so and exits; once a
command runs, `corpus_tools.cli.app.run` takes over (cleanup, journals, exit status 128 + signal).
"""

from __future__ import annotations

import os
import signal
import sys
from types import FrameType


def _stop_while_loading(signum: int, _frame: FrameType | None) -> None:
    sys.stderr.write(
        f"corpus: interrupted by {signal.Signals(signum).name} while starting; nothing was done\n"
    )
    os._exit(128 + signum)


def main() -> None:
    """Run the `corpus` command line."""
    signal.signal(signal.SIGINT, _stop_while_loading)
    signal.signal(signal.SIGTERM, _stop_while_loading)
    import corpus_tools.cli  # noqa: F401  (registers the commands)
    from corpus_tools.cli.app import run

    run()


if __name__ == "__main__":
    main()
