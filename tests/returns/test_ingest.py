"""Ingesting filled returns: the round trip to the penny, each content problem code with its cell, versioning."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from grants.kernel import models as m
from grants.kernel.db import session_scope
from grants.returns.official import official_returns
from tests.factories import add_return, project
from tests.returns_kit import _stop_parser_pool, codes, fill, ingest, issue  # noqa: F401

SIGN = "Narrative and sign-off"


def test_round_trip_messy_but_clear_inputs_are_stored_to_the_penny(engine: Engine, blank: Path, tmp_path: Path) -> None:
    filled = fill(blank, {
        "spend__design": "£1,250.00", "spend__delivery": " 3000 ", "spend__train_the_trainer": 412.37,
        "spend__materials": None, "forecast__design__2024_25_Q3": "2,800", "forecast__delivery__2024_25_Q4": 6400.5,
        "output__people_trained": "60", "output__trainers_trained": 2.0, "output__schools_engaged": " ",
        "ms_delivered__training_package": "yes", "ms_date__training_package": "15/09/2024",
        "ms_evidence__training_package": "Package on the shared drive", "narrative_risks": "n/a",
    }, tmp_path / "inbox.xlsx")
    [result] = ingest(engine, tmp_path, filled)
    assert (result.outcome, result.version, result.problems) == ("accepted", 1, ())
    assert not filled.exists() and Path(result.stored_path).name == f"{result.sha256}.xlsx"
    with Session(engine) as session:
        ret = session.get(m.Return, result.return_id)
        assert ret is not None and (ret.status, ret.signed_name, ret.signed_on) == (
            "accepted", "Jordan Ellis", date(2024, 10, 2))
        lines = {b.id: b.key for b in session.exec(select(m.BudgetLine))}
        targets = {t.id: t.key for t in session.exec(select(m.Target))}
        spend = {lines[s.budget_line_id]: s.actual_pence for s in session.exec(
            select(m.ReturnSpend).where(m.ReturnSpend.return_id == ret.id))}
        forecast = {(lines[f.budget_line_id], f.period_label): f.amount_pence for f in session.exec(
            select(m.ReturnForecast).where(m.ReturnForecast.return_id == ret.id)) if f.amount_pence}
        outputs = {targets[o.target_id]: o.achieved for o in session.exec(
            select(m.ReturnOutput).where(m.ReturnOutput.return_id == ret.id))}
        [milestone] = session.exec(select(m.ReturnMilestone).where(m.ReturnMilestone.return_id == ret.id)).all()
    assert spend == {"design": 125000, "delivery": 300000, "train_the_trainer": 41237, "materials": 0}
    assert forecast == {("design", "2024-25-Q3"): 280000, ("delivery", "2024-25-Q4"): 640050}
    assert outputs == {"people_trained": 60, "trainers_trained": 2, "schools_engaged": 0}
    assert (milestone.delivered, milestone.delivered_on, milestone.evidence) == (
        True, date(2024, 9, 15), "Package on the shared drive")
    assert (ret.progress, ret.risks) == ("Delivered 60 sessions across four schools.", "")


CONTENT_PROBLEMS = [
    ("not-a-number", {"spend__design": "about 300"}, "Spend", "F5", "spend__design"),
    ("negative-amount", {"spend__delivery": -5}, "Spend", "F6", "spend__delivery"),
    ("too-many-decimals", {"spend__design": "12.345"}, "Spend", "F5", "spend__design"),
    ("not-whole-number", {"output__people_trained": 12.5}, "Outputs", "G5", "output__people_trained"),
    ("not-a-date", {"signoff_date": "next week"}, SIGN, "B11", "signoff_date"),
    ("invalid-choice", {"ms_delivered__training_package": "maybe"}, "Outputs", "C10",
     "ms_delivered__training_package"),
    ("milestone-date-missing", {"ms_delivered__training_package": "Yes"}, "Outputs", "D10",
     "ms_date__training_package"),
    ("required-field-missing", {"signoff_name": None}, SIGN, "B9", "signoff_name"),
    ("required-field-missing", {"narrative_progress": "  "}, SIGN, "B4", "narrative_progress"),
    ("spend-over-budget-line", {"spend__materials": 2500}, "Spend", "F8", "spend__materials"),
]


@pytest.mark.parametrize(("code", "values", "sheet", "cell", "field"), CONTENT_PROBLEMS,
                         ids=[f"{c[0]}-{c[4]}" for c in CONTENT_PROBLEMS])
def test_content_error_rejects_the_return_naming_the_cell(
    engine: Engine, blank: Path, tmp_path: Path, code: str, values: dict[str, object], sheet: str, cell: str,
    field: str,
) -> None:
    [result] = ingest(engine, tmp_path, fill(blank, values, tmp_path / "in.xlsx"))
    assert result.outcome == "rejected"
    assert [(p.code, p.severity, p.sheet, p.cell, p.field) for p in result.problems] == [
        (code, "error", sheet, cell, field)]
    with Session(engine) as session:
        ret = session.get(m.Return, result.return_id)
        assert ret is not None and ret.status == "rejected"
        assert [p["code"] for p in json.loads(ret.problems_json)] == [code]
        assert set(json.loads(ret.problems_json)[0]) == {"code", "severity", "sheet", "cell", "field", "message"}
        assert session.exec(select(m.ReturnSpend).where(m.ReturnSpend.return_id == ret.id)).all() == []


def test_spend_given_as_text_is_rejected_with_a_message_a_lead_understands(
    engine: Engine, blank: Path, tmp_path: Path
) -> None:
    [result] = ingest(engine, tmp_path, fill(blank, {"spend__design": "about 300"}, tmp_path / "in.xlsx"))
    assert result.problems[0].message == (
        "Spend this quarter on 'Co-production and design of the training package' in cell F5 (sheet 'Spend') "
        "is text 'about 300'; enter a number in pounds, e.g. 300")


def _earlier_q1_return(engine: Engine, spend: dict[str, int]) -> None:
    with session_scope(engine) as session:
        add_return(session, "active-bystander", "2024-25-Q1", received=date(2024, 7, 10), spend=spend)


def test_cumulative_spend_over_a_budget_line_is_a_warning_and_the_return_is_accepted(
    engine: Engine, blank: Path, tmp_path: Path
) -> None:
    _earlier_q1_return(engine, {"materials": 150000})
    [result] = ingest(engine, tmp_path, fill(blank, {"spend__materials": 1000}, tmp_path / "in.xlsx"))
    assert result.outcome == "accepted"
    assert [(p.code, p.severity, p.sheet, p.cell) for p in result.problems] == [
        ("cumulative-over-budget-line", "warning", "Spend", "F8")]


def test_cumulative_spend_over_the_allocation_uses_official_earlier_returns(
    engine: Engine, blank: Path, tmp_path: Path
) -> None:
    _earlier_q1_return(engine, {"design": 800000, "delivery": 1600000, "train_the_trainer": 400000,
                                "materials": 200000})
    [result] = ingest(engine, tmp_path, fill(blank, {"spend__design": 100}, tmp_path / "in.xlsx"))
    assert result.outcome == "accepted"
    assert codes(result) == [
        ("cumulative-over-budget-line", "Spend", "F5"), ("cumulative-over-allocation", "Spend", "")]


@pytest.mark.parametrize("breakage", ["deleted", "#REF!"])
def test_pasted_over_input_with_its_name_gone_is_rejected_as_missing_defined_name(
    engine: Engine, blank: Path, tmp_path: Path, breakage: str
) -> None:
    wb = load_workbook(fill(blank, {}))
    if breakage == "deleted":
        del wb.defined_names["spend__delivery"]
    else:
        wb.defined_names["spend__delivery"].attr_text = "#REF!"
    wb.save(tmp_path / "in.xlsx")
    [result] = ingest(engine, tmp_path, tmp_path / "in.xlsx")
    assert result.outcome == "rejected"
    assert [(p.code, p.sheet, p.field) for p in result.problems] == [("missing-defined-name", "Spend",
                                                                      "spend__delivery")]


def test_return_for_a_period_the_project_does_not_report_for_is_rejected(
    engine: Engine, blank: Path, tmp_path: Path
) -> None:
    with session_scope(engine) as session:
        proj = project(session, "active-bystander")
        proj.delivery_start = date(2024, 10, 1)
        session.add(proj)
    [result] = ingest(engine, tmp_path, fill(blank, {}, tmp_path / "in.xlsx"))
    assert (result.outcome, codes(result)) == ("rejected", [("period-not-reported", "", "")])


def test_corrected_resubmission_supersedes_the_earlier_accepted_version(
    engine: Engine, blank: Path, tmp_path: Path
) -> None:
    first = ingest(engine, tmp_path, fill(blank, {"spend__design": 100}, tmp_path / "v1.xlsx"))[0]
    bad = ingest(engine, tmp_path, fill(blank, {"spend__design": "lots"}, tmp_path / "v2.xlsx"))[0]
    fixed = ingest(engine, tmp_path, fill(blank, {"spend__design": 150}, tmp_path / "v3.xlsx"))[0]
    assert [(r.outcome, r.version) for r in (first, bad, fixed)] == [("accepted", 1), ("rejected", 2),
                                                                     ("accepted", 3)]
    with Session(engine) as session:
        statuses = [r.status for r in session.exec(select(m.Return).order_by(col(m.Return.version)))]
        official = official_returns(session, date(2024, 10, 31))
        spend = session.exec(select(m.ReturnSpend.actual_pence).where(
            m.ReturnSpend.return_id == fixed.return_id).order_by(col(m.ReturnSpend.budget_line_id))).first()
    assert statuses == ["superseded", "rejected", "accepted"]
    assert [r.id for r in official.values()] == [fixed.return_id] and spend == 15000


def test_the_same_file_twice_is_recognised_and_not_double_counted(
    engine: Engine, blank: Path, tmp_path: Path
) -> None:
    filled = fill(blank, {"spend__design": 100}, tmp_path / "in.xlsx")
    copy = tmp_path / "again.xlsx"
    copy.write_bytes(filled.read_bytes())
    first, again = ingest(engine, tmp_path, filled, copy)
    assert (first.outcome, again.outcome, again.sha256) == ("accepted", "duplicate", first.sha256)
    assert [p.code for p in again.problems] == ["duplicate-file"] and not copy.exists()
    with Session(engine) as session:
        assert len(session.exec(select(m.Return)).all()) == 1
        assert sorted(f.outcome for f in session.exec(select(m.ReceivedFile))) == ["accepted", "duplicate"]


def test_a_database_failure_mid_file_leaves_no_half_written_return_and_keeps_the_file(
    engine: Engine, blank: Path, tmp_path: Path
) -> None:
    filled = fill(blank, {"spend__design": 100}, tmp_path / "in.xlsx")
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE returnmilestone"))
    [result] = ingest(engine, tmp_path, filled)
    assert (result.outcome, [p.code for p in result.problems]) == ("failed", ["ingest-failed"])
    assert filled.exists()
    with Session(engine) as session:
        assert session.exec(select(m.Return)).all() == []
        assert session.exec(select(m.ReceivedFile)).all() == []
