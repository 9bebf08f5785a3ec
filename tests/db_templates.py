"""Database templates for the tests: the migrated schema, and the schema with the example programme loaded, built
once in each test process by the real code (the migrations, the register's loader) and then copied for each test
instead of being built again: SQLite through its online backup API, PostgreSQL with CREATE DATABASE ... TEMPLATE.

A copy is the database the real code built, page for page, so a test sees what it would have seen; the tests of
the migrations and of the loader themselves still run them (they do not go through these templates)."""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import sqlite3
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine, make_url

from grants.kernel.db import create_schema, get_engine

_SQLITE: dict[str, Path] = {}
_POSTGRES: dict[str, str] = {}  # admin url -> template database name
_FOLDER: list[Path] = []


def _folder() -> Path:
    if not _FOLDER:
        _FOLDER.append(Path(tempfile.mkdtemp(prefix=f"grants-test-templates-{os.getpid()}-")))
        atexit.register(shutil.rmtree, _FOLDER[0], True)
    return _FOLDER[0]


def _built(url: str, build: Callable[[Engine], None]) -> None:
    """Build a template with an engine of its own (not the test's cached one), closed before it is copied."""
    engine = get_engine.__wrapped__(url)
    try:
        build(engine)
    finally:
        engine.dispose()


def sqlite_template(kind: str, build: Callable[[Engine], None]) -> Path:
    """This process's SQLite template of `kind`, built by `build` on first use."""
    if kind not in _SQLITE:
        path = _folder() / f"{kind}.db"
        _built(f"sqlite:///{path}", build)
        _SQLITE[kind] = path
    return _SQLITE[kind]


def copy_sqlite(template: Path, target: sqlite3.Connection) -> None:
    """Replace the whole content of the database behind `target` with the template's (SQLite's backup API)."""
    source = sqlite3.connect(template)
    try:
        source.backup(target)
    finally:
        source.close()


def sqlite_with_schema(path: Path) -> None:
    """Make `path` a database at the head of the migrations."""
    target = sqlite3.connect(path)
    try:
        copy_sqlite(sqlite_template("schema", create_schema), target)
    finally:
        target.close()


def conninfo(admin: str) -> str:
    """The libpq connection string of the server an admin URL names (psycopg takes no SQLAlchemy driver name)."""
    return make_url(admin).set(drivername="postgresql").render_as_string(hide_password=False)


def postgres_with_schema(admin: str, database: str) -> None:
    """Recreate the (new, unused) test database `database` as a copy of this process's migrated template."""
    if admin not in _POSTGRES:
        name = f"grants_template_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(conninfo(admin), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        atexit.register(_drop, admin, name)
        _built(make_url(admin).set(database=name).render_as_string(hide_password=False), create_schema)
        _POSTGRES[admin] = name
    with psycopg.connect(conninfo(admin), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}"')
        conn.execute(f'CREATE DATABASE "{database}" TEMPLATE "{_POSTGRES[admin]}"')


def _drop(admin: str, name: str) -> None:
    try:
        with psycopg.connect(conninfo(admin), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    except psycopg.Error:
        pass  # the server may already be gone at the end of a run


def fresh_at_head(engine: Engine) -> bool:
    """True when the database is at the migrations' head (the template's revision) with no row in any table."""
    names = [n for n in inspect(engine).get_table_names() if n != "alembic_version"]
    if not names:
        return False
    with engine.connect() as conn:
        head = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        rows = conn.execute(text(" UNION ALL ".join(f'SELECT 1 FROM (SELECT 1 FROM "{n}" LIMIT 1) AS t{i}'
                                                    for i, n in enumerate(names)))).first()
    return rows is None and head == _head_revision()


@functools.cache
def _head_revision() -> list[str]:
    """The revision the templates are at (read once per process)."""
    template = sqlite3.connect(sqlite_template("schema", create_schema))
    try:
        return [r[0] for r in template.execute("SELECT version_num FROM alembic_version")]
    finally:
        template.close()


def restore_into(engine: Engine, kind: str, build: Callable[[Engine], None]) -> None:
    """Replace the SQLite database behind `engine` with this process's template of `kind`."""
    template = sqlite_template(kind, build)
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        assert isinstance(raw, sqlite3.Connection)
        copy_sqlite(template, raw)
