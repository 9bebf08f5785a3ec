"""What the officers' workspace shows across grants: the programme overview (one line per grant, from a few bulk
queries so it stays fast with hundreds of grants), a grant's page, the risk register and the intake log."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import Select
from sqlmodel import Session, col, func, select

from grants.kernel import audit
from grants.kernel import models as m
from grants.kernel.errors import NotFoundError
from grants.kernel.money import from_pence
from grants.monitoring.risks import RegisterRow, risk_register
from grants.programme.status import GrantStatus, ReturnState
from grants.programme.thresholds import risk_rag, rules_from_json
from grants.reporting.board import OutputRow, QuarterSpend
from grants.reporting.money_log import MoneyRecord, releases_of
from grants.reporting.workspace_facts import FactsOf, grant_facts


@dataclass(frozen=True)
class GrantLine:
    """One grant on the overview: rating, money in and out, and its open risks counted by band."""

    id: int
    reference: str
    name: str
    funder: str
    rag: str
    awarded: Decimal
    released: Decimal
    paid: Decimal
    spent: Decimal | None
    forecast: Decimal | None
    rag_as_of: date | None
    risks: dict[str, int] = field(default_factory=dict)  # {"red": n, "amber": n, "green": n}
    top_score: int = 0
    reported: int | None = None  # projects whose returns the spent and forecast figures hold (None: not recorded)
    projects: int | None = None


def _sums(session: Session, statement: Select[int, int]) -> dict[int, int]:
    return {int(k): int(v) for k, v in session.execute(statement).all()}


def _forecast(spend: dict[str, int], cover: dict[str, int]) -> Decimal | None:
    """The grant's forecast outturn as the board report counts it: the reported projects' forecasts (each capped at
    its allocation) plus the allocation of each project with no return yet."""
    if "outturn" not in spend and "unreported_allocation" not in cover:
        return None  # not checked since the coverage was recorded
    return from_pence(int(spend.get("outturn", 0)) + int(cover.get("unreported_allocation", 0)))


def overview(session: Session, as_of: date) -> list[GrantLine]:
    """Every grant, worst rating first (red, amber, green, not yet checked), then by reference."""
    grants = list(session.exec(select(m.Grant).order_by(col(m.Grant.reference))))
    released = _sums(session, select(m.FundsRelease.grant_id, func.sum(m.FundsRelease.amount_pence))
                     .where(m.FundsRelease.received_on <= as_of).group_by(col(m.FundsRelease.grant_id)))
    paid = _sums(session, select(m.Project.grant_id, func.sum(m.Payment.amount_pence))
                 .join(m.Project, col(m.Project.id) == col(m.Payment.project_id))
                 .where(m.Payment.paid_on <= as_of).group_by(col(m.Project.grant_id)))
    latest = select(m.Assessment.grant_id, func.max(m.Assessment.as_of).label("day")).where(
        col(m.Assessment.project_id).is_(None), m.Assessment.as_of <= as_of).group_by(
        col(m.Assessment.grant_id)).subquery()
    ratings = {a.grant_id: a for a in session.exec(select(m.Assessment).join(
        latest, (col(m.Assessment.grant_id) == latest.c.grant_id) & (col(m.Assessment.as_of) == latest.c.day))
        .where(col(m.Assessment.project_id).is_(None)))}
    risks: dict[int, list[tuple[str, int]]] = {}
    for grant_id, rag, score in session.exec(select(m.Risk.grant_id, m.Risk.rag, m.Risk.score)
                                             .where(m.Risk.status == "open")):
        risks.setdefault(grant_id, []).append((rag, score))
    out = []
    for grant in grants:
        gid = grant.id or 0
        rating = ratings.get(gid)
        figures = json.loads(rating.figures_json or "{}") if rating else {}
        spend, cover = figures.get("spend") or {}, figures.get("coverage") or {}
        bands = {band: sum(1 for rag, _ in risks.get(gid, []) if rag == band) for band in ("red", "amber", "green")}
        out.append(GrantLine(
            gid, grant.reference, grant.name, grant.funder, rating.overall_rag if rating else "",
            from_pence(grant.amount_pence), from_pence(released.get(gid, 0)), from_pence(paid.get(gid, 0)),
            from_pence(int(spend["actual"])) if "actual" in spend else None,
            _forecast(spend, cover),
            rating.as_of if rating else None, bands, max((s for _, s in risks.get(gid, [])), default=0),
            cover.get("reported"), cover.get("projects")))
    order = {"red": 0, "amber": 1, "green": 2, "": 3}
    return sorted(out, key=lambda line: (order.get(line.rag, 3), -line.top_score, line.reference))


@dataclass(frozen=True)
class GrantPage:
    """A grant's page: its status (projects and quarters), money paid per project, charts' data and its risks."""

    grant: m.Grant
    status: GrantStatus
    project_ids: dict[str, int]
    paid: dict[int, Decimal]
    outputs: list[OutputRow]
    quarters: list[QuarterSpend]
    risks: list[RegisterRow]
    released: Decimal
    releases: list[MoneyRecord]

    @property
    def overdue(self) -> list[tuple[int, str, str, date]]:
        """(project id, project name, quarter, due date) of every return overdue (extensions already applied)."""
        return [(self.project_ids.get(p.code, 0), p.name, q.label, q.due) for p in self.status.projects
                for q in p.periods if q.state == ReturnState.overdue]


def grant_page(session: Session, reference: str, as_of: date, facts: FactsOf = grant_facts) -> GrantPage:
    """Everything the grant page shows, as of a date (read-only: nothing is stored). `facts` works out (or recalls,
    see workspace_facts.FactsCache) what comes from the grant's whole ledger."""
    grant = session.exec(select(m.Grant).where(m.Grant.reference == reference)).first()
    if grant is None or grant.id is None:
        raise NotFoundError(f"no grant '{reference}'")
    derived = facts(session, grant, as_of)
    ids = dict(session.exec(select(m.Project.code, m.Project.id).where(m.Project.grant_id == grant.id)).all())
    paid = _sums(session, select(m.Payment.project_id, func.sum(m.Payment.amount_pence))
                 .join(m.Project, col(m.Project.id) == col(m.Payment.project_id))
                 .where(m.Project.grant_id == grant.id, m.Payment.paid_on <= as_of).group_by(col(m.Payment.project_id)))
    released = session.exec(select(func.coalesce(func.sum(m.FundsRelease.amount_pence), 0)).where(
        m.FundsRelease.grant_id == grant.id, m.FundsRelease.received_on <= as_of)).one()
    return GrantPage(grant, derived.status, {k: v for k, v in ids.items() if v is not None},
                     {k: from_pence(v) for k, v in paid.items()}, derived.outputs, derived.quarters,
                     risk_register(session, reference), from_pence(int(released)),
                     releases_of(session, grant.id, as_of))


RISK_ACTIONS = ("risk.add", "risk.update", "risk.close")


def risk_history(session: Session) -> dict[int, list[audit.AuditRow]]:
    """{risk id: its audit entries, newest first}: who set its owner, mitigation and notes, added or closed it."""
    out: dict[int, list[audit.AuditRow]] = {}
    for entry in audit.entries(session, actions=RISK_ACTIONS):
        found = re.match(r"risk (\d+):", entry.subject)
        if found:
            out.setdefault(int(found.group(1)), []).append(entry)
    return out


def risk_band(grant: m.Grant, score: int) -> str:
    """The RAG band of a score under the grant's thresholds."""
    return str(risk_rag(score, rules_from_json(grant.rules_json)))


@dataclass(frozen=True)
class IntakeRow:
    """A received file that did not become an accepted return: quarantined or rejected, with its reasons."""

    id: int
    name: str
    received_on: date
    outcome: str
    size: int
    problems: list[dict[str, str]]
    project: str
    period: str
    sender: str = ""  # the address it was emailed from (empty: the inbox folder or the lead's page)


def intake_log(session: Session, limit: int = 500) -> list[IntakeRow]:
    """Quarantined and rejected files, newest first."""
    statement = (select(m.ReceivedFile, m.Project.code, m.ReportingPeriod.label)
                 .outerjoin(m.Return, col(m.Return.id) == col(m.ReceivedFile.return_id))
                 .outerjoin(m.Project, col(m.Project.id) == col(m.Return.project_id))
                 .outerjoin(m.ReportingPeriod, col(m.ReportingPeriod.id) == col(m.Return.period_id))
                 .where(col(m.ReceivedFile.outcome).in_(("quarantined", "rejected")))
                 .order_by(col(m.ReceivedFile.received_at).desc(), col(m.ReceivedFile.id).desc()).limit(limit))
    return [IntakeRow(f.id or 0, f.name, f.received_at.date(), f.outcome, f.size, json.loads(f.problems_json or "[]"),
                      code or "", label or "", f.sender) for f, code, label in session.exec(statement)]
