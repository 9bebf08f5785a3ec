"""CLI commands for chasing and notifications: `grants chase`, `grants digest`, `grants alerts`.

Each reads the clock once (today in the configured timezone unless --as-of is given), loads the notify config
(settings.notify_config; none means the outbox only) and prints one row per message: kind, to, cc, project, period,
step and what happened (planned with --dry-run; sent, failed or skipped otherwise). If any message failed, each
failure is printed on stderr with its channel and cause, and the command exits 1.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlmodel import Session

from flows.cli.support import AsOf, parse_as_of
from flows.clock import now_utc
from flows.database import open_session
from flows.engine.jobs import default_pack_builder
from flows.engine.jobs import sender_and_return_address as lead_sender
from grants.kernel.dates import plural
from grants.kernel.settings import get_settings
from grants.messaging.alerts import send_risk_alerts
from grants.messaging.chase_run import run_chase
from grants.messaging.digest import send_digests
from grants.messaging.notify import Outgoing, Sender, failures

FULL_TABLE_ROWS = 40
DryRun = Annotated[bool, typer.Option("--dry-run", help="Print what would be sent; send nothing.")]


@dataclass(frozen=True)
class Run:
    """What a notification command needs: the session, the day, the time, the sender and the reply address."""

    session: Session
    as_of: date
    now: datetime
    sender: Sender
    return_to: str


@contextmanager
def _run(as_of: str | None) -> Iterator[Run]:
    day = parse_as_of(as_of)
    sender, return_to = lead_sender()
    with open_session() as session:
        yield Run(session, day, now_utc(), sender, return_to)


ShowAll = Annotated[bool, typer.Option("--all", help=f"List every message, even past {FULL_TABLE_ROWS} of them.")]


def _table(rows: list[tuple[Outgoing, str, str, str]], show_all: bool = False) -> None:
    """Every message as a row; past FULL_TABLE_ROWS (a national programme's pack day) a count per kind, step and
    status instead, unless --all."""
    console = Console(width=None if sys.stdout.isatty() else 250, soft_wrap=False)
    if not rows:
        console.print("Nothing to send.")
        return
    if len(rows) > FULL_TABLE_ROWS and not show_all:
        _summary(console, rows)
        return
    table = Table()
    for name in ("kind", "to", "cc", "project", "period", "step", "status"):
        table.add_column(name)
    for message, project, period, status in rows:
        table.add_row(message.kind, ", ".join(a.email for a in message.to), ", ".join(a.email for a in message.cc),
                      project, period, message.step, status)
    console.print(table)
    if any(message.kind == "officer-mail" for message, _, _, _ in rows):  # a row per notice: say what people got
        console.print(_count_line(rows))


def _count_line(rows: list[tuple[Outgoing, str, str, str]]) -> str:
    """`N messages, carrying M officer notices`: messages as people got them."""
    notices = sum(1 for message, _, _, _ in rows if message.kind == "officer-mail")
    carried = f", carrying {plural(notices, 'officer notices')}" if notices else ""
    return f"{plural(len(_messages(rows)), 'messages')}{carried}"


def _summary(console: Console, rows: list[tuple[Outgoing, str, str, str]]) -> None:
    """Messages as people got them, per kind, step and status (an officer's notices of the run are one message)."""
    groups: dict[tuple[str, str, str], list[tuple[Outgoing, str, str, str]]] = {}
    for row in rows:
        groups.setdefault((row[0].kind, row[0].step, row[3]), []).append(row)
    console.print(f"{_count_line(rows)} (pass --all to list each one)")  # one line, unwrapped
    table = Table()
    for name, justify in (("kind", "left"), ("step", "left"), ("status", "left"), ("messages", "right")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for (kind, step, status), group in sorted(groups.items()):
        table.add_row(kind, step, status, f"{len(_messages(group)):,}")
    console.print(table)


def _messages(rows: list[tuple[Outgoing, str, str, str]]) -> set[str]:
    """The messages the rows went in: an officer's notices of a run (`officer-mail`, one row each) in one message to
    that person, every other row its own message."""
    return {f"officer-mail:{m.to[0].email.lower()}" if m.kind == "officer-mail" and m.to else m.key
            for m, _, _, _ in rows}


def failure_summary(rows: list[tuple[Outgoing, str, str, str]], failed_keys: set[str]) -> str:
    """'2 of 2 messages failed (they carried 16 officer notices)': messages as people got them, notices beside."""
    failed = [row for row in rows if row[0].key in failed_keys]
    notices = sum(1 for message, _, _, _ in failed if message.kind == "officer-mail")
    carried = f" ({'it' if len(_messages(failed)) == 1 else 'they'} carried {plural(notices, 'officer notices')})"
    return (f"{len(_messages(failed)):,} of {plural(len(_messages(rows)), 'messages')} failed"
            f"{carried if notices else ''}; a later run retries each on the channels that failed")


def _fail_if_any(session: Session, rows: list[tuple[Outgoing, str, str, str]]) -> None:
    """One line on stderr per failed message or notice (its key, then each channel and cause), then how many messages
    (and officer notices in them) failed, and exit 1, if any failed."""
    failed = failures(session, [message.key for message, _, _, status in rows if status == "failed"])
    if not failed:
        return
    err = Console(stderr=True, width=250, soft_wrap=False, highlight=False)
    for key, error in failed:
        err.print(f"failed: {key}: {error or 'no cause recorded'}", markup=False)
    err.print(failure_summary(rows, {key for key, _ in failed}), markup=False)
    raise typer.Exit(1)


def chase(as_of: AsOf = None, dry_run: DryRun = False, show_all: ShowAll = False) -> None:
    """Send the return packs, reminders, overdue chasers and escalations due today (each step once); exit 1 if
    any message failed, naming the channel and the cause."""
    with _run(as_of) as run:
        outcomes = run_chase(run.session, run.as_of, run.now, run.sender, default_pack_builder,
                             get_settings().data_dir / "packs", return_to=run.return_to, dry_run=dry_run)
        rows = [(o.message, o.project_code, o.period_label, o.status) for o in outcomes]
        _table(rows, show_all)
        _fail_if_any(run.session, rows)


def digest(as_of: AsOf = None, dry_run: DryRun = False, show_all: ShowAll = False) -> None:
    """Send this week's officer digest for each grant (once per ISO week)."""
    with _run(as_of) as run:
        rows = [(message, "", "", status) for message, status in
                send_digests(run.session, run.as_of, run.now, run.sender, dry_run=dry_run)]
        _table(rows, show_all)
        _fail_if_any(run.session, rows)


def alerts(as_of: AsOf = None, dry_run: DryRun = False, show_all: ShowAll = False) -> None:
    """Alert officers to risks that opened or turned red since the last alert (one per change)."""
    with _run(as_of) as run:
        rows = [(p.message, p.risk.key, "", status) for p, status in
                send_risk_alerts(run.session, run.as_of, run.now, run.sender, dry_run=dry_run)]
        _table(rows, show_all)
        _fail_if_any(run.session, rows)


def register(app: typer.Typer) -> None:
    """Add the notification commands to the `grants` CLI."""
    app.command()(chase)
    app.command()(digest)
    app.command()(alerts)
