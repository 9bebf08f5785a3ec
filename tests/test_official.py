"""The official return for a project and period: the latest accepted version received by the date asked about."""

from __future__ import annotations

from datetime import date

from sqlalchemy.engine import Engine

from grants import models as m
from grants.db import session_scope
from grants.official import official_returns
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
