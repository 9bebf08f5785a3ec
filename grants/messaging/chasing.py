"""Chasing returns: load what the planner needs from the database, address and render each due step, and send it.

`plan_chasers` is read-only (what `grants chase --dry-run` prints); `run_chase` sends each message once through
`notify.send_once`, building the pre-filled workbook only for messages that carry it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path

from sqlmodel import Session, col, select

from grants.kernel import models as m
from grants.messaging.chase_plan import DueStep, PeriodReturns, chase_key, plan_chase
from grants.messaging.messages import render
from grants.messaging.notify import Address, Outgoing, Sender, already_sent, record_failed, send_once
from grants.messaging.portal import portal_link
from grants.programme.ladder import ChaseLadder, Role, StepKind
from grants.programme.overrides import chase_holds, due_overrides
from grants.programme.periods import WorkingCalendar
from grants.programme.status import received_on

log = logging.getLogger(__name__)

PackBuilder = Callable[[Session, int, int, Path], Path]
"""Builds the pre-filled return workbook: (session, project_id, period_id, out_dir) -> path of the .xlsx."""

TAGS = {Role.lead: "lead-{code}", Role.officer: "officers", Role.manager: "managers"}


@dataclass(frozen=True)
class PlannedChase:
    """One chase message due today: the planner's step, who it goes to and the rendered message."""

    due: DueStep
    project_code: str
    period_label: str
    message: Outgoing
    context: dict[str, object]

    def without_pack(self) -> Outgoing:
        """The same message re-rendered without the workbook (when it carried one only to catch up)."""
        rendered = render(self.due.step.kind.value, self.context | {"with_pack": False})
        return replace(self.message, subject=rendered.subject, text=rendered.text, html=rendered.html)


def ladder_of(grant: m.Grant) -> ChaseLadder:
    """The grant's chase ladder from its stored rule blocks (defaults when the grant file has no `chase` block)."""
    return ChaseLadder.model_validate(json.loads(grant.rules_json or "{}").get("chase") or {})


def calendar_of(grant: m.Grant) -> WorkingCalendar:
    """England & Wales working days plus the grant's closure days."""
    return WorkingCalendar(date.fromisoformat(d) for d in grant.closure_days.split(",") if d)


def plan_chasers(session: Session, as_of: date, now: datetime, return_to: str) -> list[PlannedChase]:
    """Every chase message due on `as_of`, across all grants, in grant, project and period order."""
    out: list[PlannedChase] = []
    sent = already_sent(session)
    for grant in session.exec(select(m.Grant).order_by(col(m.Grant.reference))):
        out.extend(_plan_grant(session, grant, sent, as_of, now, return_to))
    return out


def _plan_grant(
    session: Session, grant: m.Grant, sent: set[str], as_of: date, now: datetime, return_to: str
) -> list[PlannedChase]:
    ladder, calendar = ladder_of(grant), calendar_of(grant)
    periods = {p.id: p for p in session.exec(select(m.ReportingPeriod).where(m.ReportingPeriod.grant_id == grant.id))}
    projects = {p.id: p for p in session.exec(
        select(m.Project).where(m.Project.grant_id == grant.id, col(m.Project.active).is_(True)))}
    officers = {o.key: o for o in session.exec(select(m.Officer).where(m.Officer.grant_id == grant.id))}
    received: dict[tuple[int, int], list[tuple[date, str]]] = {}
    for row in session.exec(select(m.Return).where(col(m.Return.project_id).in_(list(projects)))):
        received.setdefault((row.project_id, row.period_id), []).append((received_on(row.received_at), row.status))
    extended, holds = due_overrides(session, grant.id), chase_holds(session, grant.id)
    items = [
        PeriodReturns(pid, per_id, per.end, extended.get((pid, per_id), per.due),
                      tuple(received.get((pid, per_id), [])))
        for pid, proj in sorted(projects.items(), key=lambda kv: kv[0] or 0)
        for per_id, per in sorted(periods.items(), key=lambda kv: kv[1].start)
        if pid is not None and per_id is not None and per.end >= proj.delivery_start and per.start <= proj.delivery_end
        and not (holds.get((pid, per_id)) and holds[(pid, per_id)].holds_on(as_of))
    ]
    planned = []
    for due in plan_chase(items, ladder, calendar, sent, as_of):
        project, period = projects[due.project_id], periods[due.period_id]
        if (due.project_id, due.period_id) in extended:  # the lead is told their own (extended) due date
            period = m.ReportingPeriod(**(period.model_dump() | {"due": extended[(due.project_id, due.period_id)]}))
        files = received.get((due.project_id, due.period_id), [])
        context = _context(grant, project, period, officers, due, ladder, calendar, sent, as_of) | {
            "return_to": return_to, "rejected": any(s == m.ReturnStatus.rejected and d <= as_of for d, s in files),
            "portal_link": portal_link(session, project, now)}
        message = _message(grant, project, period, officers, due, context, now)
        planned.append(PlannedChase(due, project.code, period.label, message, context))
    return planned


def _address(role: Role, project: m.Project, officers: dict[str, m.Officer]) -> Address | None:
    officer = officers.get(project.officer_key)
    if role == Role.lead:
        return Address(project.lead_name, project.lead_email)
    if role == Role.officer:
        return Address(officer.name, officer.email) if officer else None
    manager = officers.get(officer.manager_key or "") if officer else None
    return Address(manager.name, manager.email) if manager else None


def _context(
    grant: m.Grant, project: m.Project, period: m.ReportingPeriod, officers: dict[str, m.Officer], due: DueStep,
    ladder: ChaseLadder, calendar: WorkingCalendar, sent: set[str], as_of: date,
) -> dict[str, object]:
    steps = ladder.steps(period.end, period.due, calendar)
    chased = [s.name for s in steps if chase_key(due.project_id, due.period_id, s.name) in sent]
    return {
        "grant_name": grant.name, "project_name": project.name, "project_code": project.code,
        "lead_name": project.lead_name, "lead_email": project.lead_email,
        "lead_organisation": project.lead_organisation, "period_label": period.label,
        "period_end": period.end, "due": period.due, "step": due.step.name, "late": due.late,
        "with_pack": due.with_pack, "officer": _address(Role.officer, project, officers),
        "manager": _address(Role.manager, project, officers), "chased": chased,
        "working_days_to_due": calendar.working_days_between(as_of, period.due),
        "working_days_overdue": calendar.working_days_between(period.due, as_of),
        "escalation_after": ladder.escalation_working_days_after_due or ladder.stop_working_days_after_due,
    }


def _message(
    grant: m.Grant, project: m.Project, period: m.ReportingPeriod, officers: dict[str, m.Officer], due: DueStep,
    context: dict[str, object], now: datetime,
) -> Outgoing:
    step = due.step
    to = tuple(a for a in (_address(r, project, officers) for r in step.to) if a is not None)
    cc = tuple(a for a in (_address(r, project, officers) for r in step.cc) if a is not None and a not in to)
    if not to:  # an officer without a manager: the copy becomes the addressee
        to, cc = cc, ()
    tags = frozenset(TAGS[r].format(code=project.code) for r in (*step.to, *step.cc))
    rendered = render(step.kind.value, context)
    return Outgoing(
        key=due.key, kind=f"chase-{step.kind.value}", subject=rendered.subject, text=rendered.text,
        html=rendered.html, to=to, cc=cc, tags=tags, grant_id=grant.id, project_id=project.id,
        period_id=period.id, step=step.name, created=now,
    )


@dataclass(frozen=True)
class ChaseOutcome:
    """What happened to one planned chase message: sent, failed, skipped (already sent) or planned (dry run)."""

    planned: PlannedChase
    status: str


def run_chase(
    session: Session, as_of: date, now: datetime, sender: Sender, pack_builder: PackBuilder, packs_dir: Path,
    *, return_to: str, dry_run: bool = False,
) -> list[ChaseOutcome]:
    """Send every chase message due on `as_of` once; each is committed with its Notification row."""
    planned = plan_chasers(session, as_of, now, return_to)
    session.commit()
    if dry_run:
        return [ChaseOutcome(p, "planned") for p in planned]
    outcomes = []
    for item in planned:
        message: Outgoing | str = item.message
        if item.due.step.kind == StepKind.return_pack or item.due.with_pack:
            message = _attach_pack(session, item, pack_builder, packs_dir)
        if isinstance(message, str):  # the pack itself could not be built: log it failed, a later run retries
            outcomes.append(ChaseOutcome(item, record_failed(session, item.message, as_of, now, message)))
        else:
            outcomes.append(ChaseOutcome(item, send_once(session, message, sender, as_of, now)))
    return outcomes


def _attach_pack(session: Session, item: PlannedChase, pack_builder: PackBuilder, packs_dir: Path) -> Outgoing | str:
    """The message with its workbook attached; if the workbook fails, a catch-up chaser goes without it (its text
    re-rendered) and a return pack becomes the error text. One project's failure never stops the others."""
    try:
        packs_dir.mkdir(parents=True, exist_ok=True)
        workbook = pack_builder(session, item.due.project_id, item.due.period_id, packs_dir)
    except Exception as exc:
        session.rollback()
        error = f"pre-filled workbook not built: {type(exc).__name__}: {exc}"[:500]
        if item.due.step.kind == StepKind.return_pack:
            return error
        log.warning("%s goes without the workbook: %s", item.due.key, error)
        return item.without_pack()
    return replace(item.message, attachments=(workbook,))
