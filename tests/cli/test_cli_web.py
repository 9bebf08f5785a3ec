"""`grants link` prints a lead's link (and revokes it); `grants serve` runs `grants web` beside the engine."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from flows.cli.web import check_web_port, web_beside
from flows.engine.server import check_prefect_port
from grants.kernel.settings import Settings
from tests.cli_support import grants as cli_grants
from tests.web.live import free_port


def _grants(*args: str) -> subprocess.CompletedProcess[str]:
    return cli_grants(*args, env=dict(os.environ))


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def test_link_prints_the_leads_address_and_revoke_replaces_it(settings: Settings) -> None:
    assert _grants("init").returncode == 0
    first = _grants("link", "--project", "purple-flag")
    assert first.returncode == 0, first.stderr
    [address] = [w for w in first.stdout.split() if "/p/" in w]
    assert address.startswith(settings.web_base_url + "/p/")
    assert _grants("link", "--project", "purple-flag").stdout == first.stdout  # the same live link
    revoked = _grants("link", "--project", "purple-flag", "--revoke")
    assert revoked.returncode == 0 and "Revoked 1 link(s)" in revoked.stdout
    assert address not in _grants("link", "--project", "purple-flag").stdout
    unknown = _grants("link", "--project", "no-such-project")
    assert unknown.returncode == 1 and unknown.stderr.startswith("error: no project with code 'no-such-project'")


def test_the_web_app_runs_beside_the_engine_and_stops_with_it(settings: Settings, capsys: pytest.CaptureFixture[str]
                                                              ) -> None:
    port = free_port()
    with web_beside("127.0.0.1", port):
        assert f"http://127.0.0.1:{port}/" in capsys.readouterr().out
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                assert _status(f"http://127.0.0.1:{port}/") == 200
                break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail("the web app did not answer")
    with pytest.raises(OSError):
        _status(f"http://127.0.0.1:{port}/")


def test_web_without_a_signing_key_stops_with_one_line_saying_to_run_init(settings: Settings) -> None:
    env = {k: v for k, v in os.environ.items() if k != "GRANTS_SIGNING_KEY"}
    answer = cli_grants("web", "--port", str(free_port()), env=env)
    assert answer.returncode == 1 and answer.stderr.startswith("error: no signing key yet: run `grants init`")


def test_web_on_a_port_in_use_stops_with_one_line_and_exit_1(settings: Settings) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        answer = _grants("web", "--port", str(port))
    assert (answer.returncode, answer.stderr.strip()) == (1, f"error: port {port} is already in use (another `grants "
                                                              "web` or `grants serve`?): stop it or pass --port with a "
                                                              "free port")
    assert "Web app:" not in answer.stdout


def test_a_port_out_of_range_is_refused_by_the_option_not_a_traceback(settings: Settings) -> None:
    answer = _grants("web", "--port", "99999")
    assert answer.returncode == 2 and "Invalid value for '--port'" in answer.stderr and "Traceback" not in answer.stderr


def test_a_port_just_closed_is_free_for_the_web_app_and_the_prefect_server() -> None:
    """A server stopped a moment ago leaves its port in TIME_WAIT; uvicorn and Prefect's server listen there again
    (SO_REUSEADDR), so neither check calls it in use. One check serves both (flows.ports)."""
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn listens
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port)) as client:
            accepted, _ = server.accept()
            accepted.close()  # the server side closes first: its end of the connection waits in TIME_WAIT
            client.recv(1)
    check_web_port("127.0.0.1", port, "--port")
    assert check_prefect_port(port) == port
