"""Issue 15's monitoring rules as boundary tables: exact comparisons, the first working day overdue, missed targets,
rejected-only returns, milestones judged on the return covering their date, the sustainability mark."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from grants.kernel import models as m
from grants.kernel.db import session_scope
from grants.monitoring.assessment import CheckRun, run_checks
from grants.monitoring.outputs import rate_milestone, rate_target
from grants.monitoring.spend import SpendFigures, rate_spend
from grants.programme.thresholds import MonitoringRules
from tests.factories import add_return, load_example
from tests.scenario import Q1, Q2, Q3, profile, release_and_pay

DEFAULT = MonitoringRules()
G, A, R = m.RAG.green, m.RAG.amber, m.RAG.red


def _check(engine: Engine, day: date) -> CheckRun:
    with session_scope(engine) as session:
        return run_checks(session, day)


def _open(engine: Engine, key: str) -> m.Risk | None:
    with Session(engine) as session:
        return session.exec(select(m.Risk).where(m.Risk.key == key, m.Risk.status == "open")).one_or_none()


@pytest.mark.parametrize(("actual", "rag", "shown"), [
    (900_000, G, "-10.0%"), (899_990, A, "-10.0%"),  # -10.001% rounds to -10.0% but is beyond the green band
    (750_000, A, "-25.0%"), (749_990, R, "-25.0%"),  # -25.001%
])
def test_spend_bands_compare_the_exact_variance_and_round_only_for_display(actual: int, rag: m.RAG,
                                                                          shown: str) -> None:
    figures = SpendFigures(2_000_000, actual, 1_000_000, 2_000_000)
    result, reason = rate_spend(figures, DEFAULT, date(2024, 12, 31), date(2025, 3, 31))
    assert result is rag and f"({shown})" in reason, reason


@pytest.mark.parametrize(("achieved", "rag"), [(2375, G), (2374, A)])  # 2374 of 2500 is 94.96%: shown 95.0%
def test_outputs_bands_compare_the_exact_percentage_of_profile(achieved: int, rag: m.RAG) -> None:
    target = m.Target(id=1, project_id=1, key="people", kind="count", name="People", target_value=5000,
                      due=date(2025, 3, 31), is_condition=False)
    check = rate_target(target, achieved, 2500, date(2024, 4, 1), date(2024, 9, 30), date(2024, 10, 20), DEFAULT)
    assert check.rag is rag and "(95.0%)" in check.reason


@pytest.mark.parametrize(("outturn", "raised"), [(950_000, False), (949_600, True)])  # 5.04% shown as 5.0%
def test_forecast_underspend_over_the_tolerance_compares_the_exact_share(outturn: int, raised: bool) -> None:
    figures = SpendFigures(1_000_000, 500_000, 500_000, outturn)
    assert (figures.underspend_pct > DEFAULT.underspend_tolerance_pct) is raised
    assert "(5.0%) underspend" in rate_spend(figures, DEFAULT, date(2024, 12, 31), date(2025, 3, 31))[1]


@pytest.mark.parametrize(("day", "evidence"), [
    (date(2024, 7, 12), None),  # Fri: the due date
    (date(2024, 7, 13), None),  # Sat: past due but no working day overdue yet
    (date(2024, 7, 14), None),  # Sun
    (date(2024, 7, 15), "2024-25-Q1 return due 12 July 2024: 1 working day overdue"),  # Mon
])
def test_late_return_risk_opens_on_the_first_working_day_overdue(engine: Engine, day: date,
                                                                 evidence: str | None) -> None:
    load_example(engine)
    _check(engine, day)
    risk = _open(engine, "late-return:SVD-2024-25:purple-flag:2024-25-Q1")
    assert (risk.evidence if risk else None) == evidence


@pytest.mark.parametrize(("as_of", "rag", "missed"), [(date(2025, 3, 31), A, False), (date(2025, 4, 1), R, True)])
def test_a_target_whose_date_passed_short_of_target_is_red_missed_without_the_final_return(
        as_of: date, rag: m.RAG, missed: bool) -> None:
    target = m.Target(id=1, project_id=1, key="children", kind="count", name="Children supported", target_value=40,
                      due=date(2025, 3, 31), is_condition=False)
    check = rate_target(target, 27, 30, date(2024, 4, 1), date(2024, 12, 31), as_of, DEFAULT)  # Q3 the last return
    assert (check.rag, check.missed) == (rag, missed)
    assert check.reason.endswith("target missed") is missed


@pytest.mark.parametrize(("day", "kind", "rag"), [
    (date(2024, 7, 12), "rejected-return", "amber"),  # the due date: rejected, not yet resubmitted
    (date(2024, 7, 15), "late-return", "amber"),  # first working day after: overdue like a missing return
    (date(2024, 7, 19), "late-return", "amber"),  # 5 working days
    (date(2024, 7, 22), "late-return", "red"),  # 6 working days: red, as for a lead who sent nothing
])
def test_a_project_with_only_rejected_returns_is_overdue_after_the_due_date(engine: Engine, day: date, kind: str,
                                                                             rag: str) -> None:
    load_example(engine)
    with session_scope(engine) as session:
        add_return(session, "purple-flag", Q1, received=date(2024, 7, 10), status=m.ReturnStatus.rejected)
    _check(engine, day)
    risk = _open(engine, f"{kind}:SVD-2024-25:purple-flag:2024-25-Q1")
    assert risk is not None and risk.rag == rag
    other = "late-return" if kind == "rejected-return" else "rejected-return"
    assert _open(engine, f"{other}:SVD-2024-25:purple-flag:2024-25-Q1") is None


@pytest.mark.parametrize(("q3_return", "day", "overdue"), [
    (False, date(2025, 1, 2), False),  # past the milestone's date, but its quarter's return is not due yet
    (False, date(2025, 1, 15), False),  # the Q3 return's due date
    (False, date(2025, 1, 16), True),  # after it: judged without the return
    (True, date(2025, 1, 10), True),  # the Q3 return is in and does not report it delivered
])
def test_milestone_is_judged_on_the_return_covering_its_date_or_after_that_returns_due_date(
        engine: Engine, q3_return: bool, day: date, overdue: bool) -> None:
    load_example(engine)
    release_and_pay(engine)
    with session_scope(engine) as session:
        for label, received in ((Q1, date(2024, 7, 10)), (Q2, date(2024, 10, 10))):
            add_return(session, "csa-prevention", label, received=received,
                       spend=profile(session, "csa-prevention", label))
        if q3_return:
            add_return(session, "csa-prevention", Q3, received=date(2025, 1, 10),
                       spend=profile(session, "csa-prevention", Q3))
    _check(engine, day)  # "Campaign launched" is due 31 December 2024, in Q3 (return due 15 January 2025)
    assert (_open(engine, "milestone-overdue:SVD-2024-25:csa-prevention:campaign_launched") is not None) is overdue


@pytest.mark.parametrize(("day", "opened"), [(date(2024, 9, 30), False), (date(2024, 10, 1), True)])
def test_no_sustainability_plan_risk_opens_past_half_the_grants_time_not_at_exactly_half(
        engine: Engine, day: date, opened: bool) -> None:
    load_example(engine)  # 1 April 2024 to 31 March 2025: 182 of 364 days gone on 30 September 2024 is exactly 50%
    _check(engine, day)
    risk = _open(engine, "no-sustainability-plan:SVD-2024-25:man-culture:sustainability_plan")
    assert (risk is not None) is opened
    assert risk is None or "50.3% of the non-recurring grant's time gone" in risk.evidence


def test_nothing_reported_with_returns_overdue_is_no_data_yet_not_green(engine: Engine) -> None:
    load_example(engine)
    run = _check(engine, date(2024, 7, 22))  # Q1 due 12 July 2024; nobody has sent anything
    flag = next(r for r in run.ratings if r.name.startswith("Purple Flag"))
    assert (flag.outputs_rag, flag.reasons["outputs"]) == (
        m.RAG.no_data, "No data yet: no outputs reported and 1 return overdue")
    assert (flag.spend_rag, flag.overall_rag) == (m.RAG.amber, m.RAG.red)  # the overdue return still rates
    grant = next(r for r in run.ratings if r.project_id is None)
    assert (grant.outputs_rag, str(grant.spend_rag)) == (m.RAG.no_data, "no data yet")
    early = _check(engine, date(2024, 5, 1))
    assert {r.spend_rag for r in early.ratings} == {m.RAG.no_data}


def test_grant_unspent_money_caps_each_projects_outturn_at_its_allocation_and_shows_overspend_apart() -> None:
    from grants.kernel.models import Grant
    from grants.monitoring.spend import SpendCheck, grant_spend

    def check(allocation: int, outturn: int) -> SpendCheck:
        return SpendCheck(SpendFigures(allocation, 0, 0, outturn), G, "", date(2025, 3, 31))

    grant = Grant(reference="G", name="G", programme="p", funder="f", recipient="r", amount_pence=2_500_000,
                  start=date(2024, 4, 1), end=date(2025, 3, 31), spend_by=date(2025, 3, 31))
    total = grant_spend(grant, [check(1_500_000, 1_950_000), check(1_000_000, 550_000)], DEFAULT)
    assert total is not None
    assert (total.figures.outturn, total.figures.underspend) == (2_050_000, 450_000)  # netted: 2,500,000 and 0
    assert "£4,500.00 (18.0%) unspent at 31 March 2025" in total.reason
    assert total.reason.endswith("forecast overspend £4,500.00 beyond 1 project's allocation, which the grant "
                                 "cannot pay")


def test_a_past_board_pack_shows_the_register_as_it_stood_on_its_date(engine: Engine) -> None:
    from grants.reporting.board_data import build_board_data

    load_example(engine)
    for day in (date(2024, 7, 15), date(2024, 7, 22)):
        _check(engine, day)
    with session_scope(engine) as session:
        add_return(session, "purple-flag", Q1, received=date(2024, 7, 24), spend=profile(session, "purple-flag", Q1))
    _check(engine, date(2024, 7, 25))  # the late return arrived: its risk closed
    key = "late-return:SVD-2024-25:purple-flag:2024-25-Q1"
    assert _open(engine, key) is None
    with session_scope(engine) as session:
        [board] = build_board_data(session, date(2024, 7, 22))
    [row] = [r for r in board.risks if r.title.startswith("Purple Flag") and "2024-25-Q1 return" in r.title]
    assert (row.first_seen, row.last_seen, row.rag) == (date(2024, 7, 15), date(2024, 7, 22), "red")
    assert all(r.first_seen <= date(2024, 7, 22) and r.last_seen <= date(2024, 7, 22) for r in board.risks)
    with Session(engine) as session:  # the live register was not rewound
        risk = session.exec(select(m.Risk).where(m.Risk.key == key)).one()
        assert (risk.status, risk.closed_on) == ("closed", date(2024, 7, 25))
        events = session.exec(select(m.RiskEvent).where(m.RiskEvent.risk_id == risk.id)
                              .order_by(col(m.RiskEvent.id))).all()
        assert [(e.day, e.change) for e in events] == [
            (date(2024, 7, 15), "opened"), (date(2024, 7, 22), "updated"), (date(2024, 7, 25), "closed")]


CONFERENCE = m.Target(id=1, project_id=1, key="conference", kind="milestone", name="City-wide conference delivered",
                      due=date(2025, 3, 31))


@pytest.mark.parametrize(("rule", "delivered", "reported", "as_of", "rag", "reason"), [
    ("not due, no return yet: nothing says it is on track", False, False, date(2024, 9, 1), m.RAG.no_data,
     "City-wide conference delivered: due 31 March 2025; not yet reported (no return received)"),
    ("not due, the project has reported: on its way", False, True, date(2024, 9, 1), G,
     "City-wide conference delivered: due 31 March 2025"),
    ("delivered", True, True, date(2024, 9, 1), G, "City-wide conference delivered: delivered"),
    ("overdue by its date, reported or not", False, False, date(2025, 4, 2), R,
     "City-wide conference delivered: not delivered, due 31 March 2025 (2 days overdue)"),
    ("overdue by its date, reported", False, True, date(2025, 4, 2), R,
     "City-wide conference delivered: not delivered, due 31 March 2025 (2 days overdue)"),
])
def test_a_milestone_is_green_only_on_evidence_before_any_return_it_is_not_yet_reported(
        rule: str, delivered: bool, reported: bool, as_of: date, rag: m.RAG, reason: str) -> None:
    check = rate_milestone(CONFERENCE, None, delivered, as_of, DEFAULT, reported=reported)
    assert (check.rag, check.reason) == (rag, reason), rule
