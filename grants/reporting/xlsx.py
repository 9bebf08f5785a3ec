"""The board report as an Excel workbook: summary, projects, outputs, risks and returns, with RAG colours and charts."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.formatting.rule import CellIsRule
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from grants.kernel.text import cell_text
from grants.reporting.board import BoardData

GBP = '"£"#,##0.00'
PERCENT = "0.0%"
RAG_FILL = {"red": "F8CBAD", "amber": "FFE699", "green": "C6EFCE"}
HEADER_FILL = PatternFill("solid", fgColor="1F4E78")
HEADER_FONT = Font(bold=True, color="FFFFFF")


def _money(value: Decimal | None) -> Decimal | None:
    """Money goes into cells as Decimal pounds (openpyxl writes it as a number, formatted in £)."""
    return value


def _table(ws: Worksheet, headers: Sequence[str], rows: Sequence[Sequence[Any]], formats: dict[int, str],
           widths: Sequence[int], rag_columns: Sequence[int] = ()) -> None:
    """Header row (frozen, filtered), data rows with number formats, RAG colours and readable widths."""
    ws.append(list(headers))
    for cell in ws[1]:
        cell.fill, cell.font = HEADER_FILL, HEADER_FONT
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for row in rows:
        ws.append([cell_text(value) for value in row])
    for column, number_format in formats.items():
        for (cell,) in ws.iter_rows(min_row=2, min_col=column, max_col=column):
            cell.number_format = number_format
    for index, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(index)].width = width
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    last = ws.max_row
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{max(last, 2)}"
    for column in rag_columns:
        letter = get_column_letter(column)
        for rag, colour in RAG_FILL.items():
            ws.conditional_formatting.add(
                f"{letter}2:{letter}{max(last, 2)}",
                CellIsRule(operator="equal", formula=[f'"{rag}"'], fill=PatternFill("solid", bgColor=colour)),
            )


def _summary(ws: Worksheet, data: BoardData) -> None:
    g = data.grant
    via = f" via {g.intermediary}" if g.intermediary else ""
    released = ", ".join(f"£{r.amount:,.2f} on {r.received_on:%d %b %Y}" for r in g.releases) or "nothing yet"
    rows: list[tuple[str, Any, str]] = [
        ("Grant", f"{g.reference} {g.name}", ""), ("Funder", f"{g.funder}{via}", ""),
        *([("Reporting period", data.period, "")] if data.period else []),
        ("As of", data.as_of, "DD MMM YYYY"), ("Awarded", _money(g.awarded), GBP),
        ("Expected release", g.expected_release, "DD MMM YYYY"), ("Released by the funder", _money(g.released), GBP),
        ("Releases", released, ""), ("Paid to projects", _money(g.paid_to_projects), GBP),
        ("Spent (reported)", _money(g.spent), GBP), ("Forecast outturn", _money(g.forecast_outturn), GBP),
        ("Forecast underspend", _money(g.forecast_underspend), GBP), ("Spend by", g.spend_by, "DD MMM YYYY"),
        ("Days to the spend-by date", data.days_to_spend_by, "0"), ("Overall RAG", g.rag, ""), ("Why", g.reason, ""),
    ]
    ws.title = "Summary"
    ws.append([f"{g.name}: board summary", ""])
    ws["A1"].font = Font(bold=True, size=14)
    for label, value, number_format in rows:
        ws.append([label, cell_text(value)])
        ws.cell(ws.max_row, 1).font = Font(bold=True)
        if number_format:
            ws.cell(ws.max_row, 2).number_format = number_format
    ws.column_dimensions["A"].width, ws.column_dimensions["B"].width = 28, 90
    rag_row = 1 + [r[0] for r in rows].index("Overall RAG") + 1
    ws.cell(rag_row, 2).fill = PatternFill("solid", fgColor=RAG_FILL.get(g.rag, "FFFFFF"))
    _quarter_chart(ws, data, first_row=len(rows) + 4)


def _quarter_chart(ws: Worksheet, data: BoardData, first_row: int) -> None:
    ws.cell(first_row, 1, "Quarter"), ws.cell(first_row, 2, "Profile (cumulative)"), ws.cell(first_row, 3, "Actual")
    for offset, quarter in enumerate(data.quarters, start=1):
        ws.cell(first_row + offset, 1, quarter.label)
        ws.cell(first_row + offset, 2, _money(quarter.profile)).number_format = GBP
        ws.cell(first_row + offset, 3, _money(quarter.actual)).number_format = GBP
    last = first_row + len(data.quarters)
    chart = LineChart()
    chart.title, chart.y_axis.title = "Spend against profile (cumulative)", "£"
    chart.add_data(Reference(ws, min_col=2, max_col=3, min_row=first_row, max_row=last), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=first_row + 1, max_row=last))
    chart.height, chart.width = 8, 18
    ws.add_chart(chart, f"D{first_row}")


def _projects(ws: Worksheet, data: BoardData) -> None:
    headers = ["Project", "Lead organisation", "Allocation", "Spent", "% of allocation", "Forecast outturn",
               "Spend RAG", "Spend: why", "Outputs RAG", "Outputs: why", "Overall RAG", "Overall: why"]
    rows = [[p.name, p.lead_organisation, _money(p.allocation), _money(p.spent), p.spent_share,
             _money(p.forecast), p.spend_rag, p.spend_reason, p.outputs_rag, p.outputs_reason, p.overall_rag,
             p.overall_reason] for p in data.projects]
    _table(ws, headers, rows, {3: GBP, 4: GBP, 5: PERCENT, 6: GBP}, [34, 26, 13, 13, 10, 14, 9, 44, 9, 44, 9, 44],
           rag_columns=(7, 9, 11))


def _outputs(ws: Worksheet, data: BoardData) -> None:
    headers = ["Project", "Target", "Unit", "Target value", "Due", "Profile to date", "Achieved", "% of target",
               "RAG", "Why"]
    rows = [[o.project, o.name, o.unit, o.target, o.due, o.profile_to_date, o.achieved, o.share_of_target,
             o.rag, o.reason] for o in data.outputs]
    _table(ws, headers, rows, {5: "DD MMM YYYY", 8: PERCENT}, [30, 40, 10, 10, 12, 10, 10, 10, 9, 60],
           rag_columns=(9,))
    if rows:
        chart = BarChart()
        chart.type, chart.title = "bar", "Outputs against target"
        chart.add_data(Reference(ws, min_col=6, max_col=7, min_row=1, max_row=len(rows) + 1), titles_from_data=True)
        chart.add_data(Reference(ws, min_col=4, min_row=1, max_row=len(rows) + 1), titles_from_data=True)
        chart.set_categories(Reference(ws, min_col=2, min_row=2, max_row=len(rows) + 1))
        chart.height, chart.width = max(8, len(rows) * 0.9), 22
        ws.add_chart(chart, "L2")


def _risks(ws: Worksheet, data: BoardData) -> None:
    headers = ["ID", "Scope", "Kind", "Risk", "Likelihood", "Impact", "Score", "RAG", "Owner", "Mitigation",
               "Evidence", "First seen", "Last seen"]
    ordered = sorted(data.risks, key=lambda r: -r.score)  # stable: ties keep the register's order
    rows = [[r.id, r.scope, r.kind, r.title, r.likelihood, r.impact, r.score, r.rag, r.owner, r.mitigation,
             r.evidence, r.first_seen, r.last_seen] for r in ordered]
    _table(ws, headers, rows, {12: "DD MMM YYYY", 13: "DD MMM YYYY"},
           [6, 26, 20, 44, 10, 8, 7, 8, 18, 36, 50, 12, 12], rag_columns=(8,))


def _returns(ws: Worksheet, data: BoardData) -> None:
    headers = ["Project", "Period", "Due", "Received", "Version", "Status", "Problems"]
    rows = [[r.project, r.period, r.due, r.received_on, r.version or None, r.status, r.problems] for r in data.returns]
    _table(ws, headers, rows, {3: "DD MMM YYYY", 4: "DD MMM YYYY"}, [34, 12, 12, 12, 9, 16, 9])


def write_board_workbook(data: BoardData, path: Path) -> Path:
    """Write the board report workbook to `path` (its folder is created) and return the path."""
    workbook = Workbook()
    _summary(workbook.active, data)
    for title, writer in (("Projects", _projects), ("Outputs", _outputs), ("Risks", _risks), ("Returns", _returns)):
        writer(workbook.create_sheet(title), data)
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)
    return path
