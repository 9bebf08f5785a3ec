"""Migrations: the models and the Alembic revisions agree, init upgrades to head, and a pre-migration database is
adopted at the baseline without losing rows."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from grants.kernel.db import create_schema, get_engine
from grants.kernel.migrate import BASELINE, _config, current_revisions, head_revisions, upgrade


def test_models_and_migrations_agree(engine: Engine) -> None:
    """Autogenerate finds nothing to do at head: every model change has shipped a revision."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, SQLModel.metadata)
    assert diff == [], f"the models differ from the migrations; add a revision: {diff}"


def test_a_new_database_is_created_at_head_and_upgrading_again_changes_nothing(engine: Engine) -> None:
    assert current_revisions(engine) == head_revisions()
    assert upgrade(engine) == head_revisions()
    create_schema(engine)
    assert current_revisions(engine) == head_revisions()


def test_a_database_made_before_migrations_is_adopted_at_the_baseline_with_its_rows(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = get_engine(url)
    with old.begin() as connection:  # the schema create_all made before migrations: the baseline, unstamped
        command.upgrade(_config(connection), BASELINE)
        connection.exec_driver_sql("DROP TABLE alembic_version")  # (later tables and columns: not there yet)
    with sqlite3.connect(tmp_path / "old.db") as raw:  # a row the upgrade must keep
        raw.execute("INSERT INTO officer (grant_id, key, name, email, role) VALUES (1, 'k', 'A', 'a@x.org', 'x')")
    assert current_revisions(old) == ()
    assert upgrade(old) == head_revisions()
    with old.connect() as c:
        assert c.execute(text("SELECT count(*) FROM officer")).scalar_one() == 1
