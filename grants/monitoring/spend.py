"""Spend checks: cumulative actual vs cumulative profile, overspend of the allocation and forecast outturn.

Per budget line and per project, up to the last period the project has an official return for. Forecast outturn =
actual to date + the lead's forecast for the remaining quarters (from the latest return), falling back to the run
rate (actual per active quarter so far) for quarters the lead did not forecast. Money is integer pence throughout.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import pandas as pd

from grants.kernel import models as m
from grants.kernel.dates import short_date
from grants.kernel.money import format_gbp
from grants.monitoring.ledger import Ledger, rows
from grants.programme.thresholds import MonitoringRules, exact_percent, shown, spend_rag, worst


@dataclass(frozen=True)
class SpendFigures:
    """Spend of one budget line, one project or one grant (pence)."""

    allocation: int
    actual: int
    profile: int
    outturn: int
    basis: str = "run rate"
    """How the outturn was forecast: "lead's forecast", "run rate" or "profile" (nothing spent or due yet)."""

    @property
    def variance(self) -> int:
        return self.actual - self.profile

    @property
    def variance_pct(self) -> Decimal | None:
        """The variance as an exact % of profile (thresholds compare this; reasons show it rounded)."""
        return exact_percent(self.variance, self.profile) if self.profile else None

    @property
    def underspend(self) -> int:
        """Forecast underspend at the spend-by date (negative = forecast overspend)."""
        return self.allocation - self.outturn

    @property
    def underspend_pct(self) -> Decimal:
        """The forecast underspend as an exact % of the allocation (rounded only when shown)."""
        return exact_percent(self.underspend, self.allocation) if self.allocation else Decimal(0)


@dataclass(frozen=True)
class SpendCheck:
    """A rated spend position with its one-line reason."""

    figures: SpendFigures
    rag: m.RAG
    reason: str
    reported_to: date | None
    lines: dict[str, SpendCheck] = field(default_factory=dict)


def rate_spend(
    f: SpendFigures, rules: MonitoringRules, reported_to: date, spend_by: date, what: str = "Spent"
) -> tuple[m.RAG, str]:
    """RAG and reason for spend to date vs profile and forecast outturn vs allocation."""
    if f.actual > f.allocation:
        return m.RAG.red, (
            f"{what} {format_gbp(f.actual, pence=True)} by {short_date(reported_to)}, over the "
            f"{format_gbp(f.allocation, pence=True)} allocation by "
            f"{format_gbp(f.actual - f.allocation, pence=True)}"
        )
    if f.profile:
        pct = f.variance_pct if f.variance_pct is not None else Decimal(0)
        to_date = spend_rag(pct, rules)
        part = (
            f"{what} {format_gbp(f.actual, pence=True)} of {format_gbp(f.profile, pence=True)} profiled by "
            f"{short_date(reported_to)} ({shown(pct):+}%)"
        )
    else:
        to_date = m.RAG.amber if f.actual else m.RAG.green
        part = f"{what} {format_gbp(f.actual, pence=True)} with nothing profiled by {short_date(reported_to)}"
    source = f.basis
    outturn = f"forecast outturn {format_gbp(f.outturn, pence=True)} of {format_gbp(f.allocation, pence=True)}"
    if f.underspend < 0:
        return m.RAG.red, f"{part}; {outturn} ({source}): overspend of {format_gbp(-f.underspend, pence=True)}"
    forecast_rag = spend_rag(f.underspend_pct, rules)
    detail = (
        f"{format_gbp(f.underspend, pence=True)} ({shown(f.underspend_pct)}%) underspend at {short_date(spend_by)}"
        if f.underspend
        else "on budget"
    )
    return worst(to_date, forecast_rag), f"{part}; {outturn} ({source}): {detail}"


LEAD = "lead's forecast"


def _basis(lead_forecast: bool, started: bool) -> str:
    return LEAD if lead_forecast else "run rate" if started else "profile"


def line_frame(ledger: Ledger) -> pd.DataFrame:
    """One row per active budget line: allocation, actual and profile to date, forecast outturn (pence)."""
    official = ledger.official
    reported = official.groupby("project_id")["position"].max()
    lines = ledger.lines.copy()
    lines["reported_to"] = lines["project_id"].map(reported)
    lines["actual"] = lines["line_id"].map(ledger.spend.groupby("line_id")["actual"].sum()).fillna(0).astype("int64")
    prof = ledger.profile.merge(lines[["line_id", "reported_to"]], on="line_id")
    prof = prof[prof["position"] <= prof["reported_to"]]
    lines["profile"] = lines["line_id"].map(prof.groupby("line_id")["planned"].sum()).fillna(0).astype("int64")
    active = pd.concat(
        [
            prof.loc[prof["planned"] > 0, ["line_id", "position"]],
            ledger.spend.loc[ledger.spend["actual"] > 0, ["line_id", "position"]],
        ]
    ).drop_duplicates()
    lines["active"] = lines["line_id"].map(active.groupby("line_id").size()).fillna(0).astype("int64").clip(lower=1)
    latest = (
        official.loc[official.groupby("project_id")["position"].idxmax(), ["return_id", "position"]]
        if len(official)
        else official[["return_id", "position"]]
    )
    fc = ledger.forecast.merge(latest[["return_id"]], on="return_id")
    fc = fc[fc["forecast_position"] > fc["position"]].drop_duplicates(["line_id", "forecast_position"])
    lines["forecast"] = lines["line_id"].map(fc.groupby("line_id")["amount"].sum()).fillna(0).astype("int64")
    lines["forecast_n"] = lines["line_id"].map(fc.groupby("line_id").size()).fillna(0).astype("int64")
    n_periods = ledger.periods.groupby("grant_id").size()
    remaining = (lines["grant_id"].map(n_periods) - 1 - lines["reported_to"].fillna(-1)).clip(lower=0)
    missing = (remaining.astype("int64") - lines["forecast_n"]).clip(lower=0)
    lines["run_rate_fill"] = lines["actual"] * missing // lines["active"]
    rest = ledger.profile.merge(lines[["line_id", "reported_to"]], on="line_id")
    rest = rest[rest["position"] > rest["reported_to"].fillna(-1)]
    forecast_keys = set(zip(fc["line_id"], fc["forecast_position"], strict=True))
    unforecast = [k not in forecast_keys for k in zip(rest["line_id"], rest["position"], strict=True)]
    rest = rest.loc[pd.Series(unforecast, index=rest.index, dtype=bool)]  # a plain empty list would pick columns
    lines["plan_fill"] = lines["line_id"].map(rest.groupby("line_id")["planned"].sum()).fillna(0).astype("int64")
    lines["started"] = (lines["actual"] > 0) | (lines["profile"] > 0)
    lines["fill"] = lines["run_rate_fill"].where(lines["started"], lines["plan_fill"])
    lines["outturn"] = lines["actual"] + lines["forecast"] + lines["fill"]
    return lines


def spend_checks(ledger: Ledger, rules: dict[int, MonitoringRules]) -> dict[int, SpendCheck]:
    """{project_id: SpendCheck} for every project with at least one official return."""
    lines = line_frame(ledger)
    period_end = {(g, p): end for g, p, end in ledger.periods[["grant_id", "position", "end"]].itertuples(index=False)}
    grants = {g.id: g for g in ledger.grants}
    by_project: dict[int, list[tuple[Any, ...]]] = {}
    columns = ("project_id", "grant_id", "reported_to", "key", "name", "amount", "actual", "profile", "outturn",
               "forecast_n", "started")
    for row in rows(lines[lines["reported_to"].notna()], *columns):
        by_project.setdefault(int(row[0]), []).append(row)
    return {project_id: _project_spend(group, grants, period_end, rules) for project_id, group in by_project.items()}


def _project_spend(group: list[tuple[Any, ...]], grants: dict[int | None, m.Grant],
                   period_end: dict[tuple[int, int], date], rules: dict[int, MonitoringRules]) -> SpendCheck:
    grant = grants[int(group[0][1])]
    assert grant.id is not None
    reported_to = period_end[(grant.id, int(group[0][2]))]
    checks = {}
    for _, _, _, key, name, amount, actual, profile, outturn, forecast_n, started in group:
        figures = SpendFigures(int(amount), int(actual), int(profile), int(outturn), _basis(forecast_n, started))
        rag, reason = rate_spend(figures, rules[grant.id], reported_to, grant.spend_by, f"{name}: spent")
        checks[str(key)] = SpendCheck(figures, rag, reason, reported_to)
    parts = list(checks.values())
    total = SpendFigures(
        sum(c.figures.allocation for c in parts), sum(c.figures.actual for c in parts),
        sum(c.figures.profile for c in parts), sum(c.figures.outturn for c in parts),
        _basis(any(c.figures.basis == LEAD for c in parts), any(c.figures.basis != "profile" for c in parts)),
    )
    rag, reason = rate_spend(total, rules[grant.id], reported_to, grant.spend_by)
    return SpendCheck(total, rag, reason, reported_to, checks)


def grant_spend(grant: m.Grant, checks: list[SpendCheck], rules: MonitoringRules) -> SpendCheck | None:
    """The grant's spend: the sum over its projects that have reported (None when none has).

    The grant's forecast outturn counts each project's forecast capped at its allocation: an overspend beyond a
    project's allocation cannot be paid from the grant, so it never nets off another project's underspend. The
    unspent money is the allocations less that outturn; the overspend beyond allocations is shown separately."""
    if not checks:
        return None
    over = sum(max(c.figures.outturn - c.figures.allocation, 0) for c in checks)
    total = SpendFigures(
        sum(c.figures.allocation for c in checks),
        sum(c.figures.actual for c in checks),
        sum(c.figures.profile for c in checks),
        sum(min(c.figures.outturn, c.figures.allocation) for c in checks),
        _basis(any(c.figures.basis == LEAD for c in checks), any(c.figures.basis != "profile" for c in checks)),
    )
    reported_to = max(c.reported_to for c in checks if c.reported_to)
    rag, reason = rate_spend(total, rules, reported_to, grant.spend_by, f"{len(checks)} projects spent")
    reason = reason.replace(") underspend at", ") unspent at")
    if over:
        overspent = sum(c.figures.outturn > c.figures.allocation for c in checks)
        whose = "1 project's allocation" if overspent == 1 else f"{overspent} projects' allocations"
        reason += f"; forecast overspend {format_gbp(over, pence=True)} beyond {whose}, which the grant cannot pay"
    return SpendCheck(total, rag, reason, reported_to)
