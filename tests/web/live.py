"""The real web app served by `grants web` (uvicorn) on a free loopback port, over a data folder of its own, for
browser tests and the benchmark; and Debian's Chromium for Playwright (skipped locally without it, failing in CI)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import chdir, contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from flows.web.process import web_process
from tests.cli_support import grants as cli_grants
from tests.ports import free_port

__all__ = ["CHROMIUM", "chromium", "chromium_or_skip", "free_port", "grants", "lead_link", "portal_env", "serve"]

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")


def chromium_or_skip() -> str:
    """Chromium's path; skips the test without it, but fails under CI=true (CI installs it: .ci/install-chromium)."""
    if CHROMIUM.exists():
        return str(CHROMIUM)
    if os.environ.get("CI"):
        pytest.fail("CI must run the browser tests: /usr/bin/chromium is missing (see .ci/install-chromium)")
    pytest.skip("Chromium not installed (apt-get install -y chromium) for the browser tests")


@contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's Chromium launched headless for Playwright (skipped without it locally, failing under CI=true)."""
    path = chromium_or_skip()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=path, args=["--no-sandbox"])
        yield launched
        launched.close()


def portal_env(folder: Path, **extra: str) -> dict[str, str]:
    """Environment for `grants` commands over `folder` (its own data, a copy of the example config)."""
    if not (folder / "config").exists():
        shutil.copytree(ROOT / "config", folder / "config")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRANTS_")}
    env |= {"GRANTS_DATA_DIR": str(folder / "data"), "GRANTS_CONFIG_DIR": str(folder / "config"),
            "PYTHONPATH": str(ROOT)} | extra
    return env


def grants(folder: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """Run a `grants` command in `folder`, in this process through the real entry point (tests/cli_support.py); its
    standard output."""
    with chdir(folder):
        done = cli_grants(*args, env=env or portal_env(folder))
    assert done.returncode == 0, done.stderr
    return done.stdout


def lead_link(folder: Path, project: str) -> str:
    """The token of a project's live link (from `grants link`)."""
    line = next(x for x in grants(folder, "link", "--project", project).splitlines() if "/p/" in x)
    return line.split("/p/", 1)[1].strip()


@contextmanager
def serve(folder: Path, as_of: str, **extra: str) -> Iterator[str]:
    """`grants web` acting on `as_of`, on a free port; yields its base address, stops it afterwards."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = portal_env(folder, GRANTS_WEB_BASE_URL=base, **extra)
    log_path = folder / f"web-{port}.log"
    with log_path.open("wb") as log, web_process(["--port", str(port), "--as-of", as_of], cwd=folder, env=env,
                                                 stdout=log, stderr=subprocess.STDOUT) as process:
        _wait(base, process, log_path)
        yield base


def _wait(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"grants web stopped: {log.read_text(errors='replace')[-2000:]}")
        try:
            with urllib.request.urlopen(f"{base}/static/app.css", timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("grants web did not answer within 60 s")
