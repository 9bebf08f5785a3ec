"""Write the pre-filled, protected quarterly return workbook for one project and period (openpyxl).

Sheets: instructions, project details, spend per budget line (with profile, spend to date and forecasts for the
remaining quarters), outputs and milestones, narrative and sign-off, and a very hidden signed metadata sheet.
Every input cell carries the defined name the layout gives it.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from openpyxl import Workbook
from openpyxl.utils import get_column_letter
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.workbook.protection import WorkbookProtection
from openpyxl.worksheet.worksheet import Worksheet
from sqlmodel import Session

from grants.kernel import models as m
from grants.kernel.dates import long_date, short_date
from grants.kernel.errors import GrantsError
from grants.kernel.money import format_gbp, from_pence
from grants.kernel.text import as_text, cell_text
from grants.programme.overrides import due_overrides
from grants.returns import layout as lay
from grants.returns import style as st
from grants.returns.frame import ReturnFrame, load_frame


class _Book:
    """The workbook being written and the defined names given to its input cells."""

    def __init__(self, frame: ReturnFrame) -> None:
        self.frame = frame
        self.wb = Workbook()
        self.fields = {f.name: f for f in frame.fields()}

    def sheet(self, name: str) -> Worksheet:
        ws = self.wb.active if self.wb.active is not None and self.wb.active.title == "Sheet" else None
        if ws is None:
            return self.wb.create_sheet(name)
        ws.title = name
        return ws

    def input(self, ws: Worksheet, row: int, column: int, name: str) -> None:
        """Make (row, column) the input cell for the field `name` and give it its defined name."""
        field = self.fields[name]
        cell = ws.cell(row=row, column=column)
        st.make_input(cell, field.kind)
        if field.kind in self.rules:
            self.rules[field.kind].add(cell.coordinate)
        ref = f"'{ws.title}'!${get_column_letter(column)}${row}"
        self.wb.defined_names[name] = DefinedName(name, attr_text=ref)

    def rules_for(self, ws: Worksheet) -> None:
        self.rules = st.validations(ws)


def write_return_workbook(session: Session, project_id: int, period_id: int, out_dir: Path, signing_key: bytes,
                          *, return_to: str | None = None, upload_url: str | None = None) -> Path:
    """Write the pre-filled return workbook for a project and period into `out_dir`; returns the file's path.

    `return_to` is the address leads email returns to (notify settings' `return_to`); `upload_url` is where they can
    upload it instead. PORTAL: the lead portal passes its upload link here once it exists; until then the
    instructions name the email address only."""
    frame = load_frame(session, project_id, period_id)
    extended = due_overrides(session, frame.grant.id).get((project_id, period_id))
    if extended is not None:  # the lead's own due date, as every message and page gives it
        frame = replace(frame, period=m.ReportingPeriod(**(frame.period.model_dump() | {"due": extended})))
    if not frame.reports_for_period:
        raise GrantsError(f"project {frame.project.code} does not report for {frame.period.label}")
    book = _Book(frame)
    _instructions(book, return_to, upload_url)
    _project(book)
    _spend(book)
    _outputs(book)
    _sign_off(book)
    _meta(book, signing_key)
    book.wb.security = WorkbookProtection(lockStructure=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / return_file_name(frame.project.code, frame.period.label)
    book.wb.save(path)
    return path


def return_file_name(project_code: str, period_label: str) -> str:
    """'return-active-bystander-2024-25-Q2.xlsx' (safe characters only)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", f"return-{project_code}-{period_label}.xlsx")


def send_back(file_name: str, due: str, return_to: str | None, upload_url: str | None) -> list[str]:
    """How to send the workbook back, in plain words: the address, the upload link when there is one."""
    email = (f"Email this file ({file_name}) back as an attachment to {return_to} by {due}."
             if return_to else f"Reply to the email this file came with, attaching it, by {due}.")
    lines = [email, "Keep it as an Excel .xlsx file and keep its name; you do not need to print or scan it."]
    if upload_url:
        lines.insert(1, f"Or upload it at {upload_url}")
    return lines


def _instructions(book: _Book, return_to: str | None = None, upload_url: str | None = None) -> None:
    f, ws = book.frame, book.sheet(lay.INSTRUCTIONS)
    st.title(ws, f"Quarterly return: {f.project.name}", as_text(f"{f.grant.name} ({f.grant.reference}), "
                                                                 f"{f.period.label}"))
    text = [
        f"Please complete this return for {short_date(f.period.start)} to {short_date(f.period.end)} "
        f"and send it back by {long_date(f.period.due)}.",
        "Fill in the yellow cells only; everything else is filled in for you and protected.",
        "Spend: enter what was spent this quarter on each budget line, in pounds (e.g. 1250.00). Leave blank for "
        "nothing. Forecast: what you expect to spend on each line in each remaining quarter.",
        "Outputs: enter what was achieved this quarter (not the running total), as whole numbers.",
        "Milestones: choose Yes once delivered, give the date and say where the evidence is.",
        "Narrative and sign-off: describe progress, issues and risks; the lead signs with name, role and date.",
        "Please do not rename, copy or paste over sheets: the workbook is signed for this project and period. "
        "You may send a corrected version at any time; the latest accepted one counts.",
        "Keep receipts and evidence for audit. Only spend within the grant period is eligible.",
    ]
    for row, line in enumerate(text, start=4):
        ws.cell(row=row, column=1, value=f"{row - 3}. {line}").alignment = st.WRAP
        ws.row_dimensions[row].height = 34
    row = 4 + len(text) + 1
    ws.cell(row=row, column=1, value="How to send it back").font = st.HEADING
    name = return_file_name(f.project.code, f.period.label)
    for offset, line in enumerate(send_back(name, f"{long_date(f.period.due)}", return_to, upload_url), start=1):
        ws.cell(row=row + offset, column=1, value=line).alignment = st.WRAP
        ws.row_dimensions[row + offset].height = 34
    st.widths(ws, {"A": 92})
    st.print_on_pages(ws, landscape=False, one_page=True)
    st.protect(ws)


def _project(book: _Book) -> None:
    f, ws = book.frame, book.sheet(lay.PROJECT)
    st.title(ws, "Project details", "Pre-filled from the grant register; tell your officer if anything is wrong.")
    rows: list[tuple[str, object, str]] = [
        ("Grant", f"{f.grant.name} ({f.grant.reference})", ""), ("Funder", f.grant.funder, ""),
        ("Project", f"{f.project.name} ({f.project.code})", ""), ("Lead organisation", f.project.lead_organisation, ""),
        ("Lead", f"{f.project.lead_name} <{f.project.lead_email}>", ""),
        ("Allocation", from_pence(f.project.allocation_pence), st.GBP),
        ("Delivery", f"{f.project.delivery_start:%d/%m/%Y} to {f.project.delivery_end:%d/%m/%Y}", ""),
        ("Reporting period", f"{f.period.label}: {f.period.start:%d/%m/%Y} to {f.period.end:%d/%m/%Y}", ""),
        ("Return due", f.period.due, st.DATE), ("Template", f"{lay.TEMPLATE_ID} v{lay.TEMPLATE_VERSION}", ""),
    ]
    for row, (label, value, fmt) in enumerate(rows, start=4):
        ws.cell(row=row, column=1, value=label).font = st.TOTAL_FONT
        st.shown(ws.cell(row=row, column=2, value=cell_text(value)), fmt)
    st.widths(ws, {"A": 24, "B": 70})
    st.print_on_pages(ws, landscape=False, one_page=True)
    st.protect(ws)


def _spend(book: _Book) -> None:
    f, ws = book.frame, book.sheet(lay.SPEND)
    book.rules_for(ws)
    st.title(ws, "Spend by budget line", f"{f.period.label}. Amounts in pounds. Yellow cells are yours to fill.")
    labels = ["Budget line", "Cost type", "Budget", "Profile this quarter", "Spent before this quarter",
              "Spend this quarter", "Spent to date"] + [f"Forecast {label}" for label in f.later_periods]
    st.header(ws, 4, labels)
    first = 5
    for row, line in enumerate(f.lines, start=first):
        ws.cell(row=row, column=1, value=as_text(line.name)).border = st.BOX
        ws.cell(row=row, column=2, value=as_text(line.cost_type.replace("_", "-"))).border = st.BOX
        for column, pence in ((3, line.budget_pence), (4, line.profile_pence), (5, line.spent_before_pence)):
            st.shown(ws.cell(row=row, column=column, value=from_pence(pence)), st.GBP)
        book.input(ws, row, 6, lay.spend_name(line.key))
        st.shown(ws.cell(row=row, column=7, value=f"=E{row}+F{row}"), st.GBP)
        for offset, label in enumerate(f.later_periods):
            book.input(ws, row, 8 + offset, lay.forecast_name(line.key, label))
    total = first + len(f.lines)
    ws.cell(row=total, column=1, value="Total").font = st.TOTAL_FONT
    for column in [3, 4, 5, 6, 7] + [8 + i for i in range(len(f.later_periods))]:
        letter = get_column_letter(column)
        cell = ws.cell(row=total, column=column, value=f"=SUM({letter}{first}:{letter}{total - 1})")
        cell.font = st.TOTAL_FONT
        st.shown(cell, st.GBP)
    ws.cell(row=total + 2, column=1, value=f"Allocation {format_gbp(from_pence(f.project.allocation_pence))}: "
            "spent to date plus forecasts should not exceed it.").font = st.SUBTITLE
    st.widths(ws, {"A": 46, "B": 12} | {get_column_letter(c): 16 for c in range(3, 8 + len(f.later_periods))})
    ws.freeze_panes = "B5"
    st.print_on_pages(ws, landscape=True, one_page=len(f.lines) <= 20, title_rows=4)
    st.protect(ws)


def _outputs(book: _Book) -> None:
    f, ws = book.frame, book.sheet(lay.OUTPUTS)
    book.rules_for(ws)
    st.title(ws, "Outputs and milestones", "Enter what was achieved THIS quarter; the running total is worked out.")
    st.header(ws, 4, ["Output", "Unit", "Target", "Due", "Profile to date", "Achieved before this quarter",
                      "Achieved this quarter", "Achieved to date"])
    row = 5
    for t in f.counts:
        ws.cell(row=row, column=1, value=as_text(t.name)).border = st.BOX
        ws.cell(row=row, column=2, value=as_text(t.unit)).border = st.BOX
        st.shown(ws.cell(row=row, column=3, value=t.target_value), st.WHOLE)
        st.shown(ws.cell(row=row, column=4, value=t.due), st.DATE)
        st.shown(ws.cell(row=row, column=5, value=t.profile_to_date), st.WHOLE)
        st.shown(ws.cell(row=row, column=6, value=t.achieved_before), st.WHOLE)
        book.input(ws, row, 7, lay.output_name(t.key))
        st.shown(ws.cell(row=row, column=8, value=f"=F{row}+G{row}"), st.WHOLE)
        row += 1
    if not f.counts:
        ws.cell(row=row, column=1, value="(no count targets for this project)").font = st.SUBTITLE
        row += 1
    row += 1
    st.header(ws, row, ["Milestone", "Due", "Delivered?", "Date delivered", "Evidence (where it is kept)"])
    for t in f.milestones:
        row += 1
        delivered, on, evidence = lay.milestone_names(t.key)
        ws.cell(row=row, column=1, value=as_text(t.name)).border = st.BOX
        st.shown(ws.cell(row=row, column=2, value=t.due), st.DATE)
        book.input(ws, row, 3, delivered)
        book.input(ws, row, 4, on)
        book.input(ws, row, 5, evidence)
    if not f.milestones:
        ws.cell(row=row + 1, column=1, value="(no milestones for this project)").font = st.SUBTITLE
    st.widths(ws, {"A": 52, "B": 12, "C": 12, "D": 14, "E": 40, "F": 16, "G": 16, "H": 16})
    st.print_on_pages(ws, landscape=True, one_page=row <= 30, title_rows=4)
    st.protect(ws)


def _sign_off(book: _Book) -> None:
    ws = book.sheet(lay.SIGN_OFF)
    book.rules_for(ws)
    st.title(ws, "Narrative and sign-off", "A few sentences each; the officer reads these with your figures.")
    row = 4
    for name, label, required in lay.NARRATIVE:
        ws.cell(row=row, column=1, value=label + (" (required)" if required else "")).font = st.TOTAL_FONT
        book.input(ws, row, 2, name)
        ws.row_dimensions[row].height = 90
        row += 1
    row += 1
    ws.cell(row=row, column=1, value="Declaration: the spend shown was used only for the agreed purpose, evidence "
            "is kept for audit, and the information is accurate.").alignment = st.WRAP
    ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=2)
    ws.row_dimensions[row].height = 32
    for name, label, _kind in lay.SIGNATURE_FIELDS:
        row += 1
        ws.cell(row=row, column=1, value=f"Signed: {label.lower()}").font = st.TOTAL_FONT
        book.input(ws, row, 2, name)
    st.widths(ws, {"A": 30, "B": 90})
    st.print_on_pages(ws, landscape=True, one_page=True)
    st.protect(ws)


def _meta(book: _Book, signing_key: bytes) -> None:
    f, ws = book.frame, book.sheet(lay.META)
    values = {"template_id": lay.TEMPLATE_ID, "template_version": lay.TEMPLATE_VERSION,
              "grant": f.grant.reference, "project": f.project.code, "period": f.period.label,
              "fields": lay.fields_fingerprint(list(book.fields))}
    values["signature"] = lay.sign(signing_key, *(values[k] for k in lay.META_KEYS[:-1]))
    for row, key in enumerate(lay.META_KEYS, start=1):
        ws.cell(row=row, column=1, value=key)
        ws.cell(row=row, column=2, value=values[key])
    ws.sheet_state = "veryHidden"
    st.protect(ws)
