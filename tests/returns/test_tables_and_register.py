"""Rows added inside the spend table are read, worked-out cells and totals are reconciled (issue 12, items 4 and 5);
a return for a withdrawn project is quarantined, one for a quarter not yet ended is rejected (item 7)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from grants.kernel import models as m
from grants.kernel.db import session_scope
from grants.returns.ingest import ingest_files
from tests.factories import project
from tests.returns_kit import (  # noqa: F401
    _stop_parser_pool,
    codes,
    fill,
    ingest,
    insert_row,
    issue,
    member,
    options,
    recalculate,
    rezip,
    spend_of,
)

SPEND_SHEET = "xl/worksheets/sheet3.xml"
FILLED = {"spend__design": 1000, "spend__delivery": 2000, "spend__train_the_trainer": 500, "spend__materials": 200}


def test_a_row_added_inside_the_spend_table_under_an_unknown_name_rejects_the_return(
    engine: Engine, blank: Path, tmp_path: Path,
) -> None:
    filled = fill(blank, FILLED, tmp_path / "filled.xlsx")
    added = recalculate(insert_row(filled, "Spend", 8, {1: "Refreshments", 6: 300}, tmp_path / "added.xlsx"))
    assert load_workbook(added)["Spend"]["F10"].value == "=SUM(F5:F9)"  # Excel widened the total over the new row
    [result] = ingest(engine, tmp_path, added)
    assert (result.outcome, codes(result)) == ("rejected", [("unknown-budget-line", "Spend", "A8")])
    assert "('Refreshments', £300.00 this quarter, cell A8) was added to the table: unknown budget line: use one " \
           "of the listed lines or ask your officer" in result.problems[0].message


def test_a_row_added_under_a_known_line_counts_towards_that_line_and_the_total_reconciles(
    engine: Engine, blank: Path, tmp_path: Path,
) -> None:
    filled = fill(blank, FILLED, tmp_path / "filled.xlsx")
    added = recalculate(insert_row(filled, "Spend", 8, {1: " materials AND venues ", 6: 300},
                                   tmp_path / "added.xlsx"))
    shown_total = load_workbook(added, data_only=True)["Spend"]["F10"].value
    [result] = ingest(engine, tmp_path, added)
    assert (result.outcome, result.problems) == ("accepted", ())
    stored = spend_of(engine, result.return_id)
    assert stored == {"design": 100000, "delivery": 200000, "train_the_trainer": 50000, "materials": 50000}
    assert sum(stored.values()) == round(shown_total * 100) == 400000


def test_a_total_that_leaves_out_a_row_added_below_the_last_line_is_a_mismatch(
    engine: Engine, blank: Path, tmp_path: Path,
) -> None:
    filled = fill(blank, FILLED, tmp_path / "filled.xlsx")
    below = recalculate(insert_row(filled, "Spend", 9, {1: "Materials and venues", 6: 300}, tmp_path / "below.xlsx"))
    assert load_workbook(below)["Spend"]["F10"].value == "=SUM(F5:F8)"  # Excel did not widen the total
    [result] = ingest(engine, tmp_path, below)
    assert (result.outcome, codes(result)) == ("rejected", [("table-total-mismatch", "Spend", "F10")])
    assert "shows £3,700.00, but the rows of the table add up to £4,000.00" in result.problems[0].message


def test_a_total_typed_over_with_a_different_figure_is_a_mismatch(
    engine: Engine, blank: Path, tmp_path: Path,
) -> None:
    calculated = recalculate(fill(blank, FILLED, tmp_path / "calc.xlsx"))
    xml = member(calculated, SPEND_SHEET).decode()
    typed = re.sub(r'(<c r="F9"[^>]*?)(?: t="\w+")?>.*?</c>', r'\1 t="n"><v>9999</v></c>', xml, count=1)
    [result] = ingest(engine, tmp_path, rezip(calculated, tmp_path / "typed.xlsx", {SPEND_SHEET: typed.encode()}))
    assert codes(result) == [("table-total-mismatch", "Spend", "F9")]


def test_a_worked_out_cell_typed_over_is_a_problem_naming_it_and_its_input(
    engine: Engine, blank: Path, tmp_path: Path,
) -> None:
    wb = load_workbook(fill(blank, {"spend__design": None}, tmp_path / "typed.xlsx"))
    wb["Spend"]["G5"] = 1200  # the lead typed the quarter's spend into "Spent to date" and left F5 blank
    wb.save(tmp_path / "typed.xlsx")
    [result] = ingest(engine, tmp_path, tmp_path / "typed.xlsx")
    assert (result.outcome, codes(result)) == ("rejected", [("derived-cell-overwritten", "Spend", "G5")])
    assert "'Spent to date' for 'Co-production and design of the training package' (sheet 'Spend', cell G5) is " \
           "worked out from 'Spend this quarter' in cell F5, but it was typed over: enter this quarter's figure in " \
           "F5" in result.problems[0].message


def test_a_worked_out_cell_whose_saved_value_disagrees_with_its_inputs_is_a_problem(
    engine: Engine, blank: Path, tmp_path: Path,
) -> None:
    calculated = recalculate(fill(blank, FILLED | {"output__people_trained": 40}, tmp_path / "calc.xlsx"))
    spend = member(calculated, SPEND_SHEET).decode().replace("<f>E5+F5</f><v>1000.0</v>", "<f>E5+F5</f><v>1.0</v>")
    outputs = member(calculated, "xl/worksheets/sheet4.xml").decode().replace(
        "<f>F5+G5</f><v>40.0</v>", "<f>F5+G5</f><v>4.0</v>")
    stale = rezip(calculated, tmp_path / "stale.xlsx", {SPEND_SHEET: spend.encode(),
                                                       "xl/worksheets/sheet4.xml": outputs.encode()})
    [result] = ingest(engine, tmp_path, stale)
    assert codes(result) == [("derived-cell-mismatch", "Spend", "G5"), ("derived-cell-mismatch", "Outputs", "H5")]
    assert "shows £1.00, but E5 plus 'Spend this quarter' in cell F5 make £1,000.00" in result.problems[0].message


def test_a_return_for_a_project_withdrawn_from_the_register_is_quarantined_with_the_reason(
    engine: Engine, blank: Path, tmp_path: Path,
) -> None:
    with session_scope(engine) as session:
        project(session, "active-bystander").active = False
    [result] = ingest(engine, tmp_path, fill(blank, FILLED, tmp_path / "in.xlsx"))
    assert (result.outcome, [p.code for p in result.problems]) == ("quarantined", ["project-withdrawn"])
    with Session(engine) as session:
        [received] = session.exec(select(m.ReceivedFile)).all()
        assert session.exec(select(m.Return)).all() == []
    [stored] = json.loads(received.problems_json)
    assert (received.outcome, stored["code"]) == ("quarantined", "project-withdrawn")
    assert "(active-bystander) has been withdrawn from the grant's register" in stored["message"]


@pytest.mark.parametrize(("received", "outcome"), [
    (datetime(2024, 9, 30, 16, 0, tzinfo=UTC), "rejected"), (datetime(2024, 10, 1, 9, 0, tzinfo=UTC), "accepted"),
])
def test_a_return_for_a_quarter_not_yet_ended_is_rejected_with_the_day_it_ends(
    engine: Engine, blank: Path, tmp_path: Path, received: datetime, outcome: str,
) -> None:
    filled = fill(blank, FILLED | {"signoff_date": received.date()}, tmp_path / "in.xlsx")
    [result] = ingest_files(engine, [filled], received, options(tmp_path))
    assert result.outcome == outcome
    if outcome == "rejected":
        assert [p.code for p in result.problems] == ["quarter-not-ended"]
        assert "this quarter ends on 30 September 2024: send the return after that" in result.problems[0].message
