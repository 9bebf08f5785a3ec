"""`grants report`: the quarterly board report (an Excel workbook and a self-contained HTML page per grant).
Thin glue: resolve the date, call grants.reporting.report, print the paths written. Errors are GrantsError -> one line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from flows.cli.support import parse_as_of, writable_folder
from flows.database import open_session
from grants.kernel.settings import get_settings
from grants.reporting.board_data import period_as_of
from grants.reporting.report import FORMATS, check_formats, write_reports

ReportAsOf = Annotated[str | None, typer.Option(
    "--as-of", help="Date the report is as of (YYYY-MM-DD); default today, or with --period that quarter's due date.")]
Period = Annotated[str | None, typer.Option(
    "--period", help="The quarter to report on, e.g. 2024-25-Q2: as of the day its returns are due (quarter end + the "
                     "grant's working days, so that quarter's returns count), unless --as-of is given; the returns "
                     "log stops at that quarter.")]
Formats = Annotated[list[str] | None, typer.Option(
    "--format", help="xlsx or html; repeat for both (default: both).")]
Out = Annotated[Path | None, typer.Option(help="Folder to write to; default the reports folder (data/reports).")]
GrantRef = Annotated[str | None, typer.Option("--grant", help="Only this grant reference.")]


def report(as_of: ReportAsOf = None, period: Period = None, formats: Formats = None, out: Out = None,
           grant: GrantRef = None) -> None:
    """Write the board report for each grant (board-report-<grant>-<date>.xlsx and .html); prints the paths.

    Runs the checks for its date first (as `grants check --as-of`): it agrees with `grants status` and `grants risks`.

    A date before the latest check changes neither the stored assessments nor the risk register.
    """
    chosen = check_formats(formats or FORMATS)
    folder = writable_folder(out) if out is not None else get_settings().folder("reports")
    with open_session() as session:
        day = period_as_of(session, period, grant) if period and as_of is None else parse_as_of(as_of)
        paths = write_reports(session, day, folder, chosen, grant, period)
    for path in paths:
        typer.echo(str(path))


def register(app: typer.Typer) -> None:
    """Add `grants report` to the CLI."""
    app.command()(report)
