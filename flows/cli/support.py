"""Helpers every CLI module shares: the --as-of option and its parsing (the database lives in flows.database)."""

from __future__ import annotations

import getpass
import os
from datetime import date
from typing import Annotated

import typer

from flows.clock import today
from grants.kernel.errors import GrantsError

AsOf = Annotated[str | None, typer.Option("--as-of", help="Date to act as (YYYY-MM-DD); default today.")]


def parse_as_of(value: str | None) -> date:
    """The --as-of date, or today in the configured timezone (entry points are the only clock readers)."""
    if value is None:
        return today()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise GrantsError(f"--as-of '{value}' is not a date; use YYYY-MM-DD, e.g. 2024-07-01") from None


def cli_actor() -> str:
    """Who is acting, for the audit log: GRANTS_ACTOR (e.g. an officer's email) or `cli:<login name>`."""
    named = os.environ.get("GRANTS_ACTOR", "").strip()
    if named:
        return named
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"
