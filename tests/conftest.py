"""Shared fixtures: isolated settings, the example config, and databases (a real SQLite file and PostgreSQL)."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from argon2 import PasswordHasher
from sqlalchemy.engine import Engine, make_url

from grants.kernel import accounts
from grants.kernel.db import create_schema, get_engine
from grants.kernel.settings import DEVELOPMENT_SIGNING_KEY, Settings, get_settings
from tests import db_templates

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_CONFIG = ROOT / "config"
EXAMPLE_GRANT_FILE = EXAMPLE_CONFIG / "grants" / "svd-2024-25.yaml"


@pytest.fixture(scope="session", autouse=True)
def _cheap_password_hashes() -> Iterator[None]:
    """Argon2id at its lowest cost in this test process (production's costs ~0.2 s of CPU a hash; the workspace
    fixtures hash three passwords per test): still real Argon2id hashes, made and checked by the same code."""
    with pytest.MonkeyPatch.context() as patch:
        cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
        patch.setattr(accounts, "_HASHER", cheap)
        patch.setattr(accounts, "_DUMMY_HASH", cheap.hash("not-a-real-password-used-for-timing"))
        yield


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    """A copy of the shipped config folder that a test may edit."""
    target = tmp_path / "config"
    shutil.copytree(EXAMPLE_CONFIG, target)
    return target


@pytest.fixture
def settings(tmp_path: Path, config_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """Settings pointing every folder and the SQLite database into the test's temporary folder; the development
    signing key (tests only; an installation gets its own from `grants init`); inbox files taken however fresh."""
    monkeypatch.setenv("GRANTS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("GRANTS_SIGNING_KEY", DEVELOPMENT_SIGNING_KEY)
    monkeypatch.setenv("GRANTS_RETURN_INBOX_SETTLE_SECONDS", "0")
    monkeypatch.setenv("GRANTS_CONFIG_DIR", str(config_dir))
    monkeypatch.delenv("GRANTS_DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


def _postgres_admin_url() -> str | None:
    url = os.environ.get("GRANTS_TEST_POSTGRES_URL")
    if not url and os.environ.get("CI"):
        pytest.fail("CI must run the PostgreSQL tests: GRANTS_TEST_POSTGRES_URL is not set (see .ci/run)")
    return url


def _postgres_database(*, schema: bool) -> Iterator[str]:
    """A fresh PostgreSQL database on the test server (empty, or a copy of the migrated template), dropped after."""
    admin = _postgres_admin_url()
    if not admin:
        pytest.skip("GRANTS_TEST_POSTGRES_URL not set (bash .ci/start-postgres starts a server)")
    name = f"grants_test_{uuid.uuid4().hex[:12]}"
    db_templates.create_postgres(admin, name, schema=schema)
    try:
        yield make_url(admin).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(db_templates.conninfo(admin), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database on the test server, dropped afterwards."""
    yield from _postgres_database(schema=False)


@pytest.fixture
def postgres_schema_url() -> Iterator[str]:
    """A fresh PostgreSQL database at the head of the migrations (a copy of the migrated template), dropped after."""
    yield from _postgres_database(schema=True)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Repository tests run twice: on a real SQLite file and on a real PostgreSQL database (for a test that uses the
    `engine` fixture, created at once as the copy of the migrated template that fixture would make of it)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'grants.db'}"
    return str(request.getfixturevalue("postgres_schema_url" if "engine" in request.fixturenames else "postgres_url"))


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine with the schema created (a copy of this process's migrated template), disposed after the test."""
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite" and url.database:
        db_templates.sqlite_with_schema(Path(url.database))
    elif url.get_backend_name() == "postgresql" and url.database and (admin := _postgres_admin_url()):
        db_templates.postgres_with_schema(admin, url.database)
    else:
        create_schema(get_engine(db_url))
    eng = get_engine(db_url)
    yield eng
    eng.dispose()
    get_engine.cache_clear()
