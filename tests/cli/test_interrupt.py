"""Ctrl-C (SIGINT to the process group, as a terminal sends it) while `grants` is still starting ends it with one
line, "interrupted", and exit code 130: never a Python traceback, even in the middle of importing the commands.
(After `grants serve` has started, Ctrl-C is its orderly stop: see tests/flows/test_serve_port.py.)"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grants.kernel.settings import Settings
from tests.ports import free_port

GRANTS = Path(sys.executable).with_name("grants")  # the console script, as a person runs it


def _importing_the_commands(pid: int) -> bool:
    """The process has got past Python's own start-up into importing the commands (pydantic-core is loaded then;
    before that, no program's code runs, and Ctrl-C there is Python's alone)."""
    try:
        return "pydantic_core" in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


@pytest.mark.parametrize("command", [["serve", "--port", "{port}", "--web-port", "{web_port}"],
                                     ["web", "--port", "{web_port}"]], ids=["serve", "web"])
def test_ctrl_c_while_starting_ends_with_one_line_and_exit_130(settings: Settings, command: list[str]) -> None:
    ports = {"port": str(free_port()), "web_port": str(free_port())}
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    process = subprocess.Popen([str(GRANTS), *(part.format(**ports) for part in command)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)
    try:
        started = time.monotonic()
        while not _importing_the_commands(process.pid) or time.monotonic() - started < 0.3:
            assert process.poll() is None, process.communicate()
            time.sleep(0.01)
        os.killpg(process.pid, signal.SIGINT)
        output, errors = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
    assert (process.returncode, errors) == (130, "interrupted\n"), output
    assert "Prefect UI" not in output and not (settings.data_dir / "prefect").exists()
