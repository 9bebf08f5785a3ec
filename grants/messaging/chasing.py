"""Chasing returns: load what the planner needs from the database, and address and render each due step.

`plan_chase_run` is read-only: the steps due to leads (each its own message, to the lead alone) and, planned per
person on what reached them, the steps the officers and their managers should hear about (copies of overdue chasers,
escalations). grants/messaging/chase_run.py sends them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlmodel import Session, col, select

from grants.kernel import models as m
from grants.messaging.chase_facts import ChaseFacts, chase_facts, late_risk_key
from grants.messaging.chase_plan import (
    DueStep,
    PeriodReturns,
    calendar_of,
    chase_key,
    due_step,
    ladder_of,
    ladder_steps,
    plan_chase,
)
from grants.messaging.messages import render
from grants.messaging.notify import Address, Outgoing
from grants.messaging.officer_mail import sent_to
from grants.messaging.portal import portal_links
from grants.programme.ladder import ChaseLadder, Role, StepKind
from grants.programme.overrides import Hold, chase_holds, due_overrides
from grants.programme.periods import WorkingCalendar, reports_for
from grants.programme.status import received_on

PackBuilder = Callable[[Session, int, int, Path], Path]
"""Builds the pre-filled return workbook: (session, project_id, period_id, out_dir) -> path of the .xlsx."""

IN_PLAY_MARGIN = timedelta(days=100)
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


@dataclass
class _Programme:
    """Everything the planner reads, loaded in one query per table for every grant at once."""

    periods: dict[int, dict[int, m.ReportingPeriod]] = field(default_factory=dict)  # grant -> id -> period
    projects: dict[int, dict[int, m.Project]] = field(default_factory=dict)  # grant -> id -> active project
    officers: dict[int, dict[str, m.Officer]] = field(default_factory=dict)
    received: dict[tuple[int, int], list[tuple[date, str]]] = field(default_factory=dict)
    extended: dict[tuple[int, int], date] = field(default_factory=dict)  # (project, period) -> extended due date
    holds: dict[tuple[int, int], Hold] = field(default_factory=dict)
    links: dict[int, str] = field(default_factory=dict)  # project -> portal address, for the projects with a message


def _load(session: Session, grants: list[m.Grant]) -> _Programme:
    loaded = _Programme()
    for period in session.exec(select(m.ReportingPeriod).order_by(col(m.ReportingPeriod.start))):
        loaded.periods.setdefault(period.grant_id, {})[period.id or 0] = period
    for project in session.exec(select(m.Project).where(col(m.Project.active).is_(True)).order_by(col(m.Project.id))):
        loaded.projects.setdefault(project.grant_id, {})[project.id or 0] = project
    for officer in session.exec(select(m.Officer)):
        loaded.officers.setdefault(officer.grant_id, {})[officer.key] = officer
    returns = select(m.Return.project_id, m.Return.period_id, m.Return.received_at, m.Return.status)
    for project_id, period_id, received_at, status in session.connection().execute(returns):
        loaded.received.setdefault((project_id, period_id), []).append((received_on(received_at), status))
    loaded.extended, loaded.holds = due_overrides(session), chase_holds(session)
    return loaded


@dataclass(frozen=True)
class Sent:
    """What was sent for the periods in play: the keys, and for each person the chase keys that reached them."""

    keys: set[str]
    people: dict[str, set[str]]


def _sent_in_play(session: Session, grants: list[m.Grant], loaded: _Programme, as_of: date) -> Sent:
    """The chase keys already sent for the periods whose ladder may still run on `as_of` (not the whole history):
    ended, and not past the ladder's last day by more than IN_PLAY_MARGIN (room for a project's extended due date)."""
    in_play = [
        period.id for grant in grants for period in loaded.periods.get(grant.id or 0, {}).values()
        if period.end < as_of <= ladder_of(grant).last_day(period.due, calendar_of(grant)) + IN_PLAY_MARGIN
    ]
    rows: list[tuple[str, str]] = []
    for i in range(0, len(in_play), 5_000):
        statement = select(m.Notification.idempotency_key, m.Notification.recipients).where(
            m.Notification.status == "sent", col(m.Notification.period_id).in_(in_play[i:i + 5_000]))
        rows.extend((key, recipients) for key, recipients in session.connection().execute(statement))
    return Sent({key for key, _ in rows}, sent_to(rows))


@dataclass(frozen=True)
class OfficerStep:
    """A chase step one officer (or their manager) should hear about today: copied on an overdue chaser, or
    escalated to. Its words are written after the run's lead messages went (chase_run.chase_notice)."""

    due: DueStep
    grant: m.Grant
    project: m.Project
    period: m.ReportingPeriod
    role: Role
    to: Address
    officer: Address | None
    context: dict[str, object]


def plan_chasers(session: Session, as_of: date, now: datetime, return_to: str) -> list[PlannedChase]:
    """Every chase message due to a lead on `as_of` (and the escalations, which go to officers), across all grants,
    in grant, project and period order."""
    return plan_chase_run(session, as_of, now, return_to)[0]


def plan_chase_run(session: Session, as_of: date, now: datetime, return_to: str
                   ) -> tuple[list[PlannedChase], list[OfficerStep]]:
    """The lead's chase steps due on `as_of`, and the officers' (each person planned on what reached them)."""
    grants = list(session.exec(select(m.Grant).order_by(col(m.Grant.reference))))
    loaded = _load(session, grants)
    sent = _sent_in_play(session, grants, loaded, as_of)
    items = [(grant, _items(grant, loaded, as_of)) for grant in grants]
    due = [plan_chase(found, ladder_of(grant), calendar_of(grant), sent.keys, as_of) for grant, found in items]
    projects = {pid: p for grant_projects in loaded.projects.values() for pid, p in grant_projects.items()}
    loaded.links = portal_links(session, (projects[d.project_id] for steps in due for d in steps), now)
    facts = _escalation_facts(session, grants, loaded, due)
    leads: list[PlannedChase] = []
    officers: list[OfficerStep] = []
    for (grant, found), steps in zip(items, due, strict=True):
        lead_steps, officer_steps = _plan_grant(grant, loaded, found, steps, sent, facts, as_of, now, return_to)
        leads += lead_steps
        officers += officer_steps
    return leads, officers


def _escalation_facts(session: Session, grants: list[m.Grant], loaded: _Programme, due: list[list[DueStep]]
                      ) -> ChaseFacts:
    """What the escalations due to leads say (the lead's earlier steps, the open late-return risk), read at once."""
    steps: list[tuple[int, int, list[str]]] = []
    risks: list[str] = []
    for grant, grant_due in zip(grants, due, strict=True):
        for step in grant_due:
            if step.step.kind == StepKind.escalation:
                project = loaded.projects[grant.id or 0][step.project_id]
                period = _as_told(loaded.periods[grant.id or 0][step.period_id], step, loaded)
                steps.append((step.project_id, step.period_id, _earlier_lead_steps(grant, period, step)))
                risks.append(late_risk_key(grant, project, period))
    return chase_facts(session, steps, risks)


def _as_told(period: m.ReportingPeriod, due: DueStep, loaded: _Programme) -> m.ReportingPeriod:
    """The period as the lead is told it: with their own (extended) due date, if they have one."""
    extended = loaded.extended.get((due.project_id, due.period_id))
    return period if extended is None else m.ReportingPeriod(**(period.model_dump() | {"due": extended}))


def _earlier_lead_steps(grant: m.Grant, period: m.ReportingPeriod, due: DueStep) -> list[str]:
    """The ladder's steps to the lead before this one."""
    steps = ladder_of(grant).steps(period.end, period.due, calendar_of(grant))
    return [s.name for s in steps if Role.lead in s.to and s.day < due.step.day]


def _items(grant: m.Grant, loaded: _Programme, as_of: date) -> list[PeriodReturns]:
    """The grant's project/period returns the ladder may chase on `as_of` (extended due dates; held ones left out)."""
    periods, projects = loaded.periods.get(grant.id or 0, {}), loaded.projects.get(grant.id or 0, {})
    received, extended, holds = loaded.received, loaded.extended, loaded.holds
    return [
        PeriodReturns(pid, per_id, per.end, extended.get((pid, per_id), per.due),
                      tuple(received.get((pid, per_id), [])))
        for pid, proj in projects.items()
        for per_id, per in periods.items()
        if reports_for(proj, per.start, per.end)
        and not (holds.get((pid, per_id)) and holds[(pid, per_id)].holds_on(as_of))
    ]


def _plan_grant(
    grant: m.Grant, loaded: _Programme, items: list[PeriodReturns], steps: list[DueStep], sent: Sent,
    facts: ChaseFacts, as_of: date, now: datetime, return_to: str,
) -> tuple[list[PlannedChase], list[OfficerStep]]:
    ladder, calendar = ladder_of(grant), calendar_of(grant)
    periods, projects = loaded.periods.get(grant.id or 0, {}), loaded.projects.get(grant.id or 0, {})
    officers = loaded.officers.get(grant.id or 0, {})
    planned = []
    for due in steps:
        project = projects[due.project_id]
        period = _as_told(periods[due.period_id], due, loaded)  # the lead is told their own (extended) due date
        files = loaded.received.get((due.project_id, due.period_id), [])
        context = _context(grant, project, period, officers, due, ladder, calendar, sent.keys, as_of) | {
            "return_to": return_to, "rejected": any(s == m.ReturnStatus.rejected and d <= as_of for d, s in files),
            "portal_link": loaded.links.get(due.project_id, "")}
        if due.step.kind == StepKind.escalation:
            history = facts.history(due.project_id, due.period_id, _earlier_lead_steps(grant, period, due))
            context |= {"history": history, "late_risk": facts.late_risk(grant, project, period),
                        "lead_reached": sum(h["status"] == "sent" for h in history)}
        message = _message(grant, project, period, officers, due, context, now, lead_only=True)
        planned.append(PlannedChase(due, project.code, period.label, message, context))
    if not calendar.is_working_day(as_of):
        return planned, []
    found = [_officer_steps(item, grant, projects[item.project_id], periods[item.period_id], officers, sent, as_of)
             for item in items]
    return planned, [step for of_item in found for step in of_item]


def _officer_steps(item: PeriodReturns, grant: m.Grant, project: m.Project, period: m.ReportingPeriod,
                   officers: dict[str, m.Officer], sent: Sent, as_of: date) -> list[OfficerStep]:
    """The step the project's officer, and their manager, should hear about today: the latest step addressed to
    them that has not reached them (so one that failed goes again on the next run, unless a later one came)."""
    ladder, calendar = ladder_of(grant), calendar_of(grant)
    out = []
    told: m.ReportingPeriod | None = None  # the period with the item's due date: built only for a step due
    for role in (Role.officer, Role.manager):
        to = _address(role, project, officers)
        if to is None:
            continue
        due = due_step(item, ladder, calendar, sent.people.get(to.email.lower(), set()), as_of)
        if due is None or role not in (*due.step.to, *due.step.cc):
            continue
        told = told or m.ReportingPeriod(**(period.model_dump() | {"due": item.due}))
        period = told
        context = _context(grant, project, period, officers, due, ladder, calendar, sent.keys, as_of)
        context["rejected"] = any(s == m.ReturnStatus.rejected and d <= as_of for d, s in item.received)
        out.append(OfficerStep(due, grant, project, period, role, to, _address(Role.officer, project, officers),
                               context))
    return out


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
    steps = ladder_steps(ladder, calendar, period.end, period.due)
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
        "as_of": as_of, "overdue": as_of > period.due,
        "escalation_after": ladder.escalation_working_days_after_due or ladder.stop_working_days_after_due,
    }


def _message(
    grant: m.Grant, project: m.Project, period: m.ReportingPeriod, officers: dict[str, m.Officer], due: DueStep,
    context: dict[str, object], now: datetime, *, lead_only: bool = False,
) -> Outgoing:
    """The message for one step. `lead_only`: when the lead is among its addressees, to the lead alone (the
    officers hear of it in their one message of the run instead of a copy)."""
    step = due.step
    roles_to, roles_cc = step.to, step.cc
    if lead_only and Role.lead in (*step.to, *step.cc):
        roles_to, roles_cc = (Role.lead,), ()
    to = tuple(a for a in (_address(r, project, officers) for r in roles_to) if a is not None)
    cc = tuple(a for a in (_address(r, project, officers) for r in roles_cc) if a is not None and a not in to)
    if not to:  # an officer without a manager: the copy becomes the addressee
        to, cc = cc, ()
    tags = frozenset(TAGS[r].format(code=project.code) for r in (*roles_to, *roles_cc))
    rendered = render(step.kind.value, context)
    return Outgoing(
        key=due.key, kind=f"chase-{step.kind.value}", subject=rendered.subject, text=rendered.text,
        html=rendered.html, to=to, cc=cc, tags=tags, grant_id=grant.id, project_id=project.id,
        period_id=period.id, step=step.name, created=now,
    )
