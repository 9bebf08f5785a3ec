"""The stored programme and returns as pandas frames, loaded in a few bulk queries for one grant or for all.

Money stays integer pence (int64). Only the official return of each project and period received by `as_of`
counts; `position` orders a grant's reporting periods (0 = first quarter).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar, cast

import pandas as pd
from sqlalchemy import Select, inspect, select
from sqlmodel import Session, col

from grants.kernel import models as m
from grants.programme.overrides import due_overrides
from grants.programme.status import received_on
from grants.returns.official import COUNTED

AnySelect = Select[*tuple[Any, ...]]  # a SELECT of any columns (SQLAlchemy 2.1 types each column)
Model = TypeVar("Model")


@dataclass
class Ledger:
    """Everything the checks read, as of one date."""

    as_of: date
    grants: list[m.Grant]
    projects: list[m.Project]
    periods: pd.DataFrame  # grant_id, period_id, label, position, start, end, due
    lines: pd.DataFrame  # line_id, project_id, key, name, amount
    profile: pd.DataFrame  # line_id, position, planned (per period)
    targets: list[m.Target]
    target_profile: pd.DataFrame  # target_id, position, cumulative
    official: pd.DataFrame  # return_id, project_id, period_id, position
    files: dict[tuple[int, int], list[tuple[date, str]]]  # (project, period) -> (received day, status)
    spend: pd.DataFrame  # return_id, line_id, actual, project_id, position
    forecast: pd.DataFrame  # return_id, line_id, forecast_position, amount
    outputs: pd.DataFrame  # return_id, target_id, achieved, project_id, position
    milestones: pd.DataFrame  # return_id, target_id, delivered, delivered_on
    payments: pd.DataFrame  # project_id, amount, paid_on
    releases: pd.DataFrame  # grant_id, amount, received_on
    due_overrides: dict[tuple[int, int], date] = field(default_factory=dict)  # (project, period) -> extended due


def rows(frame: pd.DataFrame, *columns: str) -> list[tuple[Any, ...]]:
    """The frame's rows as plain tuples of the given columns."""
    return list(frame[list(columns)].itertuples(index=False, name=None))


def totals(frame: pd.DataFrame, key: str, day: str) -> dict[int, tuple[int, date]]:
    """{key: (sum of the `amount` column, earliest `day`)} of money rows (releases, payments), in plain Python:
    pandas' groupby min falls back to Python row by row (and slower) on date objects."""
    out: dict[int, tuple[int, date]] = {}
    for k, amount, when in frame[[key, "amount", day]].itertuples(index=False, name=None):
        total, first = out.get(int(k), (0, when))
        out[int(k)] = (total + int(amount), min(first, when))
    return out


def _frame(session: Session, statement: AnySelect, columns: list[str]) -> pd.DataFrame:
    """Plain columns through Core on the session's connection (the ORM's row layer cost as much again)."""
    rows = session.connection().execute(statement).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=columns)


def _by_grant(statement: AnySelect, grant_id: int | None, *joins: Any) -> AnySelect:
    for target in joins:
        statement = statement.join(target)
    return statement if grant_id is None else statement.where(col(m.Project.grant_id) == grant_id)


def load_ledger(session: Session, as_of: date, grant_id: int | None = None) -> Ledger:
    """Load one grant (or every grant) with its projects, plans and official returns as of `as_of`."""
    session.flush()  # what follows reads plain rows on the session's connection
    grant_q = _every_column(m.Grant).order_by(col(m.Grant.reference))
    project_q = _every_column(m.Project).where(col(m.Project.active).is_(True)).order_by(col(m.Project.id))
    target_q = _every_column(m.Target).join(m.Project).where(col(m.Target.active).is_(True)).order_by(
        col(m.Target.id))
    if grant_id is not None:
        grant_q = grant_q.where(col(m.Grant.id) == grant_id)
        project_q = project_q.where(col(m.Project.grant_id) == grant_id)
        target_q = target_q.where(col(m.Project.grant_id) == grant_id)
    periods = _periods(session, grant_id)
    position = {(g, label): p for g, label, p in rows(periods, "grant_id", "label", "position")}
    official = _official(session, as_of, grant_id, dict(rows(periods, "period_id", "position")))
    lines, profile, target_profile = _plans(session, grant_id, position)
    return Ledger(
        as_of=as_of, grants=_plain(session, m.Grant, grant_q), projects=_plain(session, m.Project, project_q),
        periods=periods, lines=lines, profile=profile, targets=_plain(session, m.Target, target_q),
        target_profile=target_profile, official=official, files=_files(session, grant_id),
        spend=_spend(session, grant_id, official), forecast=_forecast(session, grant_id, official, position),
        outputs=_outputs(session, grant_id, official), milestones=_milestones(session, grant_id, official),
        payments=_payments(session, as_of, grant_id), releases=_releases(session, as_of, grant_id),
        due_overrides=due_overrides(session, grant_id),
    )


def _every_column(model: type[Any]) -> AnySelect:
    return select(*inspect(model).columns)


def _plain(session: Session, model: type[Model], statement: AnySelect) -> list[Model]:
    """The model's rows as plain read-only rows of every column, not ORM objects: the same attributes (every
    attribute the checks and reports read of a grant, project or target is a column) for about a tenth of the CPU
    and a third of the memory at national scale. Never added to a session or changed."""
    return cast("list[Model]", session.connection().execute(statement).all())


def _positioned(frame: pd.DataFrame, position: dict[tuple[int, str], int]) -> pd.DataFrame:
    """Add each row's period position (from grant and period label); drop labels that are not periods."""
    keys = zip(frame["grant_id"].tolist(), frame["label"].tolist(), strict=True)  # plain values: far quicker
    frame["position"] = [position.get(k) for k in keys]
    return frame.dropna(subset=["position"])


def _plans(
    session: Session, grant_id: int | None, position: dict[tuple[int, str], int]
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(budget lines, per-period spend profile, cumulative target profile)."""
    line_q = select(
        col(m.BudgetLine.id), col(m.BudgetLine.project_id), col(m.BudgetLine.key), col(m.BudgetLine.name),
        col(m.BudgetLine.amount_pence), col(m.Project.grant_id),
    ).select_from(m.BudgetLine).where(col(m.BudgetLine.active).is_(True))
    lines = _frame(session, _by_grant(line_q, grant_id, m.Project),
                   ["line_id", "project_id", "key", "name", "amount", "grant_id"])
    profile_q = select(
        col(m.BudgetProfile.budget_line_id), col(m.BudgetProfile.period_label), col(m.BudgetProfile.amount_pence),
        col(m.Project.grant_id),
    ).select_from(m.BudgetProfile).join(m.BudgetLine).join(m.Project)
    profile = _frame(session, _by_grant(profile_q, grant_id), ["line_id", "label", "planned", "grant_id"])
    tp_q = select(
        col(m.TargetProfile.target_id), col(m.TargetProfile.period_label), col(m.TargetProfile.cumulative_value),
        col(m.Project.grant_id),
    ).select_from(m.TargetProfile).join(m.Target).join(m.Project)
    target_profile = _frame(session, _by_grant(tp_q, grant_id), ["target_id", "label", "cumulative", "grant_id"])
    return lines, _positioned(profile, position), _positioned(target_profile, position)


def _periods(session: Session, grant_id: int | None) -> pd.DataFrame:
    q = select(
        col(m.ReportingPeriod.grant_id),
        col(m.ReportingPeriod.id),
        col(m.ReportingPeriod.label),
        col(m.ReportingPeriod.start),
        col(m.ReportingPeriod.end),
        col(m.ReportingPeriod.due),
    ).order_by(col(m.ReportingPeriod.grant_id), col(m.ReportingPeriod.start))
    if grant_id is not None:
        q = q.where(col(m.ReportingPeriod.grant_id) == grant_id)
    periods = _frame(session, q, ["grant_id", "period_id", "label", "start", "end", "due"])
    periods["position"] = periods.groupby("grant_id").cumcount()
    return periods


def _official(session: Session, as_of: date, grant_id: int | None, period_pos: dict[int, int]) -> pd.DataFrame:
    """The official return of each project and period as of `as_of`, by the rule of `official_returns` (the last
    counted version received by then), read as plain columns: no Return objects for a national programme."""
    q = select(col(m.Return.id), col(m.Return.project_id), col(m.Return.period_id), col(m.Return.received_at)).where(
        col(m.Return.status).in_(COUNTED)).order_by(col(m.Return.version), col(m.Return.id))
    latest: dict[tuple[int, int], int] = {}
    for return_id, project_id, period_id, received_at in session.connection().execute(_by_grant(q, grant_id,
                                                                                                   m.Project)):
        if received_on(received_at) <= as_of:
            latest[(project_id, period_id)] = return_id
    rows = [(rid, project_id, period_id, period_pos[period_id]) for (project_id, period_id), rid in latest.items()]
    return pd.DataFrame(rows, columns=["return_id", "project_id", "period_id", "position"])


def _files(session: Session, grant_id: int | None) -> dict[tuple[int, int], list[tuple[date, str]]]:
    q = _by_grant(
        select(col(m.Return.project_id), col(m.Return.period_id), col(m.Return.received_at), col(m.Return.status)),
        grant_id,
        m.Project,
    )
    files: dict[tuple[int, int], list[tuple[date, str]]] = defaultdict(list)
    for project_id, period_id, received_at, status in session.execute(q):
        files[(project_id, period_id)].append((received_on(received_at), status))
    return dict(files)


def _official_rows(
    session: Session, statement: AnySelect, columns: list[str], grant_id: int | None, official: pd.DataFrame
) -> pd.DataFrame:
    frame = _frame(session, _by_grant(statement.join(m.Return), grant_id, m.Project), columns)
    return frame.merge(official[["return_id", "project_id", "position"]], on="return_id", how="inner")


def _spend(session: Session, grant_id: int | None, official: pd.DataFrame) -> pd.DataFrame:
    q = select(col(m.ReturnSpend.return_id), col(m.ReturnSpend.budget_line_id), col(m.ReturnSpend.actual_pence))
    return _official_rows(session, q, ["return_id", "line_id", "actual"], grant_id, official)


def _forecast(
    session: Session, grant_id: int | None, official: pd.DataFrame, position: dict[tuple[int, str], int]
) -> pd.DataFrame:
    q = select(
        col(m.ReturnForecast.return_id),
        col(m.ReturnForecast.budget_line_id),
        col(m.ReturnForecast.period_label),
        col(m.ReturnForecast.amount_pence),
        col(m.Project.grant_id),
    ).select_from(m.ReturnForecast)
    frame = _official_rows(session, q, ["return_id", "line_id", "label", "amount", "grant_id"], grant_id, official)
    keys = zip(frame["grant_id"].tolist(), frame["label"].tolist(), strict=True)
    frame["forecast_position"] = [position.get(k, -1) for k in keys]
    return frame


def _outputs(session: Session, grant_id: int | None, official: pd.DataFrame) -> pd.DataFrame:
    q = select(col(m.ReturnOutput.return_id), col(m.ReturnOutput.target_id), col(m.ReturnOutput.achieved))
    return _official_rows(session, q, ["return_id", "target_id", "achieved"], grant_id, official)


def _milestones(session: Session, grant_id: int | None, official: pd.DataFrame) -> pd.DataFrame:
    q = select(
        col(m.ReturnMilestone.return_id),
        col(m.ReturnMilestone.target_id),
        col(m.ReturnMilestone.delivered),
        col(m.ReturnMilestone.delivered_on),
    )
    return _official_rows(session, q, ["return_id", "target_id", "delivered", "delivered_on"], grant_id, official)


def _payments(session: Session, as_of: date, grant_id: int | None) -> pd.DataFrame:
    q = _by_grant(
        select(col(m.Payment.project_id), col(m.Payment.amount_pence), col(m.Payment.paid_on)), grant_id, m.Project
    )
    frame = _frame(session, q.where(col(m.Payment.paid_on) <= as_of), ["project_id", "amount", "paid_on"])
    return frame


def _releases(session: Session, as_of: date, grant_id: int | None) -> pd.DataFrame:
    q = select(col(m.FundsRelease.grant_id), col(m.FundsRelease.amount_pence), col(m.FundsRelease.received_on))
    q = q.where(col(m.FundsRelease.received_on) <= as_of)
    if grant_id is not None:
        q = q.where(col(m.FundsRelease.grant_id) == grant_id)
    return _frame(session, q, ["grant_id", "amount", "received_on"])
