"""Monitoring commands: `grants check`, `grants risks`, `grants risk update`, `grants release record` and
`grants payment record`. Thin glue: parse, call grants.*, commit, print. Errors are GrantsError -> one line.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from typing import Annotated

import typer
from rich.console import Console

from flows.cli import render
from flows.cli import workspace as cli_workspace
from flows.cli.support import AsOf, cli_actor, parse_as_of, parse_day, which_grant
from flows.clock import now_utc, today
from flows.database import open_session
from grants.kernel.dates import short_date
from grants.kernel.errors import GrantsError
from grants.kernel.money import format_gbp
from grants.monitoring.assessment import run_checks
from grants.monitoring.funds import record_payment, record_release
from grants.monitoring.risks import risk_register, update_risk
from grants.programme.lookup import find_grant

release_app = typer.Typer(help="Funds received for a grant from the funder.", no_args_is_help=True)
payment_app = typer.Typer(help="Payments made to projects.", no_args_is_help=True)
risk_app = typer.Typer(help="Set an officer's owner and mitigation on a risk.", no_args_is_help=True)

GrantRef = Annotated[str | None, typer.Option("--grant", help="Only this grant reference.")]
AsJson = Annotated[bool, typer.Option("--json", help="Machine-readable JSON.")]


def _console() -> Console:
    return Console(width=None if sys.stdout.isatty() else 200, soft_wrap=False)


def _past_day(value: str, option: str, what: str) -> date:
    """A required YYYY-MM-DD option for money that has moved: never after today (the web form's rule too)."""
    day = parse_day(value, option)
    if day > today():
        raise GrantsError(f"{option} {value} is in the future: record {what} once it has happened")
    return day


def check(as_of: AsOf = None, grant: GrantRef = None, as_json: AsJson = False) -> None:
    """Run the monitoring checks, store the assessments and update the risk register (rerun-safe)."""
    day = parse_as_of(as_of)
    with open_session() as session:
        run = run_checks(session, day, grant)
    if not run.ratings:
        raise GrantsError("no grants loaded yet; run `grants init` first")
    if as_json:
        typer.echo(json.dumps(render.check_json(run), indent=2))
        return
    render.check_run(_console(), run)


def risks(grant: GrantRef = None, include_closed: Annotated[bool, typer.Option(
        "--all", help="Include closed risks.")] = False, as_json: AsJson = False) -> None:
    """Print the risk register, highest score first."""
    with open_session() as session:
        if grant is not None:
            find_grant(session, grant)  # an unknown reference is an error, not an empty register
        rows = risk_register(session, grant, include_closed=include_closed)
    if as_json:
        typer.echo(json.dumps([r.to_json() for r in rows], indent=2))
        return
    render.risk_register(_console(), rows)


@risk_app.command("update")
def risk_update(
    risk_id: Annotated[int, typer.Argument(metavar="ID", help="The risk's id (see `grants risks`).")],
    mitigation: Annotated[str | None, typer.Option(help="What is being done about it.")] = None,
    owner: Annotated[str | None, typer.Option(help="Who owns the risk.")] = None,
    notes: Annotated[str | None, typer.Option(help="Notes, e.g. why the risk is accepted.")] = None,
) -> None:
    """Set the owner, mitigation and/or notes of a risk (audited); checks never overwrite them."""
    with open_session() as session:
        row = update_risk(session, risk_id, mitigation=mitigation, owner=owner, notes=notes, actor=cli_actor(),
                          now=now_utc())
    typer.echo(f"risk {row.id} {row.key}: owner '{row.owner}', mitigation '{row.mitigation}', notes '{row.notes}'")


@release_app.command("record")
def release_record(
    amount: Annotated[str, typer.Option(help="Pounds received, e.g. 125000 or 62500.50.")],
    on: Annotated[str, typer.Option("--date", help="Day received (YYYY-MM-DD).")],
    grant: Annotated[str | None, typer.Option(
        "--grant", help="Grant reference; needed when several grants are loaded.")] = None,
    note: Annotated[str, typer.Option(help="Optional note.")] = "",
) -> None:
    """Record money received for a grant."""
    day = _past_day(on, "--date", "money received")
    with open_session() as session:
        grant = which_grant(session, grant)
        row = record_release(session, grant, amount, day, now_utc(), note, actor=cli_actor())
    typer.echo(f"recorded: {grant} received {format_gbp(row.amount_pence, pence=True)} on {short_date(day)}")


@payment_app.command("record")
def payment_record(
    project: Annotated[str, typer.Option("--project", help="Project code.")],
    amount: Annotated[str, typer.Option(help="Pounds paid, e.g. 7500 or 7500.00.")],
    on: Annotated[str, typer.Option("--date", help="Day paid (YYYY-MM-DD).")],
    grant: GrantRef = None,
    reference: Annotated[str, typer.Option(help="Payment reference.")] = "",
) -> None:
    """Record a payment made to a project."""
    day = _past_day(on, "--date", "a payment")
    with open_session() as session:
        row = record_payment(session, project, amount, day, now_utc(), actor=cli_actor(), grant_reference=grant,
                             reference=reference)
    typer.echo(f"recorded: paid {project} {format_gbp(row.amount_pence, pence=True)} on {short_date(day)}")


def register(app: typer.Typer) -> None:
    """Add the monitoring commands to the `grants` CLI."""
    app.command()(check)
    app.command()(risks)
    app.add_typer(risk_app, name="risk")
    app.add_typer(release_app, name="release")
    app.add_typer(payment_app, name="payment")
    cli_workspace.register(app, risk_app)
