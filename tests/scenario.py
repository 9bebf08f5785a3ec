"""A year of the example programme as officers live it (shared by the monitoring and board-report tests): funds
released two months late, then paid; Q1 returns from everyone; Q2 and Q3 returns with one project on track, one
behind on outputs, one forecasting a big underspend, one late with its Q3 return and one overspending."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from grants.kernel import models as m
from grants.kernel.db import session_scope
from grants.monitoring.assessment import run_checks
from grants.monitoring.funds import record_payment, record_release
from tests.factories import add_return

Q1, Q2, Q3 = "2024-25-Q1", "2024-25-Q2", "2024-25-Q3"
RECORDED = datetime(2024, 7, 1, 12, tzinfo=UTC)
ALLOCATIONS = {"purple-flag": "12000", "community-coproduction": "15000", "active-bystander": "30000",
               "man-culture": "15000", "impact-project": "20000", "speech-language": "13000",
               "csa-prevention": "10000", "prevention-feasibility": "10000"}


def profile(session: Session, code: str, label: str) -> dict[str, int]:
    """Spend exactly as profiled for a project's period (pence per budget line key)."""
    rows = session.exec(select(m.BudgetLine.key, m.BudgetProfile.amount_pence).join(m.BudgetProfile)
                        .join(m.Project).where(m.Project.code == code, m.BudgetProfile.period_label == label))
    return dict(rows.all())


def forecast(session: Session, code: str, labels: list[str]) -> dict[tuple[str, str], int]:
    return {(key, label): pence for label in labels for key, pence in profile(session, code, label).items()}


def q1_returns(session: Session) -> None:
    for code in ALLOCATIONS:
        add_return(session, code, Q1, received=date(2024, 7, 10), spend=dict.fromkeys(profile(session, code, Q1), 0))


def on_profile(session: Session, code: str, label: str, received: date, outputs: dict[str, int],
                milestones: dict[str, date | None] | None = None) -> None:
    later = ["2024-25-Q3", "2024-25-Q4"] if label == Q2 else ["2024-25-Q4"]
    add_return(session, code, label, received=received, spend=profile(session, code, label),
               forecast=forecast(session, code, later), outputs=outputs, milestones=milestones)


def q2_and_q3(session: Session) -> None:
    oct10, jan10 = date(2024, 10, 10), date(2025, 1, 10)
    on_profile(session, "active-bystander", Q2, oct10, {"people_trained": 50, "schools_engaged": 1})
    on_profile(session, "active-bystander", Q3, jan10,
                {"people_trained": 200, "trainers_trained": 8, "schools_engaged": 1},
                {"training_package": date(2024, 10, 20)})
    on_profile(session, "man-culture", Q2, oct10, {"workshops": 3})
    on_profile(session, "man-culture", Q3, jan10, {"workshops": 2})
    add_return(session, "impact-project", Q2, received=oct10, spend={"practitioners": 150000, "activities": 50000},
               outputs={"children_supported": 12})
    add_return(session, "impact-project", Q3, received=jan10, spend={"practitioners": 200000, "activities": 50000},
               forecast={("practitioners", "2024-25-Q4"): 200000, ("activities", "2024-25-Q4"): 50000},
               outputs={"children_supported": 15})
    on_profile(session, "speech-language", Q2, oct10, {"young_people_supported": 20})
    add_return(session, "csa-prevention", Q2, received=oct10, spend={"campaign": 300000, "training": 100000},
               outputs={"practitioners_trained": 30}, milestones={"campaign_launched": date(2024, 9, 15)})
    add_return(session, "csa-prevention", Q3, received=jan10, spend={"campaign": 500000, "training": 200000},
               outputs={"practitioners_trained": 40})
    on_profile(session, "purple-flag", Q2, oct10, {"nte_staff_trained": 60})
    on_profile(session, "purple-flag", Q3, jan10, {"nte_staff_trained": 60})
    on_profile(session, "community-coproduction", Q2, oct10, {"conversations_held": 10, "residents_engaged": 100})
    on_profile(session, "community-coproduction", Q3, jan10, {"conversations_held": 5, "residents_engaged": 60})
    on_profile(session, "prevention-feasibility", Q2, oct10, {})
    on_profile(session, "prevention-feasibility", Q3, jan10, {})


def release_and_pay(engine: Engine) -> None:
    with session_scope(engine) as session:
        record_release(session, "SVD-2024-25", "125000", date(2024, 7, 1), RECORDED, actor="test")
        for code, amount in ALLOCATIONS.items():
            record_payment(session, code, amount, date(2024, 7, 8), RECORDED, actor="test", reference=f"PO-{code}")


def live_until_q3(engine: Engine) -> None:
    """The year up to late January 2025: a check on 15 June 2024 (funds late), the money released and paid in July,
    then every return of Q1 to Q3 (speech and language's Q3 return not in)."""
    with session_scope(engine) as session:
        run_checks(session, date(2024, 6, 15))
    release_and_pay(engine)
    with session_scope(engine) as session:
        q1_returns(session)
        q2_and_q3(session)

