"""The calendar of due dates and chase steps as iCalendar (RFC 5545), for an officer's calendar subscription and
`grants export calendar`.

One all-day event per return due date (each project's own, extensions included) and per chase step of the grant's
ladder for that due date. Steps of a quarter whose return was accepted, or whose chasing is waived or paused on that
day, are left out: they will not be sent; after a pause, the step the engine then sends late is shown on that day.
UIDs are stable, so a calendar app updates events rather than duplicating.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from icalendar import Calendar, Event
from sqlmodel import Session, col, select

from grants.kernel import models as m
from grants.kernel.dates import short_date
from grants.messaging.chase_plan import calendar_of, ladder_of
from grants.programme.ladder import ChaseLadder, ChaseStep
from grants.programme.overrides import Hold, chase_holds, due_overrides
from grants.programme.periods import WorkingCalendar, reports_for

ACCEPTED = (m.ReturnStatus.accepted, m.ReturnStatus.superseded)


@dataclass(frozen=True)
class CalendarItem:
    """One day in the calendar: a return due date or a chase step."""

    uid: str
    day: date
    summary: str
    description: str
    grant: str
    project: str
    period: str
    step: str  # "due" for the due date itself


def calendar_items(session: Session, grant_reference: str | None = None) -> list[CalendarItem]:
    """Every due date and chase step still to matter, in date order."""
    statement = select(m.Grant).order_by(col(m.Grant.reference))
    if grant_reference is not None:
        statement = statement.where(m.Grant.reference == grant_reference)
    out: list[CalendarItem] = []
    for grant in session.exec(statement):
        out.extend(_grant_items(session, grant))
    out.sort(key=lambda item: (item.day, item.grant, item.project, item.period, item.step))
    return out


def _grant_items(session: Session, grant: m.Grant) -> list[CalendarItem]:
    ladder, working = ladder_of(grant), calendar_of(grant)
    periods = list(session.exec(select(m.ReportingPeriod).where(m.ReportingPeriod.grant_id == grant.id)
                                .order_by(col(m.ReportingPeriod.start))))
    projects = list(session.exec(select(m.Project).where(m.Project.grant_id == grant.id,
                                                         col(m.Project.active).is_(True)).order_by(col(m.Project.id))))
    accepted = set(session.exec(select(m.Return.project_id, m.Return.period_id).join(m.Project).where(
        m.Project.grant_id == grant.id, col(m.Return.status).in_(ACCEPTED))).all())
    extended, holds = due_overrides(session, grant.id), chase_holds(session, grant.id)
    out = []
    for project in projects:
        for period in periods:
            if not reports_for(project, period.start, period.end):
                continue
            key = (project.id or 0, period.id or 0)
            due = extended.get(key, period.due)
            where = f"{project.code} {period.label}"
            base = f"{grant.reference}-{project.id}-{period.id}"
            out.append(CalendarItem(f"due-{base}@grants", due, f"Return due: {project.name} ({period.label})",
                                    f"{project.lead_organisation}: {period.label} return due"
                                    + (" (extended)" if key in extended else ""),
                                    grant.reference, project.code, period.label, "due"))
            if key in accepted:
                continue
            for step, day in chase_days(ladder, working, period.end, due, holds.get(key)):
                to = ", ".join(r.value for r in step.to)
                late = " (after the pause)" if day != step.day else ""
                out.append(CalendarItem(f"chase-{base}-{step.name}@grants", day,
                                        f"Chase {step.name}: {project.name} ({period.label})",
                                        f"{step.kind.value} to {to} for {where}, due {short_date(due)}{late}",
                                        grant.reference, project.code, period.label, step.name))
    return out


def chase_days(ladder: ChaseLadder, working: WorkingCalendar, period_end: date, due: date,
                hold: Hold | None) -> list[tuple[ChaseStep, date]]:
    """Each step the chase job will send, with its day. A step inside a pause is left out, except that on the first
    working day after the pause the engine sends the latest step already due (late; see chase_plan.due_step), as long
    as the ladder has not ended; a waived quarter has none."""
    steps = ladder.steps(period_end, due, working)
    if hold is None:
        return [(step, step.day) for step in steps]
    out = [(step, step.day) for step in steps if not hold.holds_on(step.day)]
    if hold.kind == "pause" and hold.until is not None:
        resume = working.add_working_days(hold.until, 1)
        reached = [step for step in steps if step.day <= resume]
        if reached and reached[-1].day <= hold.until and resume <= ladder.last_day(due, working):
            out.append((reached[-1], resume))
            out.sort(key=lambda pair: pair[1])
    return out


def to_ical(items: list[CalendarItem], now: datetime, name: str = "Grant returns and chasers") -> bytes:
    """The items as an iCalendar file of all-day events."""
    cal = Calendar()
    cal.add("prodid", "-//grants-engine//officers workspace//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", name)
    for item in items:
        event = Event()
        event.add("uid", item.uid)
        event.add("dtstamp", now)
        event.add("dtstart", item.day)
        event.add("dtend", item.day + timedelta(days=1))
        event.add("summary", item.summary)
        event.add("description", item.description)
        event.add("categories", ["return due" if item.step == "due" else "chase step"])
        cal.add_component(event)
    data: bytes = cal.to_ical()
    return data
