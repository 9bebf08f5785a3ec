"""The `grants` command line (typer): one module per group of commands; errors become one line and an exit
code. Commands call the jobs (flows.engine.jobs) and grants/, never the other way round.

`main` is the console script's entry point. It imports the commands (pandas, SQLAlchemy, typer: a second or two)
only once it is running, so Ctrl-C at any point, even during those imports, ends with one line, never a traceback."""

from __future__ import annotations

import signal
import sys
import threading
from types import FrameType
from typing import NoReturn

INTERRUPTED = 130
"""The exit code after Ctrl-C (128 + SIGINT), as shells and typer use it."""

_CTRL_C = threading.Event()


def main() -> None:
    """Run `grants`; Ctrl-C while it starts or runs prints "interrupted" on standard error and exits 130 (a command
    that stops in order on Ctrl-C, as `grants serve` does once started, says so itself and exits 0)."""
    if (threading.current_thread() is threading.main_thread()  # only there may handlers be set (tests call main too)
            and signal.getsignal(signal.SIGINT) is signal.default_int_handler):  # not when started with SIGINT ignored
        signal.signal(signal.SIGINT, _on_ctrl_c)
    try:
        from flows.cli.app import main as run_commands

        raise_if_interrupted()
        run_commands()
    except KeyboardInterrupt:
        _interrupted()
    except SystemExit as exc:
        if exc.code == INTERRUPTED:  # typer ends a command Ctrl-C interrupted with this code and no word
            _interrupted()
        raise


def _on_ctrl_c(signum: int, frame: FrameType | None) -> None:
    """Python's own answer to Ctrl-C (KeyboardInterrupt), remembered: pydantic-core swallows the exception when the
    signal lands while it builds a model's validator (as importing the commands or Prefect does, many times)."""
    _CTRL_C.set()
    raise KeyboardInterrupt


def raise_if_interrupted() -> None:
    """KeyboardInterrupt if Ctrl-C was pressed and the exception swallowed (call after long imports, before starting
    anything that must then be stopped)."""
    if _CTRL_C.is_set():
        raise KeyboardInterrupt


def _interrupted() -> NoReturn:
    print("interrupted", file=sys.stderr, flush=True)
    raise SystemExit(INTERRUPTED)
