"""The account functions the CLI and the web app share, on SQLite and PostgreSQL: the last active administrator is
kept, a sign-in is recorded, a temporary password is flagged until its owner replaces it, and a wrong current
password counts towards the lockout."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.engine import Engine

from grants.kernel.accounts import (
    MAX_FAILURES,
    WrongPassword,
    add_account,
    change_own_password,
    find_account,
    set_active,
    set_password,
    set_role,
    sign_in,
)
from grants.kernel.db import session_scope
from grants.kernel.errors import GrantsError

NOW = datetime(2025, 1, 24, 9, 30, tzinfo=UTC)
SECRET = "a long enough secret"


def test_the_last_active_admin_cannot_be_demoted_or_deactivated(engine: Engine) -> None:
    with session_scope(engine) as session:
        add_account(session, "ali@example.org", "admin", SECRET, NOW, "test")
        add_account(session, "bo@example.org", "admin", SECRET, NOW, "test")
        set_active(session, "bo@example.org", False, NOW, "test")  # an inactive admin does not count
        with pytest.raises(GrantsError, match="last active administrator"):
            set_role(session, "ali@example.org", "viewer", NOW, "test")
        with pytest.raises(GrantsError, match="last active administrator"):
            set_active(session, "ali@example.org", False, NOW, "test")
        set_active(session, "bo@example.org", True, NOW, "test")
        assert set_role(session, "ali@example.org", "viewer", NOW, "test").role == "viewer"


def test_a_temporary_password_is_flagged_until_its_owner_changes_it_and_sign_ins_are_recorded(
        engine: Engine) -> None:
    with session_scope(engine) as session:
        account = add_account(session, "kit@example.org", "officer", SECRET, NOW, "admin@example.org",
                              temporary=True)
        assert account.must_change_password and account.last_sign_in_at is None
        assert sign_in(session, "kit@example.org", SECRET, NOW).account is not None
        change_own_password(session, account.id or 0, SECRET, "kit's own passphrase", "kit's own passphrase", NOW)
        changed = find_account(session, "kit@example.org")
        assert not changed.must_change_password and changed.last_sign_in_at is not None
        assert set_password(session, "kit@example.org", SECRET, NOW, "admin@example.org",
                            temporary=True).must_change_password


def test_a_wrong_current_password_counts_towards_the_lockout(engine: Engine) -> None:
    with session_scope(engine) as session:
        account_id = add_account(session, "kit@example.org", "officer", SECRET, NOW, "test").id or 0
    for _ in range(MAX_FAILURES):
        # caught inside the transaction, as the web app does: the transaction commits the counted failure
        with session_scope(engine) as session, pytest.raises(WrongPassword):
            change_own_password(session, account_id, "wrong", "kit's own passphrase", "kit's own passphrase", NOW)
    with session_scope(engine) as session:
        assert "locked" in sign_in(session, "kit@example.org", SECRET, NOW).error
