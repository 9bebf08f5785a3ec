"""The configured database for every entry point (commands, jobs, the demo, the web app): engine and session."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Engine
from sqlalchemy.exc import ArgumentError
from sqlmodel import Session

from grants.kernel.db import create_schema, get_engine, session_scope
from grants.kernel.errors import GrantsError
from grants.kernel.settings import get_settings


def configured_engine() -> Engine:
    """The configured database engine with the schema in place (created if missing)."""
    try:
        engine = get_engine(get_settings().db_url)
    except (ArgumentError, ImportError) as exc:  # a mistyped setting or a database without a driver here: one line
        # naming the setting (neither message holds the password)
        raise GrantsError(f"GRANTS_DATABASE_URL is not a database URL the engine can use ({exc}): use "
                          "postgresql://user:password@host/database, or leave it unset for SQLite in the data "
                          "folder") from None
    create_schema(engine)
    return engine


@contextmanager
def open_session() -> Iterator[Session]:
    """A committed-on-success session on the configured database (schema created if missing)."""
    with session_scope(configured_engine()) as session:
        yield session
