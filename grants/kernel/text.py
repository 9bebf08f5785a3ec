"""Text from config, officers or leads written into a workbook or CSV: always text, never a live formula.

`as_text` is the one place formula injection is neutralised (OWASP "CSV Injection"): a value starting with `=`,
`+`, `-`, `@`, a tab or a carriage return gets a leading apostrophe, so Excel, LibreOffice and Google Sheets show it
as text instead of evaluating it (openpyxl would otherwise store a string starting with `=` as a formula). Every
writer of a workbook or CSV passes each text value through `as_text` (or `cell_text` for mixed values).
"""

from __future__ import annotations

from typing import TypeVar

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
T = TypeVar("T")


def as_text(text: str) -> str:
    """`text`, with a leading apostrophe if a spreadsheet would read it as a formula."""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def cell_text(value: T) -> T:
    """A cell's value as written: text neutralised by `as_text`; numbers, dates and None unchanged."""
    return as_text(value) if isinstance(value, str) else value  # type: ignore[return-value]
