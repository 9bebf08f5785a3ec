"""For operators: `grants db upgrade` / `grants db current` (the schema revision), `grants backup`, `grants restore`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from flows.clock import now_utc
from flows.database import configured_engine
from grants.kernel.backup import FOLDERS, manifest_folders, relocate_paths, restore_backup, write_backup
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


def _folders() -> dict[str, Path]:
    settings = get_settings()
    return {name: settings.folder(name) for name in FOLDERS}


def backup(out: Annotated[Path, typer.Option("--out", help="The backup file to write (.tar.gz).")]) -> None:
    """Back up the database (SQLite: a consistent online copy, safe while the engine runs) and the return files."""
    settings = get_settings()
    summary = write_backup(out, settings.db_url, _folders(), configured_engine(), now_utc(), settings.signing_key_file)
    typer.echo(f"backup written to {summary.path} (owner-only: it holds the signing key)")
    typer.echo(f"database: {summary.database}")
    typer.echo(f"signing key: {summary.signing_key}")
    for name, count in summary.files.items():
        typer.echo(f"{name}: {count} file{'' if count == 1 else 's'}")


def restore(
    source: Annotated[Path, typer.Argument(help="A backup file written by `grants backup`.")],
    force: Annotated[bool, typer.Option("--force", help="Replace the data that is there now.")] = False,
) -> None:
    """Restore a backup into the configured data folder; refuses to overwrite existing data unless --force."""
    folders = _folders()
    settings = get_settings()
    summary = restore_backup(source, settings.db_url, folders, force=force, key_file=settings.signing_key_file)
    moved = relocate_paths(configured_engine(), manifest_folders(source), folders)  # also upgrades an older schema
    typer.echo(f"restored from {summary.path}")
    typer.echo(f"database: {summary.database}")
    typer.echo(f"signing key: {summary.signing_key}")
    for name, count in summary.files.items():
        typer.echo(f"{name}: {count} file{'' if count == 1 else 's'}")
    if moved:
        typer.echo(f"{moved} stored file path{'' if moved == 1 else 's'} now point into this data folder")


def register(app: typer.Typer) -> None:
    """Add `backup` and `restore` to the top-level command group."""
    app.command()(backup)
    app.command()(restore)
