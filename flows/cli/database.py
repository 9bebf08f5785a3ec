"""`grants db upgrade` and `grants db current`: the schema revision of the configured database, for operators."""

from __future__ import annotations

import typer

from grants.kernel.db import get_engine
from grants.kernel.migrate import current_revisions, head_revisions, upgrade
from grants.kernel.settings import get_settings

db_app = typer.Typer(help="The database schema: its revision, and upgrading it (grants init also upgrades).",
                     no_args_is_help=True)


def _names(revisions: tuple[str, ...]) -> str:
    return ", ".join(revisions) or "none (an empty database, or one made before migrations)"


@db_app.command()
def current() -> None:
    """Print the database's schema revision and the newest one this version of the engine has (changes nothing)."""
    engine = get_engine(get_settings().db_url)
    now, head = current_revisions(engine), head_revisions()
    typer.echo(f"database: {_names(now)}")
    typer.echo(f"newest:   {_names(head)}")
    typer.echo("up to date" if now == head else "behind: run `grants db upgrade` (or `grants init`)")


@db_app.command("upgrade")
def upgrade_command() -> None:
    """Upgrade the database to the newest schema revision (safe to rerun; keeps every row)."""
    engine = get_engine(get_settings().db_url)
    before = current_revisions(engine)
    after = upgrade(engine)
    if before == after:
        typer.echo(f"already at {_names(after)}")
    else:
        typer.echo(f"upgraded {_names(before)} -> {_names(after)}")
