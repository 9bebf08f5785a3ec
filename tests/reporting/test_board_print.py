"""The board workbook as printed: A4 landscape fitted to the page width, the header row repeated on every page,
row heights that fit the wrapped reasons, values next to their labels, no `###` in number cells, outputs charted
as % of target on one readable axis, and on-profile spend drawn in navy, never red."""

from __future__ import annotations

import dataclasses
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.cell.cell import MergedCell

from grants.kernel.sheet_print import lines_needed
from grants.reporting.board import OutputRow
from grants.reporting.xlsx import write_board_workbook
from tests.reporting.test_board_report import sample_board

TABLE_SHEETS = ["Projects", "Outputs", "Outputs chart", "Risks", "Returns"]
LONG_REASON = ("Workshops delivered across the city 5 of 7 profiled by 31 December 2024 (71.4%): needs 2.3/month to "
               "reach 12 by 31 March 2025, achieving 0.9/month (projected 8: unlikely by the deadline)")


@pytest.fixture
def workbook(tmp_path: Path) -> Path:
    data = sample_board()
    outputs = [*data.outputs, OutputRow("M.A.N Culture", "Schools engaged", "schools", 2, data.as_of, 1, 2, "green",
                                        "2 of 2")]
    projects = [dataclasses.replace(data.projects[0], outputs_reason=LONG_REASON), *data.projects[1:]]
    return write_board_workbook(dataclasses.replace(data, projects=projects, outputs=outputs),
                                tmp_path / "board.xlsx")


def _chart_xml(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as z:
        return [z.read(n).decode() for n in sorted(z.namelist()) if n.startswith("xl/charts/chart")]


@pytest.mark.parametrize("sheet", ["Summary", *TABLE_SHEETS])
def test_every_sheet_prints_a4_landscape_one_page_wide(workbook: Path, sheet: str) -> None:
    ws = load_workbook(workbook)[sheet]
    assert ws.page_setup.orientation == "landscape"
    assert int(ws.page_setup.paperSize) == 9  # A4
    assert ws.sheet_properties.pageSetUpPr.fitToPage is True
    assert int(ws.page_setup.fitToWidth) == 1
    assert "Page &P of &N" in (ws.oddFooter.right.text or "")


@pytest.mark.parametrize("sheet", TABLE_SHEETS)
def test_table_header_row_repeats_on_every_printed_page(workbook: Path, sheet: str) -> None:
    ws = load_workbook(workbook)[sheet]
    assert ws.print_title_rows == "$1:$1"
    assert int(ws.page_setup.fitToHeight or 0) in (0, 1)  # as many pages tall as needed, or one for a chart sheet


def test_summary_and_the_outputs_chart_each_print_on_one_page(workbook: Path) -> None:
    wb = load_workbook(workbook)
    assert [int(wb[name].page_setup.fitToHeight) for name in ("Summary", "Outputs chart")] == [1, 1]


def test_row_heights_fit_the_wrapped_reasons_and_the_header(workbook: Path) -> None:
    ws = load_workbook(workbook)["Projects"]
    header = [c.value for c in ws[1]]
    column = header.index("Outputs: why") + 1
    width = ws.column_dimensions[ws.cell(1, column).column_letter].width
    lines = lines_needed(LONG_REASON, width)
    assert lines >= 4
    assert ws.row_dimensions[2].height >= lines * 13  # 10 pt text: 13 pt a line
    assert ws.row_dimensions[3].height < ws.row_dimensions[2].height  # a shorter row is not padded to match
    longest_heading = max(lines_needed(str(c.value), ws.column_dimensions[c.column_letter].width) for c in ws[1])
    assert longest_heading >= 2 and ws.row_dimensions[1].height >= longest_heading * 13  # "Spend RAG" wraps


def test_summary_values_sit_beside_their_labels(workbook: Path) -> None:
    ws = load_workbook(workbook)["Summary"]
    assert ws.column_dimensions["B"].width <= 24  # not a 90-character column pushing numbers far right
    awarded = next(r for r in range(1, 25) if ws.cell(r, 1).value == "Awarded")
    assert ws.cell(awarded, 2).alignment.horizontal == "left"
    why = next(r for r in range(1, 25) if ws.cell(r, 1).value == "Why")
    assert f"B{why}:H{why}" in {str(m) for m in ws.merged_cells.ranges}  # a sentence gets the width it needs


@pytest.mark.parametrize("sheet", ["Summary", *TABLE_SHEETS])
def test_no_money_or_date_cell_is_too_narrow_to_show(workbook: Path, sheet: str) -> None:
    ws = load_workbook(workbook)[sheet]
    for row in ws.iter_rows():
        for cell in row:
            if isinstance(cell, MergedCell):
                continue
            if cell.number_format.startswith('"£"') and isinstance(cell.value, int | float | Decimal):
                shown = f"£{cell.value:,.2f}"
            elif cell.is_date:
                shown = "31 December 2024"
            else:
                continue
            assert ws.column_dimensions[cell.column_letter].width >= len(shown) + 1, (cell.coordinate, shown)


def test_outputs_chart_shows_each_target_as_a_share_on_a_percent_axis(workbook: Path) -> None:
    ws = load_workbook(workbook)["Outputs chart"]
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    assert [r[0] for r in rows] == ["People trained", "Workshops delivered", "Schools engaged"]
    assert [(r[2], r[3]) for r in rows] == [(0.5, 0.36), (pytest.approx(7 / 12), pytest.approx(7 / 12)), (0.5, 1)]
    outputs_xml = next(x for x in _chart_xml(workbook) if "barChart" in x)
    assert '<max val="1" />' in outputs_xml and '<min val="0" />' in outputs_xml
    assert 'formatCode="0%"' in outputs_xml
    assert outputs_xml.count('<delete val="0" />') == 2  # both axes drawn


def test_spend_chart_draws_actual_in_navy_and_profile_dashed_grey(workbook: Path) -> None:
    spend_xml = next(x for x in _chart_xml(workbook) if "lineChart" in x)
    assert 'srgbClr val="1F4E78"' in spend_xml and 'prstDash val="dash"' in spend_xml
    assert "FF0000" not in spend_xml.upper() and "C0392B" not in spend_xml.upper()
    assert spend_xml.count('<delete val="0" />') == 2 and 'formatCode="&quot;£&quot;#,##0"' in spend_xml


def test_risks_without_an_owner_or_mitigation_say_so(workbook: Path) -> None:
    rows = list(load_workbook(workbook)["Risks"].iter_rows(min_row=2, values_only=True))
    assert [(r[8], r[9]) for r in rows] == [("CSTO", "Extra cohorts in Q4"),
                                            ("Not assigned yet", "None recorded yet")]
