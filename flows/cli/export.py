"""`grants export 360giving`: publish the grants made to projects as 360Giving open data (JSON and CSV)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from flows.cli.support import AsOf, parse_as_of, which_grant, writable_folder
from flows.clock import now_utc
from flows.database import open_session
from grants.kernel.settings import get_settings
from grants.reporting.calendar import calendar_items, to_ical
from grants.reporting.exports import TABLES, export_table, render_table
from grants.reporting.giving360 import build_package, to_csv

export_app = typer.Typer(help="Export open data, officer tables (CSV, xlsx) and the calendar.", no_args_is_help=True)


@export_app.command("360giving")
def export_360giving(
    grant: Annotated[str | None, typer.Option(help="Grant reference; needed when several grants are loaded.")] = None,
    out: Annotated[Path | None, typer.Option(help="JSON file to write; the CSV goes beside it.")] = None,
    as_of: AsOf = None,
) -> None:
    """Write the 360Giving JSON package and its CSV flat form; checks the standard's required fields first."""
    day = parse_as_of(as_of)
    with open_session() as session:
        grant = which_grant(session, grant)
        package = build_package(session, grant, day, now_utc())
    target = out or get_settings().folder("reports") / f"{grant}-360giving.json"
    writable_folder(target.parent)
    target.write_text(json.dumps(package, indent=2), encoding="utf-8")
    csv_path = target.with_suffix(".csv")
    csv_path.write_text(to_csv(package), encoding="utf-8")
    total = sum(g["amountAwarded"] for g in package["grants"])
    paid = sum(g["amountDisbursed"] for g in package["grants"])
    typer.echo(f"{len(package['grants'])} grants, £{total:,.2f} awarded, £{paid:,.2f} disbursed by {day}")
    typer.echo(f"JSON: {target}\nCSV:  {csv_path}")


@export_app.command("table")
def export_officer_table(
    name: Annotated[str, typer.Argument(help=f"One of: {', '.join(TABLES)}.")],
    out: Annotated[Path, typer.Option(help="File to write: .csv or .xlsx (the format follows the suffix).")],
    as_of: AsOf = None,
) -> None:
    """Write status, risks, returns, payments or the audit log as CSV or xlsx (text never becomes a formula)."""
    fmt = out.suffix.lower().lstrip(".")
    with open_session() as session:
        table = export_table(session, name, parse_as_of(as_of))
    data, _ = render_table(table, fmt)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    typer.echo(f"{len(table.rows)} rows of {name}: {out}")


@export_app.command("calendar")
def export_calendar(
    out: Annotated[Path, typer.Option(help="The .ics file to write.")],
    grant: Annotated[str | None, typer.Option(help="Only this grant reference.")] = None,
) -> None:
    """Write the due dates and chase steps as an iCalendar file (the same as the workspace's subscription)."""
    with open_session() as session:
        items = calendar_items(session, grant)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(to_ical(items, now_utc()))
    typer.echo(f"{len(items)} events: {out}")
