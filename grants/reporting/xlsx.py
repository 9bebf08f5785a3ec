"""The board report as an Excel workbook: summary, projects, outputs (a table and a chart of % of target), risks
and returns, with RAG colours and charts. Every sheet prints on A4 landscape, one page wide, its header row
repeated on each page, rows tall enough for their wrapped reasons (see grants.kernel.sheet_print)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.formatting.rule import CellIsRule
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from grants.kernel.dates import short_date
from grants.kernel.sheet_print import fit_row_heights, set_print
from grants.kernel.text import cell_text
from grants.reporting.board import BoardData
from grants.reporting.xlsx_charts import outputs_chart, spend_chart

GBP = '"£"#,##0.00'
PERCENT = "0.0%"
DATE = "D MMMM YYYY"  # GOV.UK style: 14 October 2024 (no leading zero, the month in full)
RAG_FILL = {"red": "F8CBAD", "amber": "FFE699", "green": "C6EFCE", "no data yet": "D9D9D9"}
HEADER_FILL = PatternFill("solid", fgColor="1F4E78")
HEADER_FONT = Font(name="Calibri", size=10, bold=True, color="FFFFFF")
BODY_FONT = Font(name="Calibri", size=10)
NO_OWNER, NO_MITIGATION = "Not assigned yet", "None recorded yet"


def _money(value: Decimal | None) -> Decimal | None:
    """Money goes into cells as Decimal pounds (openpyxl writes it as a number, formatted in £)."""
    return value


def _table(ws: Worksheet, headers: Sequence[str], rows: Sequence[Sequence[Any]], formats: dict[int, str],
           widths: Sequence[int], rag_columns: Sequence[int] = (), footer: str = "") -> None:
    """Header row (frozen, filtered, repeated on every printed page), data rows with number formats, RAG colours,
    readable widths and row heights that fit the wrapped text; prints A4 landscape, one page wide."""
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
            cell.font = BODY_FONT
    last = ws.max_row
    fit_row_heights(ws, range(1, last + 1))
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{max(last, 2)}"
    set_print(ws, title_rows=1, footer=footer)
    for column in rag_columns:
        letter = get_column_letter(column)
        for rag, colour in RAG_FILL.items():
            ws.conditional_formatting.add(
                f"{letter}2:{letter}{max(last, 2)}",
                CellIsRule(operator="equal", formula=[f'"{rag}"'], fill=PatternFill("solid", bgColor=colour)),
            )


def _footer(data: BoardData) -> str:
    return f"{data.grant.name}: board report as of {short_date(data.as_of)}"


SUMMARY_TEXT_ROWS = ("Grant", "Funder", "Releases", "Figures cover", "Why")
"""Summary rows whose value is a sentence: written across columns B to H and wrapped."""


def _summary(ws: Worksheet, data: BoardData) -> None:
    g = data.grant
    via = f" via {g.intermediary}" if g.intermediary else ""
    released = ", ".join(f"£{r.amount:,.2f} on {short_date(r.received_on)}" for r in g.releases) or "nothing yet"
    rows: list[tuple[str, Any, str]] = [
        ("Grant", f"{g.reference} {g.name}", ""), ("Funder", f"{g.funder}{via}", ""),
        *([("Reporting period", data.period, "")] if data.period else []),
        ("As of", data.as_of, DATE), ("Awarded", _money(g.awarded), GBP),
        ("Expected release", g.expected_release, DATE), ("Released by the funder", _money(g.released), GBP),
        ("Releases", released, ""), ("Paid to projects", _money(g.paid_to_projects), GBP),
        ("Spent (reported)", _money(g.spent), GBP), ("Forecast outturn", _money(g.forecast_outturn), GBP),
        ("Figures cover", g.coverage, ""),
        ("Forecast unspent (award less outturn capped at allocations)", _money(g.forecast_underspend), GBP),
        ("Forecast overspend beyond allocations", _money(g.forecast_overspend), GBP),
        ("Spend by", g.spend_by, DATE),
        ("Days to the spend-by date", data.days_to_spend_by, "0"), ("Overall RAG", g.rag, ""), ("Why", g.reason, ""),
    ]
    ws.title = "Summary"
    ws.append([f"{g.name}: board summary", ""])
    ws["A1"].font = Font(bold=True, size=14)
    for label, value, number_format in rows:
        ws.append([label, cell_text(value)])
        row = ws.max_row
        ws.cell(row, 1).font = Font(bold=True)
        ws.cell(row, 1).alignment = Alignment(vertical="top")
        ws.cell(row, 2).alignment = Alignment(horizontal="left", vertical="top", wrap_text=True)
        if number_format:
            ws.cell(row, 2).number_format = number_format
        if label in SUMMARY_TEXT_ROWS:
            ws.merge_cells(start_row=row, start_column=2, end_row=row, end_column=SUMMARY_SPAN)
    for letter, width in SUMMARY_WIDTHS.items():
        ws.column_dimensions[letter].width = width
    span = sum(SUMMARY_WIDTHS[get_column_letter(c)] for c in range(2, SUMMARY_SPAN + 1))
    fit_row_heights(ws, range(2, ws.max_row + 1), font_size=11, spans={2: span})
    rag_row = 1 + [r[0] for r in rows].index("Overall RAG") + 1
    ws.cell(rag_row, 2).fill = PatternFill("solid", fgColor=RAG_FILL.get(g.rag, "FFFFFF"))
    ws.cell(rag_row, 2).font = Font(bold=True)
    _quarter_chart(ws, data, first_row=len(rows) + 4)
    set_print(ws, fit_height=1, footer=_footer(data))


SUMMARY_SPAN = 8  # text values run from B to H
SUMMARY_WIDTHS = {"A": 27, "B": 20, "C": 20, "D": 12, "E": 12, "F": 12, "G": 12, "H": 12}


def _quarter_chart(ws: Worksheet, data: BoardData, first_row: int) -> None:
    """The cumulative series as a small table in A:C (the chart's data) with the chart beside it."""
    for column, heading in enumerate(("Quarter", "Profile (cumulative)", "Actual (cumulative)"), start=1):
        cell = ws.cell(first_row, column, heading)
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for offset, quarter in enumerate(data.quarters, start=1):
        ws.cell(first_row + offset, 1, quarter.label)
        ws.cell(first_row + offset, 2, _money(quarter.profile)).number_format = GBP
        ws.cell(first_row + offset, 3, _money(quarter.actual)).number_format = GBP
    fit_row_heights(ws, [first_row], font_size=11)
    spend_chart(ws, first_row, first_row + len(data.quarters), f"D{first_row}")


def _projects(ws: Worksheet, data: BoardData) -> None:
    """One row per project; with no return yet its money cells are empty (not £0.00) and its Return cell says so."""
    headers = ["Project", "Lead organisation", "Return", "Allocation", "Spent", "% of allocation", "Forecast outturn",
               "Spend RAG", "Spend: why", "Outputs RAG", "Outputs: why", "Overall RAG", "Overall: why"]
    rows = [[p.name, p.lead_organisation, p.return_status, _money(p.allocation), _money(p.spent), p.spent_share,
             _money(p.forecast), p.spend_rag, p.spend_reason, p.outputs_rag, p.outputs_reason, p.overall_rag,
             p.overall_reason] for p in data.projects]
    _table(ws, headers, rows, {4: GBP, 5: GBP, 6: PERCENT, 7: GBP},
           [24, 18, 12, 12, 12, 12, 12, 9, 36, 9, 36, 9, 30], rag_columns=(8, 10, 12), footer=_footer(data))


def _outputs(ws: Worksheet, data: BoardData) -> None:
    headers = ["Project", "Target", "Unit", "Target value", "Due", "Profile to date", "Achieved",
               "% of profile (rated)", "% of target", "RAG", "Why"]
    rows = [[o.project, o.name, o.unit, o.target, o.due, o.profile_to_date, o.achieved, o.share_of_profile,
             o.share_of_target, o.rag, o.reason] for o in data.outputs]
    _table(ws, headers, rows, {5: DATE, 8: PERCENT, 9: PERCENT}, [24, 30, 10, 8, 17, 9, 9, 10, 9, 8, 56],
           rag_columns=(10,), footer=_footer(data))


def _outputs_chart(ws: Worksheet, data: BoardData) -> None:
    """Each count target's profile to date and achievement as a % of the target (a small table, then the chart
    under it), so targets of 2 and of 500 share one readable scale; the sheet prints on one page."""
    counts = [o for o in data.outputs if o.unit != "milestone" and o.target > 0]
    headers = ["Output", "Project", "Profiled by now", "Achieved", "Target", "RAG"]
    rows = [[_short(o.name), o.project, Decimal(o.profile_to_date) / Decimal(o.target), o.share_of_target,
             f"{o.target:,} {o.unit}", o.rag] for o in counts]
    _table(ws, headers, rows, {3: PERCENT, 4: PERCENT}, [50, 30, 11, 11, 16, 8], rag_columns=(6,),
           footer=_footer(data))
    set_print(ws, fit_height=1, footer=_footer(data))
    if rows:
        shares = [float(max(Decimal(o.profile_to_date) / Decimal(o.target), o.share_of_target)) for o in counts]
        top = min(max(1.0, math.ceil(max(shares) * 4) / 4), 2.0)
        outputs_chart(ws, 1, len(rows) + 1, f"A{len(rows) + 3}", top)


def _short(name: str, limit: int = 50) -> str:
    """A chart label: the name, cut at a word before `limit` characters with an ellipsis (full name on Outputs)."""
    if len(name) <= limit:
        return name
    return name[: name.rfind(" ", 0, limit - 1)].rstrip(" ,;:(") + "…"


def _risks(ws: Worksheet, data: BoardData) -> None:
    headers = ["ID", "Scope", "Kind", "Risk", "Likelihood", "Impact", "Score", "RAG", "Owner", "Mitigation",
               "Evidence", "First seen", "Last seen"]
    ordered = sorted(data.risks, key=lambda r: -r.score)  # stable: ties keep the register's order
    rows = [[r.id, r.scope, r.kind, r.title, r.likelihood, r.impact, r.score, r.rag, r.owner or NO_OWNER,
             r.mitigation or NO_MITIGATION, r.evidence, r.first_seen, r.last_seen] for r in ordered]
    _table(ws, headers, rows, {12: DATE, 13: DATE},
           [5, 18, 14, 32, 11, 8, 7, 8, 14, 28, 40, 17, 17], rag_columns=(8,), footer=_footer(data))


def _returns(ws: Worksheet, data: BoardData) -> None:
    headers = ["Project", "Period", "Due", "Received", "Version", "Status", "Problems"]
    rows = [[r.project, r.period, r.due, r.received_on, r.version or None, r.status, r.problems] for r in data.returns]
    _table(ws, headers, rows, {3: DATE, 4: DATE}, [40, 12, 17, 17, 9, 16, 10],
           footer=_footer(data))


def write_board_workbook(data: BoardData, path: Path) -> Path:
    """Write the board report workbook to `path` (its folder is created) and return the path."""
    workbook = Workbook()
    _summary(workbook.active, data)
    for title, writer in (("Projects", _projects), ("Outputs", _outputs), ("Outputs chart", _outputs_chart),
                          ("Risks", _risks), ("Returns", _returns)):
        writer(workbook.create_sheet(title), data)
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)
    return path
