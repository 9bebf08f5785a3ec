"""The officers' workspace under test: the example programme lived until late January 2025 in a real SQLite file,
accounts of each role, and the real app (create_app) behind Starlette's TestClient or uvicorn on a free port."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from flows.database import configured_engine
from flows.web.app import create_app
from grants.kernel.accounts import add_account
from grants.kernel.db import session_scope
from grants.kernel.settings import Settings
from grants.monitoring.assessment import run_checks
from tests.factories import load_example
from tests.scenario import live_until_q3

AS_OF = date(2025, 1, 24)
PASSWORD = "correct horse battery staple"
ACCOUNTS = {"viewer": "viewer@example.org", "officer": "officer@example.org", "admin": "admin@example.org"}


@pytest.fixture
def programme(settings: Settings) -> Settings:
    """The example programme up to 24 January 2025 (speech and language's Q3 return overdue), checked, with accounts."""
    engine = configured_engine()
    load_example(engine)
    live_until_q3(engine)
    with session_scope(engine) as session:
        run_checks(session, AS_OF)
        for role, email in ACCOUNTS.items():
            add_account(session, email, role, PASSWORD, datetime(2025, 1, 1, tzinfo=UTC), "test")
    return settings


@pytest.fixture
def app(programme: Settings) -> FastAPI:
    return create_app(programme, as_of=AS_OF)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, follow_redirects=False) as test_client:
        yield test_client


def csrf_of(html: str) -> str:
    """The CSRF token of the first form on a page."""
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no form with a CSRF token on the page"
    return found.group(1)


def sign_in(client: TestClient, role: str) -> None:
    """Sign in as the account of this role through the real login form."""
    page = client.get("/login")
    answer = client.post("/login", data={"email": ACCOUNTS[role], "password": PASSWORD, "csrf": csrf_of(page.text)})
    assert answer.status_code == 303, answer.text


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def live_url(app: FastAPI) -> Iterator[str]:
    """The app served by uvicorn on 127.0.0.1 (a free port) in a thread, for the browser."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
