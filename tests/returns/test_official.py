"""The official return for a project and period: the latest accepted version received by the date asked about."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from grants.kernel import models as m
from grants.kernel.db import session_scope
from grants.returns.official import Figures, official_figures, official_return_ids, official_returns
from tests.factories import add_return, load_example


def test_latest_accepted_version_is_official_and_earlier_one_was_until_then(engine: Engine) -> None:
    load_example(engine)
    with session_scope(engine) as session:
        first = add_return(session, "man-culture", "2024-25-Q2", received=date(2024, 10, 10))
        rejected = add_return(session, "man-culture", "2024-25-Q2", received=date(2024, 10, 11),
                              status=m.ReturnStatus.rejected)
        second = add_return(session, "man-culture", "2024-25-Q2", received=date(2024, 10, 20))
        assert first.status == m.ReturnStatus.superseded
        key = (second.project_id, second.period_id)
        assert official_returns(session, date(2024, 10, 9)) == {}
        assert official_returns(session, date(2024, 10, 15))[key].id == first.id
        assert official_returns(session, date(2024, 10, 20))[key].id == second.id
        assert rejected.id not in {r.id for r in official_returns(session, date(2025, 1, 1)).values()}


def test_official_returns_filter_by_project(engine: Engine) -> None:
    load_example(engine)
    with session_scope(engine) as session:
        a = add_return(session, "man-culture", "2024-25-Q2", received=date(2024, 10, 10))
        add_return(session, "purple-flag", "2024-25-Q2", received=date(2024, 10, 10))
        only = official_returns(session, date(2024, 12, 1), project_id=a.project_id)
        assert [r.id for r in only.values()] == [a.id]


def test_official_figures_are_the_official_versions_lines_for_the_periods_asked(engine: Engine) -> None:
    load_example(engine)
    with session_scope(engine) as session:
        q1 = add_return(session, "active-bystander", "2024-25-Q1", received=date(2024, 7, 10),
                        spend={"design": 100}, outputs={"people_trained": 5})
        add_return(session, "active-bystander", "2024-25-Q1", received=date(2024, 7, 20),
                   spend={"design": 250, "delivery": 40}, outputs={"people_trained": 7})
        add_return(session, "active-bystander", "2024-25-Q1", received=date(2024, 7, 25),
                   status=m.ReturnStatus.rejected, spend={})
        q2 = add_return(session, "active-bystander", "2024-25-Q2", received=date(2024, 10, 10), spend={"design": 9})
        lines = {b.key: b.id for b in session.exec(
            select(m.BudgetLine).where(m.BudgetLine.project_id == q1.project_id))}
        target = session.exec(select(m.Target.id).where(m.Target.project_id == q1.project_id,
                                                        m.Target.key == "people_trained")).one()

        early = official_figures(session, date(2024, 7, 15), q1.project_id)
        later = official_figures(session, date(2024, 12, 1), q1.project_id, [q1.period_id])
        none_yet = official_figures(session, date(2024, 7, 9), q1.project_id)
    assert early == {q1.period_id: Figures({lines["design"]: 100}, {target: 5})}
    assert later == {q1.period_id: Figures({lines["design"]: 250, lines["delivery"]: 40}, {target: 7})}
    assert q2.period_id not in later and none_yet == {}


def test_official_return_ids_agree_with_official_returns_on_every_day_even_if_the_statuses_were_tampered_with(
    engine: Engine,
) -> None:
    load_example(engine)
    with session_scope(engine) as session:
        for day in (10, 12, 20):
            add_return(session, "active-bystander", "2024-25-Q1", received=date(2024, 7, day))
        add_return(session, "active-bystander", "2024-25-Q2", received=date(2024, 10, 10))
        add_return(session, "active-bystander", "2024-25-Q2", received=date(2024, 10, 12),
                   status=m.ReturnStatus.rejected)
        q3 = add_return(session, "active-bystander", "2024-25-Q3", received=date(2025, 1, 10))
        project_id = q3.project_id
        days = [date(2024, 7, 9), date(2024, 7, 11), date(2024, 7, 25), date(2024, 10, 11), date(2025, 2, 1)]

        def agree() -> None:
            for day in days:
                expected = {per: r.id for (_, per), r in official_returns(session, day, project_id=project_id).items()}
                assert official_return_ids(session, day, project_id) == expected, day

        agree()
        session.execute(text("UPDATE \"return\" SET status = 'superseded' WHERE id = :id"), {"id": q3.id})
        agree()  # superseded with nothing accepted after it
        with pytest.raises(IntegrityError), session.begin_nested():  # two accepted versions of one period: refused
            session.execute(text("UPDATE \"return\" SET status = 'accepted' WHERE version = 1"))
        agree()
