"""`grants link` prints a lead's link (and revokes it); `grants serve` runs `grants web` beside the engine."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from flows.cli.web import web_beside
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


def test_web_on_a_port_already_listened_on_stops_with_one_line(settings: Settings) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        answer = _grants("web", "--port", str(port))
    assert answer.returncode == 1 and "Web app:" not in answer.stdout
    assert answer.stderr.startswith(f"error: cannot listen on 127.0.0.1:{port} (Address already in use)")
