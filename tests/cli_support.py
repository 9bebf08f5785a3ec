"""Run a `grants` command as the tests' subprocesses did (`python -m flows.cli ARGS` with an environment, standard
input and output captured) but inside the test process: the same entry point (flows.cli.main, which turns errors
into one line and an exit code), the environment replaced for the call and restored, the cached settings and
engines dropped before and after. It saves a fresh interpreter importing pandas, SQLAlchemy and the CLI (~2 s of
CPU) per command. Tests about the process itself (servers, signals, Prefect, a run held while another starts) keep
a real subprocess: pass `subprocess=True` or call subprocess.run directly."""

from __future__ import annotations

import io
import logging
import os
import subprocess as sp
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from grants.kernel.db import get_engine
from grants.kernel.settings import get_settings


@contextmanager
def _environment(env: Mapping[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _drop_caches() -> None:
    get_settings.cache_clear()
    get_engine.cache_clear()  # each command opens its own engines, as a process does


@contextmanager
def _engines_closed_afterwards() -> Iterator[None]:
    """Dispose of every engine the command connected with (a process's exit closes its connections: a later
    command may replace the database file, and the next test may drop the database)."""
    used: set[Engine] = set()

    def note(connection: Connection) -> None:
        used.add(connection.engine)

    event.listen(Engine, "engine_connect", note)
    try:
        yield
    finally:
        event.remove(Engine, "engine_connect", note)
        for engine in used:
            engine.dispose()


def _run_main(args: Sequence[str]) -> int:
    from flows.cli import main

    saved_argv = sys.argv
    sys.argv = ["grants", *args]
    try:
        main()
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    finally:
        sys.argv = saved_argv
    return 0


def grants(*args: str, env: Mapping[str, str] | None = None, input: str = "",
           subprocess: bool = False) -> sp.CompletedProcess[str]:
    """`grants ARGS` with `env` (default: this process's environment) and `input` on standard input; its exit code,
    standard output and standard error as a CompletedProcess."""
    environment = dict(os.environ if env is None else env)
    if subprocess:
        return sp.run([sys.executable, "-m", "flows.cli", *args], capture_output=True, text=True, check=False,
                      input=input, env=environment)
    out, err = io.BytesIO(), io.BytesIO()
    streams = (sys.stdin, sys.stdout, sys.stderr)
    stdout, stderr = io.TextIOWrapper(out, encoding="utf-8"), io.TextIOWrapper(err, encoding="utf-8")
    # A process with no logging set up prints warnings bare on standard error (logging's last resort): the same here.
    warnings = logging.StreamHandler(stderr)
    warnings.setLevel(logging.WARNING)
    root = logging.getLogger()
    with _environment(environment), _engines_closed_afterwards():
        _drop_caches()
        sys.stdin, sys.stdout, sys.stderr = io.StringIO(input), stdout, stderr
        root.addHandler(warnings)
        try:
            code = _run_main(args)
        finally:
            root.removeHandler(warnings)
            stdout.flush()
            stderr.flush()
            sys.stdin, sys.stdout, sys.stderr = streams
            _drop_caches()
    return sp.CompletedProcess(["grants", *args], code, out.getvalue().decode(), err.getvalue().decode())
