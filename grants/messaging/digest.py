"""The weekly digest for officers: returns received, outstanding and overdue (with where each overdue one is on the
chase ladder), RAG changes over the week with their reasons, open risks by score, notifications that failed to send
and were not superseded by a later step, every file quarantined this week and any archived copy that is missing or
damaged (grants/returns/verify.py, run once per digest). One per grant per ISO week (key
`digest:<grant>:<year>-W<week>`), sent on the week's first working day (Monday, or Tuesday after a bank-holiday
Monday).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel import Session, col, or_, select

from grants.kernel import models as m
from grants.kernel.dates import long_date
from grants.messaging.chase_plan import calendar_of
from grants.messaging.messages import render
from grants.messaging.notify import Address, Outgoing, Sender, send_once
from grants.messaging.officer_mail import cause_key_of
from grants.messaging.quarantine_replies import quarantined_files
from grants.programme.overrides import due_overrides
from grants.programme.periods import WorkingCalendar, reports_for
from grants.programme.status import ReturnState, received_on, return_state
from grants.returns.verify import ArchiveProblem, verify_archive


def digest_due(as_of: date, calendar: WorkingCalendar) -> bool:
    """True on the first working day of `as_of`'s ISO week (never on a weekend or bank holiday)."""
    monday = as_of - timedelta(days=as_of.weekday())
    return calendar.is_working_day(as_of) and calendar.next_working_day(monday) == as_of


def _ladder(sent: dict[str, date]) -> str:
    """Where an overdue return is on the chase ladder, from the chase steps sent for it ({step: day sent})."""
    chasers = sorted((day, step) for step, day in sent.items() if step.startswith("overdue-"))
    parts = [f"chased {len(chasers)} time{'s' if len(chasers) != 1 else ''} since the due date, last "
             f"{long_date(chasers[-1][0])}" if chasers else "not chased since the due date"]
    if "escalation" in sent:
        parts.append(f"escalated {long_date(sent['escalation'])}")
    return "; ".join(parts)


def digest_key(grant_id: int, as_of: date) -> str:
    """One digest per grant per ISO week."""
    year, week, _ = as_of.isocalendar()
    return f"digest:{grant_id}:{year}-W{week:02d}"


@dataclass(frozen=True)
class ReturnLine:
    """A project's return for one period, as the digest lists it."""

    project: str
    period: str
    due: date
    detail: str


def _returns(session: Session, grant: m.Grant, as_of: date) -> dict[str, list[ReturnLine]]:
    periods = list(session.exec(select(m.ReportingPeriod).where(m.ReportingPeriod.grant_id == grant.id)
                                .order_by(col(m.ReportingPeriod.start))))
    projects = list(session.exec(select(m.Project).where(m.Project.grant_id == grant.id,
                                                         col(m.Project.active).is_(True)).order_by(col(m.Project.id))))
    files: dict[tuple[int, int], list[m.Return]] = {}
    for ret in session.exec(select(m.Return).where(col(m.Return.project_id).in_([p.id for p in projects]))):
        files.setdefault((ret.project_id, ret.period_id), []).append(ret)
    chased: dict[tuple[int, int], dict[str, date]] = {}
    for key, day in _sent_chase(session):
        _, pid, per, step = key.split(":", 3)
        if day is not None and day <= as_of:
            chased.setdefault((int(pid), int(per)), {})[step] = day
    out: dict[str, list[ReturnLine]] = {"received": [], "outstanding": [], "overdue": []}
    extended = due_overrides(session, grant.id)
    for project in projects:
        for period in periods:
            if period.end >= as_of or not reports_for(project, period.start, period.end):
                continue
            rows = files.get((project.id or 0, period.id or 0), [])
            due = extended.get((project.id or 0, period.id or 0), period.due)
            for ret in sorted(rows, key=lambda r: r.version):
                if as_of - timedelta(days=6) <= received_on(ret.received_at) <= as_of:
                    out["received"].append(ReturnLine(project.name, period.label, due,
                                                      f"version {ret.version} {ret.status}"))
            state = return_state(period.end, due, [(received_on(r.received_at), r.status) for r in rows], as_of)
            if state == ReturnState.open:
                out["outstanding"].append(ReturnLine(project.name, period.label, due, "not yet received"))
            elif state == ReturnState.overdue or (state == ReturnState.rejected and as_of > due):
                what = "only a rejected version received" if state == ReturnState.rejected else "not received"
                ladder = _ladder(chased.get((project.id or 0, period.id or 0), {}))
                out["overdue"].append(ReturnLine(project.name, period.label, due, f"{what}; {ladder}"))
    return out


def _sent_chase(session: Session) -> list[tuple[str, date | None]]:
    """(cause key, day sent) of every chase step sent, to a lead or (as a notice) to an officer."""
    rows = session.exec(select(col(m.Notification.idempotency_key), col(m.Notification.as_of)).where(
        or_(col(m.Notification.idempotency_key).startswith("chase:"),
            col(m.Notification.idempotency_key).contains(":chase:")), m.Notification.status == "sent"))
    return [(cause_key_of(key), day) for key, day in rows if cause_key_of(key).startswith("chase:")]


def _rag_changes(session: Session, grant: m.Grant, as_of: date) -> list[dict[str, Any]]:
    names = {p.id: p.name for p in session.exec(select(m.Project).where(m.Project.grant_id == grant.id))}
    rows = session.exec(select(m.Assessment).where(m.Assessment.grant_id == grant.id, m.Assessment.as_of <= as_of)
                        .order_by(col(m.Assessment.as_of)))
    now: dict[int | None, m.Assessment] = {}
    before: dict[int | None, m.Assessment] = {}
    for row in rows:
        now[row.project_id] = row
        if row.as_of <= as_of - timedelta(days=7):
            before[row.project_id] = row
    changes = []
    for project_id, current in now.items():
        previous = before.get(project_id)
        if previous is not None and previous.overall_rag != current.overall_rag:
            reason = json.loads(current.reasons_json or "{}").get("overall", "")
            changes.append({"scope": names.get(project_id, "") if project_id else "Whole grant",
                            "was": previous.overall_rag, "now": current.overall_rag, "as_of": current.as_of,
                            "reason": reason})
    return changes


def digest_context(session: Session, grant: m.Grant, as_of: date,
                   archive_problems: Sequence[ArchiveProblem] = ()) -> dict[str, Any]:
    """Everything the digest shows for one grant as of a date (`archive_problems`: from verify_archive)."""
    risks = session.exec(select(m.Risk).where(m.Risk.grant_id == grant.id, m.Risk.status == "open")
                         .order_by(col(m.Risk.score).desc(), col(m.Risk.key))).all()
    failed = session.exec(select(m.Notification).where(
        m.Notification.status == "failed", or_(m.Notification.grant_id == grant.id,
                                               col(m.Notification.grant_id).is_(None)))
        .order_by(col(m.Notification.sent_at))).all()
    return {"grant_name": grant.name, "as_of": as_of, "week_from": as_of - timedelta(days=6),
            **_returns(session, grant, as_of), "rag_changes": _rag_changes(session, grant, as_of),
            "risks": list(risks), "failed": _not_superseded(session, list(failed)),
            "quarantined": quarantined_files(session, grant.id or 0, as_of - timedelta(days=6), as_of),
            "archive_problems": [p.line() for p in archive_problems]}


def _not_superseded(session: Session, failed: list[m.Notification]) -> list[m.Notification]:
    """Failed messages still worth an officer's attention: a failed chase step (to the lead, or a notice to an
    officer) is dropped once a later step for the same return was sent, or once the return was accepted."""
    accepted = {f"chase:{pid}:{per}" for pid, per in session.exec(select(m.Return.project_id, m.Return.period_id).where(
        col(m.Return.status).in_([m.ReturnStatus.accepted, m.ReturnStatus.superseded])))}
    later: dict[str, date] = {}
    for key, day in _sent_chase(session):
        prefix = key.rsplit(":", 1)[0]
        if day is not None and day > later.get(prefix, date.min):
            later[prefix] = day
    out = []
    for n in failed:
        key = cause_key_of(n.idempotency_key)
        prefix = key.rsplit(":", 1)[0]
        if key.startswith("chase:") and (prefix in accepted or (
                n.as_of is not None and later.get(prefix, date.min) > n.as_of)):
            continue
        out.append(n)
    return out


def plan_digests(session: Session, as_of: date, now: datetime) -> list[Outgoing]:
    """One digest per grant to all its officers (skipping grants without officers), on the first working day of
    the week (Monday, or the next working day after a bank-holiday Monday) and no other day."""
    out = []
    archive_problems: list[ArchiveProblem] | None = None
    for grant in session.exec(select(m.Grant).order_by(col(m.Grant.reference))):
        assert grant.id is not None
        if not digest_due(as_of, calendar_of(grant)):
            continue
        officers = session.exec(select(m.Officer).where(m.Officer.grant_id == grant.id)
                                .order_by(col(m.Officer.key))).all()
        if not officers:
            continue
        if archive_problems is None:
            archive_problems = verify_archive(session).problems
        rendered = render("digest", digest_context(session, grant, as_of, archive_problems))
        managers = {o.manager_key for o in officers if o.manager_key}
        out.append(Outgoing(
            key=digest_key(grant.id, as_of), kind="digest", subject=rendered.subject, text=rendered.text,
            html=rendered.html, to=tuple(Address(o.name, o.email) for o in officers),
            tags=frozenset({"officers"} | ({"managers"} if managers else set())), grant_id=grant.id,
            step=digest_key(grant.id, as_of).rsplit(":", 1)[1], created=now,
        ))
    return out


def send_digests(
    session: Session, as_of: date, now: datetime, sender: Sender, *, dry_run: bool = False
) -> list[tuple[Outgoing, str]]:
    """Send this week's digest for every grant once (a rerun in the same ISO week sends nothing)."""
    planned = plan_digests(session, as_of, now)
    session.commit()
    if dry_run:
        return [(p, "planned") for p in planned]
    return [(p, send_once(session, p, sender, as_of, now)) for p in planned]
