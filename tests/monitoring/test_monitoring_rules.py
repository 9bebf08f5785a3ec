"""Monitoring rules as tables: RAG bands at and either side of each threshold, risk scoring, run rates."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from pydantic import ValidationError
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from grants.kernel import models as m
from grants.monitoring import scoring
from grants.monitoring.outputs import expected_to_date, months_between, rate_target
from grants.monitoring.risks import RiskChange
from grants.monitoring.spend import SpendFigures, rate_spend
from grants.programme.config import Grant
from grants.programme.thresholds import MonitoringRules, outputs_rag, risk_rag, rules_from_json, spend_rag
from tests.factories import load_example

DEFAULT = MonitoringRules()
TIGHT = MonitoringRules(spend_green_pct=Decimal(5), spend_red_pct=Decimal(15), outputs_green_pct=Decimal(90),
                        outputs_red_pct=Decimal(60), risk_green_max=4, risk_amber_max=10)
G, A, R = m.RAG.green, m.RAG.amber, m.RAG.red


@pytest.mark.parametrize(("variance", "rag"), [
    ("-25.1", R), ("-25", A), ("-10.1", A), ("-10", G), ("0", G), ("10", G), ("10.1", A), ("25", A), ("25.1", R),
])
def test_spend_within_10_percent_is_green_10_to_25_amber_over_25_red(variance: str, rag: m.RAG) -> None:
    assert spend_rag(Decimal(variance), DEFAULT) is rag


@pytest.mark.parametrize(("variance", "rag"), [("5", G), ("5.1", A), ("-15", A), ("-15.1", R)])
def test_spend_bands_follow_the_grants_own_thresholds(variance: str, rag: m.RAG) -> None:
    assert spend_rag(Decimal(variance), TIGHT) is rag


@pytest.mark.parametrize(("pct", "rules", "rag"), [
    ("100", DEFAULT, G), ("95", DEFAULT, G), ("94.9", DEFAULT, A), ("75", DEFAULT, A), ("74.9", DEFAULT, R),
    ("90", TIGHT, G), ("89.9", TIGHT, A), ("60", TIGHT, A), ("59.9", TIGHT, R),
])
def test_outputs_at_95_percent_of_profile_green_75_amber_below_red(pct: str, rules: MonitoringRules,
                                                                    rag: m.RAG) -> None:
    assert outputs_rag(Decimal(pct), rules) is rag


@pytest.mark.parametrize(("score", "rules", "rag"), [
    (1, DEFAULT, G), (6, DEFAULT, G), (8, DEFAULT, A), (12, DEFAULT, A), (15, DEFAULT, R), (25, DEFAULT, R),
    (4, TIGHT, G), (5, TIGHT, A), (10, TIGHT, A), (12, TIGHT, R),
])
def test_risk_score_bands(score: int, rules: MonitoringRules, rag: m.RAG) -> None:
    assert risk_rag(score, rules) is rag


@pytest.mark.parametrize(("actual", "outturn", "rag", "reason_start"), [
    (1_000_000, 1_000_000, G, "Spent £10,000.00 of £10,000.00 profiled"),
    (1_000_001, 1_000_001, R, "Spent £10,000.01 by 31 December 2024, over the £10,000.00 allocation by £0.01"),
    (500_000, 1_000_100, R, "Spent £5,000.00 of £5,000.00 profiled"),
])
def test_any_overspend_of_the_allocation_is_red(actual: int, outturn: int, rag: m.RAG, reason_start: str) -> None:
    profile = actual if actual <= 1_000_000 else 1_000_000
    figures = SpendFigures(1_000_000, actual, profile, outturn)
    result, reason = rate_spend(figures, DEFAULT, date(2024, 12, 31), date(2025, 3, 31))
    assert (result, reason.startswith(reason_start)) == (rag, True), reason


@pytest.mark.parametrize(("outturn", "rag"), [(900_000, G), (899_000, A), (750_000, A), (749_000, R)])
def test_forecast_underspend_is_rated_with_the_spend_bands_on_the_1dp_percentage(outturn: int, rag: m.RAG) -> None:
    figures = SpendFigures(1_000_000, 500_000, 500_000, outturn, "lead's forecast")
    assert rate_spend(figures, DEFAULT, date(2024, 12, 31), date(2025, 3, 31))[0] is rag


def test_nothing_profiled_but_money_spent_is_amber() -> None:
    rag, reason = rate_spend(SpendFigures(100_000, 5_000, 0, 100_000), DEFAULT, date(2024, 6, 30), date(2025, 3, 31))
    assert (rag, reason.split(";")[0]) == (A, "Spent £50.00 with nothing profiled by 30 June 2024")


@pytest.mark.parametrize(("days_late", "window_left", "score"), [
    (30, "75", (3, 3)), (31, "75", (4, 3)), (60, "74.9", (4, 4)), (61, "50", (5, 4)), (61, "49.9", (5, 5)),
])
def test_late_funds_risk_grows_with_days_late_and_lost_delivery_time(days_late: int, window_left: str,
                                                                      score: tuple[int, int]) -> None:
    assert scoring.late_release(days_late, Decimal(window_left)) == score


@pytest.mark.parametrize(("underspend", "time_left", "recurring", "score"), [
    ("10", "0.51", False, (2, 2)), ("10.1", "0.5", False, (3, 3)), ("25", "0.26", False, (3, 3)),
    ("25.1", "0.25", False, (4, 4)), ("50", "0.01", False, (4, 4)), ("50.1", "0", False, (5, 5)),
    ("50.1", "0", True, (2, 5)),
])
def test_underspend_of_non_recurring_money_grows_as_the_spend_by_date_nears(
        underspend: str, time_left: str, recurring: bool, score: tuple[int, int]) -> None:
    assert scoring.forecast_underspend(Decimal(underspend), Decimal(time_left), recurring) == score


@pytest.mark.parametrize(("working_days", "score"), [(1, 10), (5, 10), (6, 15)])
def test_overdue_return_is_amber_then_red_after_five_working_days(working_days: int, score: int) -> None:
    likelihood, impact = scoring.late_return(working_days, DEFAULT.return_red_working_days)
    assert likelihood * impact == score


@pytest.mark.parametrize(("elapsed", "score"), [("50", 12), ("74.9", 12), ("75", 16)])
def test_missing_sustainability_plan_is_amber_from_mid_year_red_in_the_last_quarter(elapsed: str,
                                                                                   score: int) -> None:
    likelihood, impact = scoring.no_sustainability_plan(Decimal(elapsed))
    assert likelihood * impact == score


@pytest.mark.parametrize(("start", "end", "months"), [
    (date(2025, 1, 1), date(2025, 4, 1), "3"), (date(2024, 9, 1), date(2025, 1, 1), "4"),
    (date(2025, 2, 1), date(2025, 2, 15), "0.5"),
])
def test_months_between_counts_calendar_months(start: date, end: date, months: str) -> None:
    assert months_between(start, end) == Decimal(months)


def _target(value: int = 500, condition: bool = True) -> m.Target:
    return m.Target(id=1, project_id=1, key="people_trained", kind="count", name="People trained",
                    target_value=value, due=date(2025, 3, 31), is_condition=condition)


def test_default_profile_is_a_straight_line_from_when_money_reached_the_project() -> None:
    window = (date(2024, 7, 1), date(2025, 3, 31))
    assert expected_to_date(_target(), {}, 2, window, date(2024, 12, 31)) == 335  # 500 x 183 / 273 days
    assert expected_to_date(_target(), {}, 0, window, date(2024, 6, 30)) == 0
    assert expected_to_date(_target(), {1: 50, 2: 250}, 2, window, date(2024, 12, 31)) == 250


@pytest.mark.parametrize(("achieved", "rag"), [(238, G), (237, A), (188, A), (187, R)])
def test_target_rating_walks_the_output_bands(achieved: int, rag: m.RAG) -> None:
    check = rate_target(_target(condition=False), achieved, 250, date(2024, 9, 1), date(2024, 12, 31),
                        date(2025, 1, 20), DEFAULT)
    assert check.rag is rag


def test_reason_names_the_trajectory_in_words_and_numbers() -> None:
    check = rate_target(_target(condition=False), 180, 250, date(2024, 9, 1), date(2024, 12, 31),
                        date(2025, 1, 20), DEFAULT)
    assert check.reason == ("People trained 180 of 250 profiled by 31 December 2024 (72.0%): needs 107/month to "
                            "reach 500 by 31 March 2025, achieving 45/month")


@pytest.mark.parametrize(("achieved", "unlikely"), [(200, False), (199, True)])
def test_condition_needing_over_twice_its_rate_in_the_last_quarter_is_unlikely(achieved: int,
                                                                                unlikely: bool) -> None:
    # 4 months elapsed and 3 left: needs (500 - C)/3 against C/4 achieved; 2x boundary at C = 200
    check = rate_target(_target(), achieved, achieved, date(2024, 9, 1), date(2024, 12, 31), date(2025, 1, 20),
                        DEFAULT)
    assert (check.unlikely, check.rag is R) == (unlikely, unlikely)


def test_monitoring_block_rejects_unknown_keys_and_bands_out_of_order() -> None:
    with pytest.raises(ValidationError, match="extra"):
        MonitoringRules.model_validate({"spend_green": 5})
    with pytest.raises(ValidationError, match="spend_green_pct must not exceed spend_red_pct"):
        MonitoringRules(spend_green_pct=Decimal(30))
    assert Grant.model_fields["monitoring"].default_factory is MonitoringRules


def test_monitoring_block_is_stored_on_the_grant_and_read_back(engine: Engine) -> None:
    load_example(engine)
    with Session(engine) as session:
        grant = session.exec(select(m.Grant)).one()
    assert json.loads(grant.rules_json)["monitoring"]["spend_green_pct"] == "10"
    assert rules_from_json(grant.rules_json) == DEFAULT
    assert rules_from_json('{"monitoring": {"outputs_red_pct": 60}}').outputs_red_pct == 60


@pytest.mark.parametrize(("change", "old_rag", "old_score", "new_rag", "new_score", "escalated"), [
    ("opened", None, None, "red", 15, True),
    ("opened", None, None, "amber", 12, False),
    ("updated", "amber", 12, "red", 15, True),
    ("updated", "red", 15, "red", 16, False),
    ("updated", "red", 16, "red", 20, True),
    ("updated", "green", 4, "amber", 8, True),
    ("updated", "green", 4, "amber", 6, False),
    ("reopened", "red", 15, "red", 15, True),
    ("closed", "amber", 12, "amber", 12, False),
])
def test_risk_changes_worth_an_alert_are_newly_red_or_up_by_four(
        change: str, old_rag: str | None, old_score: int | None, new_rag: str, new_score: int,
        escalated: bool) -> None:
    assert RiskChange(1, "k", "overspend", change, old_rag, new_rag, old_score, new_score, "").escalated is escalated
