"""The board report over the example programme with a realistic year of returns (tests/scenario.py), as of 24 Jan
2025: the workbook (read back with openpyxl) and the HTML page carry the figures, RAG and reasons that
`grants status --json` and `grants risks --json` show; --period dates a report; bad input is one line."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from grants.kernel import models as m
from grants.kernel.db import create_schema, get_engine, session_scope
from grants.kernel.settings import Settings
from grants.monitoring.assessment import run_checks
from grants.monitoring.risks import risk_register, update_risk
from grants.reporting.board_data import build_board_data
from grants.reporting.report import write_reports
from grants.reporting.workspace_facts import grant_facts
from grants.reporting.workspace_overview import overview
from tests.cli_support import grants as cli_grants
from tests.factories import add_return, load_example
from tests.scenario import Q1, live_until_q3, profile, release_and_pay

AS_OF = date(2025, 1, 24)
OVERSPEND = "overspend:SVD-2024-25:csa-prevention"


def _grants(*args: str) -> subprocess.CompletedProcess[str]:
    return cli_grants(*args, env=dict(os.environ))


def _live_a_year(engine: Engine) -> Engine:
    load_example(engine)
    live_until_q3(engine)
    with session_scope(engine) as session:
        run_checks(session, AS_OF)
        [risk] = [r for r in risk_register(session) if r.key == OVERSPEND]
        update_risk(session, risk.id, owner="Kit Pascoe", mitigation="Virement agreed from Purple Flag",
                    actor="test", now=datetime(2025, 1, 24, tzinfo=UTC))
    return engine


@pytest.fixture
def year(settings: Settings) -> Iterator[Engine]:
    """The settings' database with the year up to Q3 checked on 24 January 2025, and an officer's note on one risk."""
    engine = get_engine(settings.db_url)
    create_schema(engine)
    yield _live_a_year(engine)
    engine.dispose()
    get_engine.cache_clear()


@pytest.fixture
def reports(year: Engine, settings: Settings) -> list[Path]:
    with session_scope(year) as session:
        return write_reports(session, AS_OF, settings.folder("reports"))


def _table(ws: Worksheet) -> list[dict[str, Any]]:
    header = [c.value for c in ws[1]]
    return [dict(zip(header, row, strict=True)) for row in ws.iter_rows(min_row=2, values_only=True)]


def _summary(ws: Worksheet) -> dict[str, Any]:
    return {row[0]: row[1] for row in ws.iter_rows(min_row=2, max_row=20, max_col=2, values_only=True) if row[0]}


def _pounds(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def test_reports_are_named_by_grant_and_date_in_both_formats(reports: list[Path], settings: Settings) -> None:
    assert [p.name for p in reports] == ["board-report-SVD-2024-25-2025-01-24.xlsx",
                                         "board-report-SVD-2024-25-2025-01-24.html"]
    assert all(p.parent == settings.folder("reports") and p.stat().st_size > 0 for p in reports)


def test_workbook_summary_shows_money_in_and_out_and_the_time_left(reports: list[Path]) -> None:
    summary = _summary(load_workbook(reports[0])["Summary"])
    unspent = "Forecast unspent (award less outturn capped at allocations)"
    over = "Forecast overspend beyond allocations"
    assert {k: summary[k] for k in ("Awarded", "Released by the funder", "Paid to projects", "Spent (reported)",
                                    "Forecast outturn", unspent, over, "Days to the spend-by date")} == {
        "Awarded": 125000, "Released by the funder": 125000, "Paid to projects": 125000,
        "Spent (reported)": 67950, "Forecast outturn": 112000, unspent: 13000, over: 6500,  # overspend never nets
        "Days to the spend-by date": 66}
    assert summary["Releases"] == "£125,000.00 on 1 July 2024"
    assert (summary["Overall RAG"], summary["Why"]) == ("red", "1 of 8 projects behind on outputs; red: M.A.N Culture")


def test_quarter_series_is_cumulative_profile_against_cumulative_actual(reports: list[Path]) -> None:
    ws = load_workbook(reports[0])["Summary"]
    [start] = [row for row in range(1, ws.max_row + 1) if ws.cell(row, 1).value == "Quarter"]
    series = [tuple(c.value for c in row) for row in ws.iter_rows(min_row=start + 1, max_col=3)]
    assert series == [("2024-25-Q1", 0, 0), ("2024-25-Q2", 31250, 29750), ("2024-25-Q3", 75000, 67950),
                      ("2024-25-Q4", 125000, None)]


def test_workbook_has_one_row_per_project_with_rag_cells_and_conditional_formatting(reports: list[Path]) -> None:
    ws = load_workbook(reports[0])["Projects"]
    rows = _table(ws)
    assert len(rows) == 8
    impact = next(r for r in rows if r["Project"] == "Impact Project")
    assert (impact["Allocation"], impact["Spent"], impact["Forecast outturn"]) == (20000, 4500, 7000)
    assert {r["Project"]: r["Return"] for r in rows if r["Return"] != "reported to 2024-25-Q3"} == {
        "Speech, language and communication": "reported to 2024-25-Q2"}  # its Q3 return is overdue
    assert (impact["Spend RAG"], impact["Outputs RAG"], impact["Overall RAG"]) == ("red", "green", "red")
    assert impact["Spend: why"].endswith("£13,000.00 (65.0%) underspend at 31 March 2025")
    assert {r[k] for r in rows for k in ("Spend RAG", "Outputs RAG", "Overall RAG")} == {"red", "green"}
    rules = {str(cf.sqref): {rule.formula[0] for rule in cf.rules} for cf in ws.conditional_formatting}
    assert rules == {f"{c}2:{c}9": {'"red"', '"amber"', '"green"', '"no data yet"'} for c in "HJL"}
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref == "A1:M9"


def test_workbook_has_native_charts_for_spend_and_outputs(reports: list[Path]) -> None:
    wb = load_workbook(reports[0])
    assert [len(wb[name]._charts) for name in ("Summary", "Outputs chart")] == [1, 1]


def test_outputs_sheet_has_a_row_per_count_target_and_milestone(reports: list[Path], year: Engine) -> None:
    rows = _table(load_workbook(reports[0])["Outputs"])
    with Session(year) as session:
        assert len(rows) == len(session.exec(select(m.Target).where(m.Target.active)).all())
    trained = next(r for r in rows if r["Target"] == "People trained in Active Bystander")
    assert (trained["Target value"], trained["Profile to date"], trained["Achieved"], trained["RAG"]) == (
        500, 250, 250, "green")
    workshops = next(r for r in rows if r["Target"] == "Workshops delivered across the city")
    assert (workshops["Achieved"], workshops["RAG"]) == (5, "red")
    launched = next(r for r in rows if r["Target"] == "Campaign launched")
    assert (launched["Unit"], launched["Achieved"], launched["Why"]) == (
        "milestone", 1, "Campaign launched: delivered 15 September 2024")


def test_risk_sheet_is_score_sorted_with_owner_and_mitigation(reports: list[Path]) -> None:
    rows = _table(load_workbook(reports[0])["Risks"])
    scores = [r["Score"] for r in rows]
    assert scores == sorted(scores, reverse=True) and scores[0] == 20
    overspend = next(r for r in rows if r["Kind"] == "overspend")
    assert (overspend["Scope"], overspend["Owner"], overspend["Mitigation"]) == (
        "Preventing child sexual abuse", "Kit Pascoe", "Virement agreed from Purple Flag")


def test_returns_log_lists_every_return_received_and_the_overdue_one(reports: list[Path]) -> None:
    rows = _table(load_workbook(reports[0])["Returns"])
    assert len(rows) == 24  # 8 projects x 3 quarters: 23 received, 1 overdue
    [overdue] = [r for r in rows if r["Status"] == "overdue"]
    assert (overdue["Project"], overdue["Period"], overdue["Received"], overdue["Version"]) == (
        "Speech, language and communication", "2024-25-Q3", None, None)
    assert rows[0]["Period"] == "2024-25-Q3" and rows[-1]["Period"] == "2024-25-Q1"


def test_html_report_shows_the_same_figures_reasons_and_risks(reports: list[Path]) -> None:
    html = reports[1].read_text(encoding="utf-8")
    for text in ["£125,000.00", "£67,950.00", "<b>£112,000.00</b><span>forecast outturn",
                 "<b>£13,000.00</b><span>forecast unspent", "<b>£6,500.00</b><span>forecast overspend beyond",
                 "1 July 2024", "as of 24 January 2025",
                 "Spent £11,000.00 by 31 December 2024, over the £10,000.00 allocation by £1,000.00",
                 "Workshops delivered across the city 5 of 7 profiled by 31 December 2024 (71.4%)",
                 "Impact Project: forecast underspend at 31 March 2025", "Virement agreed from Purple Flag",
                 "overdue", "<svg"]:
        assert text in html, (text, re.findall(r"<b>([^<]*)</b><span>([^<]*)<", html))


def test_every_figure_agrees_with_grants_status_and_grants_risks(year: Engine, settings: Settings) -> None:
    result = _grants("report", "--as-of", AS_OF.isoformat())
    assert result.returncode == 0, result.stderr
    xlsx, html = (Path(line) for line in result.stdout.split())
    [status] = json.loads(_grants("status", "--as-of", AS_OF.isoformat(), "--json").stdout)
    register = json.loads(_grants("risks", "--json").stdout)
    wb = load_workbook(xlsx)
    rows = _table(wb["Projects"])
    assert [r["Project"] for r in rows] == [p["name"] for p in status["projects"]]
    for row, project in zip(rows, status["projects"], strict=True):
        rag = project["rag"]
        assert _pounds(row["Allocation"]) == Decimal(project["allocation"])
        assert _pounds(row["Spent"]) == Decimal(rag["spent"])
        assert _pounds(row["Forecast outturn"]) == Decimal(rag["forecast_outturn"])
        assert (row["Spend RAG"], row["Outputs RAG"], row["Overall RAG"]) == (
            rag["spend"], rag["outputs"], rag["overall"])
        assert (row["Spend: why"], row["Outputs: why"], row["Overall: why"]) == (
            rag["reasons"]["spend"], rag["reasons"]["outputs"], rag["reasons"]["overall"])
    summary = _summary(wb["Summary"])
    assert _pounds(summary["Awarded"]) == Decimal(status["amount"])
    assert _pounds(summary["Spent (reported)"]) == Decimal(status["rag"]["spent"])
    assert (summary["Overall RAG"], summary["Why"]) == (status["rag"]["overall"], status["rag"]["reasons"]["overall"])
    risks = _table(wb["Risks"])
    assert [(r["ID"], r["Score"], r["RAG"], r["Risk"], r["Evidence"]) for r in risks] == [
        (r["id"], r["score"], r["rag"], r["title"], r["evidence"]) for r in register]
    text = html.read_text(encoding="utf-8")
    assert all(r["title"] in text for r in register)


def test_period_reports_as_of_the_day_that_quarters_returns_are_due(year: Engine) -> None:
    result = _grants("report", "--period", "2024-25-Q2", "--format", "xlsx")
    assert result.returncode == 0, result.stderr
    [path] = [Path(line) for line in result.stdout.split()]
    assert path.name == "board-report-SVD-2024-25-2024-10-14.xlsx"
    wb = load_workbook(path)
    summary = _summary(wb["Summary"])
    assert (summary["Reporting period"], summary["Spent (reported)"]) == ("2024-25-Q2", 29750)
    assert {r["Period"] for r in _table(wb["Returns"])} == {"2024-25-Q1", "2024-25-Q2"}


def test_backdated_report_leaves_the_register_and_stored_assessments_alone(engine: Engine, tmp_path: Path) -> None:
    year = _live_a_year(engine)  # on SQLite and PostgreSQL: the report's checks run in a savepoint rolled back
    with Session(year) as session:
        before = [r.to_json() for r in risk_register(session, include_closed=True)]
        assessments = len(session.exec(select(m.Assessment)).all())
    with session_scope(year) as session:
        [xlsx] = write_reports(session, date(2024, 10, 14), tmp_path, ("xlsx",))
    with Session(year) as session:
        assert [r.to_json() for r in risk_register(session, include_closed=True)] == before
        assert len(session.exec(select(m.Assessment)).all()) == assessments
    kinds = {r["Kind"] for r in _table(load_workbook(xlsx)["Risks"])}
    assert "late-return" not in kinds  # as things stood in October: Q3 returns were not due yet


def test_report_for_the_latest_date_stores_what_it_shows(engine: Engine, tmp_path: Path) -> None:
    load_example(engine)
    live_until_q3(engine)
    with session_scope(engine) as session:
        write_reports(session, AS_OF, tmp_path, ("html",))
    with Session(engine) as session:
        assert len(session.exec(select(m.Assessment).where(m.Assessment.as_of == AS_OF)).all()) == 9
        assert OVERSPEND in {r.key for r in risk_register(session)}


@pytest.mark.parametrize(("args", "message"), [
    (["--period", "2024-25-Q9"],
     "error: no reporting period '2024-25-Q9' (periods: 2024-25-Q1, 2024-25-Q2, 2024-25-Q3, 2024-25-Q4)"),
    (["--format", "pdf"], "error: unknown report format 'pdf'; use xlsx or html"),
    (["--grant", "NOPE"], "error: no grant with reference 'NOPE' (known: SVD-2024-25)"),
    (["--as-of", "24/01/2025"], "error: --as-of '24/01/2025' is not a date; use YYYY-MM-DD, e.g. 2024-07-01"),
])
def test_bad_report_options_are_one_clear_line(settings: Settings, args: list[str], message: str) -> None:
    assert _grants("init").returncode == 0
    result = _grants("report", *args)
    assert (result.returncode, result.stderr.strip(), result.stdout) == (1, message, "")


def test_report_with_no_grants_loaded_says_to_run_init(settings: Settings) -> None:
    result = _grants("report", "--as-of", "2024-07-01")
    assert (result.returncode, result.stderr.strip()) == (1, "error: no grants loaded yet; run `grants init` first")


def test_report_has_help() -> None:
    result = _grants("report", "--help")
    assert result.returncode == 0 and "--period" in result.stdout


def test_before_a_projects_first_return_the_board_and_the_workspace_say_not_yet_reported(engine: Engine) -> None:
    load_example(engine)
    release_and_pay(engine)
    with session_scope(engine) as session:  # M.A.N Culture alone has sent its Q1 return
        add_return(session, "man-culture", Q1, received=date(2024, 7, 10),
                   spend=dict.fromkeys(profile(session, "man-culture", Q1), 0))
    with session_scope(engine) as session:
        [board] = build_board_data(session, date(2024, 7, 12))
        grant = session.exec(select(m.Grant)).one()
        facts = grant_facts(session, grant, date(2024, 7, 12))
        [line] = overview(session, date(2024, 7, 12))
    rows = {p.name: p for p in board.projects}
    man, flag = rows["M.A.N Culture"], rows["Purple Flag night-time economy"]
    assert (man.return_status, man.spent, flag.return_status, flag.spent, flag.forecast, flag.spent_share) == (
        "reported to 2024-25-Q1", Decimal(0), "no return yet", None, None, None)  # not "£0.00 spent"
    assert board.grant.not_reported == tuple(name for name in rows if name != "M.A.N Culture")
    assert board.grant.forecast_outturn == Decimal(125000)  # the seven at their allocation, as the note says
    milestones = {(o.project, o.name): (o.rag, o.reason) for o in board.outputs if o.unit == "milestone"}
    assert milestones[("M.A.N Culture", "City-wide conference delivered")] == (
        "green", "City-wide conference delivered: due 31 March 2025")  # its return is in: on its way
    assert milestones[("Purple Flag night-time economy", "Purple Flag accreditation submission made")] == (
        "no data yet", "Purple Flag accreditation submission made: due 31 March 2025; not yet reported (no return "
        "received)")
    assert facts.outputs == board.outputs  # the workspace rates them the same way
    assert (line.spent, line.reported, line.projects) == (Decimal(0), 1, 8)  # the overview: "1 of 8 projects reported"
    assert line.forecast == board.grant.forecast_outturn  # the overview's forecast is the board report's


def test_before_any_return_the_overview_forecasts_every_allocation_as_the_board_report_does(engine: Engine) -> None:
    load_example(engine)
    release_and_pay(engine)
    with session_scope(engine) as session:
        [board] = build_board_data(session, date(2024, 7, 12))
        [line] = overview(session, date(2024, 7, 12))
    assert (line.spent, line.reported, line.projects) == (None, 0, 8)
    assert line.forecast == board.grant.forecast_outturn == Decimal(125000)


def test_a_milestone_overdue_with_no_return_is_still_red_by_its_due_date(engine: Engine) -> None:
    load_example(engine)
    with session_scope(engine) as session:  # no return all year; "Campaign launched" was due 31 December 2024
        [board] = build_board_data(session, date(2025, 1, 16))
    [launched] = [o for o in board.outputs if o.name == "Campaign launched"]
    assert (launched.rag, launched.reason) == (
        "red", "Campaign launched: not delivered, due 31 December 2024 (16 days overdue)")
