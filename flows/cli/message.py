"""`grants message list` and `grants message resend ID`: the messages the engine logged, and sending one again
(grants/messaging/resend.py: chase steps re-rendered for today, every other kind the same copy again), with the same
audit entry as the project page's "Send again"; the actor is GRANTS_ACTOR or `cli:<login name>`."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlmodel import col, select

from flows.cli.support import AsOf, cli_actor, parse_as_of
from flows.clock import now_utc
from flows.database import open_session
from flows.engine.jobs import default_pack_builder, sender_and_return_address
from grants.kernel import models as m
from grants.kernel.dates import date_time
from grants.kernel.settings import get_settings
from grants.messaging.resend import resend
from grants.programme.lookup import find_project

message_app = typer.Typer(help="The messages the engine sent, and sending one again.", no_args_is_help=True)


@message_app.command("list")
def message_list(
    project: Annotated[str | None, typer.Option("--project", help="Only this project's messages (its code).")] = None,
    grant: Annotated[str | None, typer.Option("--grant", help="Grant reference (when the code is ambiguous).")] = None,
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 50,
) -> None:
    """The messages logged, newest first: id (for `grants message resend`), when, kind, project, step, to, status,
    and whether a copy was kept (a chase step can be sent again without one)."""
    with open_session() as session:
        query = select(m.Notification).order_by(col(m.Notification.sent_at).desc(), col(m.Notification.id).desc())
        if project is not None:
            query = query.where(m.Notification.project_id == find_project(session, project, grant).id)
        rows = list(session.exec(query.limit(limit)))
        codes = {p.id: p.code for p in session.exec(select(m.Project))}
    table = Table()
    for name in ("id", "sent", "kind", "project", "step", "to", "status", "copy"):
        table.add_column(name)
    for row in rows:
        table.add_row(str(row.id), date_time(row.sent_at), row.kind, codes.get(row.project_id, ""), row.step,
                      row.recipients, row.status, "kept" if row.copy_id is not None else "-")
    Console(width=None if sys.stdout.isatty() else 250, soft_wrap=False).print(table)


@message_app.command("resend")
def message_resend(notification_id: Annotated[int, typer.Argument(metavar="ID", help="From `grants message list` "
                                                                     "or the project page.")],
                   as_of: AsOf = None) -> None:
    """Send a message again now: a chase step re-rendered for today (due date, portal link and workbook as they are
    now), any other message as the copy kept of it, marked as a copy. Exit 1, naming the cause, if it failed."""
    sender, return_to = sender_and_return_address()
    with open_session() as session:
        done = resend(session, notification_id, sender, as_of=parse_as_of(as_of), now=now_utc(), actor=cli_actor(),
                      return_to=return_to, pack_builder=default_pack_builder,
                      packs_dir=get_settings().data_dir / "packs")
    if done.status != "sent":
        cause = done.error or ("the same message is being sent again already" if done.status == "skipped" else
                               "no cause recorded")
        typer.echo(f"failed: {done.key}: {cause}", err=True)
        raise typer.Exit(1)
    typer.echo(f"message {notification_id} sent again ({done.how}) as {done.key} to {done.recipients}")
