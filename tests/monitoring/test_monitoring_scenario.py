"""A year of the example programme as an officer would live it: funds released two months late, one project on
track, one behind on outputs, one forecasting a big underspend, one late with its return, one overspending.
Every rating and risk is asserted with its reason."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from grants.kernel import models as m
from grants.kernel.db import session_scope
from grants.monitoring.assessment import CheckRun, Rating, run_checks
from grants.monitoring.risks import risk_register, update_risk
from tests.factories import add_return, load_example
from tests.scenario import ALLOCATIONS, Q3, on_profile, q1_returns, q2_and_q3, release_and_pay


def _check(engine: Engine, day: date) -> CheckRun:
    with session_scope(engine) as session:
        return run_checks(session, day)


def _rating(run: CheckRun, name_start: str) -> Rating:
    [rating] = [r for r in run.ratings if r.name.startswith(name_start)]
    return rating


def _open(engine: Engine) -> dict[str, m.Risk]:
    with Session(engine) as session:
        return {r.key: r for r in session.exec(select(m.Risk).where(m.Risk.status == "open"))}


def _risk(engine: Engine, key: str) -> m.Risk:
    with Session(engine) as session:
        return session.exec(select(m.Risk).where(m.Risk.key == key)).one()


@pytest.fixture
def programme(engine: Engine) -> Engine:
    load_example(engine)
    return engine


def test_conditions_confirmed_late_and_no_money_is_one_late_funds_release_risk_on_the_grant(programme: Engine
                                                                                               ) -> None:
    run = _check(programme, date(2024, 6, 15))
    grant = _risk(programme, "late-funds-release:SVD-2024-25")
    assert (grant.likelihood, grant.impact, grant.score, grant.rag) == (4, 3, 12, "amber")
    assert grant.evidence == (
        "Funds expected 1 May 2024: £0.00 of £125,000.00 received by 15 June 2024 (45 days late; conditions "
        "confirmed 30 May 2024); £125,000.00 outstanding; 8 of 8 projects have received nothing: Purple Flag "
        "night-time economy, Community conversations and co-production, Active Bystander training (Hate, Race, "
        "Domestic Abuse), M.A.N Culture, Impact Project, Speech, language and communication, Preventing child sexual "
        "abuse, Community prevention service feasibility study (phase 2)")
    assert _rating(run, "Serious Violence Duty").reasons["funds"] == grant.evidence.split("; 8 of 8")[0]
    # one cause, one risk: the projects' lack of money is the grant's late release, not a risk of each project's
    assert [k for k in _open(programme) if k.startswith("late-funds-release:")] == ["late-funds-release:SVD-2024-25"]
    bystander = _rating(run, "Active Bystander")  # yet each project's money is still rated, and says why
    assert bystander.figures["rags"]["funds"] == "amber"
    assert bystander.reasons["funds"] == (
        "No payment by 15 June 2024 (45 days after funds were expected 1 May 2024; the council has not received them "
        "yet): £30,000.00 outstanding; 290 of 365 days (79.5%) of the delivery window left")


def test_late_release_risks_close_once_money_arrives_but_the_lateness_stays_on_record(programme: Engine) -> None:
    _check(programme, date(2024, 6, 15))
    release_and_pay(programme)
    with session_scope(programme) as session:
        q1_returns(session)
    run = _check(programme, date(2024, 7, 20))
    closed = _risk(programme, "late-funds-release:SVD-2024-25")
    assert (closed.status, closed.closed_on, closed.first_seen) == ("closed", date(2024, 7, 20), date(2024, 6, 15))
    assert not [k for k in _open(programme) if k.startswith("late-funds-release")]
    assert _rating(run, "Serious Violence Duty").reasons["funds"] == (
        "Funds received 1 July 2024 (61 days late, expected 1 May 2024): £125,000.00 of £125,000.00")
    assert _rating(run, "Active Bystander").reasons["funds"] == (
        "Paid £30,000.00 of £30,000.00, first on 8 July 2024 (68 days after funds were expected); "
        "267 of 365 days (73.2%) of the delivery window left then")
    assert {c.change for c in run.risk_changes} == {"closed"}


def test_before_anything_is_reported_a_rating_is_no_data_yet_not_green(programme: Engine) -> None:
    # 20 April 2024: the funds are not yet due (1 May) and no return is due (12 July): no evidence either way
    run = _check(programme, date(2024, 4, 20))
    projects = [r for r in run.ratings if r.project_id is not None]
    assert len(projects) == 8 and {(r.overall_rag, r.reasons["overall"]) for r in projects} == {
        ("no data yet", "No data yet: no return due yet")}
    grant = _rating(run, "Serious Violence Duty")
    assert (grant.overall_rag, grant.reasons["overall"]) == ("no data yet", "No data yet: no spend reported")
    # the funds now late: that is evidence, and it rates (amber) though nothing is reported yet
    later = _check(programme, date(2024, 6, 15))
    assert _rating(later, "Active Bystander").overall_rag == "amber"
    release_and_pay(programme)
    with session_scope(programme) as session:
        q1_returns(session)
    assert _rating(_check(programme, date(2024, 7, 20)), "Active Bystander").overall_rag == "green"  # on evidence


@pytest.fixture
def year(programme: Engine) -> CheckRun:
    """Checks on 24 January 2025: Q3 returns in (speech and language's is 7 working days overdue)."""
    _check(programme, date(2024, 6, 15))
    release_and_pay(programme)
    with session_scope(programme) as session:
        q1_returns(session)
        q2_and_q3(session)
    return _check(programme, date(2025, 1, 24))


def test_project_on_track_is_green_with_its_figures(year: CheckRun) -> None:
    r = _rating(year, "Active Bystander")
    assert (r.spend_rag, r.outputs_rag, r.overall_rag) == ("green", "green", "green")
    assert r.reasons["spend"] == ("Spent £18,000.00 of £18,000.00 profiled by 31 December 2024 (+0.0%); forecast "
                                  "outturn £30,000.00 of £30,000.00 (lead's forecast): on budget")
    # 250 trained in the 5.8 months since money reached the project on 8 Jul
    assert r.reasons["outputs"] == ("People trained in Active Bystander 250 of 250 profiled by 31 December 2024 "
                                    "(100.0%): needs 83/month to reach 500 by 31 March 2025, achieving 43/month")
    assert r.reasons["milestones"] == "Milestones: 1 delivered, 0 due, 0 overdue"


def test_project_behind_on_outputs_is_red_and_unlikely_to_meet_the_condition(year: CheckRun, programme: Engine
                                                                               ) -> None:
    r = _rating(year, "M.A.N Culture")
    assert (r.spend_rag, r.outputs_rag, r.overall_rag) == ("green", "red", "red")
    reason = ("Workshops delivered across the city 5 of 7 profiled by 31 December 2024 (71.4%): needs 2.3/month to "
              "reach 12 by 31 March 2025, achieving 0.9/month (projected 8: unlikely by the deadline)")
    assert r.reasons["outputs"] == reason
    risk = _risk(programme, "behind-trajectory:SVD-2024-25:man-culture:workshops")
    assert (risk.score, risk.rag, risk.evidence) == (20, "red", reason)
    plan = _risk(programme, "no-sustainability-plan:SVD-2024-25:man-culture:sustainability_plan")
    assert (plan.score, plan.rag, plan.evidence) == (16, "red", (
        "Funding plan for sustainability (with funding bids made) not delivered with 81.9% of the non-recurring "
        "grant's time gone (due 31 March 2025)"))


def test_big_forecast_underspend_of_non_recurring_money_is_red_near_year_end(year: CheckRun, programme: Engine
                                                                            ) -> None:
    r = _rating(year, "Impact Project")
    assert (r.spend_rag, r.overall_rag) == ("red", "red")
    reason = ("Spent £4,500.00 of £12,000.00 profiled by 31 December 2024 (-62.5%); forecast outturn £7,000.00 of "
              "£20,000.00 (lead's forecast): £13,000.00 (65.0%) underspend at 31 March 2025")
    assert r.reasons["spend"] == reason
    risk = _risk(programme, "forecast-underspend:SVD-2024-25:impact-project")
    assert (risk.likelihood, risk.impact, risk.rag, risk.evidence) == (4, 5, "red", reason)


def test_overdue_return_is_red_after_five_working_days(year: CheckRun, programme: Engine) -> None:
    r = _rating(year, "Speech, language")
    assert r.overall_rag == "red"
    assert r.reasons["returns"] == ("Returns: 2 on time, 0 late, 1 outstanding, 0 rejected (2024-25-Q3 due 15 January "
                                    "2025, 7 working days overdue)")
    risk = _risk(programme, "late-return:SVD-2024-25:speech-language:2024-25-Q3")
    assert (risk.score, risk.rag, risk.evidence) == (
        15, "red", "2024-25-Q3 return due 15 January 2025: 7 working days overdue")


def test_overspend_of_the_allocation_is_red(year: CheckRun, programme: Engine) -> None:
    r = _rating(year, "Preventing child sexual abuse")
    reason = "Spent £11,000.00 by 31 December 2024, over the £10,000.00 allocation by £1,000.00"
    assert (r.spend_rag, r.reasons["spend"]) == ("red", reason)
    risk = _risk(programme, "overspend:SVD-2024-25:csa-prevention")
    assert (risk.likelihood, risk.impact, risk.rag, risk.evidence) == (5, 3, "red", reason)


def test_non_recurring_funding_ending_without_sustainability_evidence_is_a_grant_risk(
        year: CheckRun, programme: Engine) -> None:
    risk = _risk(programme, "funding-ends-soon:SVD-2024-25")
    assert (risk.score, risk.rag) == (12, "amber")
    assert risk.evidence.startswith("Non-recurring funding ends 31 March 2025 (66 days); 8 of 8 projects have no "
                                    "sustainability evidence: Purple Flag night-time economy, ")


def test_rerun_for_the_same_date_changes_nothing_and_keeps_owner_and_mitigation(
        year: CheckRun, programme: Engine) -> None:
    key = "overspend:SVD-2024-25:csa-prevention"
    with session_scope(programme) as session:
        update_risk(session, _risk(programme, key).id or 0, mitigation="Virement agreed from Purple Flag",
                    owner="Kit Pascoe", actor="test", now=datetime(2025, 1, 24, tzinfo=UTC))
        before = [r.to_json() for r in risk_register(session, include_closed=True)]
    again = _check(programme, date(2025, 1, 24))
    assert (again.risk_changes, again.assessments_written) == ([], 0)
    with Session(programme) as session:
        assert [r.to_json() for r in risk_register(session, include_closed=True)] == before
        assert len(session.exec(select(m.Assessment).where(m.Assessment.as_of == date(2025, 1, 24))).all()) == 9


def test_late_return_closes_when_it_arrives_and_is_counted_late(year: CheckRun, programme: Engine) -> None:
    with session_scope(programme) as session:
        on_profile(session, "speech-language", Q3, date(2025, 1, 29), {"young_people_supported": 20})
    run = _check(programme, date(2025, 1, 31))
    risk = _risk(programme, "late-return:SVD-2024-25:speech-language:2024-25-Q3")
    assert (risk.status, risk.closed_on) == ("closed", date(2025, 1, 31))
    assert _rating(run, "Speech, language").reasons["returns"] == (
        "Returns: 2 on time, 1 late, 0 outstanding, 0 rejected (2024-25-Q3 received 10 working days late)")
    assert [c.change for c in run.risk_changes if c.key == risk.key] == ["closed"]


def test_rejected_return_is_an_amber_risk_until_the_due_date_then_overdue_like_a_missing_one(
        year: CheckRun, programme: Engine) -> None:
    with session_scope(programme) as session:
        add_return(session, "speech-language", Q3, received=date(2025, 1, 13), status=m.ReturnStatus.rejected,
                   problems_json='[{"code": "spend-missing"}]')
    run = _check(programme, date(2025, 1, 14))
    risk = _risk(programme, "rejected-return:SVD-2024-25:speech-language:2024-25-Q3")
    assert (risk.status, risk.score, risk.rag, risk.evidence) == (
        "open", 8, "amber", "2024-25-Q3 return rejected and not yet resubmitted (due 15 January 2025)")
    assert _rating(run, "Speech, language").reasons["returns"] == (
        "Returns: 2 on time, 0 late, 0 outstanding, 1 rejected (2024-25-Q3 rejected, not yet resubmitted)")
    run = _check(programme, date(2025, 1, 28))  # 9 working days after the due date, still only the rejected one
    assert _risk(programme, risk.key).status == "closed"
    late = _risk(programme, "late-return:SVD-2024-25:speech-language:2024-25-Q3")
    assert (late.status, late.rag, late.evidence) == (
        "open", "red",
        "2024-25-Q3 return due 15 January 2025: 9 working days overdue; only a rejected version received")
    assert _rating(run, "Speech, language").figures["rags"]["returns"] == "red"
    with session_scope(programme) as session:
        on_profile(session, "speech-language", Q3, date(2025, 1, 29), {"young_people_supported": 20})
    _check(programme, date(2025, 1, 31))
    assert _risk(programme, late.key).status == "closed"


def test_year_end_check_when_every_project_has_reported_every_quarter_rates_the_outturn_as_the_actual_spend(
        programme: Engine) -> None:
    release_and_pay(programme)
    with session_scope(programme) as session:
        q1_returns(session)
        for label, received in (("2024-25-Q2", date(2024, 10, 10)), ("2024-25-Q3", date(2025, 1, 10)),
                                ("2024-25-Q4", date(2025, 4, 8))):
            for code in ALLOCATIONS:
                on_profile(session, code, label, received, {})
    run = _check(programme, date(2025, 4, 30))  # nothing left to forecast anywhere: no profile rows remain
    r = _rating(run, "M.A.N Culture")
    assert r.reasons["spend"] == ("Spent £15,000.00 of £15,000.00 profiled by 31 March 2025 (+0.0%); forecast outturn "
                                  "£15,000.00 of £15,000.00 (run rate): on budget")
