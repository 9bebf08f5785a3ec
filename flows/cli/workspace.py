"""Officer commands beside the web workspace: `grants user add|list|role|deactivate|reactivate|passwd|unlock` (the
same functions as the web app's Accounts page), `grants due extend`, `grants chasing
pause|waive|resume`, `grants risk add|close` and `grants audit`. Each action writes the same audit entry as the
web app (through grants.kernel.audit.record); the actor is GRANTS_ACTOR or `cli:<login name>`.
"""

from __future__ import annotations

import getpass
import json
import sys
from datetime import date
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from flows.cli.support import AsOf, cli_actor, parse_as_of, parse_day
from flows.clock import now_utc
from flows.database import open_session
from grants.kernel import audit
from grants.kernel.accounts import accounts, add_account, set_active, set_password, set_role, unlock
from grants.kernel.dates import short_date
from grants.kernel.errors import GrantsError
from grants.monitoring.manual_risks import add_manual_risk, close_risk
from grants.programme.lookup import find_grant, find_project
from grants.programme.overrides import extend_due, find_period, hold_chasing, resume_chasing

user_app = typer.Typer(help="Accounts for the officers' workspace (web app).", no_args_is_help=True)
due_app = typer.Typer(help="Extend one project's due date for one quarter.", no_args_is_help=True)
chasing_app = typer.Typer(help="Pause, waive or resume chasing for one project and quarter.", no_args_is_help=True)

Project = Annotated[str, typer.Option("--project", help="Project code.")]
Quarter = Annotated[str, typer.Option("--quarter", help="Quarter label, e.g. 2024-25-Q1 (see `grants status`).")]
GrantRef = Annotated[str | None, typer.Option("--grant", help="Grant reference (when the code is ambiguous).")]
Reason = Annotated[str, typer.Option("--reason", help="Why (kept in the audit log).")]


def _read_password() -> str:
    """From standard input (first line) when piped, else prompted twice on the terminal without echo."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Again: ") != first:
        raise GrantsError("the two passwords differ")
    return first


Temporary = Annotated[bool, typer.Option(
    "--temporary", help="The person must choose their own password at their first sign-in (as the Accounts page).")]


@user_app.command("add")
def user_add(
    email: Annotated[str, typer.Argument(help="The person's email address (their sign-in name).")],
    role: Annotated[str, typer.Option("--role", help="viewer, officer or admin.")] = "viewer",
    temporary: Temporary = False,
) -> None:
    """Create an account; the password is read from standard input, or prompted for on a terminal."""
    password = _read_password()
    with open_session() as session:
        account = add_account(session, email, role, password, now_utc(), cli_actor(), temporary=temporary)
    note = ", to be changed at first sign-in" if temporary else ""
    typer.echo(f"account created: {account.email} ({account.role}{note})")


Email = Annotated[str, typer.Argument(help="The account's email address.")]


@user_app.command("list")
def user_list() -> None:
    """Every account: email, role, active or not, locked or not, last sign-in."""
    with open_session() as session:
        rows = [(a.email, a.role, "active" if a.active else "deactivated",
                 f"locked until {a.locked_until:%Y-%m-%d %H:%M}" if a.locked_until else "",
                 f"last signed in {a.last_sign_in_at:%Y-%m-%d %H:%M}" if a.last_sign_in_at else "")
                for a in accounts(session)]
    for row in rows:
        typer.echo("  ".join(part for part in row if part))


@user_app.command("role")
def user_role(email: Email, role: Annotated[str, typer.Option("--role", help="viewer, officer or admin.")]) -> None:
    """Give an account another role (not the last active administrator's); audited."""
    with open_session() as session:
        account = set_role(session, email, role, now_utc(), cli_actor())
    typer.echo(f"role changed: {account.email} ({account.role})")


@user_app.command("unlock")
def user_unlock(email: Email) -> None:
    """Lift a lockout after repeated wrong passwords (audited)."""
    with open_session() as session:
        account = unlock(session, email, now_utc(), cli_actor())
    typer.echo(f"account unlocked: {account.email}")


@user_app.command("deactivate")
def user_deactivate(email: Email) -> None:
    """Stop an account: its sessions stop working at once (audited)."""
    with open_session() as session:
        account = set_active(session, email, False, now_utc(), cli_actor())
    typer.echo(f"account deactivated: {account.email}")


@user_app.command("reactivate")
def user_reactivate(email: Email) -> None:
    """Let a deactivated account sign in again (audited)."""
    with open_session() as session:
        account = set_active(session, email, True, now_utc(), cli_actor())
    typer.echo(f"account reactivated: {account.email}")


@user_app.command("passwd")
def user_passwd(email: Email, temporary: Temporary = False) -> None:
    """Set a new password (read from standard input, or prompted for twice); the account's sessions end (audited)."""
    password = _read_password()
    with open_session() as session:
        account = set_password(session, email, password, now_utc(), cli_actor(), temporary=temporary)
    note = " (to be changed at next sign-in)" if temporary else ""
    typer.echo(f"password changed: {account.email}{note}")


@due_app.command("extend")
def due_extend(project: Project, quarter: Quarter, to: Annotated[str, typer.Option(
        "--to", help="The new due date (YYYY-MM-DD).")], reason: Reason = "", grant: GrantRef = None) -> None:
    """Give one project a new due date for one quarter: its chasers, status and late-return risk follow it."""
    day = parse_day(to, "--to")
    with open_session() as session:
        row = find_project(session, project, grant)
        period = find_period(session, row, quarter)
        extend_due(session, row.id or 0, period.id or 0, day, reason, actor=cli_actor(), now=now_utc())
    typer.echo(f"{project} {period.label}: due {short_date(day)}")


def _hold(kind: str, project: str, quarter: str, reason: str, grant: str | None, until: date | None) -> None:
    with open_session() as session:
        row = find_project(session, project, grant)
        period = find_period(session, row, quarter)
        hold_chasing(session, row.id or 0, period.id or 0, kind, reason, actor=cli_actor(), now=now_utc(),
                     until=until)
    typer.echo(f"{project} {period.label}: chasing {'paused until ' + str(until) if until else 'waived'}")


@chasing_app.command("pause")
def chasing_pause(project: Project, quarter: Quarter, until: Annotated[str, typer.Option(
        "--until", help="Last day of the pause (YYYY-MM-DD).")], reason: Reason, grant: GrantRef = None) -> None:
    """No chasers for this project and quarter until the day given (e.g. the lead is on leave)."""
    _hold("pause", project, quarter, reason, grant, parse_day(until, "--until"))


@chasing_app.command("waive")
def chasing_waive(project: Project, quarter: Quarter, reason: Reason, grant: GrantRef = None) -> None:
    """No more chasers for this project and quarter."""
    _hold("waive", project, quarter, reason, grant, None)


@chasing_app.command("resume")
def chasing_resume(project: Project, quarter: Quarter, reason: Reason = "", grant: GrantRef = None) -> None:
    """Lift a pause or waiver: the ladder carries on from its next step."""
    with open_session() as session:
        row = find_project(session, project, grant)
        period = find_period(session, row, quarter)
        resume_chasing(session, row.id or 0, period.id or 0, actor=cli_actor(), now=now_utc(), reason=reason)
    typer.echo(f"{project} {period.label}: chasing resumed")


def risk_add(
    grant: Annotated[str, typer.Option("--grant", help="Grant reference.")],
    title: Annotated[str, typer.Option("--title", help="What could go wrong.")],
    likelihood: Annotated[int, typer.Option(min=1, max=5, help="How likely, 1 (rare) to 5 (almost certain).")],
    impact: Annotated[int, typer.Option(min=1, max=5, help="How bad if it happens, 1 (minor) to 5 (severe).")],
    project: Annotated[str | None, typer.Option("--project", help="Project code, if it is a project's.")] = None,
    owner: Annotated[str, typer.Option(help="Who owns the risk.")] = "",
    mitigation: Annotated[str, typer.Option(help="What is being done about it.")] = "", as_of: AsOf = None,
) -> None:
    """Add a risk by hand (the checks never close or change it)."""
    with open_session() as session:
        grant_row = find_grant(session, grant)
        project_id = find_project(session, project, grant).id if project else None
        row = add_manual_risk(session, grant_row.id or 0, title, likelihood, impact, as_of=parse_as_of(as_of),
                              actor=cli_actor(), now=now_utc(), project_id=project_id, owner=owner,
                              mitigation=mitigation)
    typer.echo(f"risk {row.id} opened: {row.title} (score {row.score}, {row.rag})")


def risk_close(risk_id: Annotated[int, typer.Argument(metavar="ID", help="The risk's id (see `grants risks`).")],
               reason: Reason, as_of: AsOf = None) -> None:
    """Close a risk added by hand, with the reason."""
    with open_session() as session:
        row = close_risk(session, risk_id, reason, as_of=parse_as_of(as_of), actor=cli_actor(), now=now_utc())
    typer.echo(f"risk {row.id} closed")


def audit_log(limit: Annotated[int, typer.Option(help="How many entries, newest first.")] = 50,
              as_json: Annotated[bool, typer.Option("--json", help="Machine-readable JSON.")] = False) -> None:
    """Print the audit log, newest first."""
    with open_session() as session:
        rows = audit.entries(session, limit=limit)
    if as_json:
        typer.echo(json.dumps([{**r.__dict__, "at": r.at.isoformat()} for r in rows], indent=2))
        return
    table = Table()
    for name in ("id", "at", "actor", "action", "subject", "before", "after", "reason"):
        table.add_column(name)
    for r in rows:
        table.add_row(str(r.id), f"{r.at:%Y-%m-%d %H:%M}", r.actor, r.action, r.subject,
                      json.dumps(r.before, ensure_ascii=False), json.dumps(r.after, ensure_ascii=False), r.reason)
    Console(width=None if sys.stdout.isatty() else 250, soft_wrap=False).print(table)


def register(app: typer.Typer, risk_app: typer.Typer) -> None:
    """Add the workspace commands to the `grants` CLI (risk add/close go under `grants risk`)."""
    app.add_typer(user_app, name="user")
    app.add_typer(due_app, name="due")
    app.add_typer(chasing_app, name="chasing")
    risk_app.command("add")(risk_add)
    risk_app.command("close")(risk_close)
    app.command("audit")(audit_log)
