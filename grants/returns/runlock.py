"""One ingest run at a time per installation: overlapping runs (a schedule firing during a manual run, two workers)
queue here, so each file is examined against everything the other run stored, and taken in once.

On PostgreSQL a session-level advisory lock on a connection of its own (any machine running ingest against the
database queues on it); on SQLite an exclusive lock on a file beside the archive (SQLite is one machine). The schema
still makes duplicates impossible should anything bypass the lock (grants/migrations: 0010_intake_files_once).
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.engine import Engine

INGEST_LOCK_KEY = 7242012  # pg_advisory_lock key of ingest runs (migrations use 7242011)
LOCK_FILE = ".ingest.lock"


@contextmanager
def ingest_lock(engine: Engine, archive_dir: Path) -> Iterator[None]:
    """Hold the installation's ingest lock for the block (waits while another run holds it)."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql(f"SELECT pg_advisory_lock({INGEST_LOCK_KEY})")
            try:
                yield
            finally:
                connection.exec_driver_sql(f"SELECT pg_advisory_unlock({INGEST_LOCK_KEY})")
        return
    archive_dir.mkdir(parents=True, exist_ok=True)
    with open(archive_dir / LOCK_FILE, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
