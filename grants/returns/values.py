"""Reading what a person typed into an input cell: accept what they obviously meant, else say how to fix it.

"£1,250.00", " 1250 ", a number stored as text and (where the layout says so) a blank all read as a person would
expect; "about 300" is a problem naming the cell and giving an example.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from grants.kernel.money import PENNY
from grants.returns.layout import BLANK_WORDS, NO_WORDS, YES_WORDS, FieldKind, InputField
from grants.returns.problems import Problem, problem
from grants.returns.reader import CellValue, NamedCell

EXCEL_EPOCH = date(1899, 12, 30)
DATE_FORMATS = ("%d/%m/%Y", "%d/%m/%y", "%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y", "%d %B %Y", "%d %b %Y", "%B %d %Y")
Value = Decimal | int | bool | date | str | None
MONEY_LIMIT = Decimal(1_000_000_000)  # £1bn: no return comes near it; beyond it is a typo or a hostile value
COUNT_LIMIT = Decimal(10_000_000)  # ten million people, sessions, ...
UK_GROUPED = re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?")  # 1,750  12,500.50  1,000,000
THOUSANDS_DOT = re.compile(r"[0-9]{1,3}(?:\.[0-9]{3})+")  # 1.750 (European thousands?)  1.750.000


@dataclass(frozen=True)
class Reading:
    """The value read from a cell (None for blank) or the problem that stopped it."""

    value: Value
    problem: Problem | None = None


def is_blank(value: CellValue) -> bool:
    """Empty, whitespace, or a word meaning 'nothing' (n/a, nil, none, -)."""
    return value is None or (isinstance(value, str) and value.strip().lower() in BLANK_WORDS)


def read_field(field: InputField, cell: NamedCell) -> Reading:
    """Read one input cell as its field's kind; blanks are None (or 0 where the layout says blank is zero). An Excel
    error or a formula saved without its value is a problem, never a blank; so is any value that can't be read."""
    if cell.error:
        return _bad("excel-error", field, cell, f"{field.label} ({_where(cell)}) contains the Excel error "
                    f"{cell.error}: type the figure instead.")
    if cell.formula and not cell.cached:
        return _bad("formula-without-value", field, cell, f"{field.label} ({_where(cell)}) holds a formula saved "
                    "without its calculated value (some programs save formulas without working them out): type "
                    "the figure instead, or open the file in Excel and save it again.")
    try:
        return _read(field, cell)
    except (ArithmeticError, ValueError, TypeError) as exc:  # a hostile value must stop this file only, never a run
        return _bad("unreadable-value", field, cell, f"{field.label} ({_where(cell)}) could not be read "
                    f"({type(exc).__name__}): type the figure or text again.")


def _read(field: InputField, cell: NamedCell) -> Reading:
    if is_blank(cell.value) and field.kind != FieldKind.yes_no:
        if field.required:
            return _bad("required-field-missing", field, cell, f"{field.label} is blank ({_where(cell)}); "
                        "please fill it in.")
        return Reading(Decimal("0.00") if field.kind == FieldKind.money and field.blank_is_zero
                       else 0 if field.kind == FieldKind.whole and field.blank_is_zero else None)
    reader = {FieldKind.money: _money, FieldKind.whole: _count, FieldKind.date: _date,
              FieldKind.yes_no: _yes_no, FieldKind.text: _text}[field.kind]
    return reader(field, cell)


def _where(cell: NamedCell) -> str:
    return f"sheet '{cell.sheet}', cell {cell.cell}"


def _bad(code: str, field: InputField, cell: NamedCell, message: str) -> Reading:
    return Reading(None, problem(code, message, sheet=cell.sheet, cell=cell.cell, field=field.name))


def _number(value: CellValue) -> Decimal | None:
    """A Decimal from a number or from text like '£1,250.00' / ' 1250 '; None if it is not a number. Commas are
    read only as UK thousands separators (`1,750`, `12,500.50`); see `ambiguous`."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    if isinstance(value, int | float):
        return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    text = _plain(value).replace(",", "")
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _plain(text: str) -> str:
    return text.strip().replace("£", "").replace(" ", "").removeprefix("GBP")


def ambiguous(value: CellValue) -> bool:
    """True for text whose commas or dots are not UK grouping: `12,50`, `1.750,00`, `1,75`, and `1.750` or `2.000`
    (European thousands, which read the UK way would pass as £1.75 or 2 people; `12.345` is read the UK way and then
    has too many decimals). Numbers typed as numbers are never ambiguous."""
    if not isinstance(value, str):
        return False
    text = _plain(value).removeprefix("-")
    if "," in text:
        return UK_GROUPED.fullmatch(text) is None
    return THOUSANDS_DOT.fullmatch(text) is not None and text.endswith("0")


def _checked_number(field: InputField, cell: NamedCell, wanted: str) -> Decimal | Reading:
    """The cell's number, or the reading of the problem with it (text, ambiguous, a percentage, too large).
    `wanted`: what to enter instead, e.g. 'a whole number, e.g. 12'."""
    if ambiguous(cell.value):
        return _bad("ambiguous-number", field, cell, f"{field.label} ({_where(cell)}) is '{cell.value}', which "
                    "could be read more than one way: type the number with no commas, or with commas only between "
                    "thousands and a dot before the pence, e.g. 1,250.50")
    if cell.percent or (isinstance(cell.value, str) and cell.value.strip().endswith("%")):
        shown = cell.value if isinstance(cell.value, str) else _percent(cell.value)
        return _bad("percentage-not-allowed", field, cell, f"{field.label} ({_where(cell)}) is a percentage "
                    f"({shown}): enter {wanted}, not a percentage.")
    number = _number(cell.value)
    if number is None:
        return _bad("not-a-number", field, cell, f"{field.label} in cell {cell.cell} (sheet '{cell.sheet}') is "
                    f"text '{cell.value}'; enter {wanted}")
    limit = MONEY_LIMIT if field.kind == FieldKind.money else COUNT_LIMIT
    if abs(number) >= limit:
        shown = str(cell.value)[:30]
        return _bad("number-too-large", field, cell, f"{field.label} ({_where(cell)}) is {shown}; "
                    f"{'amounts' if field.kind == FieldKind.money else 'counts'} must be under {limit:,}: "
                    "check the figure.")
    return number


def _shown(number: Decimal) -> str:
    """A number as the lead typed it: -300, not -300.0 (the reader gives floats)."""
    return f"{number.normalize():f}"


def _percent(value: CellValue) -> str:
    return f"{(Decimal(repr(value)) * 100).normalize():f}%" if isinstance(value, int | float) else str(value)


def _money(field: InputField, cell: NamedCell) -> Reading:
    amount = _checked_number(field, cell, "a number in pounds, e.g. 300")
    if isinstance(amount, Reading):
        return amount
    if amount < 0:
        return _bad("negative-amount", field, cell, f"{field.label} ({_where(cell)}) is {_shown(amount)}; amounts "
                    "cannot be negative. Enter refunds as a note in the narrative.")
    rounded = amount.quantize(PENNY)
    if abs(amount - rounded) > Decimal("0.000001"):
        return _bad("too-many-decimals", field, cell, f"{field.label} ({_where(cell)}) is {_shown(amount)}; give "
                    "pounds and pence only, e.g. 1250.50")
    return Reading(rounded)


def _count(field: InputField, cell: NamedCell) -> Reading:
    number = _checked_number(field, cell, "a whole number, e.g. 12")
    if isinstance(number, Reading):
        return number
    if number < 0:
        return _bad("negative-amount", field, cell, f"{field.label} ({_where(cell)}) is {_shown(number)}; a count "
                    "cannot be negative.")
    if number != number.to_integral_value():
        return _bad("not-whole-number", field, cell, f"{field.label} ({_where(cell)}) is {_shown(number)}; outputs "
                    "are whole numbers, e.g. 12")
    return Reading(int(number))


def _date(field: InputField, cell: NamedCell) -> Reading:
    value = cell.value
    if isinstance(value, datetime):
        return Reading(value.date())
    if isinstance(value, date):
        return Reading(value)
    if isinstance(value, int | float) and not isinstance(value, bool) and 30_000 < value < 80_000:
        return Reading(EXCEL_EPOCH + timedelta(days=int(value)))
    if isinstance(value, str):
        for fmt in DATE_FORMATS:
            try:
                return Reading(datetime.strptime(value.strip(), fmt).date())
            except ValueError:
                continue
    return _bad("not-a-date", field, cell, f"{field.label} in cell {cell.cell} (sheet '{cell.sheet}') is "
                f"'{value}', not a date; enter a date like 15/09/2024")


def _yes_no(field: InputField, cell: NamedCell) -> Reading:
    value = cell.value
    if isinstance(value, bool):
        return Reading(value)
    text = "" if value is None else str(value).strip().lower()
    if text in YES_WORDS or text in NO_WORDS:
        return Reading(text in YES_WORDS)
    return _bad("invalid-choice", field, cell, f"{field.label} in cell {cell.cell} is '{value}'; choose Yes or No")


def _text(field: InputField, cell: NamedCell) -> Reading:
    value = cell.value
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime | date):
        value = value.isoformat()
    return Reading(str(value).strip())
