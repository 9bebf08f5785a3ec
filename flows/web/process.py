"""`grants web` in a child process for as long as a block runs, stopped afterwards: how `grants serve` starts the web
app beside the scheduler, and how the browser tests and benchmarks serve it. It only names the command (`python -m
flows.cli web`); it imports nothing of the commands."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO


@contextmanager
def web_process(args: Sequence[str], *, cwd: Path | None = None, env: Mapping[str, str] | None = None,
                stdout: IO[bytes] | int = subprocess.DEVNULL,
                stderr: IO[bytes] | int | None = None) -> Iterator[subprocess.Popen[bytes]]:
    """`grants web ARGS` (this interpreter) in a child process; on leaving the block it is terminated, and killed if
    it has not stopped within 10 s."""
    process = subprocess.Popen([sys.executable, "-m", "flows.cli", "web", *args], cwd=cwd, env=env, stdout=stdout,
                               stderr=stderr)
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
