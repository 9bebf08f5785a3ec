"""An officer's extension, pause or waiver for one project and quarter: the status, the overdue counts, the late-return
risk and the chase ladder follow it, and each is one audit entry (real SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from grants.kernel import audit
from grants.kernel import models as m
from grants.kernel.db import session_scope
from grants.kernel.errors import GrantsError
from grants.messaging.chasing import plan_chasers
from grants.monitoring.assessment import run_checks
from grants.programme.overrides import extend_due, hold_chasing, resume_chasing
from grants.programme.status import ReturnState, grant_status
from tests.factories import load_example, period, project

NOW = datetime(2025, 1, 16, 9, tzinfo=UTC)
Q3 = "2024-25-Q3"  # due 15 January 2025: overdue-1 on 17 Jan, overdue-2 on 22 Jan, escalation on 29 Jan
CODE = "active-bystander"


def _ids(session: Session) -> tuple[int, int]:
    return project(session, CODE).id or 0, period(session, Q3).id or 0


def _steps(engine: Engine, day: date) -> dict[str, str]:
    with Session(engine) as session:
        return {p.project_code: p.due.step.name for p in plan_chasers(session, day, NOW, "returns@example.org")
                if p.period_label == Q3}


def _state(engine: Engine, day: date) -> tuple[date, ReturnState]:
    with Session(engine) as session:
        [status] = grant_status(session, day)
    q3 = next(q for p in status.projects if p.code == CODE for q in p.periods if q.label == Q3)
    return q3.due, q3.state


def test_extending_a_due_date_moves_the_status_the_ladder_and_the_late_return_risk(engine: Engine) -> None:
    load_example(engine)
    assert _state(engine, date(2025, 1, 20)) == (date(2025, 1, 15), ReturnState.overdue)
    assert _steps(engine, date(2025, 1, 17))[CODE] == "overdue-1"
    with session_scope(engine) as session:
        extend_due(session, *_ids(session), date(2025, 1, 29), "lead in hospital", actor="kit@example.org", now=NOW)
    assert _state(engine, date(2025, 1, 20)) == (date(2025, 1, 29), ReturnState.open)
    assert _steps(engine, date(2025, 1, 17))[CODE] == "pack"  # nothing sent yet: still the pack, not overdue-1
    assert _steps(engine, date(2025, 1, 17))["purple-flag"] == "overdue-1"
    assert _steps(engine, date(2025, 1, 22))[CODE] == "reminder"  # 5 working days before the new date
    assert _steps(engine, date(2025, 1, 29))[CODE] == "last-reminder"
    with session_scope(engine) as session:
        run = run_checks(session, date(2025, 1, 27))
        keys = {c.key for c in run.risk_changes}
    assert f"late-return:SVD-2024-25:{CODE}:{Q3}" not in keys
    assert "late-return:SVD-2024-25:purple-flag:2024-25-Q3" in keys


def test_an_extension_is_one_audit_entry_with_before_and_after(engine: Engine) -> None:
    load_example(engine)
    with session_scope(engine) as session:
        extend_due(session, *_ids(session), date(2025, 1, 29), "lead in hospital", actor="kit@example.org", now=NOW)
    with Session(engine) as session:
        [entry] = audit.entries(session)
    assert (entry.actor, entry.action, entry.subject, entry.reason) == (
        "kit@example.org", "due.extend", f"{CODE} {Q3}", "lead in hospital")
    assert (entry.before, entry.after) == ({"due": "2025-01-15"}, {"due": "2025-01-29"})


def test_moving_the_date_back_to_the_grants_removes_the_extension(engine: Engine) -> None:
    load_example(engine)
    with session_scope(engine) as session:
        ids = _ids(session)
        extend_due(session, *ids, date(2025, 1, 29), "", actor="kit@example.org", now=NOW)
        extend_due(session, *ids, date(2025, 1, 15), "back on track", actor="kit@example.org", now=NOW)
        assert session.exec(select(m.DueDateOverride)).all() == []
        assert len(audit.entries(session)) == 2


@pytest.mark.parametrize(("new_due", "message"), [
    (date(2024, 12, 31), "the due date must fall after the quarter ends (31 December 2024)"),
    (date(2025, 1, 15), "active-bystander 2024-25-Q3 is already due on 15 January 2025"),
    (date(2026, 1, 17), "the due date can be moved at most a year, to 16 January 2026"),
])
def test_an_extension_that_makes_no_sense_is_refused(engine: Engine, new_due: date, message: str) -> None:
    load_example(engine)
    with session_scope(engine) as session, pytest.raises(GrantsError, match=re.escape(message)):
        extend_due(session, *_ids(session), new_due, "", actor="kit@example.org", now=NOW)


def test_a_pause_stops_chasers_until_its_last_day_then_the_ladder_carries_on(engine: Engine) -> None:
    load_example(engine)
    with session_scope(engine) as session:
        hold_chasing(session, *_ids(session), "pause", "lead on leave", actor="kit@example.org", now=NOW,
                     until=date(2025, 1, 21))
    assert CODE not in _steps(engine, date(2025, 1, 17))
    assert _steps(engine, date(2025, 1, 22))[CODE] == "overdue-2"
    with Session(engine) as session:
        [entry] = audit.entries(session)
    assert (entry.action, entry.after["until"], entry.reason) == ("chase.pause", "2025-01-21", "lead on leave")


def test_a_waiver_stops_chasing_that_quarter_and_resuming_restores_it(engine: Engine) -> None:
    load_example(engine)
    with session_scope(engine) as session:
        hold_chasing(session, *_ids(session), "waive", "project paused by the board", actor="kit@example.org",
                     now=NOW)
    assert CODE not in _steps(engine, date(2025, 1, 22))
    with session_scope(engine) as session:
        resume_chasing(session, *_ids(session), actor="kit@example.org", now=NOW)
    assert _steps(engine, date(2025, 1, 22))[CODE] == "overdue-2"
    with Session(engine) as session:
        assert [e.action for e in audit.entries(session)] == ["chase.resume", "chase.waive"]


def test_a_hold_needs_a_reason(engine: Engine) -> None:
    load_example(engine)
    with session_scope(engine) as session, pytest.raises(GrantsError, match="say why"):
        hold_chasing(session, *_ids(session), "waive", "  ", actor="kit@example.org", now=NOW)


def test_the_audit_log_cannot_be_changed_or_deleted_even_in_sql(engine: Engine) -> None:
    load_example(engine)
    with session_scope(engine) as session:
        extend_due(session, *_ids(session), date(2025, 1, 29), "x", actor="kit@example.org", now=NOW)
    for statement in ("UPDATE auditentry SET actor = 'someone else'", "DELETE FROM auditentry"):
        with pytest.raises(Exception, match="append-only"), engine.begin() as connection:
            connection.exec_driver_sql(statement)
    with Session(engine) as session:
        assert json.loads(session.exec(select(m.AuditEntry.after_json)).one()) == {"due": "2025-01-29"}


@pytest.mark.parametrize(("day", "why", "next_day"), [
    (date(2025, 1, 25), "Saturday 25 January 2025", "Monday 27 January 2025"),  # a weekend
    (date(2025, 4, 18), "Friday 18 April 2025", "Tuesday 22 April 2025"),  # Good Friday, then Easter Monday
])
def test_a_due_date_is_never_moved_to_a_day_nobody_works_and_nothing_is_written(
    engine: Engine, day: date, why: str, next_day: str
) -> None:
    load_example(engine)
    with session_scope(engine) as session, pytest.raises(GrantsError) as refused:
        extend_due(session, *_ids(session), day, "half term", actor="kit@example.org", now=NOW)
    assert str(refused.value).endswith(f"{why} is not a working day (a weekend, bank holiday or the grant's closure "
                                       f"day): choose one, e.g. {next_day}")
    assert _state(engine, date(2025, 1, 20)) == (date(2025, 1, 15), ReturnState.overdue)
    with Session(engine) as session:
        assert audit.entries(session) == []
