"""Where each project stands: allocation and, per reporting period, the due date and the return's state."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from grants.kernel import models as m
from grants.kernel.errors import NotFoundError
from grants.kernel.money import from_pence
from grants.programme.overrides import due_overrides
from grants.programme.periods import reports_for

LONDON = ZoneInfo("Europe/London")


class ReturnState(StrEnum):
    """A project's return for one period, as an officer would describe it on a given day."""

    not_yet_open = "not yet open"
    not_reported = "not reported"  # the quarter lies outside the project's delivery window: no return is due
    open = "open"
    overdue = "overdue"
    rejected = "rejected"
    accepted = "accepted"
    accepted_late = "accepted late"


def received_on(received_at: datetime) -> date:
    """The UK calendar day a return arrived (timestamps are stored in UTC)."""
    if received_at.tzinfo is None:
        received_at = received_at.replace(tzinfo=ZoneInfo("UTC"))
    return received_at.astimezone(LONDON).date()


def recorded(returns: Sequence[tuple[date, str]]) -> bool:
    """Whether any of the (received day, status) of a period's files was accepted (and so counts, even for a period
    outside the project's delivery window after its dates changed)."""
    return any(status in (m.ReturnStatus.accepted, m.ReturnStatus.superseded) for _, status in returns)


def return_state(period_end: date, due: date, returns: Sequence[tuple[date, str]], as_of: date) -> ReturnState:
    """The state of a period's return on `as_of`, from the (received day, status) of each file received."""
    seen = [(day, status) for day, status in returns if day <= as_of]
    accepted = [day for day, status in seen if status in (m.ReturnStatus.accepted, m.ReturnStatus.superseded)]
    if accepted:
        return ReturnState.accepted if min(accepted) <= due else ReturnState.accepted_late
    if any(status == m.ReturnStatus.rejected for _, status in seen):
        return ReturnState.rejected
    if as_of <= period_end:
        return ReturnState.not_yet_open
    return ReturnState.open if as_of <= due else ReturnState.overdue


@dataclass(frozen=True)
class PeriodStatus:
    """One period of one project: dates and the return's state."""

    label: str
    start: date
    end: date
    due: date
    state: ReturnState
    received_on: date | None
    versions: int


@dataclass(frozen=True)
class RagSummary:
    """The latest assessment on or before the status date (from `grants check`), with its reasons and the money
    behind the spend rating (None until a return has been received)."""

    as_of: date
    spend: str
    outputs: str
    overall: str
    reasons: dict[str, str]
    spent: Decimal | None = None
    forecast_outturn: Decimal | None = None


@dataclass(frozen=True)
class ProjectStatus:
    """One project's allocation and its returns, period by period."""

    code: str
    name: str
    lead_organisation: str
    lead_email: str
    allocation: Decimal
    periods: list[PeriodStatus]
    rag: RagSummary | None = None


@dataclass(frozen=True)
class GrantStatus:
    """A grant, its periods and its projects as of a date."""

    reference: str
    name: str
    funder: str
    intermediary: str | None
    amount: Decimal
    allocated: Decimal
    spend_by: date
    as_of: date
    projects: list[ProjectStatus]
    rag: RagSummary | None = None

    def to_json(self) -> dict[str, Any]:
        """Plain JSON-ready data: money as strings of pounds, dates as ISO strings."""
        return _jsonable(asdict(self))  # type: ignore[no-any-return]


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, date):
        return value.isoformat()
    return value


def grant_status(session: Session, as_of: date, reference: str | None = None) -> list[GrantStatus]:
    """Status of every grant (or the one named) as of a date; raises NotFoundError for an unknown reference."""
    statement = select(m.Grant).order_by(col(m.Grant.reference))
    if reference is not None:
        statement = statement.where(m.Grant.reference == reference)
    grants = list(session.exec(statement))
    if reference is not None and not grants:
        known = ", ".join(session.exec(select(m.Grant.reference))) or "none loaded; run `grants init`"
        raise NotFoundError(f"no grant with reference '{reference}' (known: {known})")
    return [_one_grant(session, grant, as_of) for grant in grants]


def _one_grant(session: Session, grant: m.Grant, as_of: date) -> GrantStatus:
    periods = list(session.exec(
        select(m.ReportingPeriod).where(m.ReportingPeriod.grant_id == grant.id).order_by(col(m.ReportingPeriod.start))
    ))
    projects = list(session.exec(
        select(m.Project).where(m.Project.grant_id == grant.id, col(m.Project.active).is_(True))
        .order_by(col(m.Project.id))
    ))
    received: dict[tuple[int, int], list[tuple[date, str]]] = {}
    rows = session.exec(
        select(m.Return.project_id, m.Return.period_id, m.Return.received_at, m.Return.status)
        .join(m.Project).where(m.Project.grant_id == grant.id)
    )
    for project_id, period_id, received_at, status in rows:
        received.setdefault((project_id, period_id), []).append((received_on(received_at), status))
    rags = latest_ratings(session, grant.id, as_of)
    extended = due_overrides(session, grant.id)
    out: list[ProjectStatus] = []
    for project in projects:
        period_rows = []
        for period in periods:
            files = received.get((project.id or 0, period.id or 0), [])
            days = [day for day, _ in files if day <= as_of]
            due = extended.get((project.id or 0, period.id or 0), period.due)
            state = (return_state(period.end, due, files, as_of) if reports_for(project, period.start, period.end)
                     or recorded(files) else ReturnState.not_reported)
            period_rows.append(PeriodStatus(
                period.label, period.start, period.end, due, state, max(days) if days else None, len(days),
            ))
        out.append(ProjectStatus(project.code, project.name, project.lead_organisation, project.lead_email,
                                 from_pence(project.allocation_pence), period_rows, rags.get(project.id)))
    return GrantStatus(
        grant.reference, grant.name, grant.funder, grant.intermediary, from_pence(grant.amount_pence),
        sum((p.allocation for p in out), Decimal(0)), grant.spend_by, as_of, out, rags.get(None),
    )


def latest_ratings(session: Session, grant_id: int | None, as_of: date) -> dict[int | None, RagSummary]:
    """{project_id (None for the grant): the latest assessment on or before `as_of`}."""
    rows = session.exec(select(m.Assessment).where(m.Assessment.grant_id == grant_id, m.Assessment.as_of <= as_of)
                        .order_by(col(m.Assessment.as_of)))
    return {a.project_id: RagSummary(a.as_of, a.spend_rag, a.outputs_rag, a.overall_rag, json.loads(a.reasons_json),
                                     *_spend_figures(a))
            for a in rows}


def _spend_figures(a: m.Assessment) -> tuple[Decimal | None, Decimal | None]:
    """(spent, forecast outturn) in pounds from the stored figures: the grant's totals, or a project's lines summed."""
    spend = json.loads(a.figures_json or "{}").get("spend") or {}
    parts = ([spend] if spend else []) if a.project_id is None else list(spend.values())
    if not parts:
        return None, None
    return (from_pence(sum(int(p["actual"]) for p in parts)), from_pence(sum(int(p["outturn"]) for p in parts)))
