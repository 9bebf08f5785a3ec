"""Two administrators demoting or deactivating each other at the same instant on PostgreSQL: the last-admin guard
locks the active administrators' rows, so the second change waits for the first, then counts one administrator and
is refused. Exactly one active administrator remains (real concurrent sessions on a real PostgreSQL database)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from grants.kernel import models as m
from grants.kernel.accounts import add_account, set_active, set_role
from grants.kernel.db import get_engine, session_scope
from grants.kernel.errors import GrantsError

NOW = datetime(2025, 1, 24, 9, 30, tzinfo=UTC)
Change = Callable[[Session, str], object]
DEMOTE: Change = lambda session, email: set_role(session, email, "officer", NOW, "test")  # noqa: E731
DEACTIVATE: Change = lambda session, email: set_active(session, email, False, NOW, "test")  # noqa: E731


def _waiting_on_a_lock(engine: Engine) -> bool:
    with engine.connect() as connection:
        return bool(connection.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )).scalar())


@pytest.mark.postgres
@pytest.mark.parametrize(("first", "second"), [(DEMOTE, DEMOTE), (DEACTIVATE, DEMOTE), (DEACTIVATE, DEACTIVATE)],
                         ids=["demote-demote", "deactivate-demote", "deactivate-deactivate"])
def test_two_admins_removing_each_other_at_once_leave_exactly_one_active_admin(
        postgres_schema_url: str, first: Change, second: Change) -> None:
    engine = get_engine(postgres_schema_url)
    with session_scope(engine) as session:
        add_account(session, "ali@example.org", "admin", "a long enough secret", NOW, "test")
        add_account(session, "bo@example.org", "admin", "a long enough secret", NOW, "test")
    outcome: list[str] = []

    def other_admin() -> None:
        try:
            with session_scope(engine) as session:
                second(session, "bo@example.org")
            outcome.append("done")
        except GrantsError as exc:
            outcome.append(str(exc))

    with Session(engine, expire_on_commit=False) as holding:  # the first change, not yet committed
        first(holding, "ali@example.org")
        holding.flush()
        racing = threading.Thread(target=other_admin)
        racing.start()
        deadline = time.monotonic() + 10
        while racing.is_alive() and not _waiting_on_a_lock(engine) and time.monotonic() < deadline:
            time.sleep(0.05)
        holding.commit()
    racing.join(timeout=30)
    assert outcome == ["bo@example.org is the last active administrator: make another account an administrator "
                       f"before you {'demote' if second is DEMOTE else 'deactivate'} it"]
    with session_scope(engine) as session:
        admins = session.exec(select(m.Account.email).where(m.Account.role == "admin", col(m.Account.active))).all()
    assert admins == ["bo@example.org"]
    engine.dispose()
    get_engine.cache_clear()
