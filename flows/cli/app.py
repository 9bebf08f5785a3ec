"""The `grants` command line: init, config check, status. Errors are one line and a non-zero exit."""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from sqlalchemy.exc import SQLAlchemyError

from flows.cli import demo as cli_demo
from flows.cli import link as cli_link
from flows.cli import monitoring as cli_monitoring
from flows.cli import raise_if_interrupted, render
from flows.cli import report as cli_report
from flows.cli import web as cli_web
from flows.cli.chase import register as register_chase_commands
from flows.cli.database import db_app
from flows.cli.database import register as register_database_commands
from flows.cli.export import export_app
from flows.cli.mailbox import mailbox_app
from flows.cli.message import message_app
from flows.cli.returns import ingest, template, verify
from flows.cli.support import AsOf, cli_actor, parse_as_of
from flows.clock import now_utc
from flows.database import configured_engine, open_session
from grants.kernel import audit
from grants.kernel.db import session_scope
from grants.kernel.errors import GrantsError
from grants.kernel.settings import ensure_signing_key, get_settings, unknown_variables
from grants.programme.link_actions import revoke_for_new_leads
from grants.programme.loader import check_files, load_programmes, programme_files
from grants.programme.register import initialise
from grants.programme.status import grant_status

app = typer.Typer(
    help="Grant monitoring engine: returns, checks, risks and chasing for fixed-term grants.",
    no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False,
    rich_markup_mode=None,  # plain help: flags read as flags (rich help shows `--json <bool>`)
)
config_app = typer.Typer(help="Check the grant programme configuration.", no_args_is_help=True)
app.add_typer(config_app, name="config")
cli_monitoring.register(app)

app.add_typer(export_app, name="export")
app.add_typer(db_app, name="db")
register_database_commands(app)  # backup, restore
app.add_typer(mailbox_app, name="mailbox")
app.add_typer(message_app, name="message")  # message list, message resend
register_chase_commands(app)  # chase, digest, alerts
cli_report.register(app)  # report
cli_demo.register(app)  # demo
cli_web.register(app)  # web
cli_link.register(app)  # link


def out() -> Console:
    """Console for results: the terminal's width; when not a terminal, COLUMNS or 200 (wide enough for tables)."""
    columns = os.environ.get("COLUMNS", "")
    width = None if sys.stdout.isatty() else int(columns) if columns.isdigit() else 200
    return Console(width=width, soft_wrap=False)


FOLDERS = ("inbox", "archive", "quarantine", "outbox", "reports")


@app.command()
def init() -> None:
    """Create the database schema, the data folders (inbox, archive, quarantine, outbox, reports) and, unless
    GRANTS_SIGNING_KEY is set, this installation's own random signing key; load (upsert) every grant programme."""
    settings = get_settings()
    programmes = load_programmes(settings.config_dir)
    for name in FOLDERS:
        settings.folder(name).mkdir(parents=True, exist_ok=True)
    key_file = ensure_signing_key(settings)
    get_settings.cache_clear()  # the key just written is read from now on
    engine = configured_engine()
    revoked: dict[str, list[str]] = {}
    with session_scope(engine) as session:
        results = initialise(session, programmes)
        for (reference, changes), loaded in zip(results, programmes, strict=True):
            if changes.verdict == "updated":  # an edited grant file: what changed is audited, as officers' actions are
                audit.record(session, actor=cli_actor(), action="config.load", at=now_utc(), grant_id=changes.grant_id,
                             subject=f"{reference} from {loaded.file}", before=changes.before, after=changes.after)
                revoked[reference] = revoke_for_new_leads(session, changes.grant_id, changes.new_leads,
                                                          actor=cli_actor(), now=now_utc())
    for reference, changes in results:
        typer.echo(f"{reference}: {changes.verdict} ({changes.summary()})")
        for line in changes.lines() if changes.verdict == "updated" else []:
            typer.echo(f"  {line}")
        for code in revoked.get(reference, []):
            typer.echo(f"  project {code}: new lead, so the old lead's portal link is revoked (the next email carries "
                       "a new one)")
    typer.echo(f"Database: {engine.url.render_as_string(hide_password=True)}")
    typer.echo(f"Inbox: {settings.folder('inbox')} (put returned workbooks here)")
    typer.echo(f"Signing key: {key_file} (owner-only)" if key_file else "Signing key: GRANTS_SIGNING_KEY")


@config_app.command("check")
def config_check(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Grant files to check; default config/grants/*.yaml")
    ] = None,
) -> None:
    """Validate grant programme files; prints each problem with its file and key path, exit 1 on errors."""
    files = paths or programme_files(get_settings().config_dir)
    if not files:
        raise GrantsError(f"no grant files found in {get_settings().grants_config_dir}")
    loaded, problems = check_files(list(files))
    for problem in problems:
        typer.echo(str(problem))
    errors = sum(1 for p in problems if p.severity == "error")
    if errors:
        typer.echo(f"{errors} error(s) in {len(files)} file(s)", err=True)
        raise typer.Exit(1)
    for item in loaded:
        g = item.programme.grant
        typer.echo(f"ok: {item.file}: {g.reference}, {len(item.programme.projects)} projects, £{g.amount:,.2f}")


@app.command()
def status(
    as_of: AsOf = None,
    grant: Annotated[str | None, typer.Option(help="Only this grant reference.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable JSON.")] = False,
) -> None:
    """Per project: allocation, and per quarter the due date and the return's status."""
    day = parse_as_of(as_of)
    with open_session() as session:
        grants = grant_status(session, day, grant)
    if not grants:
        raise GrantsError("no grants loaded yet; run `grants init` first")
    if as_json:
        typer.echo(json.dumps([g.to_json() for g in grants], indent=2))
        return
    console = out()
    for g in grants:
        render.grant_status(console, g)


app.command()(template)
app.command()(ingest)
app.command()(verify)


@app.command()
def serve(
    port: Annotated[int, typer.Option(help="Port for the local Prefect server (UI and API).", min=1, max=65535)] = 4200,
    web_port: Annotated[int, typer.Option(help="Port for the web app (`grants web`) run beside it; 0: none.",
                                          min=0, max=65535)] = 8000,
) -> None:
    """Run the engine: load the programme, start a local Prefect server and serve every scheduled job, with the web
    app beside it (Ctrl-C stops both)."""
    if not os.environ.get("PREFECT_API_URL"):
        from flows.engine.server import check_prefect_port

        check_prefect_port(port)  # before any work: one clear line, never a silent move to another port
    if web_port:
        try:
            cli_web.check_web_port("127.0.0.1", web_port, "--web-port")
        except GrantsError as exc:  # the jobs still run: say so once, rather than a web app that silently isn't there
            typer.echo(f"warning: {exc}; serving the jobs without the web app", err=True)
            web_port = 0
    init()
    status(as_of=None, grant=None, as_json=False)
    from flows.engine.serve import serve_engine  # Prefect is imported only by the commands that need it

    raise_if_interrupted()  # a Ctrl-C during those imports: stop now, before starting a server
    with cli_web.web_beside("127.0.0.1", web_port):
        serve_engine(get_settings().data_dir / "prefect", port)


@app.command()
def deploy(
    pool: Annotated[str, typer.Option(help="The Prefect work pool (type process; created if missing).")] = "grants",
) -> None:
    """Register every scheduled job on a work pool of the Prefect server PREFECT_API_URL names, for workers on other
    machines (`prefect worker start --pool NAME`); rerunning updates the deployments."""
    if not os.environ.get("PREFECT_API_URL"):
        raise GrantsError("set PREFECT_API_URL to the Prefect server to deploy to, e.g. http://prefect.internal:4200/api")
    from flows.engine.deploy import deploy_to_pool
    from flows.engine.registry import JOBS

    deploy_to_pool(pool)
    for job in JOBS:
        typer.echo(f"deployed {job.name}/{job.name} on pool '{pool}': {job.cron} (Europe/London)")
    typer.echo(f"Start a worker on each machine with: prefect worker start --pool {pool}")


def main() -> None:
    """Run the commands (for flows.cli.main, the entry point), turning any failure into one clear line and a non-zero
    exit."""
    _warn_unknown_settings()
    try:
        app()
    except GrantsError as exc:
        _fail(str(exc), 1)
    except SQLAlchemyError as exc:
        cause = getattr(exc, "orig", None) or exc
        _fail(f"database error: {str(cause).strip().splitlines()[0]}", 2)
    except Exception as exc:  # the last resort: never a traceback unless asked for
        _fail(f"unexpected {type(exc).__name__}: {exc}", 2)


def _warn_unknown_settings() -> None:
    """One line on stderr for each GRANTS_ variable (environment or .env) that is not a setting."""
    from dotenv import dotenv_values  # pydantic-settings' own .env reader

    names = list(os.environ) + (list(dotenv_values(".env")) if Path(".env").is_file() else [])
    for line in unknown_variables(names):
        typer.echo(line, err=True)


def _fail(message: str, code: int) -> None:
    if os.environ.get("GRANTS_DEBUG"):
        traceback.print_exc()
    else:
        message += "" if code == 1 else " (set GRANTS_DEBUG=1 to see the traceback)"
    typer.echo(f"error: {message}", err=True)
    raise SystemExit(code)


if __name__ == "__main__":
    main()
