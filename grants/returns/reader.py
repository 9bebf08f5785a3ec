"""Read a screened return workbook: its metadata and every defined name's cell value (python-calamine).

Defined names come from xl/workbook.xml, parsed with defusedxml; values come from calamine, the fastest reader
measured. `examine` does the whole job for one file (hash, screen, read, stage a copy of the bytes it read) and is
what the sandbox runs.
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import cast

import python_calamine
from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

from grants.returns.archive import stage
from grants.returns.layout import META, META_KEYS
from grants.returns.problems import Problem, problem
from grants.returns.safety import Limits, NotARegularFile, column_number, read_capped, screen, too_large

CellValue = str | float | int | bool | date | datetime | time | timedelta | None
MAIN_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
SINGLE_CELL = re.compile(r"^(?:'((?:[^']|'')+)'|([^'!]+))!\$?([A-Z]{1,3})\$?([0-9]{1,7})$")


@dataclass(frozen=True)
class NamedCell:
    """Where a defined name points and the value found there."""

    sheet: str
    cell: str
    value: CellValue


@dataclass
class Examined:
    """One file after hashing, screening and reading: problems if it could not be read, else its contents."""

    sha256: str
    size: int
    problems: list[Problem] = field(default_factory=list)
    meta: dict[str, str] = field(default_factory=dict)
    cells: dict[str, NamedCell] = field(default_factory=dict)
    broken_names: dict[str, str] = field(default_factory=dict)  # name -> its (unusable) reference
    staged: str = ""  # a copy of the bytes read, to be archived or quarantined (grants/return_archive.py)


def examine(path: Path, limits: Limits, staging: Path | None = None) -> Examined:
    """Hash, screen and read one file; never raises for bad content (problems instead). With `staging`, also write
    the bytes that were hashed and read there (for the archive or quarantine copy)."""
    try:
        data, sha256, size = read_capped(path, limits.max_file_bytes)  # the size is checked before reading
    except NotARegularFile as exc:
        found = Examined(hashlib.sha256(str(path).encode()).hexdigest(), 0)
        found.problems = [problem("not-a-regular-file", f"{exc}: it was not opened.")]
        return found
    except OSError as exc:
        found = Examined(hashlib.sha256(str(path).encode()).hexdigest(), 0)
        found.problems = [problem("unreadable-workbook", f"The file could not be read ({exc.strerror}).")]
        return found
    found = Examined(sha256, size)
    if data is None:
        found.problems = [too_large(size, limits)]
        return found
    if staging is not None:
        found.staged = stage(data, found.sha256, staging)
    found.problems = screen(data, limits)
    if found.problems:
        return found
    try:
        _read(data, found)
    except (DefusedXmlException, ElementTree.ParseError) as exc:
        found.problems = [problem("unsafe-xml", f"The workbook's XML could not be read safely ({exc}).")]
    except Exception as exc:  # calamine raises its own types (CalamineError, ZipError, PasswordError, ...)
        found.problems = [problem("unreadable-workbook", f"The workbook could not be read ({type(exc).__name__}: "
                                  f"{exc}). Please open it in Excel, save it as .xlsx and send it again.")]
    return found


def _read(data: bytes, found: Examined) -> None:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        root = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    names = {el.get("name", ""): (el.text or "").strip() for el in root.iter(f"{MAIN_NS}definedName")
             if el.get("localSheetId") is None}
    book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    sheets: dict[str, list[list[CellValue]]] = {}

    def rows_of(sheet: str) -> list[list[CellValue]] | None:
        if sheet not in sheets:
            if sheet not in book.sheet_names:
                return None
            sheets[sheet] = cast(list[list[CellValue]], book.get_sheet_by_name(sheet).to_python(skip_empty_area=False))
        return sheets[sheet]

    meta_rows = rows_of(META) or []
    found.meta = {str(r[0]): _text(r[1]) for r in meta_rows if len(r) >= 2 and str(r[0]) in META_KEYS}
    for name, ref in names.items():
        match = SINGLE_CELL.match(ref)
        if not match:
            found.broken_names[name] = ref
            continue
        sheet = (match.group(1) or "").replace("''", "'") or match.group(2)
        rows = rows_of(sheet)
        if rows is None:
            found.broken_names[name] = ref
            continue
        row, col = int(match.group(4)) - 1, column_number(match.group(3)) - 1
        value = rows[row][col] if row < len(rows) and col < len(rows[row]) else None
        found.cells[name] = NamedCell(sheet, f"{match.group(3)}{match.group(4)}", value)


def _text(value: CellValue) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)
