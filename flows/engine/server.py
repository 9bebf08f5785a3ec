"""A local Prefect server for `grants serve`: started on loopback with its database under PREFECT_HOME, stopped cleanly.

`serve()` against Prefect's temporary in-process server registers deployments but never runs them (see STACK.md),
so the engine starts a real `prefect server start` process unless PREFECT_API_URL already names a server.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flows.ports import check_port_free
from grants.kernel.errors import GrantsError


def check_prefect_port(port: int) -> int:
    """`port` if nothing holds it on 127.0.0.1; otherwise GrantsError in one line. Never another port: the UI
    address, PREFECT_API_URL and the README's `prefect deployment run` command all name this one."""
    return check_port_free("127.0.0.1", port, option="--port", holders="another `grants serve` or Prefect server")


def wait_healthy(api_url: str, process: subprocess.Popen[bytes], timeout: float, log: Path) -> None:
    """Poll /api/health until the server answers; fail with the end of its log if it dies or times out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace").strip().splitlines()[-3:]
            raise GrantsError(f"the Prefect server exited while starting: {' | '.join(tail)} (log: {log})")
        try:
            with urllib.request.urlopen(f"{api_url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    raise GrantsError(f"the Prefect server did not answer within {timeout:.0f} s (log: {log})")


@contextmanager
def local_prefect_server(home: Path, port: int = 4200, timeout: float = 90) -> Iterator[str]:
    """Start `prefect server start` on 127.0.0.1:`port` (SQLite under `home`), its UI told to call the API on that
    same port; yield the API URL; stop it on exit. A port already in use is a GrantsError, not another port."""
    home.mkdir(parents=True, exist_ok=True)
    check_prefect_port(port)
    api_url = f"http://127.0.0.1:{port}/api"
    log = home / "server.log"
    env = {**os.environ, "PREFECT_HOME": str(home.resolve()), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "DO_NOT_TRACK": "1", "PREFECT_UI_API_URL": api_url, "PREFECT_SERVER_UI_API_URL": api_url}
    env.pop("PREFECT_API_URL", None)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True,
        )
    try:
        wait_healthy(api_url, process, timeout, log)
        yield api_url
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
