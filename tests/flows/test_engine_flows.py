"""Each engine flow runs once end to end on a temporary SQLite database, inbox and outbox."""

from __future__ import annotations

from datetime import date

from sqlmodel import select

from flows.database import configured_engine as engine
from flows.engine.flows import chase_returns, check_and_assess, ingest_returns, officer_digest
from grants.kernel import models as m
from grants.kernel.db import session_scope
from grants.kernel.settings import Settings
from tests.factories import load_example
from tests.notify_support import read_eml
from tests.returns_kit import fill, issue


def test_chase_flow_sends_every_lead_the_return_pack_at_quarter_end(settings: Settings) -> None:
    load_example(engine())
    assert chase_returns(as_of=date(2024, 7, 1)) == 8
    assert len(list(settings.folder("outbox").glob("*.eml"))) == 8
    assert chase_returns(as_of=date(2024, 7, 1)) == 0  # a rerun the same day sends nothing


def test_ingest_flow_accepts_a_filled_return_replies_and_runs_the_checks(settings: Settings) -> None:
    load_example(engine())
    key = settings.signing_key.get_secret_value().encode()
    inbox = settings.folder("inbox")
    inbox.mkdir(parents=True, exist_ok=True)
    workbook = issue(engine(), inbox, "man-culture", "2024-25-Q2", key=key)
    fill(workbook, {"spend__workshops": "£1,750.00", "output__workshops": 3})
    assert ingest_returns(as_of=date(2024, 10, 10)) == 1
    assert list(inbox.iterdir()) == []
    with session_scope(engine()) as session:
        assert session.exec(select(m.Return)).one().status == "accepted"
        assert session.exec(select(m.Assessment)).first() is not None
    subjects = [str(read_eml(p)["Subject"]) for p in settings.folder("outbox").glob("*.eml")]
    assert any(s.startswith("Received: M.A.N Culture") for s in subjects), subjects


def test_check_and_digest_flows_rate_every_project_and_send_the_weekly_digest(settings: Settings) -> None:
    load_example(engine())
    assert check_and_assess(as_of=date(2024, 7, 15)) >= 9  # eight projects and the grant
    with session_scope(engine()) as session:
        risks = session.exec(select(m.Risk.kind)).all()
    assert "late-funds-release" in risks
    assert officer_digest(as_of=date(2024, 7, 15)) >= 1
    assert officer_digest(as_of=date(2024, 7, 16)) == 0  # once per week
