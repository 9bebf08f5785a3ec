"""One project's quarter set apart from the grant's: an extended due date, or chasing paused or waived.

The status, the overdue counts, the late-return risk and the chase ladder all read the effective due date from
`due_overrides`; the chase planner skips a held quarter (`chase_holds`). Every change is audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlmodel import Session, col, select

from grants.kernel import audit
from grants.kernel import models as m
from grants.kernel.dates import short_date
from grants.kernel.errors import GrantsError, InputError, NotFoundError
from grants.programme.periods import closure_calendar

HOLD_KINDS = ("pause", "waive")
LONGEST = timedelta(days=366)
"""How far past the grant's due date a quarter's extension or a pause of its chasing may reach: a year, so a
mistyped year (2205 for 2025) is refused rather than moving the quarter out of every calendar."""


def due_overrides(session: Session, grant_id: int | None = None) -> dict[tuple[int, int], date]:
    """{(project_id, period_id): extended due date} for one grant (or all)."""
    statement = select(col(m.DueDateOverride.project_id), col(m.DueDateOverride.period_id),
                       col(m.DueDateOverride.due))
    if grant_id is not None:
        statement = statement.join(m.Project, col(m.Project.id) == col(m.DueDateOverride.project_id)).where(
            m.Project.grant_id == grant_id)
    return {(pid, per): due for pid, per, due in session.exec(statement)}


@dataclass(frozen=True)
class Hold:
    """Chasing paused until a day (inclusive) or waived, and why."""

    kind: str
    until: date | None
    reason: str

    def holds_on(self, day: date) -> bool:
        return self.kind == "waive" or (self.until is not None and day <= self.until)


def chase_holds(session: Session, grant_id: int | None = None) -> dict[tuple[int, int], Hold]:
    """{(project_id, period_id): Hold} for one grant (or all)."""
    statement = select(m.ChaseHold)
    if grant_id is not None:
        statement = statement.join(m.Project, col(m.Project.id) == col(m.ChaseHold.project_id)).where(
            m.Project.grant_id == grant_id)
    return {(h.project_id, h.period_id): Hold(h.kind, h.until, h.reason) for h in session.exec(statement)}


def project_period(session: Session, project_id: int, period_id: int) -> tuple[m.Project, m.ReportingPeriod]:
    """The project and one of its grant's periods, or NotFoundError."""
    project, period = session.get(m.Project, project_id), session.get(m.ReportingPeriod, period_id)
    if project is None or period is None or period.grant_id != project.grant_id:
        raise NotFoundError("no such project and quarter")
    return project, period


def find_period(session: Session, project: m.Project, label: str) -> m.ReportingPeriod:
    """The project's grant period with this label (e.g. '2024-25-Q1'), or NotFoundError naming the labels."""
    periods = list(session.exec(select(m.ReportingPeriod).where(m.ReportingPeriod.grant_id == project.grant_id)
                                .order_by(col(m.ReportingPeriod.start))))
    for period in periods:
        if period.label.lower() == label.strip().lower():
            return period
    raise NotFoundError(f"no quarter '{label}' (known: {', '.join(p.label for p in periods)})")


def _subject(project: m.Project, period: m.ReportingPeriod) -> str:
    return f"{project.code} {period.label}"


def extend_due(session: Session, project_id: int, period_id: int, due: date, reason: str, *, actor: str,
               now: datetime) -> date:
    """Set one project's due date for one quarter (back to the grant's date removes the extension); audited."""
    project, period = project_period(session, project_id, period_id)
    if due <= period.end:
        raise InputError("due", f"the due date must fall after the quarter ends ({short_date(period.end)})")
    if due > period.due + LONGEST:
        raise InputError("due", f"the due date can be moved at most a year, to {short_date(period.due + LONGEST)}")
    grant = session.get(m.Grant, project.grant_id)
    working = closure_calendar(grant.closure_days if grant is not None else "")
    if not working.is_working_day(due):  # the chasers count working days from it, and nobody is in to receive it
        raise InputError("due", f"{due:%A} {short_date(due)} is not a working day (a weekend, bank holiday or the "
                                f"grant's closure day): choose one, e.g. {working.next_working_day(due):%A} "
                                f"{short_date(working.next_working_day(due))}")
    row = session.exec(select(m.DueDateOverride).where(m.DueDateOverride.project_id == project_id,
                                                       m.DueDateOverride.period_id == period_id)).first()
    before = row.due if row is not None else period.due
    if due == before:
        raise InputError("due", f"{_subject(project, period)} is already due on {short_date(due)}")
    if due == period.due and row is not None:
        session.delete(row)
    elif row is not None:
        row.due, row.reason = due, reason.strip()
        session.add(row)
    else:
        session.add(m.DueDateOverride(project_id=project_id, period_id=period_id, due=due, reason=reason.strip()))
    audit.record(session, actor=actor, action="due.extend", at=now, subject=_subject(project, period),
                 before={"due": before}, after={"due": due}, reason=reason, grant_id=project.grant_id,
                 project_id=project_id)
    return due


def hold_chasing(session: Session, project_id: int, period_id: int, kind: str, reason: str, *, actor: str,
                 now: datetime, until: date | None = None) -> Hold:
    """Pause chasing until a day, or waive it, for one project and quarter; a reason is required; audited."""
    project, period = project_period(session, project_id, period_id)
    if kind not in HOLD_KINDS:
        raise InputError("kind", f"kind must be one of {', '.join(HOLD_KINDS)}")
    if not reason.strip():
        raise InputError("reason", "say why chasing is paused or waived")
    if kind == "pause" and until is None:
        raise InputError("until", "a pause needs the last day it lasts")
    if until is not None and kind == "pause" and until > period.due + LONGEST:
        raise InputError("until", f"a pause can last at most a year past the due date, to "
                                  f"{short_date(period.due + LONGEST)}; waive chasing instead")
    row = session.exec(select(m.ChaseHold).where(m.ChaseHold.project_id == project_id,
                                                 m.ChaseHold.period_id == period_id)).first()
    before = {"kind": row.kind, "until": row.until, "reason": row.reason} if row else {"kind": "none"}
    row = row or m.ChaseHold(project_id=project_id, period_id=period_id, kind=kind)
    row.kind, row.until, row.reason = kind, until if kind == "pause" else None, reason.strip()
    session.add(row)
    audit.record(session, actor=actor, action=f"chase.{kind}", at=now, subject=_subject(project, period),
                 before=before, after={"kind": row.kind, "until": row.until, "reason": row.reason}, reason=reason,
                 grant_id=project.grant_id, project_id=project_id)
    return Hold(row.kind, row.until, row.reason)


def resume_chasing(session: Session, project_id: int, period_id: int, *, actor: str, now: datetime,
                   reason: str = "") -> None:
    """Lift a pause or waiver: the ladder carries on from its next step; audited (with the reason, if given)."""
    project, period = project_period(session, project_id, period_id)
    row = session.exec(select(m.ChaseHold).where(m.ChaseHold.project_id == project_id,
                                                 m.ChaseHold.period_id == period_id)).first()
    if row is None:
        raise GrantsError(f"chasing is not held for {_subject(project, period)}")
    before = {"kind": row.kind, "until": row.until, "reason": row.reason}
    session.delete(row)
    audit.record(session, actor=actor, action="chase.resume", at=now, subject=_subject(project, period),
                 before=before, after={"kind": "none"}, reason=reason, grant_id=project.grant_id,
                 project_id=project_id)
