"""Helpers every CLI module shares: the --as-of option, and a database session on the configured engine."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Annotated

import typer
from sqlalchemy.engine import Engine
from sqlmodel import Session

from flows.clock import today
from grants.db import create_schema, get_engine, session_scope
from grants.errors import GrantsError
from grants.settings import get_settings

AsOf = Annotated[str | None, typer.Option("--as-of", help="Date to act as (YYYY-MM-DD); default today.")]


def parse_as_of(value: str | None) -> date:
    """The --as-of date, or today in the configured timezone (entry points are the only clock readers)."""
    if value is None:
        return today()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise GrantsError(f"--as-of '{value}' is not a date; use YYYY-MM-DD, e.g. 2024-07-01") from None


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
