"""`grants mailbox check` (test the returns mailbox settings, read-only) and the mail step of `grants ingest`."""

from __future__ import annotations

import sys
from datetime import datetime

import typer
from rich.console import Console
from rich.table import Table

from flows.database import configured_engine
from flows.engine.jobs import mail_job, mailbox_config
from grants.kernel.errors import GrantsError
from grants.mailbox.check import check_mailbox
from grants.mailbox.config import MailboxError
from grants.mailbox.fetch import MailReport
from grants.mailbox.imap import connect
from grants.mailbox.record import remembered

mailbox_app = typer.Typer(help="The returns mailbox leads email their workbooks to.", no_args_is_help=True)


@mailbox_app.command("check")
def check() -> None:
    """Test the mailbox settings: connect, log in, open the folder read-only and count the new messages. Nothing is
    fetched, moved or created."""
    config = mailbox_config()
    if config is None:
        raise GrantsError("no returns mailbox is configured: set GRANTS_MAILBOX_URL or a mailbox: block in notify.yaml")
    last = remembered(configured_engine(), config.account, config.folder)
    try:
        box = connect(config)
        try:
            result = check_mailbox(box, config, last)
        finally:
            box.close()
    except MailboxError as exc:
        raise GrantsError(str(exc)) from None
    for line in result.lines():
        typer.echo(line)
    if config.returns_address:
        typer.echo(f"leads are asked to send returns to {config.returns_address}")


def fetch_for_ingest(now: datetime, *, to_stderr: bool = False) -> MailReport | None:
    """The mail step of `grants ingest`: fetch and ingest new mail, print a table of the emails handled (on stderr
    with `to_stderr`, so --json output stays clean) or the one line saying why the mailbox could not be read (always
    on stderr). None when no mailbox is configured."""
    report = mail_job(now)
    if report is None:
        return None
    if report.rows:
        table = Table(title=f"{len(report.rows)} email(s) from {report.mailbox} ({report.downloaded} downloaded)")
        for heading in ("email", "from", "outcome", "files", "detail", "answer"):
            table.add_column(heading, overflow="fold")
        for row in report.rows:
            table.add_row(*(row[k] for k in ("email", "from", "outcome", "files", "detail", "answer")))
        Console(width=None if sys.stdout.isatty() else 200, soft_wrap=False, stderr=to_stderr).print(table)
    elif report.busy:
        typer.echo(f"mailbox: {report.busy}", err=to_stderr)
    elif not report.error:
        typer.echo(f"no new mail in {report.mailbox}", err=to_stderr)
    if report.error:
        typer.echo(f"mailbox: {report.error}; the inbox folder is still ingested and the next run catches up",
                   err=True)
    return report
