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
from grants.reporting.giving360 import build_package, to_csv

export_app = typer.Typer(help="Export open data.", no_args_is_help=True)


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
