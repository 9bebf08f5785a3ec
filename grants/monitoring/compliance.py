"""Reporting compliance: each project's returns on time, late, outstanding (overdue) or rejected on a date.

An overdue return is amber from its first working day overdue up to `return_red_working_days` England & Wales
working days, red after that; a rejected return with no accepted resubmission is amber until the due date, and
overdue like a missing one after it. Returns accepted late are counted and named, not rated.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from grants.kernel import models as m
from grants.kernel.dates import short_date
from grants.monitoring.ledger import Ledger
from grants.programme.periods import WorkingCalendar, reports_for, working_days_text
from grants.programme.status import ReturnState, recorded, return_state
from grants.programme.thresholds import MonitoringRules, worst


@dataclass(frozen=True)
class ReturnCheck:
    """One period's return for one project."""

    period_id: int
    label: str
    due: date
    state: ReturnState
    working_days_late: int  # overdue: working days past due as of the date; accepted late: when received
    rejected: bool = False  # overdue with only rejected versions received


@dataclass(frozen=True)
class ComplianceCheck:
    """A project's returns, rated."""

    returns: list[ReturnCheck]
    rag: m.RAG
    reason: str

    def with_state(self, *states: ReturnState) -> list[ReturnCheck]:
        return [r for r in self.returns if r.state in states]


def rate_returns(returns: list[ReturnCheck], rules: MonitoringRules) -> ComplianceCheck:
    """Rate a project's returns that have fallen due (or arrived)."""
    rags = [m.RAG.green]
    for r in returns:
        if r.state is ReturnState.overdue:
            rags.append(m.RAG.red if r.working_days_late > rules.return_red_working_days else m.RAG.amber)
        elif r.state is ReturnState.rejected:
            rags.append(m.RAG.amber)
    on_time = sum(r.state is ReturnState.accepted for r in returns)
    late = [r for r in returns if r.state is ReturnState.accepted_late]
    overdue = [r for r in returns if r.state is ReturnState.overdue]
    rejected = [r for r in returns if r.state is ReturnState.rejected]
    parts = [f"Returns: {on_time} on time", f"{len(late)} late", f"{len(overdue)} outstanding",
             f"{len(rejected)} rejected"]
    details = [f"{r.label} due {short_date(r.due)}, {working_days_text(r.working_days_late)} overdue"
               + (" (only a rejected version received)" if r.rejected else "") for r in overdue]
    details += [f"{r.label} rejected, not yet resubmitted" for r in rejected]
    details += [f"{r.label} received {working_days_text(r.working_days_late)} late" for r in late]
    reason = ", ".join(parts) + (f" ({'; '.join(details)})" if details else "")
    return ComplianceCheck(returns, worst(*rags), reason)


def compliance_checks(ledger: Ledger, rules: dict[int, MonitoringRules]) -> dict[int, ComplianceCheck]:
    """{project_id: ComplianceCheck} for every project, over the periods whose quarter has ended."""
    calendars = {g.id: WorkingCalendar(date.fromisoformat(d) for d in g.closure_days.split(",") if d)
                 for g in ledger.grants}
    closures = {g.id: g.closure_days for g in ledger.grants}
    periods: dict[int, list[tuple[int, str, date, date, date]]] = {}
    for grant_id, period_id, label, start, end, due in ledger.periods[
            ["grant_id", "period_id", "label", "start", "end", "due"]].itertuples(index=False):
        periods.setdefault(int(grant_id), []).append((int(period_id), str(label), start, end, due))
    out = {}
    late_by: dict[tuple[str, date, date], int] = {}  # grants with the same closure days share a calendar

    def working_days(grant_id: int, due: date, day: date) -> int:
        key = (closures[grant_id], due, day)
        if key not in late_by:
            late_by[key] = calendars[grant_id].working_days_between(due, day)
        return late_by[key]

    for project in ledger.projects:
        assert project.id is not None
        checks = []
        for period_id, label, start, end, grant_due in periods.get(project.grant_id, []):
            due = ledger.due_overrides.get((project.id, period_id), grant_due)
            files = ledger.files.get((project.id, period_id), [])
            if not reports_for(project, start, end) and not recorded(files):  # outside its delivery: none is due
                continue
            state = return_state(end, due, files, ledger.as_of)
            rejected = state is ReturnState.rejected and ledger.as_of > due
            if rejected:  # after the due date, only rejected versions count as nothing received
                state = ReturnState.overdue
            if state in (ReturnState.not_yet_open, ReturnState.open):
                continue
            late = 0
            if state is ReturnState.overdue:
                late = working_days(project.grant_id, due, ledger.as_of)
                if late < 1:  # past the due date on a weekend or bank holiday: overdue from the next working day
                    continue
            elif state is ReturnState.accepted_late:
                first = min(day for day, status in files if status in ("accepted", "superseded"))
                late = working_days(project.grant_id, due, first)
            checks.append(ReturnCheck(period_id, label, due, state, late, rejected))
        out[project.id] = rate_returns(checks, rules[project.grant_id])
    return out
