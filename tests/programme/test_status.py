"""Return states by date, and the `grants status` command on the example programme."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlmodel import select

from flows.database import open_session
from grants.kernel import models as m
from grants.kernel.settings import Settings
from grants.programme.status import ReturnState, received_on, return_state
from grants.reporting.workspace_project import project_page
from tests.cli_support import grants as cli_grants

END, DUE = date(2024, 12, 31), date(2025, 1, 15)


@pytest.mark.parametrize(
    ("returns", "as_of", "state"),
    [
        ([], date(2024, 12, 31), ReturnState.not_yet_open),
        ([], date(2025, 1, 1), ReturnState.open),
        ([], date(2025, 1, 15), ReturnState.open),
        ([], date(2025, 1, 16), ReturnState.overdue),
        ([(date(2025, 1, 10), "accepted")], date(2025, 1, 20), ReturnState.accepted),
        ([(date(2025, 1, 15), "accepted")], date(2025, 1, 20), ReturnState.accepted),
        ([(date(2025, 1, 16), "accepted")], date(2025, 1, 20), ReturnState.accepted_late),
        ([(date(2025, 1, 10), "rejected")], date(2025, 1, 20), ReturnState.rejected),
        ([(date(2025, 1, 10), "rejected"), (date(2025, 1, 14), "accepted")], date(2025, 1, 20), ReturnState.accepted),
        ([(date(2025, 1, 10), "superseded"), (date(2025, 1, 17), "accepted")], date(2025, 1, 20), ReturnState.accepted),
        ([(date(2025, 1, 22), "accepted")], date(2025, 1, 20), ReturnState.overdue),  # not received yet as of then
    ],
)
def test_return_state_on_a_date(returns: list[tuple[date, str]], as_of: date, state: ReturnState) -> None:
    assert return_state(END, DUE, returns, as_of) is state


def test_received_day_is_the_uk_calendar_day() -> None:
    assert received_on(datetime(2024, 7, 12, 23, 30, tzinfo=UTC)) == date(2024, 7, 13)  # BST
    assert received_on(datetime(2025, 1, 15, 23, 30)) == date(2025, 1, 15)  # naive = UTC, GMT in winter


def _grants(*args: str) -> subprocess.CompletedProcess[str]:
    return cli_grants(*args, env={**os.environ, "COLUMNS": "200"})  # a wide terminal: every column shown


def test_status_after_init_shows_eight_projects_and_due_dates_that_skip_bank_holidays(settings: Settings) -> None:
    assert _grants("init").returncode == 0
    result = _grants("status", "--as-of", "2024-07-01")
    assert result.returncode == 0, result.stderr
    for text in ["8 projects", "£125,000.00", "Active Bystander training", "M.A.N Culture",
                 "due Friday 12 July 2024", "due Monday 14 October 2024", "due Wednesday 15 January 2025",
                 "due Monday 14 April 2025"]:
        assert text in result.stdout


def test_status_json_is_machine_readable(settings: Settings) -> None:
    _grants("init")
    result = _grants("status", "--as-of", "2025-01-16", "--json")
    [grant] = json.loads(result.stdout)
    assert grant["amount"] == grant["allocated"] == "125000.00"
    assert len(grant["projects"]) == 8
    q3 = grant["projects"][0]["periods"][2]
    assert (q3["label"], q3["due"], q3["state"]) == ("2024-25-Q3", "2025-01-15", "overdue")


def test_status_before_init_says_what_to_do(settings: Settings) -> None:
    result = _grants("status")
    assert result.returncode == 1
    assert result.stderr.strip() == "error: no grants loaded yet; run `grants init` first"


def test_status_for_unknown_grant_is_one_clear_line(settings: Settings) -> None:
    _grants("init")
    result = _grants("status", "--grant", "NOPE")
    assert result.returncode == 1
    assert result.stderr.strip() == "error: no grant with reference 'NOPE' (known: SVD-2024-25)"


def _start_late(config_dir: Path, code: str, start: str) -> None:
    """Edit the grant file as an officer would: the project starts delivering on `start`."""
    grant_file = config_dir / "grants" / "svd-2024-25.yaml"
    text = grant_file.read_text(encoding="utf-8")
    anchor = f"  - code: {code}\n"
    assert anchor in text
    grant_file.write_text(text.replace(anchor, f"{anchor}    delivery_start: {start}\n"), encoding="utf-8")


def test_a_quarter_before_a_project_starts_delivering_is_not_reported_and_never_overdue(
    settings: Settings, config_dir: Path
) -> None:
    _start_late(config_dir, "purple-flag", "2024-09-01")  # starts late in Q2: no return for Q1 (nothing profiled)
    assert _grants("init").returncode == 0
    [grant] = json.loads(_grants("status", "--as-of", "2024-10-20", "--json").stdout)
    states = {p["code"]: [q["state"] for q in p["periods"]] for p in grant["projects"]}
    assert states["purple-flag"] == ["not reported", "overdue", "not yet open", "not yet open"]
    assert states["active-bystander"] == ["overdue", "overdue", "not yet open", "not yet open"]

    assert _grants("check", "--as-of", "2024-10-20").returncode == 0
    keys = {r["key"] for r in json.loads(_grants("risks", "--json").stdout)}
    assert "late-return:SVD-2024-25:active-bystander:2024-25-Q1" in keys
    assert [k for k in keys if k.startswith("late-return:SVD-2024-25:purple-flag:")] == [
        "late-return:SVD-2024-25:purple-flag:2024-25-Q2"]
    [grant] = json.loads(_grants("status", "--as-of", "2024-10-20", "--json").stdout)
    [purple] = [p for p in grant["projects"] if p["code"] == "purple-flag"]
    assert "2024-25-Q2" in purple["rag"]["reasons"]["returns"]
    assert "2024-25-Q1" not in purple["rag"]["reasons"]["returns"]


def test_the_officers_project_page_shows_a_quarter_before_delivery_as_not_reported_and_its_ladder_not_needed(
    settings: Settings, config_dir: Path
) -> None:
    _start_late(config_dir, "purple-flag", "2024-09-01")
    assert _grants("init").returncode == 0
    with open_session() as session:
        purple = session.exec(select(m.Project).where(m.Project.code == "purple-flag")).one()
        page = project_page(session, purple.id or 0, date(2024, 10, 20))
    q1, q2, q3 = page.quarters[:3]
    assert (q1.state, q2.state, q3.state) == (ReturnState.not_reported, ReturnState.overdue, ReturnState.not_yet_open)
    assert {step.status for step in q1.ladder} == {"not needed"}  # it said "not sent" for steps never due
