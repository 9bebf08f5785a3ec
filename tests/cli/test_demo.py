"""`grants demo` simulates the whole 2024/25 year once; its final state matches what its scripted leads sent."""

from __future__ import annotations

import fcntl
import os
import pickle
import shutil
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from flows.cli.app import app
from flows.demo.script import LEADS, submissions
from flows.demo.year import END, MARKER, DemoResult, run_demo, spent_by_project, summary, use_folder
from grants.kernel import models as m
from grants.kernel.db import get_engine
from grants.kernel.errors import GrantsError
from grants.kernel.settings import DEVELOPMENT_SIGNING_KEY, get_settings
from grants.programme.status import ReturnState, grant_status
from tests.conftest import EXAMPLE_CONFIG
from tests.notify_support import attachment_names, read_eml

ENV = ("DATA_DIR", "DATABASE_URL", "NOTIFY_CONFIG", "CONFIG_DIR", "INBOX_DIR", "ARCHIVE_DIR", "QUARANTINE_DIR",
       "OUTBOX_DIR", "REPORTS_DIR")


def _run_year(folder: Path) -> DemoResult:
    """The demo run into `folder`, the settings it changes restored afterwards."""
    with pytest.MonkeyPatch.context() as patch:
        for name in ENV:
            patch.setenv(f"GRANTS_{name}", os.environ.get(f"GRANTS_{name}", ""))
        patch.setenv("GRANTS_CONFIG_DIR", str(EXAMPLE_CONFIG))
        get_settings.cache_clear()
        lines: list[str] = []
        try:
            return run_demo(folder, echo=lines.append)
        finally:
            get_settings.cache_clear()


@pytest.fixture(scope="session")
def year(tmp_path_factory: pytest.TempPathFactory) -> DemoResult:
    """The demo year, run once for the whole test session (the first test process to need it runs it while the
    others wait on a lock); each test process reads its own copy of the folder."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    with (shared / "demo-year.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        built = shared / "demo-year.pickle"
        if not built.exists():
            built.write_bytes(pickle.dumps(_run_year(shared / "demo-year")))
        result: DemoResult = pickle.loads(built.read_bytes())
    copy = tmp_path_factory.mktemp("demo") / "demo"
    shutil.copytree(result.folder, copy)
    return replace(result, folder=copy, reports=[copy / p.relative_to(result.folder) for p in result.reports])


@pytest.fixture
def db(year: DemoResult) -> Iterator[Session]:
    with Session(get_engine(f"sqlite:///{year.folder / 'grants.db'}")) as session:
        yield session


def test_every_file_the_leads_sent_was_accepted_or_rejected_as_scripted(year: DemoResult) -> None:
    assert len(year.outcomes) == len(year.submissions) == 4 * len(LEADS) + 1
    assert [(s.code, s.period, outcome) for s, outcome in year.outcomes] == [
        (s.code, s.period, s.expect) for s in year.submissions]
    assert [(s.code, s.period) for s, outcome in year.outcomes if outcome == "rejected"] == [
        ("speech-language", "2024-25-Q2")]


def test_the_spend_recorded_for_each_project_is_the_spend_its_lead_reported(year: DemoResult, db: Session) -> None:
    sent = {code: row["spent"] for code, row in summary(year).items()}
    assert spent_by_project(db) == sent
    assert sent["community-coproduction"] == Decimal("19500.00")  # the overspending lead
    assert sent["purple-flag"] == Decimal("4560.00")  # the underspending lead


def test_final_status_shows_the_late_lead_late_every_quarter_and_the_rest_on_time(year: DemoResult,
                                                                                  db: Session) -> None:
    [status] = grant_status(db, END)
    states = {p.code: {q.label: q.state for q in p.periods} for p in status.projects}
    assert set(states["impact-project"].values()) == {ReturnState.accepted_late}
    for code in set(states) - {"impact-project"}:
        assert set(states[code].values()) == {ReturnState.accepted}, code
    assert status.rag is not None and status.rag.as_of == END


def test_final_ratings_give_each_scripted_behaviour_its_rag_and_reason(db: Session, year: DemoResult) -> None:
    [status] = grant_status(db, END)
    rag = {p.code: p.rag for p in status.projects}
    assert all(r is not None for r in rag.values())
    man, bystander = rag["man-culture"], rag["active-bystander"]
    flag, coproduction = rag["purple-flag"], rag["community-coproduction"]
    assert man is not None and man.overall == "green"
    assert bystander is not None and (bystander.spend, bystander.outputs) == ("green", "red")
    missed = "People trained in Active Bystander 350 of 500 by 31 March 2025: target missed"
    assert missed in bystander.reasons["outputs"]
    assert flag is not None and flag.spend == "red" and "£7,440.00 (62.0%) underspend" in flag.reasons["spend"]
    assert coproduction is not None and coproduction.spend == "red"
    assert "over the £15,000.00 allocation by £4,500.00" in coproduction.reasons["spend"]


def test_funds_released_two_months_late_opened_the_risk_and_closed_it_when_paid(db: Session) -> None:
    risk = db.exec(select(m.Risk).where(m.Risk.key == "late-funds-release:SVD-2024-25")).one()
    assert (risk.status, risk.closed_on) == ("closed", date(2024, 7, 1))
    released = db.exec(select(m.FundsRelease)).one()
    assert (released.received_on, released.amount_pence) == (date(2024, 7, 1), 12_500_000)


def test_the_outbox_holds_the_packs_the_rejection_with_its_file_and_the_escalation_of_the_late_return(
        year: DemoResult) -> None:
    mails = [read_eml(p) for p in sorted((year.folder / "outbox").glob("*.eml"))]
    packs = [e for e in mails if ": quarterly return for " in str(e["Subject"])
             and any(n.startswith("return-") for n in attachment_names(e))]
    assert len(packs) >= 4 * len(LEADS)
    [rejection] = [e for e in mails if "speech.language@example.org" in str(e["To"])
                   and str(e["Subject"]).startswith("Please correct and resend") and "2024-25-Q2" in str(e["Subject"])]
    assert attachment_names(rejection) == ["2024-25-Q2 return - speech-language.xlsx"]
    escalations = [e for e in mails if "Escalation: Impact Project" in str(e["Subject"])]
    assert [e for e in escalations if "2024-25-Q3" in str(e["Subject"])
            and "head.of.community.safety@example.org" in str(e["Cc"]) + str(e["To"])]


def test_board_reports_are_written_each_quarter_and_at_year_end(year: DemoResult) -> None:
    names = sorted(p.name for p in year.reports)
    assert "board-report-SVD-2024-25-2025-01-20.xlsx" in names
    assert f"board-report-SVD-2024-25-{END}.html" in names
    assert all(p.exists() for p in year.reports)


def test_the_script_sends_one_file_per_lead_per_quarter_plus_the_rejected_one() -> None:
    due = {f"2024-25-Q{n}": date(2024, 7, 12) for n in range(1, 5)}
    profiles = {lead.code: {"line": {q: Decimal(100) for q in due}} for lead in LEADS}
    files = submissions(profiles, due)
    assert len(files) == 33 and [f.expect for f in files].count("rejected") == 1


def test_demo_refuses_a_folder_it_did_not_make(tmp_path: Path) -> None:
    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(GrantsError, match="not empty and was not made by `grants demo`"):
        use_folder(tmp_path)
    assert (tmp_path / "precious.txt").read_text() == "keep me"
    assert not (tmp_path / MARKER).exists()


def test_demo_command_refuses_a_foreign_folder_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "precious.txt").write_text("keep me")
    result = CliRunner().invoke(app, ["demo", "--folder", str(tmp_path), "--quiet"])
    assert result.exit_code != 0
    assert isinstance(result.exception, GrantsError)


def test_milestones_delivered_in_march_raise_no_overdue_risk_before_their_return_is_due(db: Session) -> None:
    """The Q4 returns (due 14 April 2025) report the March milestones: no false red alerts on 1 April."""
    opened = db.exec(select(m.RiskEvent, m.Risk).join(m.Risk).where(
        m.Risk.kind == "milestone-overdue", m.RiskEvent.day == date(2025, 4, 1))).all()
    assert opened == []
    man = db.exec(select(m.Risk).where(col(m.Risk.key).startswith("milestone-overdue:SVD-2024-25:man-culture"))).all()
    assert man == []  # conference and sustainability plan delivered in March, reported in the Q4 return


def test_the_demo_folder_keeps_its_key_so_the_web_app_serves_it_afterwards(year: DemoResult) -> None:
    from fastapi.testclient import TestClient

    from flows.web.app import create_app
    key = year.folder / "signing.key"
    assert key.read_text().strip() == DEVELOPMENT_SIGNING_KEY and key.stat().st_mode & 0o777 == 0o600
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("GRANTS_SIGNING_KEY", raising=False)
        patch.setenv("GRANTS_DATA_DIR", str(year.folder))
        patch.setenv("GRANTS_DATABASE_URL", f"sqlite:///{year.folder / 'grants.db'}")
        get_settings.cache_clear()
        try:
            with TestClient(create_app(get_settings(), as_of=END)) as client:
                assert client.get("/login").status_code == 200
        finally:
            get_settings.cache_clear()
