"""The workspace's forms on PostgreSQL, which cannot store a NUL character in text: one typed into a form (or a
forged request) is dropped, never a server error."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from flows.database import configured_engine
from flows.web.app import create_app
from grants.kernel import models as m
from grants.kernel.accounts import add_account
from grants.kernel.db import session_scope
from grants.kernel.settings import Settings, get_settings
from tests.factories import load_example
from tests.workspace.conftest import AS_OF, PASSWORD, csrf_of


@pytest.mark.postgres
def test_a_nul_character_in_a_form_is_dropped_on_postgresql(settings: Settings, postgres_schema_url: str,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRANTS_DATABASE_URL", postgres_schema_url)
    get_settings.cache_clear()
    engine = configured_engine()
    load_example(engine)
    with session_scope(engine) as session:
        add_account(session, "officer@example.org", "officer", PASSWORD, datetime(2025, 1, 1, tzinfo=UTC), "test")
    with TestClient(create_app(get_settings(), as_of=AS_OF), follow_redirects=False) as client:
        page = client.get("/login")
        odd = client.post("/login", data={"email": "officer@exam\x00ple.org", "password": "x",
                                          "csrf": csrf_of(page.text)})
        assert odd.status_code == 401
        signed = client.post("/login", data={"email": "officer@example.org", "password": PASSWORD,
                                             "csrf": csrf_of(page.text)})
        assert signed.status_code == 303
        page = client.get("/officer/risks")
        added = client.post("/officer/risks/new", data={"grant_id": "1", "title": "Venue\x00 closing",
                                                        "likelihood": "2", "impact": "3", "csrf": csrf_of(page.text)})
        assert added.status_code == 303
    with session_scope(engine) as session:
        assert session.exec(select(m.Risk.title).where(m.Risk.kind == "manual")).one() == "Venue closing"
