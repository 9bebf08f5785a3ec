"""The spend and outputs tables beyond their input cells: rows a lead added, worked-out cells, the workbook's totals.

The tables are found from the input cells' defined names (which Excel moves with inserted rows and columns): a line's
row is the row of its input cell, the label column is where the line's name stands, and the table runs from its
header row ("Budget line") to its "Total" row. A row added inside the spend table is read: under a known line's name
its figures count towards that line; under any other name it is an unknown budget line. Each total the workbook
shows is reconciled with the rows as read, and each worked-out cell ("Spent to date", "Achieved to date") must still
be a formula whose saved value agrees with its inputs. Cells saved without a calculated value (files written by
scripts) can't be reconciled and are left alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from grants.kernel.money import format_gbp, from_pence, to_pence
from grants.returns.frame import ReturnFrame
from grants.returns.layout import OUTPUTS, SPEND, FieldKind, InputField, forecast_name, output_name, spend_name
from grants.returns.problems import Problem, problem
from grants.returns.reader import Examined, NamedCell, column_letter
from grants.returns.safety import column_number
from grants.returns.values import read_field

if TYPE_CHECKING:  # validation calls this module with its content
    from grants.returns.validation import ReturnContent

REF = re.compile(r"([A-Z]{1,3})([0-9]+)")
SEARCH_ROWS = 60  # how far below the last line the "Total" row is looked for


@dataclass(frozen=True)
class SpendTable:
    """Where the spend table lies: line key -> row, the label, spend and forecast columns, header and total rows."""

    rows: dict[str, int]
    label_column: int
    columns: dict[str, int]  # column title -> column number: "Spend this quarter", "Forecast <period>"
    header_row: int
    total_row: int | None


def position(cell: NamedCell) -> tuple[int, int]:
    """(row, column) of a cell, both from 1."""
    match = REF.fullmatch(cell.cell)
    assert match is not None
    letters, row = match.groups()
    return int(row), column_number(letters)


def check_tables(frame: ReturnFrame, found: Examined, content: ReturnContent) -> list[Problem]:
    """Problems with the worked-out cells, rows added inside the spend table and its totals; figures of added rows
    under a known line's name are added to `content`."""
    problems = _derived(frame, found, content)
    table = spend_table(frame, found)
    if table is None:
        return problems
    sums: dict[str, int | None] = {title: 0 for title in table.columns}
    for key in table.rows:  # the lines' figures as read from their input cells (missing: reported there)
        _add(sums, "Spend this quarter", content.spend.get(key))
        for label in frame.later_periods:
            if f"Forecast {label}" in sums:
                _add(sums, f"Forecast {label}", content.forecast.get((key, label)))
    for row in _added_rows(table, found):
        problems += _added_row(frame, table, found, content, row, sums)
    return problems + _totals(table, found, sums)


def spend_table(frame: ReturnFrame, found: Examined) -> SpendTable | None:
    """The spend table's geometry, or None if the sheet or the lines' input cells can't be found."""
    cells = {b.key: found.cells.get(spend_name(b.key)) for b in frame.lines}
    rows = {key: position(c)[0] for key, c in cells.items() if c is not None and c.sheet == SPEND}
    grid = found.grids.get(SPEND)
    if not rows or grid is None or len(rows) != len(frame.lines):
        return None
    first = frame.lines[0]
    first_cell = cells[first.key]
    assert first_cell is not None
    row, spend_column = position(first_cell)
    label_column = next((i + 1 for i, v in enumerate(grid[row - 1]) if _label(v) == _label(first.name)), 1)
    columns = {"Spend this quarter": spend_column}
    for label in frame.later_periods:
        forecast = found.cells.get(forecast_name(first.key, label))
        if forecast is not None and forecast.sheet == SPEND:
            columns[f"Forecast {label}"] = position(forecast)[1]
    top, bottom = min(rows.values()), max(rows.values())
    header = next((r for r in range(top - 1, 0, -1) if _label(_value(found, r, label_column)) == "budget line"),
                  top - 1)
    total = next((r for r in range(bottom + 1, bottom + SEARCH_ROWS) if _label(_value(found, r, label_column))
                  == "total"), None)
    return SpendTable(rows, label_column, columns, header, total)


def _added_rows(table: SpendTable, found: Examined) -> list[int]:
    """Rows inside the table (below its header, above its total) that are no line's row and are not blank."""
    end = table.total_row if table.total_row is not None else max(table.rows.values()) + 1
    known = set(table.rows.values())
    return [r for r in range(table.header_row + 1, end) if r not in known and not all(
        _blank(_value(found, r, c)) for c in (table.label_column, *table.columns.values()))]


def _added_row(frame: ReturnFrame, table: SpendTable, found: Examined, content: ReturnContent, row: int,
               sums: dict[str, int | None]) -> list[Problem]:
    """Read a row added inside the table: its figures count under the line it names, else it is unknown."""
    name = str(_value(found, row, table.label_column) or "").strip()
    line = next((b for b in frame.lines if _label(b.name) == _label(name)), None)
    problems, amounts = [], {}
    for title, column in table.columns.items():
        reading = read_field(InputField("", SPEND, FieldKind.money, f"{title} on the added row {row} ('{name}')",
                                        blank_is_zero=True), found.at(SPEND, row, column))
        if reading.problem is not None:
            problems.append(reading.problem)
            sums[title] = None
        elif isinstance(reading.value, Decimal):
            amounts[title] = to_pence(reading.value)
            _add(sums, title, amounts[title])
    if line is None:
        where = f"{column_letter(table.label_column)}{row}"
        spent = format_gbp(from_pence(amounts.get("Spend this quarter", 0)))
        problems.append(problem("unknown-budget-line", f"Row {row} of sheet '{SPEND}' ('{name or 'no name'}', "
                                f"{spent} this quarter, cell {where}) was added to the table: unknown budget line: use "
                                "one of the listed lines or ask your officer.", sheet=SPEND, cell=where))
        return problems
    for title, pence in amounts.items():
        if title == "Spend this quarter":
            content.spend[line.key] = content.spend.get(line.key, 0) + pence
        else:
            label = title.removeprefix("Forecast ")
            content.forecast[(line.key, label)] = content.forecast.get((line.key, label), 0) + pence
    return problems


def _totals(table: SpendTable, found: Examined, sums: dict[str, int | None]) -> list[Problem]:
    """Each total the workbook shows must equal the sum of the rows as read (unless saved without a value)."""
    if table.total_row is None:
        return []
    problems = []
    for title, column in table.columns.items():
        cell = found.at(SPEND, table.total_row, column)
        shown = _pence(cell)
        read = sums.get(title)
        if shown is None or read is None or shown == read:
            continue
        problems.append(problem("table-total-mismatch", f"The total of '{title}' (sheet '{SPEND}', cell {cell.cell}) "
                                f"shows {format_gbp(from_pence(shown))}, but the rows of the table add up to "
                                f"{format_gbp(from_pence(read))}: check the rows (one added below the table?) and "
                                "the total.", sheet=SPEND, cell=cell.cell))
    return problems


def _derived(frame: ReturnFrame, found: Examined, content: ReturnContent) -> list[Problem]:
    """Each line's "Spent to date" and each count's "Achieved to date": still formulas, agreeing with their inputs."""
    checks = [(SPEND, spend_name(b.key), "Spent to date", "Spend this quarter", b.name, content.spend.get(b.key), True)
              for b in frame.lines]
    checks += [(OUTPUTS, output_name(t.key), "Achieved to date", "Achieved this quarter", t.name,
                content.outputs.get(t.key), False) for t in frame.counts]
    problems = []
    for sheet, name, derived_title, input_title, subject, value, money in checks:
        cell = found.cells.get(name)
        if cell is None or cell.sheet != sheet or sheet not in found.grids or value is None:
            continue
        row, column = position(cell)
        derived, before = found.at(sheet, row, column + 1), found.at(sheet, row, column - 1)
        where = {"sheet": sheet, "cell": derived.cell, "field": name}
        if not derived.formula:
            problems.append(problem("derived-cell-overwritten", f"'{derived_title}' for '{subject}' (sheet "
                                    f"'{sheet}', cell {derived.cell}) is worked out from '{input_title}' in cell "
                                    f"{cell.cell}, but it was typed over: enter this quarter's figure in "
                                    f"{cell.cell} and put back the formula in {derived.cell} (={before.cell}+"
                                    f"{cell.cell}), or copy your answers into a fresh copy of the return.", **where))
            continue
        shown, earlier = (_pence(derived), _pence(before)) if money else (_whole(derived), _whole(before))
        if shown is None or earlier is None or shown == earlier + value:
            continue
        problems.append(problem("derived-cell-mismatch", f"'{derived_title}' for '{subject}' (sheet '{sheet}', cell "
                                f"{derived.cell}) shows {_show(shown, money)}, but {before.cell} plus '{input_title}' "
                                f"in cell {cell.cell} make {_show(earlier + value, money)}: check {cell.cell}, then "
                                "open the file in "
                                "Excel and save it again so the workbook is recalculated.", **where))
    return problems


def _show(value: int, money: bool) -> str:
    return format_gbp(from_pence(value)) if money else f"{value:,}"


def _add(sums: dict[str, int | None], title: str, pence: int | None) -> None:
    current = sums.get(title)
    sums[title] = None if current is None or pence is None else current + pence


def _pence(cell: NamedCell) -> int | None:
    """A shown amount in pence: a number (typed, or a formula's saved value); None if blank, text or unsaved."""
    if cell.error or (cell.formula and not cell.cached):
        return None
    if isinstance(cell.value, int | float) and not isinstance(cell.value, bool):
        return to_pence(Decimal(repr(cell.value)).quantize(Decimal("0.01")))
    return None


def _whole(cell: NamedCell) -> int | None:
    pence = _pence(cell)
    return None if pence is None else pence // 100


def _value(found: Examined, row: int, column: int) -> object:
    return found.at(SPEND, row, column).value if row > 0 else None


def _label(value: object) -> str:
    return " ".join(str(value).split()).casefold() if isinstance(value, str) else ""


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())
