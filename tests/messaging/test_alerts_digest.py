"""Officer alerts (one per risk change, never daily) and the weekly digest."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from grants.kernel import models as m
from grants.messaging.alerts import alert_change, send_risk_alerts
from grants.messaging.channels import OutboxChannel
from grants.messaging.digest import digest_due, send_digests
from grants.messaging.notify import Sender
from grants.monitoring.risks import Finding, sync_register
from grants.programme.periods import WorkingCalendar
from grants.programme.thresholds import MonitoringRules
from tests.factories import add_return, load_example, project
from tests.notify_support import read_eml

OFFICER = "community.safety.officer@example.org"
MANAGER = "head.of.community.safety@example.org"
NOW = datetime(2025, 1, 24, 9, tzinfo=UTC)
SEEN = date(2025, 1, 10)


def _risk(rag: str = "amber", status: str = "open", first_seen: date = SEEN, **kw: object) -> m.Risk:
    return m.Risk(key="late-return:active-bystander", grant_id=1, kind="late-return", title="Q3 return late",
                  likelihood=3, impact=3, score=9, rag=rag, status=status, first_seen=first_seen,
                  last_seen=first_seen, **kw)


@pytest.mark.parametrize(("rule", "risk", "sent", "expected"), [
    ("a closed risk never alerts", _risk(status="closed"), set(), None),
    ("a risk that opens alerts", _risk(), set(), "opened"),
    ("an open risk already alerted stays quiet", _risk(), {"risk:late-return:active-bystander:2025-01-10:amber"},
     None),
    ("turning red alerts once more", _risk(rag="red"), {"risk:late-return:active-bystander:2025-01-10:amber"},
     "turned red"),
    ("red again after amber stays quiet", _risk(rag="red"), {"risk:late-return:active-bystander:2025-01-10:amber",
                                                             "risk:late-return:active-bystander:2025-01-10:red"}, None),
    ("falling from red to amber stays quiet", _risk(), {"risk:late-return:active-bystander:2025-01-10:red"}, None),
    ("a reopened risk is a new episode", _risk(first_seen=date(2025, 3, 1)),
     {"risk:late-return:active-bystander:2025-01-10:red"}, "opened"),
])
def test_alert_rules(rule: str, risk: m.Risk, sent: set[str], expected: str | None) -> None:
    assert alert_change(risk, sent) == expected, rule


def _alerts(engine: Engine, outbox: Path, day: date = date(2025, 1, 24)) -> list[tuple[str, str, str]]:
    with Session(engine) as session:
        results = send_risk_alerts(session, day, NOW, Sender([OutboxChannel(outbox)]))
    return [(p.change, ",".join(a.email for a in p.message.to), ",".join(a.email for a in p.message.cc))
            for p, status in results if status == "sent"]


def test_risk_alert_once_when_opened_and_once_more_when_it_turns_red(engine: Engine, tmp_path: Path) -> None:
    load_example(engine)
    with Session(engine) as session:
        session.add(_risk(project_id=project(session, "active-bystander").id))
        session.commit()
    assert _alerts(engine, tmp_path) == [("opened", OFFICER, "")]
    assert _alerts(engine, tmp_path, date(2025, 1, 27)) == []  # not repeated daily
    with Session(engine) as session:
        risk = session.exec(select(m.Risk)).one()
        risk.rag, risk.score, risk.likelihood, risk.impact = "red", 16, 4, 4
        session.add(risk)
        session.commit()
    # the officer hears it turned red, and now their manager too (each in their own one message of the run)
    assert _alerts(engine, tmp_path) == [("turned red", OFFICER, ""), ("turned red", MANAGER, "")]
    assert _alerts(engine, tmp_path) == []
    subjects = sorted(str(p.read_text()) for p in tmp_path.glob("officer-mail_*.eml"))
    assert len(subjects) == 3 and sum("Risk turned red (RED, score 16)" in s for s in subjects) == 2


def test_grant_risk_goes_to_the_grants_officers(engine: Engine, tmp_path: Path) -> None:
    load_example(engine)
    with Session(engine) as session:
        session.add(m.Risk(key="late-funds-release", grant_id=1, kind="late-funds-release",
                           title="Funds not released by the OPCC", likelihood=4, impact=5, score=20, rag="red",
                           first_seen=SEEN, last_seen=SEEN, evidence="expected 2024-05-01; nothing received"))
        session.commit()
    assert _alerts(engine, tmp_path) == [("opened", OFFICER, ""), ("opened", MANAGER, "")]


def test_weekly_digest_lists_returns_rag_changes_risks_and_failed_messages(engine: Engine, tmp_path: Path) -> None:
    load_example(engine)
    with Session(engine) as session:
        add_return(session, "purple-flag", "2024-25-Q3", received=date(2025, 1, 22))
        add_return(session, "active-bystander", "2024-25-Q3", received=date(2025, 1, 14),
                   status=m.ReturnStatus.rejected)
        pid = project(session, "purple-flag").id
        for day, rag in ((date(2025, 1, 10), "green"), (date(2025, 1, 24), "amber")):
            session.add(m.Assessment(grant_id=1, project_id=pid, as_of=day, spend_rag=rag, outputs_rag=rag,
                                     overall_rag=rag, reasons_json='{"overall": "Spend 12.5% behind profile"}'))
        session.add(_risk(rag="red", project_id=project(session, "active-bystander").id))
        session.add(m.Risk(key="underspend", grant_id=1, kind="forecast-underspend", title="Year-end underspend",
                           likelihood=4, impact=4, score=16, rag="red", first_seen=SEEN, last_seen=SEEN))
        session.add(m.Notification(idempotency_key="chase:3:3:overdue-1", kind="chase-overdue", grant_id=1,
                                   step="overdue-1", recipients="impact.project@example.org", status="failed",
                                   attempts=3, error="Email: mailto://127.0.0.1: delivery refused or failed",
                                   sent_at=NOW, as_of=date(2025, 1, 17)))
        session.add(m.Notification(idempotency_key="chase:4:3:overdue-1", kind="chase-overdue", grant_id=1,
                                   step="overdue-1", recipients="man.culture@example.org", status="failed",
                                   attempts=3, error="superseded", sent_at=NOW, as_of=date(2025, 1, 17)))
        session.add(m.Notification(idempotency_key="chase:4:3:overdue-2", kind="chase-overdue", grant_id=1,
                                   step="overdue-2", recipients="man.culture@example.org", status="sent",
                                   sent_at=NOW, as_of=date(2025, 1, 22)))
        session.commit()
    sender = Sender([OutboxChannel(tmp_path)])
    with Session(engine) as session:
        assert send_digests(session, date(2025, 1, 24), NOW, sender) == []  # a Friday: not the week's first day
        first = send_digests(session, date(2025, 1, 27), NOW, sender)
        again = send_digests(session, date(2025, 1, 27), NOW, sender)
    assert [s for _, s in first] == ["sent"] and [s for _, s in again] == ["skipped"]
    message = first[0][0]
    assert {a.email for a in message.to} == {OFFICER, MANAGER}
    text = message.text
    assert "Purple Flag night-time economy, 2024-25-Q3: version 1 accepted" in text
    overdue = text.split("Overdue (23)")[1].split("RAG changes")[0]  # Q1 and Q2 were never returned in this test
    assert ("Domestic Abuse), 2024-25-Q3: was due Wednesday 15 January 2025 (only a rejected version received; "
            "not chased since the due date)") in overdue
    assert ("M.A.N Culture, 2024-25-Q3: was due Wednesday 15 January 2025 (not received; chased 1 time since the "
            "due date, last Wednesday 22 January 2025)") in overdue.replace("\n   ", "")
    assert "Purple Flag night-time economy, 2024-25-Q3" not in overdue
    assert ("Purple Flag night-time economy: GREEN -> AMBER (assessed Friday 24 January 2025): Spend 12.5% behind "
            "profile") in text  # a RAG change gives its reason
    risks = text.split("Open risks by score (2)")[1]
    assert risks.index("16 RED: Year-end underspend") < risks.index("9 RED: Q3 return late")
    assert "overdue-1 to impact.project@example.org: 3 attempts" in text
    assert "superseded" not in text  # a later chaser reached that lead
    assert (tmp_path / "digest_1_2025-W05.eml").exists()


@pytest.mark.parametrize(("day", "due"), [
    (date(2025, 4, 21), False),  # Easter Monday: a bank holiday
    (date(2025, 4, 22), True),  # so the week's digest goes on Tuesday
    (date(2025, 4, 23), False),
    (date(2025, 4, 28), True),  # an ordinary Monday
    (date(2025, 4, 29), False),
    (date(2025, 4, 26), False),  # a Saturday
])
def test_weekly_digest_goes_on_the_weeks_first_working_day(day: date, due: bool) -> None:
    assert digest_due(day, WorkingCalendar()) is due


def test_a_risk_that_closes_and_opens_again_alerts_officers_again(engine: Engine, tmp_path: Path) -> None:
    load_example(engine)
    with Session(engine) as session:
        grant = session.exec(select(m.Grant)).one()
        assert grant.id is not None
        grant_id, project_id = grant.id, project(session, "active-bystander").id
    late = Finding("late-return:SVD:active-bystander:2024-25-Q2", "late-return", grant_id, project_id,
                   "Q2 return overdue", 5, 2, "1 working day overdue")
    alerts = []
    for day, found in ((date(2024, 10, 15), [late]), (date(2024, 10, 16), []), (date(2024, 11, 4), [late])):
        with Session(engine) as session:
            changes = sync_register(session, found, [grant_id], day, {grant_id: MonitoringRules()})
            session.commit()
        alerts += [(day, c.change) for c in changes] + [(day, a[0]) for a in _alerts(engine, tmp_path, day)]
    assert alerts == [(date(2024, 10, 15), "opened"), (date(2024, 10, 15), "opened"),
                      (date(2024, 10, 16), "closed"),
                      (date(2024, 11, 4), "reopened"), (date(2024, 11, 4), "opened")]
    with Session(engine) as session:
        assert session.exec(select(m.Risk)).one().first_seen == date(2024, 11, 4)
    assert len(list(tmp_path.glob("officer-mail_*.eml"))) == 2


@pytest.mark.parametrize(("held_on", "sent_on"), [
    (date(2025, 1, 25), date(2025, 1, 27)),  # Saturday: held to Monday
    (date(2025, 1, 26), date(2025, 1, 27)),  # Sunday
    (date(2025, 4, 21), date(2025, 4, 22)),  # Easter Monday: held to Tuesday
])
def test_officer_alerts_are_held_on_weekends_and_bank_holidays_to_the_next_working_day(
        engine: Engine, tmp_path: Path, held_on: date, sent_on: date) -> None:
    load_example(engine)
    with Session(engine) as session:
        session.add(_risk(project_id=project(session, "active-bystander").id, first_seen=held_on))
        session.commit()
    assert _alerts(engine, tmp_path, held_on) == []
    assert _alerts(engine, tmp_path, sent_on) == [("opened", OFFICER, "")]


def test_one_cause_one_message_the_funder_late_reaches_each_officer_once_as_one_item(
        engine: Engine, tmp_path: Path) -> None:
    from grants.monitoring.assessment import run_checks

    load_example(engine)
    with Session(engine) as session:
        run_checks(session, date(2024, 6, 17))  # funds late: one risk on the grant, naming the eight projects
        session.commit()
    with Session(engine) as session:
        results = send_risk_alerts(session, date(2024, 6, 17), NOW, Sender([OutboxChannel(tmp_path)]))
        assert [(r.risk.key, status) for r, status in results] == [("late-funds-release:SVD-2024-25", "sent")]
    mails = list(tmp_path.glob("*.eml"))
    assert len(mails) == 1  # one officer: one message for the run
    body = read_eml(mails[0]).get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content()
    assert "Funds released late (1)" in text and "in one message, grouped by cause" in text
    assert "8 of 8 projects have received nothing: Purple Flag night-time economy," in " ".join(text.split())
    with Session(engine) as session:  # each risk counts as announced: nothing goes again
        assert send_risk_alerts(session, date(2024, 6, 18), NOW, Sender([OutboxChannel(tmp_path)])) == []
