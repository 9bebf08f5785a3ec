"""Fixtures for the web app: the example programme in a SQLite file, the app (fixed to a day in 2024/25 Q2's
reporting window) under a TestClient, and a lead's link."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from flows.database import open_session
from flows.web.app import create_app
from grants.kernel.settings import Settings, get_settings
from grants.programme.links import configured_link_key, current_link, token_of
from grants.programme.loader import load_programmes
from grants.programme.lookup import find_project
from grants.programme.register import initialise
from grants.returns.sandbox import shutdown
from tests.web_support import csrf_of

__all__ = ["NOW", "OPEN_DAY", "csrf_of", "issue_workbook", "lead_token"]

OPEN_DAY = date(2024, 10, 5)  # Q2 (Jul-Sep 2024) has ended and is due on Monday 14 October 2024
NOW = datetime(2024, 10, 5, 10, 0, tzinfo=UTC)


@pytest.fixture(scope="module", autouse=True)
def _stop_parser_pool() -> Iterator[None]:
    yield
    shutdown()


@pytest.fixture
def loaded(settings: Settings) -> Settings:
    """The example programme loaded into the test's SQLite database."""
    with open_session() as session:
        initialise(session, load_programmes(settings.config_dir))
    return settings


def lead_token(code: str = "active-bystander") -> str:
    """The project's live link token (issued if it has none)."""
    settings = get_settings()
    with open_session() as session:
        link = current_link(session, find_project(session, code), NOW, settings.lead_link_margin_days)
        return token_of(configured_link_key(settings), link)


@pytest.fixture
def client(loaded: Settings) -> Iterator[TestClient]:
    """The web app acting on OPEN_DAY."""
    with TestClient(create_app(loaded, as_of=OPEN_DAY)) as test_client:
        yield test_client


def issue_workbook(client: TestClient, token: str, folder: Path, period: str = "2024-25-Q2") -> Path:
    """Download the pre-filled workbook from the lead's page, as the lead would."""
    response = client.get(f"/p/{token}/workbook/{period}")
    assert response.status_code == 200
    path = folder / f"return-{period}.xlsx"
    path.write_bytes(response.content)
    return path
