"""`grants demo`: simulate the 2024/25 year of the example programme (flows/demo.py) and show where it ended: the
status table, the risk register, what the leads sent against what the engine recorded, and where the files are."""

from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from flows.cli import render
from flows.database import open_session
from flows.demo.year import END, DemoResult, run_demo, spent_by_project, summary
from grants.kernel.dates import short_date
from grants.kernel.money import format_gbp
from grants.kernel.settings import get_settings
from grants.monitoring.risks import risk_register
from grants.programme.status import grant_status

Folder = Annotated[Path | None, typer.Option(
    help="Folder for the demo's database, inbox, outbox and reports; emptied first (default data/demo).")]
Prefect = Annotated[bool, typer.Option(
    "--prefect", help="Run every job as a Prefect flow run (visible in the Prefect UI; takes minutes, not seconds).")]
EveryDay = Annotated[bool, typer.Option(
    "--every-day", help="Run the morning check every day, as the schedule does, not only on days something happens.")]
Quiet = Annotated[bool, typer.Option("--quiet", help="Print only the final tables, not the day-by-day timeline.")]


def _console() -> Console:
    return Console(width=None if sys.stdout.isatty() else 200, soft_wrap=False)


def sent_and_recorded(result: DemoResult) -> Table:
    """Per project: the files the leads sent, how many were accepted, the spend they reported, the spend recorded."""
    sent = summary(result)
    with open_session() as session:
        recorded = spent_by_project(session)
    table = Table(title="What the leads sent and what the engine recorded")
    for heading in ("Project", "Files sent", "Accepted", "Spend reported", "Spend recorded", "Agree"):
        table.add_column(heading, justify="left" if heading == "Project" else "right")
    for code, row in sent.items():
        stored = recorded.get(code, Decimal(0))
        table.add_row(code, str(row["files"]), str(row["accepted"]), format_gbp(row["spent"]), format_gbp(stored),
                      "yes" if stored == row["spent"] else "[red]NO[/red]")
    return table


def demo(folder: Folder = None, prefect: Prefect = False, every_day: EveryDay = False, quiet: Quiet = False) -> None:
    """Simulate the whole 2024/25 year of the example programme: funds released late, leads sending returns (some
    late, one rejected then corrected, one behind on outputs), chasers, checks, risks, alerts and board reports."""
    target = folder or get_settings().data_dir / "demo"
    console = _console()
    result = run_demo(target, prefect=prefect, every_day=every_day, echo=(lambda _: None) if quiet else console.print)
    with open_session() as session:
        statuses = grant_status(session, END)
        register = risk_register(session)
    console.print()
    for status in statuses:
        render.grant_status(console, status)
    console.print()
    console.print(sent_and_recorded(result))
    console.print()
    console.print(f"Risk register on {short_date(END)} (open risks, highest score first):")
    render.risk_register(console, register)
    settings = get_settings()
    outbox = settings.folder("outbox")
    console.print()
    console.print(f"Simulated {result.submissions[0].day.year}/{str(END.year)[2:]} in {result.seconds:.1f} s: "
                  f"{len(result.outcomes)} files from leads, {len(list(outbox.glob('*.eml')))} messages.")
    console.print(f"Outbox (every message as an .eml file): {outbox}")
    console.print(f"Board reports: {settings.folder('reports')}")
    for path in sorted(settings.folder("reports").glob(f"board-report-*-{END}.*")):  # the year-end report
        console.print(f"  {path}")
    console.print(f"Received returns (archived originals): {settings.folder('archive')}")
    console.print(f"Database: {settings.db_url}")
    console.print(f"Look around: GRANTS_DATA_DIR={result.folder} .venv/bin/grants status --as-of {END}")


def register(app: typer.Typer) -> None:
    """Add `grants demo` to the CLI."""
    app.command()(demo)
