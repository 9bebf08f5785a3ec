"""The configured database for every entry point (commands, jobs, the demo, the web app): engine and session."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Engine
from sqlmodel import Session

from grants.kernel.db import create_schema, get_engine, session_scope
from grants.kernel.settings import get_settings


def configured_engine() -> Engine:
    """The configured database engine with the schema in place (created if missing)."""
    engine = get_engine(get_settings().db_url)
    create_schema(engine)
    return engine


@contextmanager
def open_session() -> Iterator[Session]:
    """A committed-on-success session on the configured database (schema created if missing)."""
    with session_scope(configured_engine()) as session:
        yield session
