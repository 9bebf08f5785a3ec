"""Schema migrations (Alembic, scripts in grants/migrations): bring a database to the newest revision.

A database made before migrations existed (its tables created directly) is stamped at the baseline first, so an
installed council upgrades in place without losing data.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection, Engine

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"
BASELINE = "0001_baseline"


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


@lru_cache(maxsize=1)
def head_revisions() -> tuple[str, ...]:
    """The newest revision(s) the code expects."""
    return tuple(sorted(ScriptDirectory.from_config(_config()).get_heads()))


def current_revisions(engine: Engine) -> tuple[str, ...]:
    """The revision(s) the database is at; empty for a new database or one made before migrations."""
    with engine.connect() as connection:
        return tuple(sorted(MigrationContext.configure(connection).get_current_heads()))


def upgrade(engine: Engine, to: str = "head") -> tuple[str, ...]:
    """Upgrade the database to `to` (default head; a no-op when it is there already); returns where it is now."""
    if to == "head" and current_revisions(engine) == head_revisions():
        return head_revisions()
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:  # SQLite alters a table by copying it: foreign keys are checked once at the end instead
            connection.connection.dbapi_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
        try:
            with connection.begin():
                before = _dangling(connection) if sqlite else set()
                _upgrade(connection, to)
                if sqlite and _dangling(connection) - before:
                    raise RuntimeError("the upgrade left rows whose foreign keys point nowhere; nothing was changed")
        finally:
            if sqlite:
                connection.connection.dbapi_connection.execute("PRAGMA foreign_keys=ON")  # type: ignore[union-attr]
    return current_revisions(engine)


def _dangling(connection: Connection) -> set[tuple[object, ...]]:
    """SQLite rows whose foreign keys point nowhere (table, rowid, parent, key)."""
    return {tuple(row) for row in connection.exec_driver_sql("PRAGMA foreign_key_check")}


def _upgrade(connection: Connection, to: str) -> None:
    if connection.dialect.name == "postgresql":  # one upgrader at a time; SQLite's BEGIN IMMEDIATE does the same
        connection.exec_driver_sql("SELECT pg_advisory_xact_lock(7242011)")
    config = _config(connection)
    names = set(inspect(connection).get_table_names())
    if "alembic_version" not in names and "grant" in names:
        command.stamp(config, BASELINE)  # tables made by create_all before migrations: they are the baseline
    command.upgrade(config, to)
