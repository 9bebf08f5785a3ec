"""`grants serve --port N` serves a Prefect UI that calls its API on port N (not 4200), and a port already in use
is one clear line and exit 1, never a silent move to another port; a web port in use is a warning and the jobs
are still served; Ctrl-C then stops it in order (exit 0; while it is still starting: tests/cli/test_interrupt.py)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from grants.kernel.settings import Settings


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    env["PREFECT_HOME"] = str(settings.data_dir / "prefect")
    return env


def _ui_settings(port: int, process: subprocess.Popen[str], timeout: float = 120) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ui-settings", timeout=2) as response:
                settings: dict[str, object] = json.loads(response.read())
                return settings
        except OSError:
            time.sleep(0.5)
    raise AssertionError("the UI never answered")


def test_serve_on_a_port_in_use_fails_with_one_line_and_does_not_move(settings: Settings, tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = subprocess.run([sys.executable, "-m", "flows.cli", "serve", "--port", str(port)],
                                capture_output=True, text=True, env=_env(settings), timeout=60, check=False)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: port {port} is already in use (another `grants serve` or Prefect server?): stop it or pass --port "
        "with a free port"]
    assert "Prefect UI" not in result.stdout and not (settings.data_dir / "prefect").exists()


def test_serve_on_a_chosen_port_points_the_ui_there_and_a_web_port_in_use_is_one_warning(settings: Settings) -> None:
    """One Prefect server start (the slowest thing here) for two rules: the UI calls its API on the port chosen
    (not 4200), and a web port already in use is one warning line while the jobs are served without the web app."""
    port = _free_port()
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        web_port = holder.getsockname()[1]
        process = subprocess.Popen([sys.executable, "-m", "flows.cli", "serve", "--port", str(port), "--web-port",
                                    str(web_port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   env=_env(settings), start_new_session=True)
        try:
            ui = _ui_settings(port, process)  # the Prefect server and the jobs run
            assert ui["api_url"] == f"http://127.0.0.1:{port}/api"
        finally:
            os.killpg(process.pid, signal.SIGINT)
            output, errors = process.communicate(timeout=60)
    assert errors.splitlines()[0] == (
        f"warning: port {web_port} is already in use (another `grants web` or `grants serve`?): stop it or pass "
        "--web-port with a free port; serving the jobs without the web app")
    assert "Web app (the project leads' portal)" not in output
    # Ctrl-C once started is the orderly stop: the server it started stopped, "Stopped.", exit 0, no traceback
    assert output.rstrip().endswith("Stopped.") and process.returncode == 0
    assert "Traceback" not in errors and "interrupted" not in errors
