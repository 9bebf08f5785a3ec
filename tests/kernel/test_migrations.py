"""Migrations: the models and the Alembic revisions agree, init upgrades to head, and a pre-migration database is
adopted at the baseline without losing rows."""

from __future__ import annotations

import gzip
import json
import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, select

from grants.kernel import models as m
from grants.kernel.db import create_schema, get_engine
from grants.kernel.errors import GrantsError
from grants.kernel.migrate import BASELINE, _config, current_revisions, head_revisions, upgrade
from grants.messaging.channels import OutboxChannel
from grants.messaging.notify import Sender
from grants.messaging.resend import resend
from grants.programme.status import grant_status


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
    with old.begin() as connection:  # the schema as the engine made it before migrations: the baseline, unstamped
        command.upgrade(_config(connection), BASELINE)
        connection.exec_driver_sql("DROP TABLE alembic_version")
    with sqlite3.connect(tmp_path / "old.db") as raw:  # a row the upgrade must keep
        raw.execute("INSERT INTO officer (grant_id, key, name, email, role) VALUES (1, 'k', 'A', 'a@x.org', 'x')")
    assert current_revisions(old) == ()
    assert upgrade(old) == head_revisions()
    with old.connect() as c:
        assert c.execute(text("SELECT count(*) FROM officer")).scalar_one() == 1


DEMO_YEAR = Path(__file__).parent / "data" / "baseline-demo-year.json.gz"


def _typed(value: object, column: sa.Column[object]) -> object:
    """A value as the SQLite file held it (text dates, 0/1 booleans) in the column's Python type."""
    if value is None:
        return None
    if isinstance(column.type, sa.DateTime):
        moment = datetime.fromisoformat(str(value))
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if isinstance(column.type, sa.Date):
        return date.fromisoformat(str(value))
    if isinstance(column.type, sa.Boolean):
        return bool(value)
    return value


def _comparable(value: object) -> object:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    return value


def test_a_year_of_data_at_the_baseline_upgrades_to_head_with_nothing_lost(db_url: str) -> None:
    """The demo's 2024/25 year, stored at the baseline revision, keeps every row and value through every revision."""
    engine = get_engine(db_url)
    upgrade(engine, "0001_baseline")
    baseline = sa.MetaData()
    baseline.reflect(engine)
    with gzip.open(DEMO_YEAR, "rt") as f:
        year: dict[str, list[dict[str, object]]] = json.load(f)
    expected: dict[str, dict[object, dict[str, object]]] = {}
    with engine.begin() as c:
        for table in (t for t in baseline.sorted_tables if t.name != "alembic_version"):
            rows = [{k: _typed(v, table.c[k]) for k, v in row.items()} for row in year.get(table.name, [])]
            expected[table.name] = {row["id"]: row for row in rows}
            if rows:
                c.execute(table.insert(), rows)
                if engine.dialect.name == "postgresql":
                    c.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', 'id'), "
                                      f"(SELECT max(id) FROM \"{table.name}\"))"))
    assert sum(len(rows) for rows in expected.values()) > 1000

    assert upgrade(engine) == head_revisions()
    with engine.connect() as c:
        for name, rows in expected.items():
            stored = {r["id"]: r for r in c.execute(sa.select(baseline.tables[name])).mappings()}
            assert stored.keys() == rows.keys(), f"{name}: rows lost or added by the upgrade"
            for key, row in rows.items():
                assert {k: _comparable(stored[key][k]) for k in row} == {k: _comparable(v) for k, v in row.items()}
    with Session(engine) as session:
        (status,) = grant_status(session, date(2025, 4, 30), "SVD-2024-25")
    assert len(status.projects) == 8
    engine.dispose()
    get_engine.cache_clear()


def test_messages_logged_before_copies_were_kept_upgrade_with_no_copy_and_are_refused_as_copies(
        db_url: str, tmp_path: Path) -> None:
    """An installed council at 0040 upgrades to 0060_message_copies keeping every Notification row (copy_id NULL);
    a receipt logged then cannot be sent again as a copy, and says why."""
    engine = get_engine(db_url)
    upgrade(engine, "0040_officers_workspace")
    with engine.begin() as c:
        c.execute(text(
            "INSERT INTO notification (idempotency_key, kind, step, recipients, subject, status, attempts, error, "
            "sent_at, delivered_json) VALUES ('reply:7', 'receipt', 'v1', 'lead@example.org', 'Received', 'sent', "
            "1, '', :at, '[\"outbox\"]')"), {"at": datetime(2025, 1, 14, 11, tzinfo=UTC)})
    assert upgrade(engine) == head_revisions()
    with Session(engine) as session:
        (row,) = session.exec(select(m.Notification)).all()
        assert (row.idempotency_key, row.kind, row.subject, row.copy_id) == ("reply:7", "receipt", "Received", None)
        with pytest.raises(GrantsError, match="sent before copies of messages were kept"):
            resend(session, row.id or 0, Sender([OutboxChannel(tmp_path)]), as_of=date(2025, 2, 3),
                   now=datetime(2025, 2, 3, tzinfo=UTC), actor="officer@example.org", return_to="")
    engine.dispose()
    get_engine.cache_clear()


def test_the_previous_releases_accounts_and_audit_log_upgrade_and_their_passwords_still_sign_in(
        db_url: str) -> None:
    """A council on the previous release (0040_officers_workspace) upgrades: its accounts keep their passwords (and
    roles, lockouts, calendar links), must not change them at the next sign-in, and the append-only log is kept."""
    from argon2 import PasswordHasher

    from grants.kernel.accounts import sign_in

    engine = get_engine(db_url)
    upgrade(engine, "0040_officers_workspace")
    made = datetime(2025, 1, 6, 9, tzinfo=UTC)
    with engine.begin() as c:
        c.execute(text("INSERT INTO account (id, email, role, password_hash, active, created_at, failed_logins, "
                       "calendar_token_hash) VALUES (1, 'kit@example.org', 'admin', :hash, :yes, :at, 2, 'cafe')"),
                  {"hash": PasswordHasher().hash("a long passphrase here"), "yes": True, "at": made})
        c.execute(text("INSERT INTO auditentry (id, at, actor, action, subject, before_json, after_json, reason) "
                       "VALUES (1, :at, 'cli:kit', 'account.add', 'kit@example.org', '{}', '{\"role\": \"admin\"}', "
                       "'')"), {"at": made})

    assert upgrade(engine) == head_revisions()
    with Session(engine) as session:
        account = session.exec(select(m.Account)).one()
        assert (account.email, account.role, account.active, account.failed_logins, account.calendar_token_hash,
                account.must_change_password, account.last_sign_in_at) == (
            "kit@example.org", "admin", True, 2, "cafe", False, None)
        [entry] = session.exec(select(m.AuditEntry)).all()
        assert (entry.action, entry.after_json) == ("account.add", '{"role": "admin"}')
        assert sign_in(session, "kit@example.org", "a long passphrase here", made).account is not None
    engine.dispose()
    get_engine.cache_clear()
