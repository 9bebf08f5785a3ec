"""A project's page in the officers' workspace: each quarter's returns (files, figures, problems), its due date
(extensions shown) and where it stands on the chase ladder, outputs against trajectory, milestones, risks, every
message sent, payments (with who recorded them) and the audit entries about it. Read-only."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlmodel import Session, col, select

from grants.kernel import audit
from grants.kernel import models as m
from grants.kernel.dates import date_time, local
from grants.kernel.errors import NotFoundError
from grants.kernel.money import from_pence
from grants.messaging.chase_plan import calendar_of, chase_key, ladder_of
from grants.messaging.officer_mail import cause_key_of
from grants.monitoring.risks import RegisterRow, risk_register
from grants.programme.overrides import Hold, chase_holds, due_overrides
from grants.programme.status import ProjectStatus, ReturnState, received_on
from grants.reporting.board import OutputRow
from grants.reporting.calendar import chase_days
from grants.reporting.money_log import MoneyRecord, payments_of
from grants.reporting.workspace_facts import FactsOf, grant_facts


@dataclass(frozen=True)
class FileView:
    """One received return file with what it said and what was wrong with it."""

    id: int
    version: int
    status: str
    received_on: date
    source_name: str
    has_file: bool
    errors: list[dict[str, str]]
    warnings: list[dict[str, str]]
    spend: list[tuple[str, Decimal]]
    outputs: list[tuple[str, int]]
    milestones: list[tuple[str, bool, date | None]]
    narrative: str


@dataclass(frozen=True)
class StepView:
    """A rung of the chase ladder for one quarter: its day and what happened (sent, failed, due, planned, held,
    not needed)."""

    name: str
    kind: str
    day: date
    status: str


@dataclass(frozen=True)
class QuarterView:
    """One quarter of the project."""

    period_id: int
    label: str
    grant_due: date
    due: date
    state: ReturnState
    hold: Hold | None
    files: list[FileView]
    ladder: list[StepView]

    @property
    def extended(self) -> bool:
        return self.due != self.grant_due

    @property
    def position(self) -> str:
        """Where the quarter is on the ladder, in words."""
        sent = [s.name for s in self.ladder if s.status == "sent"]
        return f"last sent: {sent[-1]}" if sent else "nothing sent yet"


@dataclass(frozen=True)
class MessageView:
    """A message logged for the project."""

    id: int
    kind: str
    step: str
    period: str
    subject: str
    recipients: str
    status: str
    sent_at: str
    error: str
    resendable: bool = False  # a chase step (re-rendered for today) or a message whose copy was kept


@dataclass(frozen=True)
class ProjectPage:
    """Everything the project page shows."""

    project: m.Project
    grant: m.Grant
    status: ProjectStatus
    quarters: list[QuarterView]
    outputs: list[OutputRow]
    risks: list[RegisterRow]
    messages: list[MessageView]
    payments: list[MoneyRecord]
    audit: list[audit.AuditRow]


def project_page(session: Session, project_id: int, as_of: date, facts: FactsOf = grant_facts,
                 zone: str = "Europe/London") -> ProjectPage:
    """The project page's data as of a date, or NotFoundError. `facts` works out (or recalls, see
    workspace_facts.FactsCache) what comes from the grant's whole ledger; the rest reads only this project's rows.
    Times are shown in `zone` (the settings' timezone)."""
    project = session.get(m.Project, project_id)
    grant = session.get(m.Grant, project.grant_id) if project is not None else None
    if project is None or grant is None or grant.id is None or not project.active:
        raise NotFoundError("no such project")
    derived = facts(session, grant, as_of)
    mine = next((p for p in derived.status.projects if p.code == project.code), None)
    if mine is None:
        raise NotFoundError("no such project")
    notes = list(session.exec(select(m.Notification).where(m.Notification.project_id == project_id)
                              .order_by(col(m.Notification.sent_at), col(m.Notification.id))))
    periods = {p.id: p for p in session.exec(select(m.ReportingPeriod).where(m.ReportingPeriod.grant_id == grant.id))}
    labels = {pid: p.label for pid, p in periods.items()}
    quarters = _quarters(session, project, grant, periods, mine, notes, as_of)
    return ProjectPage(
        project, grant, mine, quarters, [o for o in derived.outputs if o.project == project.name],
        [r for r in risk_register(session, grant.reference, include_closed=True) if r.project == project.code],
        [MessageView(n.id or 0, n.kind, n.step, labels.get(n.period_id, ""), n.subject, n.recipients, n.status,
                     f"{date_time(local(n.sent_at, zone))}", n.error,
                     n.kind.startswith("chase-") or n.copy_id is not None)
         for n in reversed(notes)],
        payments_of(session, project_id, as_of), audit.entries(session, project_id=project_id))


def _quarters(session: Session, project: m.Project, grant: m.Grant, periods: dict[int | None, m.ReportingPeriod],
              status: ProjectStatus, notes: list[m.Notification], as_of: date) -> list[QuarterView]:
    files = _files(session, project.id or 0, as_of)
    extended, holds = due_overrides(session, grant.id), chase_holds(session, grant.id)
    by_label = {p.label: p for p in periods.values()}
    logged: dict[str, str] = {}
    for n in notes:  # a step counts as sent once it reached anyone (the lead, or an officer in their notices)
        cause = cause_key_of(n.idempotency_key)
        logged[cause] = "sent" if "sent" in (n.status, logged.get(cause)) else n.status
    ladder, working = ladder_of(grant), calendar_of(grant)
    out = []
    for q in status.periods:
        period = by_label[q.label]
        key = (project.id or 0, period.id or 0)
        due = extended.get(key, period.due)
        hold = holds.get(key)
        resumes = {step.name: day for step, day in chase_days(ladder, working, period.end, due, hold)
                   if day != step.day}  # the step the engine sends late once a pause ends
        steps = []
        for step in ladder.steps(period.end, due, working):
            done = logged.get(chase_key(key[0], key[1], step.name))
            day = step.day if done or step.name not in resumes else resumes[step.name]
            pending = _pending(q.state, day, None if day != step.day else hold, as_of)
            steps.append(StepView(step.name, step.kind.value, day, done or (
                f"{pending} (after the pause)" if day != step.day else pending)))
        out.append(QuarterView(period.id or 0, q.label, period.due, due, q.state, hold,
                               files.get(period.id or 0, []), steps))
    return out


def _pending(state: ReturnState, day: date, hold: Hold | None, as_of: date) -> str:
    if state in (ReturnState.accepted, ReturnState.accepted_late, ReturnState.not_reported):
        return "not needed"  # received, or a quarter outside the project's delivery: never chased
    if hold is not None and hold.holds_on(day):
        return "held"
    return "planned" if day >= as_of else "not sent"  # today's step goes with today's chasing run


def _files(session: Session, project_id: int, as_of: date) -> dict[int, list[FileView]]:
    returns = [r for r in session.exec(select(m.Return).where(m.Return.project_id == project_id)
                                       .order_by(col(m.Return.version))) if received_on(r.received_at) <= as_of]
    ids = [r.id for r in returns]
    spend: dict[int, list[tuple[str, Decimal]]] = {}
    for rid, name, pence in session.exec(select(m.ReturnSpend.return_id, m.BudgetLine.name, m.ReturnSpend.actual_pence)
                                         .join(m.BudgetLine).where(col(m.ReturnSpend.return_id).in_(ids))):
        spend.setdefault(rid, []).append((name, from_pence(pence)))
    outputs: dict[int, list[tuple[str, int]]] = {}
    for rid, name, achieved in session.exec(select(m.ReturnOutput.return_id, m.Target.name, m.ReturnOutput.achieved)
                                            .join(m.Target).where(col(m.ReturnOutput.return_id).in_(ids))):
        outputs.setdefault(rid, []).append((name, achieved))
    milestones: dict[int, list[tuple[str, bool, date | None]]] = {}
    for rid, name, done, on in session.exec(select(m.ReturnMilestone.return_id, m.Target.name,
                                                   m.ReturnMilestone.delivered, col(m.ReturnMilestone.delivered_on))
                                            .join(m.Target).where(col(m.ReturnMilestone.return_id).in_(ids))):
        milestones.setdefault(rid, []).append((name, done, on))
    out: dict[int, list[FileView]] = {}
    for r in returns:
        problems = json.loads(r.problems_json or "[]")
        rid = r.id or 0
        out.setdefault(r.period_id, []).append(FileView(
            rid, r.version, r.status, received_on(r.received_at), r.source_name, bool(r.archive_path),
            [p for p in problems if p.get("severity") == "error"],
            [p for p in problems if p.get("severity") != "error"],
            spend.get(rid, []), outputs.get(rid, []), milestones.get(rid, []), r.progress))
    return out
