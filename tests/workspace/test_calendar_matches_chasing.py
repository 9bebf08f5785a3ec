"""The calendar feed against the engine itself: the chase job, run every morning of a quarter's ladder on the example
programme (a real SQLite file, messages written to the outbox), sends each step on the day the feed shows it, for a
plain quarter, an extended one and a paused one."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import icalendar
from sqlmodel import Session, col, select

from flows.database import configured_engine
from flows.engine.jobs import chase_job
from grants.kernel import models as m
from grants.kernel.db import session_scope
from grants.kernel.settings import Settings
from grants.messaging.chase_plan import chase_key
from grants.messaging.officer_mail import cause_key_of
from grants.programme.overrides import extend_due, hold_chasing
from grants.reporting.calendar import calendar_items, to_ical
from tests.factories import load_example, period, project

QUARTER = "2024-25-Q4"
NOW = datetime(2025, 3, 1, 9, tzinfo=UTC)


def _feed(session: Session, code: str) -> dict[str, date]:
    """{step: day} of the project's quarter in the iCalendar file, parsed back."""
    name = project(session, code).name
    events = icalendar.Calendar.from_ical(to_ical(calendar_items(session), NOW)).walk("VEVENT")
    return {str(e["summary"]).split(":")[0].removeprefix("Chase "): e.decoded("dtstart") for e in events
            if str(e["summary"]).endswith(f"{name} ({QUARTER})") and str(e["summary"]).startswith("Chase ")}


def _sent(session: Session, code: str) -> dict[str, date]:
    """{step: day} the chase job first sent each step of the project's quarter (to the lead, or for an escalation to
    officers, in a notice of their own), read from the message log as the project page reads it."""
    project_id, period_id = project(session, code).id or 0, period(session, QUARTER).id or 0
    prefix = chase_key(project_id, period_id, "")
    out: dict[str, date] = {}
    for n in session.exec(select(m.Notification).order_by(col(m.Notification.sent_at))):
        cause = cause_key_of(n.idempotency_key)
        if cause.startswith(prefix) and n.status == "sent":
            out.setdefault(cause.removeprefix(prefix), n.sent_at.date())
    return out


def test_the_feed_shows_each_chase_step_on_the_day_the_chase_job_sends_it(settings: Settings) -> None:
    engine = configured_engine()
    load_example(engine)
    with session_scope(engine) as session:
        quarter = period(session, QUARTER).id or 0
        extend_due(session, project(session, "active-bystander").id or 0, quarter, date(2025, 4, 25), "leave",
                   actor="kit@example.org", now=NOW)
        hold_chasing(session, project(session, "purple-flag").id or 0, quarter, "pause", "office move",
                     actor="kit@example.org", now=NOW, until=date(2025, 4, 9))
    with Session(engine) as session:
        feeds = {code: _feed(session, code) for code in ("man-culture", "active-bystander", "purple-flag")}
    day = date(2025, 3, 31)
    while day <= max(d for feed in feeds.values() for d in feed.values()):
        chase_job(day, datetime.combine(day, time(8), tzinfo=UTC))
        day += timedelta(days=1)
    with Session(engine) as session:
        sent = {code: _sent(session, code) for code in feeds}
    assert feeds["man-culture"]["escalation"] == date(2025, 4, 30)  # the grant's ladder, untouched
    assert feeds["active-bystander"]["last-reminder"] == date(2025, 4, 25)  # moved with the extension
    assert "pack" not in feeds["purple-flag"]  # 1 and 7 April fall in the pause: the reminder goes the day after it
    assert feeds["purple-flag"]["reminder"] == date(2025, 4, 10)
    assert sent == feeds
