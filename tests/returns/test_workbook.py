"""The issued return workbook: pre-filled, protected, every input named, signed metadata hidden, validations."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy.engine import Engine
from sqlmodel import Session

from grants.kernel.errors import GrantsError
from grants.returns import layout as lay
from grants.returns.frame import load_frame
from grants.returns.writer import write_return_workbook
from tests.factories import load_example, period, project
from tests.returns_kit import KEY, issue


@pytest.fixture
def issued(engine: Engine, tmp_path: Path) -> Path:
    load_example(engine)
    return issue(engine, tmp_path)


def test_every_input_field_of_the_layout_has_a_defined_name_on_an_unlocked_cell(engine: Engine, issued: Path) -> None:
    with Session(engine) as session:
        fields = load_frame(session, project(session, "active-bystander").id or 0,
                            period(session, "2024-25-Q2").id or 0).fields()
    wb = load_workbook(issued)
    assert set(wb.defined_names) == {f.name for f in fields}
    for f in fields:
        sheet, ref = next(iter(wb.defined_names[f.name].destinations))
        cell = wb[sheet][ref.replace("$", "")]
        assert sheet == f.sheet and cell.protection.locked is False, f.name


def test_everything_but_the_inputs_is_protected_and_the_metadata_sheet_very_hidden(issued: Path) -> None:
    wb = load_workbook(issued)
    assert wb.sheetnames == list(lay.SHEETS)
    assert all(wb[name].protection.sheet for name in lay.SHEETS)
    assert wb[lay.META].sheet_state == "veryHidden" and wb.security.lockStructure
    assert wb[lay.SPEND]["A5"].protection.locked and wb[lay.PROJECT]["B9"].protection.locked


def test_metadata_identifies_the_project_and_period_and_its_signature_verifies(issued: Path) -> None:
    wb = load_workbook(issued)
    meta = {str(a.value): str(b.value) for a, b in wb[lay.META].iter_rows(max_col=2)}
    assert (meta["template_id"], meta["template_version"], meta["grant"], meta["project"], meta["period"]) == (
        lay.TEMPLATE_ID, lay.TEMPLATE_VERSION, "SVD-2024-25", "active-bystander", "2024-25-Q2")
    assert lay.signature_valid(KEY, meta) and not lay.signature_valid(b"other-key", meta)
    assert not lay.signature_valid(KEY, meta | {"period": "2024-25-Q3"})


def test_project_details_budget_and_profile_are_pre_filled_in_pounds(issued: Path) -> None:
    wb = load_workbook(issued)
    allocation = wb[lay.PROJECT]["B9"]
    assert (Decimal(str(allocation.value)), allocation.number_format) == (Decimal("30000"), wb[lay.SPEND]["C5"]
                                                                          .number_format)
    spend = wb[lay.SPEND]
    assert [spend.cell(row=5, column=c).value for c in (1, 3, 4)] == [
        "Co-production and design of the training package", 8000, 2000]
    assert "£" in spend["C5"].number_format and spend["G5"].value == "=E5+F5"
    assert [spend.cell(row=4, column=c).value for c in (8, 9)] == ["Forecast 2024-25-Q3", "Forecast 2024-25-Q4"]


def test_inputs_carry_data_validation_for_amounts_counts_dates_and_yes_no(issued: Path) -> None:
    wb = load_workbook(issued)
    kinds = {(dv.type, dv.formula1) for name in (lay.SPEND, lay.OUTPUTS)
             for dv in wb[name].data_validations.dataValidation if dv.sqref}
    assert {("decimal", "0"), ("whole", "0"), ("list", '"Yes,No"')} <= kinds
    assert any("F5" in str(dv.sqref) for dv in wb[lay.SPEND].data_validations.dataValidation if dv.type == "decimal")


def test_no_workbook_for_a_period_the_project_does_not_report_for(engine: Engine, tmp_path: Path) -> None:
    load_example(engine)
    with Session(engine) as session:
        proj = project(session, "active-bystander")
        proj.delivery_start = proj.delivery_end.replace(month=1, day=1)
        session.add(proj)
        session.flush()
        with pytest.raises(GrantsError, match="does not report for 2024-25-Q2"):
            write_return_workbook(session, proj.id or 0, period(session, "2024-25-Q2").id or 0, tmp_path, KEY)
