"""Helpers every CLI module shares: the --as-of option and its parsing, which grant a one-grant command acts on,
and checking an --out folder (the database lives in flows.database)."""

from __future__ import annotations

import getpass
import os
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from sqlmodel import Session, col, select

from flows.clock import today
from grants.kernel import models as m
from grants.kernel.errors import GrantsError

AsOf = Annotated[str | None, typer.Option("--as-of", help="Date to act as (YYYY-MM-DD); default today.")]


def parse_as_of(value: str | None) -> date:
    """The --as-of date, or today in the configured timezone (entry points are the only clock readers)."""
    return today() if value is None else parse_day(value, "--as-of")


def parse_day(value: str, option: str) -> date:
    """A YYYY-MM-DD option's date; GrantsError naming the option and the form otherwise."""
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise GrantsError(f"{option} '{value}' is not a date; use YYYY-MM-DD, e.g. 2024-07-01") from None


def which_grant(session: Session, grant: str | None) -> str:
    """The grant a one-grant command acts on: the one named, else the only one loaded; with several and none named,
    GrantsError listing them (never a silent pick)."""
    if grant is not None:
        return grant
    references = list(session.exec(select(m.Grant.reference).order_by(col(m.Grant.reference))))
    if not references:
        raise GrantsError("no grants loaded yet; run `grants init` first")
    if len(references) > 1:
        raise GrantsError(f"several grants: pass --grant REF, one of {', '.join(references)}")
    return str(references[0])


def writable_folder(folder: Path, option: str = "--out") -> Path:
    """`folder`, created if missing; GrantsError in one plain line when it cannot be created or written to."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GrantsError(f"{option} {folder}: cannot create the folder ({exc.strerror or exc})") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise GrantsError(f"{option} {folder}: the folder is not writable")
    return folder


def cli_actor() -> str:
    """Who is acting, for the audit log: GRANTS_ACTOR (e.g. an officer's email) or `cli:<login name>`."""
    named = os.environ.get("GRANTS_ACTOR", "").strip()
    if named:
        return named
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"
