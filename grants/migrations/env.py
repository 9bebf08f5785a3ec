"""Alembic environment: the SQLModel tables are the target; the connection comes from grants.kernel.migrate."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

from grants.kernel import models  # noqa: F401  (registers the tables on SQLModel.metadata)

config = context.config
connection = config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=True,  # SQLite alters tables by copy-and-move
    compare_type=True,
)
with context.begin_transaction():
    if connection.dialect.name == "postgresql":
        # Two processes upgrading one database at once queue here instead of both running the same revision.
        connection.exec_driver_sql("SELECT pg_advisory_xact_lock(7242011)")
    context.run_migrations()
