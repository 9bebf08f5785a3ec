"""The board report's data, filled only from the sources of truth: the checks (`run_checks`, as `grants check`),
the stored assessments (`grant_status` / `latest_ratings`, as `grants status`) and the register (`risk_register`,
as `grants risks`).

Dating: the checks are run for `as_of` first, in the caller's transaction, exactly as `grants check --as-of` would;
so the report, `grants status --as-of` and `grants risks` agree and a report is never stale. A backdated report
(a date before a check already stored for the grant, e.g. last quarter's) is built the same way inside a savepoint
that is rolled back: it never rewinds the live risk register nor stores assessments for a past date.

A `period` (e.g. "2024-25-Q2") means the position on the day that quarter's returns are due (`period_as_of`): on
the quarter's last day none of its returns is due yet, so the board would see the previous quarter's figures.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import date
from decimal import Decimal

from sqlmodel import Session, col, func, select

from grants.kernel import models as m
from grants.kernel.errors import NotFoundError
from grants.kernel.money import from_pence
from grants.monitoring.assessment import run_checks
from grants.monitoring.checks import Checks, run_all
from grants.monitoring.ledger import load_ledger, rows
from grants.monitoring.risks import RegisterRow, episode_starts, risk_register
from grants.programme.lookup import find_grant
from grants.programme.status import GrantStatus, ProjectStatus, ReturnState, grant_status, received_on
from grants.reporting.board import BoardData, GrantSummary, ProjectRow, Release, RiskRow
from grants.reporting.board_rows import ReturnFile, output_rows, quarter_series, returns_log


def period_as_of(session: Session, period: str, grant_reference: str | None = None) -> date:
    """The day `period`'s returns are due (the latest such day among the grants in scope); errors if no grant in
    scope has that period."""
    statement = select(m.ReportingPeriod).join(m.Grant).where(m.ReportingPeriod.label == period)
    if grant_reference is not None:
        statement = statement.where(m.Grant.reference == grant_reference)
    dues = [p.due for p in session.exec(statement)]
    if not dues:
        if grant_reference is not None:
            find_grant(session, grant_reference)  # an unknown grant is named as such first
        raise NotFoundError(f"no reporting period '{period}'{_in(grant_reference)} "
                            f"(periods: {', '.join(_labels(session, grant_reference)) or 'none'})")
    return max(dues)


def _in(grant_reference: str | None) -> str:
    return f" in {grant_reference}" if grant_reference else ""


def _labels(session: Session, grant_reference: str | None) -> list[str]:
    statement = select(m.ReportingPeriod.label).join(m.Grant).distinct().order_by(col(m.ReportingPeriod.label))
    if grant_reference is not None:
        statement = statement.where(m.Grant.reference == grant_reference)
    return list(session.exec(statement))


def build_board_data(session: Session, as_of: date, grant_reference: str | None = None,
                     period: str | None = None) -> list[BoardData]:
    """One BoardData per grant (or for the one named) as of `as_of`; [] when no grant is loaded."""
    statuses = grant_status(session, as_of, grant_reference)  # raises NotFoundError for an unknown reference
    if period is not None:
        period_as_of(session, period, grant_reference)  # the period must exist
    if not statuses:
        return []
    history = None
    if _backdated(session, as_of, grant_reference):  # the history, read before the rerun checks touch the register
        every = risk_register(session, grant_reference, include_closed=True)
        history = episode_starts(session, as_of, [r.id for r in every])
    with _checked(session, as_of, grant_reference):
        statuses = grant_status(session, as_of, grant_reference)
        grant_id = find_grant(session, grant_reference).id if grant_reference is not None else None
        checks = run_all(load_ledger(session, as_of, grant_id))
        register = risk_register(session, grant_reference)
        if history is not None:
            register = [_as_it_stood(r, history, as_of) for r in register]
        files = _files(session, as_of, grant_id)
        return [_board(s, checks, register, files, period) for s in statuses]


def _as_it_stood(row: RegisterRow, history: dict[int, date | None], as_of: date) -> RegisterRow:
    """A register row as a pack dated `as_of` shows it: first seen when its episode open that day began (from the
    risk history), last seen no later than that day."""
    fallback = row.first_seen if row.first_seen <= as_of else as_of  # no history: a risk from before it was kept
    first = (history[row.id] or as_of) if row.id in history else fallback  # None: closed then, found again now
    return replace(row, first_seen=first, last_seen=min(row.last_seen, as_of), closed_on=None)


@contextmanager
def _checked(session: Session, as_of: date, grant_reference: str | None) -> Iterator[None]:
    """Run the checks for `as_of`; for a backdated report, inside a savepoint rolled back afterwards."""
    if not _backdated(session, as_of, grant_reference):
        run_checks(session, as_of, grant_reference)
        yield
        return
    savepoint = session.begin_nested()
    try:
        run_checks(session, as_of, grant_reference)
        yield
    finally:
        savepoint.rollback()


def _backdated(session: Session, as_of: date, grant_reference: str | None) -> bool:
    """True when a check later than `as_of` is already stored for the grants in scope."""
    statement = select(func.max(m.Assessment.as_of)).join(m.Grant, col(m.Assessment.grant_id) == col(m.Grant.id))
    if grant_reference is not None:
        statement = statement.where(m.Grant.reference == grant_reference)
    latest = session.exec(statement).one()
    return latest is not None and latest > as_of


def _files(session: Session, as_of: date, grant_id: int | None) -> list[ReturnFile]:
    """Every return file received by `as_of`, with its project code and period label."""
    statement = (select(m.Return, m.Project.code, m.ReportingPeriod.label).join(m.Project).join(m.ReportingPeriod)
                 .order_by(col(m.Return.version), col(m.Return.id)))
    if grant_id is not None:
        statement = statement.where(m.Project.grant_id == grant_id)
    return [(code, label, r) for r, code, label in session.exec(statement) if received_on(r.received_at) <= as_of]


def _board(status: GrantStatus, checks: Checks, register: list[RegisterRow], files: list[ReturnFile],
           period: str | None) -> BoardData:
    grant = next(g for g in checks.ledger.grants if g.reference == status.reference)
    assert grant.id is not None
    projects = [_project(p) for p in status.projects]
    names = {p.code: p.name for p in status.projects}
    risks = [_risk(r, names) for r in register if r.grant == status.reference]
    return BoardData(
        as_of=status.as_of, grant=_summary(status, grant, checks, projects), projects=projects,
        outputs=output_rows(checks, grant), quarters=quarter_series(checks.ledger, grant.id), risks=risks,
        returns=returns_log(status, files, period), period=period,
    )


def _project(p: ProjectStatus) -> ProjectRow:
    """A project's row: its allocation and, from the stored assessment, the money and each rating with its reason.
    With no return yet the money is None (nothing reported), never £0.00 spent."""
    rag, reasons = p.rag, p.rag.reasons if p.rag else {}
    reported = [q.label for q in p.periods if q.state in (ReturnState.accepted, ReturnState.accepted_late)]
    return ProjectRow(
        p.code, p.name, p.lead_organisation, p.allocation, rag.spent if rag else None,
        rag.forecast_outturn if rag else None,
        rag.spend if rag else "", reasons.get("spend", ""), rag.outputs if rag else "", reasons.get("outputs", ""),
        rag.overall if rag else "", reasons.get("overall", "Not assessed yet"), reported[-1] if reported else "",
    )


def _summary(status: GrantStatus, grant: m.Grant, checks: Checks, projects: list[ProjectRow]) -> GrantSummary:
    """Money in and out: releases and payments from the checks' ledger, spend and forecast from the assessment.

    The grant's forecast outturn is each project's forecast capped at its allocation (a project with no return yet
    counts at its allocation, as the summary's coverage note says); any forecast beyond allocations is the separate
    overspend. The spent total is the reported spend: projects with no return yet are named, not counted as £0."""
    releases = checks.ledger.releases
    released = sorted(
        (Release(day, from_pence(int(amount)))
         for day, amount in rows(releases[releases["grant_id"] == grant.id], "received_on", "amount")),
        key=lambda r: r.received_on,
    )
    paid = sum(checks.project_funds[p.id].received for p in checks.projects_of(grant) if p.id is not None)
    rag = status.rag
    forecasts = [(p.allocation if p.forecast is None else p.forecast, p.allocation) for p in projects]
    capped = sum((min(forecast, allocation) for forecast, allocation in forecasts), Decimal(0))
    over = sum((max(forecast - allocation, Decimal(0)) for forecast, allocation in forecasts), Decimal(0))
    return GrantSummary(
        reference=grant.reference, name=grant.name, funder=grant.funder, intermediary=grant.intermediary,
        awarded=status.amount, expected_release=grant.expected_funds_release, releases=released,
        paid_to_projects=from_pence(paid), spent=rag.spent if rag and rag.spent is not None else Decimal(0),
        forecast_outturn=capped, spend_by=grant.spend_by, forecast_overspend=over,
        rag=rag.overall if rag else "", reason=rag.reasons.get("overall", "") if rag else "Not assessed yet",
        projects=len(projects), not_reported=tuple(p.name for p in projects if not p.reported),
    )


def _risk(r: RegisterRow, names: dict[str, str]) -> RiskRow:
    scope = names.get(r.project, r.project) if r.project else "Grant"
    return RiskRow(r.id, scope, r.kind, r.title, r.likelihood, r.impact, r.score, r.rag, r.owner, r.mitigation,
                   r.evidence, r.first_seen, r.last_seen)

