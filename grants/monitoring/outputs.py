"""Output checks: cumulative achieved vs the cumulative profile per count target, run rates, projected outturn,
and milestones delivered, due and overdue.

The profile is the target's explicit cumulative profile, else a straight line from the start of the delivery
window (the project's start, or the day money first reached the project if later) to the target's due date.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from grants.kernel import models as m
from grants.kernel.dates import short_date
from grants.monitoring.ledger import Ledger, totals
from grants.programme.periods import days_text
from grants.programme.thresholds import MonitoringRules, exact_percent, outputs_rag, shown

QUARTER_MONTHS = Decimal(3)


def months_between(start: date, end: date) -> Decimal:
    """Calendar months from the start of day `start` to the start of day `end` (1 Sep -> 1 Jan is 4)."""
    months = (end.year - start.year) * 12 + end.month - start.month
    days = end.day - start.day
    return Decimal(months) + Decimal(days) / Decimal(calendar.monthrange(start.year, start.month)[1])


def months_through(start: date, end: date) -> Decimal:
    """Months in the window from the first day `start` through the last day `end`, both included."""
    return months_between(start, end + timedelta(days=1))


def _whole(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _rate(value: Decimal) -> str:
    """A monthly rate as officers read it: whole numbers from 10 up, one decimal place below."""
    if value >= 10:
        return str(_whole(value))
    return str(value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class TargetCheck:
    """One count target, rated, with the figures behind it."""

    target_id: int
    key: str
    name: str
    is_condition: bool
    target: int
    due: date
    achieved: int
    expected: int
    pct_of_profile: Decimal | None
    need_per_month: int
    achieved_per_month: int
    projected: int
    rag: m.RAG
    reason: str
    unlikely: bool = False
    missed: bool = False


@dataclass(frozen=True)
class MilestoneCheck:
    """One milestone: delivered (and when), due soon or overdue on `as_of`."""

    target_id: int
    key: str
    name: str
    due: date
    is_condition: bool
    is_sustainability: bool
    delivered_on: date | None
    delivered: bool
    overdue: bool
    due_soon: bool
    rag: m.RAG
    reason: str


def expected_to_date(target: m.Target, profile: dict[int, int], position: int, window: tuple[date, date],
                     period_end: date) -> int:
    """The cumulative count profiled by `period_end` (explicit profile, else a straight line over the window)."""
    if profile:
        earlier = [pos for pos in profile if pos <= position]
        return profile[max(earlier)] if earlier else 0
    start, due = window
    if period_end <= start:
        return 0
    if period_end >= due or due <= start:
        return target.target_value
    return _whole(Decimal(target.target_value) * (period_end - start).days / (due - start).days)


def rate_target(target: m.Target, achieved: int, expected: int, start: date, period_end: date,
                as_of: date, rules: MonitoringRules) -> TargetCheck:
    """Rate one count target from the cumulative count achieved by the end of the last reported period."""
    elapsed = max(months_through(start, period_end), Decimal(0))
    left = max(months_between(period_end, target.due), Decimal(0))
    achieved_rate = achieved / elapsed if elapsed else Decimal(0)
    short = max(target.target_value - achieved, 0)
    need_rate = short / left if left else Decimal(short)
    projected = achieved + _whole(achieved_rate * left)
    pct = exact_percent(achieved, expected) if expected else None
    head = f"{target.name} {achieved} of {expected} profiled by {short_date(period_end)}"
    head += f" ({shown(pct)}%)" if pct is not None else ""
    if achieved >= target.target_value:
        return _target(target, achieved, expected, pct, 0, achieved_rate, projected, m.RAG.green,
                       f"{target.name} {achieved} of {target.target_value}: target met")
    if as_of > target.due:  # the date has passed short of target: missed, whether or not the last return is in
        return _target(target, achieved, expected, pct, 0, achieved_rate, achieved, m.RAG.red,
                       f"{target.name} {achieved} of {target.target_value} by {short_date(target.due)}: target missed",
                       missed=True)
    rates = (f"needs {_rate(need_rate)}/month to reach {target.target_value} by {short_date(target.due)}, "
             f"achieving {_rate(achieved_rate)}/month")
    rag = outputs_rag(pct, rules) if pct is not None else m.RAG.green
    unlikely = target.is_condition and left <= QUARTER_MONTHS and need_rate > rules.unlikely_factor * achieved_rate
    if unlikely:
        rag = m.RAG.red
        rates += f" (projected {projected}: unlikely by the deadline)"
    return _target(target, achieved, expected, pct, need_rate, achieved_rate, projected, rag, f"{head}: {rates}",
                   unlikely=unlikely)


def _target(t: m.Target, achieved: int, expected: int, pct: Decimal | None, need: Decimal | int,
            rate: Decimal, projected: int, rag: m.RAG, reason: str, *, unlikely: bool = False,
            missed: bool = False) -> TargetCheck:
    assert t.id is not None
    return TargetCheck(t.id, t.key, t.name, t.is_condition, t.target_value, t.due, achieved, expected, pct,
                       _whole(Decimal(need)), _whole(rate), projected, rag, reason, unlikely, missed)


def rate_milestone(target: m.Target, delivered_on: date | None, delivered: bool, as_of: date,
                   rules: MonitoringRules, judged: bool | None = None, reported: bool = True) -> MilestoneCheck:
    """Delivered (green), overdue (red: not delivered, past due and `judged`) or still to come: green once the
    project has reported (its return says it is on its way), "no data yet" before its first return (nothing says it
    is on track). `judged` says whether the return covering the due date is in or past its own due date (default:
    yes); an overdue milestone is red by its date, reported or not."""
    assert target.id is not None
    overdue = not delivered and as_of > target.due and (judged is None or judged)
    due_soon = not delivered and not overdue and (target.due - as_of).days <= rules.milestone_due_soon_days
    rag = m.RAG.red if overdue else m.RAG.green if delivered or reported else m.RAG.no_data
    if delivered:
        reason = f"{target.name}: delivered" + (f" {short_date(delivered_on)}" if delivered_on else "")
    elif overdue:
        late = days_text((as_of - target.due).days)
        reason = f"{target.name}: not delivered, due {short_date(target.due)} ({late} overdue)"
    else:
        waiting = "" if reported else "; not yet reported (no return received)"
        reason = f"{target.name}: due {short_date(target.due)}{waiting}"
    return MilestoneCheck(target.id, target.key, target.name, target.due, target.is_condition,
                          target.is_sustainability, delivered_on, delivered, overdue, due_soon, rag, reason)


def output_checks(ledger: Ledger, rules: dict[int, MonitoringRules]
                  ) -> dict[int, tuple[list[TargetCheck], list[MilestoneCheck]]]:
    """{project_id: (count target checks, milestone checks)} as of the ledger's date."""
    projects = {p.id: p for p in ledger.projects}
    reported = ledger.official.groupby("project_id")["position"].max().to_dict()
    achieved = ledger.outputs.groupby("target_id")["achieved"].sum().to_dict()
    profiles: dict[int, dict[int, int]] = {}
    for target_id, pos, cumulative in ledger.target_profile[["target_id", "position", "cumulative"]].itertuples(
            index=False):
        profiles.setdefault(int(target_id), {})[int(pos)] = int(cumulative)
    ends = {(g, p): e for g, p, e in ledger.periods[["grant_id", "position", "end"]].itertuples(index=False)}
    first_paid = {pid: first for pid, (_, first) in totals(ledger.payments, "project_id", "paid_on").items()}
    delivered, spans = _delivered(ledger), _spans(ledger)
    out: dict[int, tuple[list[TargetCheck], list[MilestoneCheck]]] = {}
    for target in ledger.targets:
        project = projects.get(target.project_id)
        if project is None or target.id is None:
            continue
        counts, milestones = out.setdefault(target.project_id, ([], []))
        grant_rules = rules[project.grant_id]
        if target.kind == "milestone":
            day, done = delivered.get(target.id, (None, False))
            judged = _judged(spans, project.grant_id, target.due, reported.get(target.project_id), ledger.as_of)
            milestones.append(rate_milestone(target, day, done, ledger.as_of, grant_rules, judged,
                                             reported=target.project_id in reported))
            continue
        if target.project_id not in reported:
            continue
        position = int(reported[target.project_id])
        period_end = ends[(project.grant_id, position)]
        start = max(project.delivery_start, first_paid.get(target.project_id, project.delivery_start))
        expected = expected_to_date(target, profiles.get(target.id, {}), position, (start, target.due), period_end)
        counts.append(rate_target(target, int(achieved.get(target.id, 0)), expected, start, period_end,
                                  ledger.as_of, grant_rules))
    return out


Spans = dict[int, list[tuple[date, date, int, date]]]


def _spans(ledger: Ledger) -> Spans:
    """{grant_id: [(quarter start, end, position, return due)]}."""
    out: Spans = {}
    for grant_id, start, end, position, due in ledger.periods[
            ["grant_id", "start", "end", "position", "due"]].itertuples(index=False):
        out.setdefault(int(grant_id), []).append((start, end, int(position), due))
    return out


def _judged(spans: Spans, grant_id: int, due: date, reported_to: int | None, as_of: date) -> bool:
    """Whether a milestone due on `due` can be judged: the return for the quarter holding that day (or a later one)
    is in, or that return's own due date has passed. A milestone outside every quarter is judged on its date."""
    for start, end, position, return_due in spans.get(grant_id, []):
        if start <= due <= end:
            return (reported_to is not None and int(reported_to) >= position) or as_of > return_due
    return True


def _delivered(ledger: Ledger) -> dict[int, tuple[date | None, bool]]:
    done = ledger.milestones[ledger.milestones["delivered"].astype(bool)]
    out: dict[int, tuple[date | None, bool]] = {}
    for target_id, day in done[["target_id", "delivered_on"]].itertuples(index=False):
        previous = out.get(int(target_id))
        when = day if isinstance(day, date) else None
        if previous is None or (when is not None and (previous[0] is None or when < previous[0])):
            out[int(target_id)] = (when, True)
    return out
