"""How the return workbook looks: fonts, fills, number formats, input-cell styling, data validation and how each
sheet prints (as few A4 pages as fit)."""

from __future__ import annotations

from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from grants.kernel.sheet_print import set_print
from grants.returns.layout import NO, YES, FieldKind

GBP = '"£"#,##0.00;[Red]-"£"#,##0.00'
WHOLE = "#,##0"
DATE = "dd/mm/yyyy"
NAVY = "1F3864"
TITLE = Font(name="Calibri", size=16, bold=True, color=NAVY)
SUBTITLE = Font(name="Calibri", size=11, italic=True, color="595959")
HEADING = Font(name="Calibri", size=13, bold=True, color=NAVY)
HEADER = Font(name="Calibri", size=11, bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor=NAVY)
INPUT_FILL = PatternFill("solid", fgColor="FFF2CC")
TOTAL_FONT = Font(bold=True)
THIN = Side(style="thin", color="BFBFBF")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
WRAP = Alignment(wrap_text=True, vertical="top")
FORMATS = {FieldKind.money: GBP, FieldKind.whole: WHOLE, FieldKind.date: DATE}


def title(ws: Worksheet, text: str, subtitle: str = "") -> None:
    """A sheet title in A1 and an optional subtitle in A2."""
    ws["A1"] = text
    ws["A1"].font = TITLE
    if subtitle:
        ws["A2"] = subtitle
        ws["A2"].font = SUBTITLE


def header(ws: Worksheet, row: int, labels: list[str]) -> None:
    """A table header row in white on navy."""
    for column, label in enumerate(labels, start=1):
        cell = ws.cell(row=row, column=column, value=label)
        cell.font, cell.fill, cell.border = HEADER, HEADER_FILL, BOX
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    ws.row_dimensions[row].height = 32  # two lines: the longest labels wrap once at the sheets' widths


def shown(cell: Cell, number_format: str = "") -> None:
    """A pre-filled (locked) cell with a border and an optional number format."""
    cell.border = BOX
    if number_format:
        cell.number_format = number_format


def make_input(cell: Cell, kind: FieldKind) -> None:
    """An unlocked, yellow input cell with the kind's number format."""
    cell.fill, cell.border = INPUT_FILL, BOX
    cell.protection = Protection(locked=False)
    if kind in FORMATS:
        cell.number_format = FORMATS[kind]
    if kind == FieldKind.text:
        cell.alignment = WRAP


def validations(ws: Worksheet) -> dict[FieldKind, DataValidation]:
    """One data validation per kind (numbers >= 0, whole numbers, dates, Yes/No), added to the sheet."""
    rules = {
        FieldKind.money: DataValidation(type="decimal", operator="greaterThanOrEqual", formula1="0",
                                        error="Enter an amount in pounds, 0 or more, e.g. 1250.00",
                                        errorTitle="Amount in pounds"),
        FieldKind.whole: DataValidation(type="whole", operator="greaterThanOrEqual", formula1="0",
                                        error="Enter a whole number, 0 or more", errorTitle="Whole number"),
        FieldKind.date: DataValidation(type="date", operator="greaterThan", formula1="36526",
                                       error="Enter a date, e.g. 15/09/2024", errorTitle="Date"),
        FieldKind.yes_no: DataValidation(type="list", formula1=f'"{YES},{NO}"', allow_blank=True,
                                         error="Choose Yes or No", errorTitle="Yes or No"),
    }
    for rule in rules.values():
        rule.showErrorMessage = True
        ws.add_data_validation(rule)
    return rules


def widths(ws: Worksheet, columns: dict[str, float]) -> None:
    """Readable column widths."""
    for letter, width in columns.items():
        ws.column_dimensions[letter].width = width


def protect(ws: Worksheet) -> None:
    """Protect the sheet: only unlocked (input) cells can be edited; formatting columns and rows is allowed."""
    ws.protection.sheet = True
    ws.protection.formatColumns = False
    ws.protection.formatRows = False
    ws.protection.selectLockedCells = False
    ws.protection.selectUnlockedCells = False


def print_on_pages(ws: Worksheet, *, landscape: bool, one_page: bool, title_rows: int = 0) -> None:
    """A4, one page wide; on one page when it fits (`one_page`), else as many as needed with the table's header
    rows (1 to `title_rows`) repeated on each."""
    set_print(ws, title_rows=0 if one_page else title_rows, landscape=landscape, fit_height=1 if one_page else 0,
              footer=ws.title)
    ws.print_options.horizontalCentered = False  # LibreOffice cuts the left edge of a centred one-column sheet
