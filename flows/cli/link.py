"""`grants link`: print a project lead's personal portal link (for an officer to send by hand), revoke it, or reissue
it (revoke and print a new one); revoking and reissuing write the same audit entries as the workspace's buttons."""

from __future__ import annotations

from typing import Annotated

import typer

from flows.cli.support import cli_actor
from flows.clock import now_utc
from flows.database import open_session
from grants.kernel.dates import long_date
from grants.kernel.settings import get_settings
from grants.programme.link_actions import reissue_lead_link, revoke_lead_link
from grants.programme.links import configured_link_key, current_link, link_address
from grants.programme.lookup import find_project


def register(app: typer.Typer) -> None:
    """Add `link` to the CLI."""
    app.command()(link)


def link(
    project: Annotated[str, typer.Option(help="The project's code, e.g. active-bystander.")],
    grant: Annotated[str | None, typer.Option(help="The grant reference, if the code is in more than one.")] = None,
    revoke: Annotated[bool, typer.Option("--revoke", help="Revoke the project's link: it stops working at once, "
                                         "and the next email to the lead carries a new one.")] = False,
    reissue: Annotated[bool, typer.Option("--reissue", help="Revoke the project's link and print a new one "
                                          "(for a link that reached the wrong person).")] = False,
) -> None:
    """Print the lead's personal link to the portal (issued now if the project has none), revoke it or reissue it."""
    settings = get_settings()
    now = now_utc()
    with open_session() as session:
        found = find_project(session, project, grant)
        if revoke:
            count = revoke_lead_link(session, found, actor=cli_actor(), now=now)
            if count == 0:
                typer.echo(f"{found.name} ({found.code}) has no live link: nothing to revoke.")
                return
            typer.echo(f"Revoked {count} link(s) for {found.name} ({found.code}). The next email to the lead "
                       f"carries a new link; `grants link --project {found.code}` prints it.")
            return
        if reissue:
            row = reissue_lead_link(session, found, actor=cli_actor(), now=now,
                                    margin_days=settings.lead_link_margin_days)
        else:
            row = current_link(session, found, now, settings.lead_link_margin_days)
        address = link_address(settings.web_base_url, configured_link_key(settings), row)
        expires = row.expires_on
        typer.echo(f"{found.name} ({found.code}), lead {found.lead_name} <{found.lead_email}>")
    typer.echo(address)
    note = " (already expired; `grants web --as-of DATE` serves the portal as on an earlier day)" \
        if expires < now.date() else ""
    typer.echo(f"Works until {long_date(expires)}{note}. Send it only to the lead: anyone with it can send returns.")
