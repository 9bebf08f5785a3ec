"""One cause, one risk: while the funder's release is late the grant carries the one late-funds risk (naming the
projects left with nothing); a project unpaid once the council has the money is a risk of its own (the council's
delay); project risks an earlier version opened for the grant's lateness close into the grant's, saying why."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from grants.kernel import models as m
from grants.kernel.db import session_scope
from grants.monitoring.assessment import CheckRun, run_checks
from grants.monitoring.findings import named
from grants.monitoring.funds import record_payment, record_release
from tests.factories import load_example, project
from tests.scenario import ALLOCATIONS

RECORDED = datetime(2024, 7, 1, 12, tzinfo=UTC)
GRANT_KEY = "late-funds-release:SVD-2024-25"


@pytest.fixture
def programme(engine: Engine) -> Engine:
    load_example(engine)
    return engine


def _check(engine: Engine, day: date) -> CheckRun:
    with session_scope(engine) as session:
        return run_checks(session, day)


def _late_funds(engine: Engine, status: str = "open") -> dict[str, m.Risk]:
    with Session(engine) as session:
        return {r.key: r for r in session.exec(select(m.Risk).where(m.Risk.kind == "late-funds-release",
                                                                    m.Risk.status == status))}


def test_late_release_names_the_projects_paid_nothing_and_not_those_the_council_paid_anyway(programme: Engine
                                                                                            ) -> None:
    with session_scope(programme) as session:  # the council pays two projects from its own budget
        record_payment(session, "active-bystander", "30000", date(2024, 6, 1), RECORDED, actor="test")
        record_payment(session, "man-culture", "5000", date(2024, 6, 1), RECORDED, actor="test")
    _check(programme, date(2024, 6, 15))
    [grant] = _late_funds(programme).values()
    assert grant.key == GRANT_KEY and grant.project_id is None
    assert grant.evidence.endswith(
        "; £35,000.00 paid to projects; 6 of 8 projects have received nothing: Purple Flag night-time economy, "
        "Community conversations and co-production, Impact Project, Speech, language and communication, Preventing "
        "child sexual abuse, Community prevention service feasibility study (phase 2)")


@pytest.mark.parametrize(("count", "shown"), [
    (1, "P1"),
    (8, "P1, P2, P3, P4, P5, P6, P7, P8"),
    (9, "P1, P2, P3, P4, P5 and 4 more"),
    (250, "P1, P2, P3, P4, P5 and 245 more"),
])
def test_projects_named_in_evidence_stay_readable_however_many(count: int, shown: str) -> None:
    assert named([f"P{i}" for i in range(1, count + 1)]) == shown


def test_once_the_council_has_the_money_a_project_unpaid_after_its_payment_days_is_a_risk_of_its_own(
        programme: Engine) -> None:
    _check(programme, date(2024, 6, 15))
    with session_scope(programme) as session:  # the money arrives 1 July; the council has 14 days to pay
        record_release(session, "SVD-2024-25", "125000", date(2024, 7, 1), RECORDED, actor="test")
        for code, amount in ALLOCATIONS.items():
            if code != "impact-project":
                record_payment(session, code, amount, date(2024, 7, 8), RECORDED, actor="test")
    run = _check(programme, date(2024, 7, 15))
    assert _late_funds(programme) == {}  # within the council's 14 days: no risk, and the page says when it is due
    [impact] = [r for r in run.ratings if r.name == "Impact Project"]
    assert impact.reasons["funds"] == "No payment yet; £20,000.00 to pay by 15 July 2024"
    assert impact.figures["rags"]["funds"] == "green"
    run = _check(programme, date(2024, 7, 22))
    [risk] = _late_funds(programme).values()
    assert (risk.key, risk.title) == ("late-funds-release:SVD-2024-25:impact-project",
                                      "Impact Project: not paid by 15 July 2024")
    assert risk.evidence == (
        "Not paid by 15 July 2024 (7 days late; the grant's funds were received 1 July 2024): £20,000.00 "
        "outstanding; 253 of 365 days (69.3%) of the delivery window left")
    assert [c.change for c in run.risk_changes if c.key == risk.key] == ["opened"]


def test_a_grant_released_on_time_still_gives_the_council_its_payment_days(programme: Engine) -> None:
    with session_scope(programme) as session:
        record_release(session, "SVD-2024-25", "125000", date(2024, 4, 25), RECORDED, actor="test")
    _check(programme, date(2024, 5, 15))
    assert _late_funds(programme) == {}
    _check(programme, date(2024, 5, 16))  # 1 May (the expected date, later than 25 April) + 14 days
    assert len(_late_funds(programme)) == 8
    assert {r.title.split(": ", 1)[1] for r in _late_funds(programme).values()} == {"not paid by 15 May 2024"}


def test_project_late_funds_risks_an_earlier_version_opened_close_into_the_grant_risk_saying_why(
        programme: Engine) -> None:
    old = "No payment by 6 June 2024 (36 days after funds were expected 1 May 2024): £30,000.00 outstanding"
    with session_scope(programme) as session:  # the register as the earlier version left it: 9 risks, 1 cause
        bystander = project(session, "active-bystander")
        row = m.Risk(key=f"{GRANT_KEY}:active-bystander", grant_id=bystander.grant_id, project_id=bystander.id,
                     kind="late-funds-release", title=f"{bystander.name}: no funds received", likelihood=4, impact=3,
                     score=12, rag="amber", evidence=old, owner="Kit Pascoe", mitigation="Chasing the PCC",
                     first_seen=date(2024, 5, 6), last_seen=date(2024, 6, 6))
        session.add(row)
        session.flush()
        session.add(m.RiskEvent(risk_id=row.id or 0, day=date(2024, 5, 6), change="opened", rag="amber", score=12,
                                evidence=old))
    run = _check(programme, date(2024, 6, 7))
    closed = _late_funds(programme, "closed")[f"{GRANT_KEY}:active-bystander"]
    reason = ('Closed: now covered by the grant risk "Grant funds not released by the expected date", which has the '
              f"same cause. Last evidence: {old}")
    assert (closed.closed_on, closed.evidence, closed.owner, closed.mitigation) == (
        date(2024, 6, 7), reason, "Kit Pascoe", "Chasing the PCC")
    assert list(_late_funds(programme)) == [GRANT_KEY]
    [change] = [c for c in run.risk_changes if c.key == closed.key]
    assert (change.change, change.evidence) == ("closed", reason)
    with Session(programme) as session:  # the history a past board pack reads says the same
        events = session.exec(select(m.RiskEvent).where(m.RiskEvent.risk_id == closed.id)
                              .order_by(col(m.RiskEvent.id))).all()
    assert [(e.change, e.evidence) for e in events] == [("opened", old), ("closed", reason)]
    again = _check(programme, date(2024, 6, 7))  # a rerun for the same date changes nothing
    assert again.risk_changes == []


@pytest.mark.parametrize(("day", "words"), [
    (date(2024, 5, 6), "(5 days late; conditions not confirmed yet)"),  # confirmed 30 May: not known on 6 May
    (date(2024, 5, 30), "(29 days late; conditions confirmed 30 May 2024)"),
])
def test_the_late_release_says_whether_the_conditions_were_confirmed_as_of_its_date(programme: Engine, day: date,
                                                                                   words: str) -> None:
    _check(programme, day)
    assert words in _late_funds(programme)[GRANT_KEY].evidence
