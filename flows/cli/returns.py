"""The `grants template`, `grants ingest` and `grants verify` commands: return workbooks out, Excel returns in, the
archive checked."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlmodel import Session, select

from flows.cli.mailbox import fetch_for_ingest
from flows.cli.support import writable_folder
from flows.clock import now_utc
from flows.database import open_session
from flows.engine.jobs import ingest_and_reply, returns_address
from grants.kernel import models as m
from grants.kernel.errors import GrantsError, NotFoundError
from grants.kernel.settings import get_settings
from grants.programme.periods import reports_for
from grants.returns.inbox import InboxScan, Skipped, path_skip_reason, scan_inbox
from grants.returns.ingest import IngestResult, Source, skipped
from grants.returns.problems import has_errors
from grants.returns.verify import verify_archive
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
            path = write_return_workbook(session, project_id, period_id, folder, settings.signing_secret(),
                                         return_to=returns_address())
            typer.echo(f"wrote {path}")


def _targets(session: Session, project: str | None, period: str) -> list[tuple[int, int]]:
    statement = select(m.Project, m.ReportingPeriod).join(m.ReportingPeriod,
                                                          m.ReportingPeriod.grant_id == m.Project.grant_id)  # type: ignore[arg-type]
    statement = statement.where(m.ReportingPeriod.label == period, m.Project.active == True)  # noqa: E712
    if project is not None:
        statement = statement.where(m.Project.code == project)
    rows = [(p, per) for p, per in session.exec(statement)
            if reports_for(p, per.start, per.end)]
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
    then ingest return workbooks and reply to each lead, as the scheduled job does. Files in the inbox are archived
    and taken out of it; a file named from anywhere else is copied in and left where it is. Hostile files are
    quarantined; links, folders, hidden and special files are skipped with the reason."""
    settings = get_settings()
    inbox = settings.folder("inbox")
    mail = None if (no_mail or paths) else fetch_for_ingest(now_utc(), to_stderr=as_json)
    files, left = _files(paths or [inbox], inbox, settings.return_inbox_settle_seconds)
    sources = [Source("inbox" if _in(f, inbox) else "path") for f in files]
    results, replies = ingest_and_reply(files, now_utc(), sources=sources, remove_sources=not keep)
    rows = [(r, reply) for r, reply in zip(results, replies, strict=True)] + [(skipped(s), "") for s in left]
    if as_json:
        typer.echo(json.dumps([_json(r, reply) for r, reply in rows], indent=2))
    else:
        _table(rows, inbox)
    if mail is not None and mail.error:
        raise typer.Exit(1)
    if any(r.outcome in ("quarantined", "failed") or has_errors(r.problems) for r, _ in rows):
        raise typer.Exit(1)


def _in(path: Path, folder: Path) -> bool:
    return path.parent.resolve() == folder.resolve()


def _files(paths: list[Path], inbox: Path, settle: float) -> tuple[list[Path], list[Skipped]]:
    """The files to take in and the entries left with their reasons. Files still being written into the inbox are
    waited for (up to the settle time) so a file copied in just before the command is taken."""
    files: list[Path] = []
    left: list[Skipped] = []
    for path in paths:
        if path.is_dir() and not path.is_symlink():
            scan = _settled_scan(path, settle if _in(path / "x", inbox) else 0)
            files += scan.files
            left += scan.skipped
        elif path.exists() or path.is_symlink():
            reason = path_skip_reason(path, now_utc().timestamp())
            files += [path] if reason is None else []
            left += [reason] if reason is not None else []
        else:
            raise GrantsError(f"no such file or folder: {path}")
    return files, left


def _settled_scan(folder: Path, settle: float) -> InboxScan:
    scan = scan_inbox(folder, now_utc().timestamp(), settle)
    if any(s.waiting for s in scan.skipped):
        time.sleep(settle)
        scan = scan_inbox(folder, now_utc().timestamp(), settle)
    return scan


def verify() -> None:
    """Check every archived return and quarantined file against the SHA-256 recorded when it came in; list any copy
    that is missing or damaged, with the return it belongs to (exit 1 if any)."""
    with open_session() as session:
        found = verify_archive(session)
    for problem in found.problems:
        typer.echo(problem.line())
    typer.echo(f"{found.checked} archived file(s) checked: "
               f"{len(found.problems) or 'none'} missing or damaged")
    if found.problems:
        raise typer.Exit(1)


def _json(result: IngestResult, reply: str) -> dict[str, object]:
    return {"file": result.source, "sha256": result.sha256, "outcome": result.outcome, "project": result.project,
            "period": result.period, "version": result.version, "stored": result.stored_path, "note": result.note,
            "reply": reply, "problems": [p.to_json() for p in result.problems]}


def _table(rows: list[tuple[IngestResult, str]], inbox: Path) -> None:
    taken_in = sum(1 for r, _ in rows if r.outcome not in ("skipped", "waiting"))
    table = Table(title=f"{taken_in} file(s) ingested" if rows else f"nothing to ingest in {inbox}")
    for heading in ("file", "outcome", "project / period", "reply", "problem", "where", "message"):
        table.add_column(heading, overflow="fold")
    for r, reply in rows:
        who = f"{r.project} {r.period} v{r.version}" if r.project and r.version else r.project
        if not r.problems:
            table.add_row(r.source, r.outcome, who, reply, "", "", r.note)
        for i, p in enumerate(r.problems):
            where = "!".join(x for x in (p.sheet, p.cell) if x)
            first = i == 0
            table.add_row(r.source if first else "", r.outcome if first else "", who if first else "",
                          reply if first else "", f"{p.severity}: {p.code}", where, p.message)
    Console(width=None if sys.stdout.isatty() else 200, soft_wrap=False).print(table)
