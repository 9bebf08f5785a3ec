"""Printing a worksheet as people do (Excel and LibreOffice alike): A4, fitted to the page width, header rows repeated
on every page, page numbers in the footer, and row heights that fit wrapped text (openpyxl cannot measure text and
LibreOffice keeps the stored height, so the height is worked out here from the column widths)."""

from __future__ import annotations

import math
import textwrap
from collections.abc import Iterable

from openpyxl.utils import get_column_letter
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet

LINE_POINTS = {10: 13.0, 11: 15.0}
"""Height of one line of text, in points, by font size."""
DEFAULT_WIDTH = 8.43


def set_print(ws: Worksheet, *, title_rows: int = 0, landscape: bool = True, fit_height: int = 0,
              footer: str = "") -> None:
    """A4, fitted to one page wide (and `fit_height` pages tall, 0 = as many as needed), narrow margins, the first
    `title_rows` rows repeated at the top of every page, `footer` on the left and "Page n of N" on the right."""
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = ws.ORIENTATION_LANDSCAPE if landscape else ws.ORIENTATION_PORTRAIT
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = fit_height
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.6
    ws.page_margins.header = ws.page_margins.footer = 0.3
    ws.print_options.horizontalCentered = True
    if title_rows:
        ws.print_title_rows = f"1:{title_rows}"
    if footer:
        ws.oddFooter.left.text = footer.replace("&", "&&")  # '&' starts a header/footer code
        ws.oddFooter.left.size = 8
    ws.oddFooter.right.text = "Page &P of &N"
    ws.oddFooter.right.size = 8


def column_width(ws: Worksheet, column: int) -> float:
    """The column's width in characters (Excel's default when none was set)."""
    width = ws.column_dimensions[get_column_letter(column)].width
    return float(width) if width else DEFAULT_WIDTH


def lines_needed(text: str, width: float) -> int:
    """How many lines `text` wraps to in a column `width` characters wide (erring towards one line more)."""
    chars = max(int(width * 1.3) - 1, 1)
    return sum(max(len(textwrap.wrap(part, chars, break_long_words=True)), 1) for part in text.split("\n"))


def fit_row_heights(ws: Worksheet, rows: Iterable[int], font_size: int = 10, spans: dict[int, float] | None = None,
                    ) -> None:
    """Set each row's height to fit its tallest wrapped cell; `spans` gives the width of merged cells by column."""
    per_line = LINE_POINTS.get(font_size, font_size * 1.3)
    for row in rows:
        lines = 1
        for cell in ws[row]:
            if cell.value is None or not isinstance(cell.value, str):
                continue
            width = (spans or {}).get(cell.column) or column_width(ws, cell.column)
            lines = max(lines, lines_needed(cell.value, width))
        ws.row_dimensions[row].height = math.ceil(lines * per_line + 4)
