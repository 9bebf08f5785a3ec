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
_POSTGRES: dict[tuple[str, str], str] = {}  # (admin url, kind) -> template database name
_SCHEMA_COPIES: set[str] = set()  # test databases created as copies of the migrated template
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


def postgres_template(admin: str, kind: str, build: Callable[[Engine], None]) -> str:
    """The name of this process's PostgreSQL template database of `kind` on the server, built by `build` on first
    use (dropped when the process ends)."""
    if (admin, kind) not in _POSTGRES:
        name = f"grants_template_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(conninfo(admin), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        atexit.register(_drop, admin, name)
        _built(make_url(admin).set(database=name).render_as_string(hide_password=False), build)
        _POSTGRES[admin, kind] = name
    return _POSTGRES[admin, kind]


def create_postgres(admin: str, database: str, *, schema: bool) -> None:
    """Create the test database `database`: empty, or with `schema` a copy of this process's migrated template (one
    CREATE DATABASE ... TEMPLATE rather than an empty database made and then replaced by the copy)."""
    template = f' TEMPLATE "{postgres_template(admin, "schema", create_schema)}"' if schema else ""
    with psycopg.connect(conninfo(admin), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database}"{template}')
    if schema:
        _SCHEMA_COPIES.add(database)


def postgres_with_schema(admin: str, database: str) -> None:
    """Make the (new, unused) test database `database` a copy of this process's migrated template (it is one already
    when create_postgres made it so)."""
    if database in _SCHEMA_COPIES:
        return
    template = postgres_template(admin, "schema", create_schema)
    with psycopg.connect(conninfo(admin), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}"')
        conn.execute(f'CREATE DATABASE "{database}" TEMPLATE "{template}"')


def restore_postgres(engine: Engine, kind: str, build: Callable[[Engine], None]) -> bool:
    """Replace the PostgreSQL test database behind `engine` with this process's template of `kind`; False (nothing
    changed) when the server is not the tests' one or another connection still holds the database."""
    admin, database = os.environ.get("GRANTS_TEST_POSTGRES_URL"), engine.url.database
    if not admin or not database or (make_url(admin).host, make_url(admin).port) != (engine.url.host, engine.url.port):
        return False
    template = postgres_template(admin, kind, build)
    engine.dispose()  # the pool's idle connections; a connection still checked out makes the DROP fail
    with psycopg.connect(conninfo(admin), autocommit=True) as conn:
        try:
            conn.execute(f'DROP DATABASE "{database}"')
        except psycopg.errors.ObjectInUse:
            return False
        conn.execute(f'CREATE DATABASE "{database}" TEMPLATE "{template}"')
    return True


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
