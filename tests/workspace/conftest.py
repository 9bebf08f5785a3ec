"""The officers' workspace under test: the example programme lived until late January 2025 in a real SQLite file,
accounts of each role, and the real app (create_app) behind Starlette's TestClient or uvicorn on a free port."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from flows.database import configured_engine
from flows.web.app import create_app
from grants.kernel.accounts import add_account
from grants.kernel.db import create_schema, session_scope
from grants.kernel.settings import Settings
from grants.monitoring.assessment import run_checks
from tests import db_templates
from tests.factories import load_example
from tests.ports import free_port
from tests.scenario import live_until_q3
from tests.web_support import csrf_of, served_in_thread

__all__ = ["ACCOUNTS", "AS_OF", "PASSWORD", "csrf_of", "free_port", "sign_in"]

AS_OF = date(2025, 1, 24)
PASSWORD = "correct horse battery staple"
ACCOUNTS = {"viewer": "viewer@example.org", "officer": "officer@example.org", "admin": "admin@example.org"}


@pytest.fixture
def programme(settings: Settings) -> Settings:
    """The example programme up to 24 January 2025 (speech and language's Q3 return overdue), checked, with accounts:
    built once in this test process by the real code and copied for each test (tests/db_templates.py)."""
    engine = configured_engine()
    if engine.dialect.name == "sqlite" and db_templates.fresh_at_head(engine):
        db_templates.restore_into(engine, "workspace-programme", _build_programme)
    else:
        _fill_programme(engine)
    return settings


def _build_programme(engine: Engine) -> None:
    create_schema(engine)
    _fill_programme(engine)


def _fill_programme(engine: Engine) -> None:
    load_example(engine)
    live_until_q3(engine)
    with session_scope(engine) as session:
        run_checks(session, AS_OF)
        for role, email in ACCOUNTS.items():
            add_account(session, email, role, PASSWORD, datetime(2025, 1, 1, tzinfo=UTC), "test")


@pytest.fixture
def app(programme: Settings) -> FastAPI:
    return create_app(programme, as_of=AS_OF)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, follow_redirects=False) as test_client:
        yield test_client


def sign_in(client: TestClient, role: str) -> None:
    """Sign in as the account of this role through the real login form."""
    page = client.get("/login")
    answer = client.post("/login", data={"email": ACCOUNTS[role], "password": PASSWORD, "csrf": csrf_of(page.text)})
    assert answer.status_code == 303, answer.text


@pytest.fixture
def live_url(app: FastAPI) -> Iterator[str]:
    """The app served by uvicorn on 127.0.0.1 (a free port) in a thread, for the browser."""
    with served_in_thread(app) as base:
        yield base
