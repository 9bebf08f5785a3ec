"""The `grants template` and `grants ingest` commands: return workbooks out, Excel returns in."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlmodel import Session, select

from flows.cli.mailbox import fetch_for_ingest
from flows.cli.support import writable_folder
from flows.database import configured_engine, open_session
from flows.engine.jobs import returns_address
from grants.kernel import models as m
from grants.kernel.errors import GrantsError, NotFoundError
from grants.kernel.settings import get_settings
from grants.returns.ingest import IngestOptions, IngestResult, inbox_files, ingest_files
from grants.returns.problems import has_errors
from grants.returns.sandbox import shutdown
from grants.returns.writer import write_return_workbook


def template(
    period: Annotated[str, typer.Option(help="Reporting period label, e.g. 2024-25-Q2.")],
    project: Annotated[str | None, typer.Option(help="Project code, e.g. active-bystander.")] = None,
    all_projects: Annotated[bool, typer.Option("--all", help="Every active project reporting for the period.")] = False,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Folder to write to; default <data>/outbox/returns.")]
    = None,
) -> None:
    """Write the pre-filled return workbook for a project (or --all projects) and period."""
    if (project is None) == (not all_projects):
        raise GrantsError("give either --project CODE or --all")
    settings = get_settings()
    folder = writable_folder(out_dir) if out_dir is not None else settings.folder("outbox") / "returns"
    with open_session() as session:
        for project_id, period_id in _targets(session, project, period):
            path = write_return_workbook(session, project_id, period_id, folder,
                                         settings.signing_key.get_secret_value().encode(), return_to=returns_address())
            typer.echo(f"wrote {path}")


def _targets(session: Session, project: str | None, period: str) -> list[tuple[int, int]]:
    statement = select(m.Project, m.ReportingPeriod).join(m.ReportingPeriod,
                                                          m.ReportingPeriod.grant_id == m.Project.grant_id)  # type: ignore[arg-type]
    statement = statement.where(m.ReportingPeriod.label == period, m.Project.active == True)  # noqa: E712
    if project is not None:
        statement = statement.where(m.Project.code == project)
    rows = [(p, per) for p, per in session.exec(statement)
            if project is not None or (per.start <= p.delivery_end and per.end >= p.delivery_start)]
    if not rows:
        raise NotFoundError(f"no project {project or '(any)'} reporting for period {period}; run `grants status`")
    return [(p.id or 0, per.id or 0) for p, per in rows]


def ingest(
    paths: Annotated[list[Path] | None, typer.Argument(help="Files or folders; default: the inbox folder.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable JSON.")] = False,
    keep: Annotated[bool, typer.Option("--keep", help="Leave the files in place (an archived copy is kept).")]
    = False,
    no_mail: Annotated[bool, typer.Option("--no-mail", help="Don't fetch new mail from the returns mailbox first.")]
    = False,
) -> None:
    """Fetch new mail from the returns mailbox (if one is configured; not with --no-mail or when files are given),
    then ingest return workbooks: store, archive and take them out of the inbox; quarantine hostile files."""
    settings = get_settings()
    inbox = settings.folder("inbox")
    files = _files(paths) if paths else inbox_files(inbox)  # no inbox folder yet: nothing waiting in it
    engine = configured_engine()
    options = IngestOptions.from_settings(settings, remove_sources=not keep)
    now = datetime.now(UTC)
    try:
        mail = None if (no_mail or paths) else fetch_for_ingest(now, to_stderr=as_json)
        results = ingest_files(engine, files, now, options)
    finally:
        shutdown()
    if as_json:
        typer.echo(json.dumps([_json(r) for r in results], indent=2))
    else:
        _table(results, inbox)
    if mail is not None and mail.error:
        raise typer.Exit(1)
    if any(r.outcome in ("quarantined", "failed") or has_errors(r.problems) for r in results):
        raise typer.Exit(1)


def _files(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += inbox_files(path)
        elif path.is_file():
            files.append(path)
        else:
            raise GrantsError(f"no such file or folder: {path}")
    return files


def _json(result: IngestResult) -> dict[str, object]:
    return {"file": result.source, "sha256": result.sha256, "outcome": result.outcome, "project": result.project,
            "period": result.period, "version": result.version, "stored": result.stored_path,
            "problems": [p.to_json() for p in result.problems]}


def _table(results: list[IngestResult], inbox: Path) -> None:
    table = Table(title=f"{len(results)} file(s) ingested" if results else f"nothing to ingest in {inbox}")
    for heading in ("file", "outcome", "project / period", "problem", "where", "message"):
        table.add_column(heading, overflow="fold")
    for r in results:
        who = f"{r.project} {r.period} v{r.version}" if r.project else ""
        if not r.problems:
            table.add_row(r.source, r.outcome, who, "", "", "")
        for i, p in enumerate(r.problems):
            where = "!".join(x for x in (p.sheet, p.cell) if x)
            table.add_row(r.source if i == 0 else "", r.outcome if i == 0 else "", who if i == 0 else "",
                          f"{p.severity}: {p.code}", where, p.message)
    Console(width=None if sys.stdout.isatty() else 200, soft_wrap=False).print(table)
