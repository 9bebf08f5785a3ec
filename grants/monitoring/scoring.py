"""Risk scoring: likelihood and impact (1-5 each) for every kind of risk the checks raise.

Score = likelihood x impact (1-25), banded by the grant's MonitoringRules (default 1-6 green, 8-12 amber,
15-25 red). Each function is a small table so the rule tests can walk its boundaries.
"""

from __future__ import annotations

from decimal import Decimal

from grants.kernel import models as m


def late_release(days_late: int, window_left_pct: Decimal) -> tuple[int, int]:
    """Funds (to the grant or a project) late: likelier the later they are; worse the less delivery time is left."""
    likelihood = 3 if days_late <= 30 else 4 if days_late <= 60 else 5
    impact = 3 if window_left_pct >= 75 else 4 if window_left_pct >= 50 else 5
    return likelihood, impact


def forecast_underspend(underspend_pct: Decimal, time_left: Decimal, recurring: bool) -> tuple[int, int]:
    """Non-recurring money is lost if unspent: the risk grows as the spend-by date nears (time_left is 0..1)."""
    if recurring:
        likelihood = 2
    else:
        likelihood = 2 if time_left > Decimal("0.5") else 3 if time_left > Decimal("0.25") else 4 if time_left else 5
    impact = 2 if underspend_pct <= 10 else 3 if underspend_pct <= 25 else 4 if underspend_pct <= 50 else 5
    return likelihood, impact


def overspend(already_spent: bool, over_pct: Decimal) -> tuple[int, int]:
    """Spend (or forecast) beyond the allocation: the grant is a maximum sum, no more will come."""
    impact = 2 if over_pct <= 5 else 3 if over_pct <= 10 else 4
    return (5 if already_spent else 3), impact


def behind_trajectory(rag: m.RAG, unlikely: bool, missed: bool, is_condition: bool) -> tuple[int, int]:
    """Outputs behind profile: likelier the further behind; a condition of the grant has the higher impact."""
    likelihood = 5 if (missed or unlikely) else 4 if rag is m.RAG.red else 3
    return likelihood, (4 if is_condition else 3)


def milestone_overdue(is_condition: bool) -> tuple[int, int]:
    """A milestone past its due date and not delivered has happened: likelihood 5."""
    return 5, (4 if is_condition else 3)


def late_return(working_days_late: int, red_after: int) -> tuple[int, int]:
    """An overdue return: amber (10) up to `red_after` working days late, red (15) after."""
    return 5, (2 if working_days_late <= red_after else 3)


def rejected_return() -> tuple[int, int]:
    """A rejected return not yet resubmitted: amber (8)."""
    return 4, 2


def no_sustainability_plan(elapsed_pct: Decimal) -> tuple[int, int]:
    """A sustainability plan still not delivered: amber from mid-year, red in the last quarter."""
    return (3 if elapsed_pct < 75 else 4), 4


def funding_ends_soon(days_left: int) -> tuple[int, int]:
    """Non-recurring money about to end with projects lacking sustainability evidence."""
    return (5 if days_left <= 30 else 4), 3
