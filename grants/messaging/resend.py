"""Sending a chase message again on an officer's request: the same step re-rendered for today (with the lead's
current due date), under its own idempotency key (`<original key>:resend:<n>`), and an audit entry."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

from sqlmodel import Session, col, select

from grants.kernel import audit
from grants.kernel import models as m
from grants.kernel.errors import GrantsError, NotFoundError
from grants.messaging.chase_plan import DueStep, calendar_of, ladder_of
from grants.messaging.chasing import _context, _message
from grants.messaging.notify import Sender, already_sent, send_once
from grants.messaging.portal import portal_link
from grants.programme.overrides import due_overrides


def resend(session: Session, notification_id: int, sender: Sender, *, as_of: date, now: datetime, actor: str,
           return_to: str) -> str:
    """Send a logged chase message again; returns 'sent' or 'failed' (the failure is logged like any other)."""
    original = session.get(m.Notification, notification_id)
    if original is None:
        raise NotFoundError(f"no message {notification_id}")
    if not original.kind.startswith("chase-") or original.project_id is None or original.period_id is None:
        raise GrantsError("only chase messages (packs, reminders, chasers, escalations) can be sent again")
    project, period = session.get(m.Project, original.project_id), session.get(m.ReportingPeriod, original.period_id)
    grant = session.get(m.Grant, project.grant_id) if project else None
    if project is None or period is None or grant is None:
        raise NotFoundError(f"message {notification_id} is about a project that is gone")
    due = due_overrides(session, grant.id).get((original.project_id, original.period_id), period.due)
    period = m.ReportingPeriod(**(period.model_dump() | {"due": due}))
    ladder, calendar = ladder_of(grant), calendar_of(grant)
    step = next((s for s in ladder.steps(period.end, due, calendar) if s.name == original.step), None)
    if step is None:
        raise GrantsError(f"the step '{original.step}' is no longer on the grant's chase ladder")
    officers = {o.key: o for o in session.exec(select(m.Officer).where(m.Officer.grant_id == grant.id))}
    planned = DueStep(original.project_id, original.period_id, step, step.day < as_of, False)
    context = _context(grant, project, period, officers, planned, ladder, calendar, already_sent(session), as_of)
    context |= {"return_to": return_to, "rejected": False, "portal_link": portal_link(session, project, now)}
    message = _message(grant, project, period, officers, planned, context, now)
    earlier = session.exec(select(m.Notification.idempotency_key).where(
        col(m.Notification.idempotency_key).startswith(f"{original.idempotency_key}:resend:"))).all()
    key = f"{original.idempotency_key}:resend:{len(earlier) + 1}"
    message = replace(message, key=key)
    audit.record(session, actor=actor, action="message.resend", at=now,
                 subject=f"{project.code} {period.label} {step.name}",
                 before={"message": original.idempotency_key, "status": original.status},
                 after={"message": key, "to": message.recipients}, grant_id=grant.id, project_id=project.id)
    session.commit()
    return send_once(session, message, sender, as_of, now)
