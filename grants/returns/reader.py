"""Read a screened return workbook: its metadata and every defined name's cell value (python-calamine).

Defined names come from xl/workbook.xml, parsed with defusedxml; values come from calamine, the fastest reader
measured. `examine` does the whole job for one file (hash, screen, read, stage a copy of the bytes it read) and is
what the sandbox runs.
"""

from __future__ import annotations

import hashlib
import html
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, cast

import python_calamine
from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

from grants.returns.archive import place, stage
from grants.returns.layout import CHECKED_SHEETS, META, META_KEYS
from grants.returns.problems import Problem, problem
from grants.returns.safety import Limits, NotARegularFile, column_number, read_capped, screen, too_large

CellValue = str | float | int | bool | date | datetime | time | timedelta | None
MAIN_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
SINGLE_CELL = re.compile(r"^(?:'((?:[^']|'')+)'|([^'!]+))!\$?([A-Z]{1,3})\$?([0-9]{1,7})$")
DOC_REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
# A sheet's cells, read for what calamine does not tell: errors, formulas (saved with a value or not), percentages.
CELL_XML = re.compile(rb"<(?:\w+:)?c\s([^>]*?)(?:/>|>(.*?)</(?:\w+:)?c>)", re.S)
CELL_ATTR = re.compile(rb"\b([rst])\s*=\s*[\"']([^\"']*)[\"']")
FORMULA_XML = re.compile(rb"<(?:\w+:)?f[\s>/]")
CELL_PREFIX = re.compile(rb"<(\w+:)?sheetData\b")
MERGE_XML = re.compile(rb"<(?:\w+:)?mergeCell\s[^>]*?ref\s*=\s*[\"']"
                       rb"([A-Z]{1,3})([0-9]{1,7}):([A-Z]{1,3})([0-9]{1,7})[\"']")
VALUE_XML = re.compile(rb"<(?:\w+:)?v>([^<]*)</(?:\w+:)?v>")
NUM_FMT = re.compile(rb"<(?:\w+:)?numFmt\s([^>]*)>")
RELATIONSHIP = re.compile(rb"<(?:\w+:)?Relationship\s([^>]*)>")
REL_ATTR = re.compile(rb"\b(Id|Target|Type)\s*=\s*[\"']([^\"']*)[\"']")
XF = re.compile(rb"<(?:\w+:)?xf\b([^>]*)>")
FORMAT_ATTR = re.compile(rb"\b(numFmtId|formatCode)\s*=\s*[\"']([^\"']*)[\"']")
PERCENT_FORMATS = frozenset({9, 10})  # Excel's built-in 0% and 0.00%
Mark = tuple[str, bool, bool, bool]  # (Excel error, is a formula, has a saved value, is a percentage)


@dataclass(frozen=True)
class NamedCell:
    """Where a defined name points, the value found there and what the cell's XML says about it: the Excel error
    it holds (`#REF!`, ...), whether it is a formula and if so whether a calculated value was saved with it, and
    whether it is formatted as a percentage."""

    sheet: str
    cell: str
    value: CellValue
    error: str = ""
    formula: bool = False
    cached: bool = True
    percent: bool = False


@dataclass
class Examined:
    """One file after hashing, screening and reading: problems if it could not be read, else its contents."""

    sha256: str
    size: int
    problems: list[Problem] = field(default_factory=list)
    meta: dict[str, str] = field(default_factory=dict)
    cells: dict[str, NamedCell] = field(default_factory=dict)
    broken_names: dict[str, str] = field(default_factory=dict)  # name -> its (unusable) reference
    merged: dict[str, str] = field(default_factory=dict)  # name -> the merged range hiding its cell ("F5:F6")
    staged: str = ""  # a copy of the bytes read, to be archived or quarantined (grants/return_archive.py)
    grids: dict[str, list[list[CellValue]]] = field(default_factory=dict)  # the checked sheets' values, from A1
    marks: dict[str, Mark] = field(default_factory=dict)  # "Sheet!F5" -> its mark, for the checked sheets
    reply_bytes: int = 0  # the size of the worker's reply (set by the sandbox): batches are bounded by it

    def at(self, sheet: str, row: int, column: int) -> NamedCell:
        """The cell at (row, column), both from 1, of a checked sheet (blank if beyond its data)."""
        rows = self.grids.get(sheet, [])
        value = rows[row - 1][column - 1] if row <= len(rows) and column <= len(rows[row - 1]) else None
        ref = f"{column_letter(column)}{row}"
        return _cell(sheet, ref, value, self.marks.get(f"{sheet}!{ref}"))


def examine(path: Path, limits: Limits, staging: Path | None = None) -> Examined:
    """Hash, screen and read one file; never raises for bad content (problems instead). With `staging`, also write
    the bytes that were hashed and read: under their final archive name if read without a problem, else staged
    there (see grants/returns/archive.py)."""
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
    members: dict[str, bytes] = {}
    found.problems = screen(data, limits, members)
    if not found.problems:
        try:
            _read(data, found, members)
        except (DefusedXmlException, ElementTree.ParseError) as exc:
            found.problems = [problem("unsafe-xml", f"The workbook's XML could not be read safely ({exc}).")]
        except Exception as exc:  # calamine raises its own types (CalamineError, ZipError, PasswordError, ...)
            found.problems = [problem("unreadable-workbook", f"The workbook could not be read ({type(exc).__name__}"
                                      f": {exc}). Please open it in Excel, save it as .xlsx and send it again.")]
    if staging is not None:  # read without a problem: most likely a return, so straight under its archive name
        found.staged = (stage(data, found.sha256, staging) if found.problems
                        else place(data, found.sha256, path.name, staging))
    return found


class _Members:
    """The workbook's parts by name: the ones screening unzipped, else read from the zip, opened only then (screening
    has already read every XML part of an honest return, so its central directory is not parsed twice)."""

    def __init__(self, data: bytes, members: dict[str, bytes]) -> None:
        self.data, self.members = data, members
        self.archive: zipfile.ZipFile | None = None

    def __enter__(self) -> _Members:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.archive is not None:
            self.archive.close()

    def get(self, name: str) -> bytes | None:
        """The part's bytes, or None if the zip has no part of that name."""
        if name not in self.members:
            archive = self._opened()
            if name in archive.NameToInfo:
                self.members[name] = archive.read(name)
        return self.members.get(name)

    def read(self, name: str) -> bytes:
        """The part's bytes (KeyError if the zip has no part of that name)."""
        return self.members.get(name) or self._opened().read(name)

    def _opened(self) -> zipfile.ZipFile:
        if self.archive is None:
            self.archive = zipfile.ZipFile(io.BytesIO(self.data))
        return self.archive


def _read(data: bytes, found: Examined, members: dict[str, bytes]) -> None:
    """Read the file into `found`; `members`: the XML parts screening already unzipped (name -> bytes)."""
    with _Members(data, members) as archive:
        member = archive.get
        root = ElementTree.fromstring(member("xl/workbook.xml") or archive.read("xl/workbook.xml"))
        parts = _parts(member("xl/_rels/workbook.xml.rels") or b"", root)
        names = {el.get("name", ""): (el.text or "").strip() for el in root.iter(f"{MAIN_NS}definedName")
                 if el.get("localSheetId") is None}
        book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
        refs = {name: _reference(ref) for name, ref in names.items()}
        marked = {r[0] for r in refs.values() if r is not None and r[0] != META} | set(CHECKED_SHEETS)
        percent = _percent_styles(member(parts.get("", "")) or b"")
        marks = {f"{sheet}!{ref}": mark for sheet in sorted(marked & set(book.sheet_names))
                 for ref, mark in _marks(member(parts.get(sheet, "")) or b"", percent)}
        merges = {sheet: _merges(member(parts.get(sheet, "")) or b"") for sheet in marked & set(book.sheet_names)}
    found.merged = {name: span for name, where in refs.items() if where is not None
                    and (span := _hidden_by(merges.get(where[0], []), where[2] + 1, where[3] + 1))}
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
        where = refs[name]
        rows = rows_of(where[0]) if where is not None else None
        if where is None or rows is None:
            found.broken_names[name] = ref
            continue
        sheet, cell, row, col = where
        value = rows[row][col] if row < len(rows) and col < len(rows[row]) else None
        found.cells[name] = _cell(sheet, cell, value, marks.get(f"{sheet}!{cell}"))
    for sheet in CHECKED_SHEETS:
        if (rows := rows_of(sheet)) is not None:
            found.grids[sheet] = rows
    found.marks = {key: mark for key, mark in marks.items() if key.split("!", 1)[0] in found.grids}


def _reference(ref: str) -> tuple[str, str, int, int] | None:
    """(sheet, 'F5', row index, column index) of a single-cell reference, both indexes from 0; else None."""
    match = SINGLE_CELL.match(ref)
    if not match:
        return None
    sheet = (match.group(1) or "").replace("''", "'") or match.group(2)
    return sheet, f"{match.group(3)}{match.group(4)}", int(match.group(4)) - 1, column_number(match.group(3)) - 1


def _merges(xml: bytes) -> list[tuple[int, int, int, int]]:
    """A sheet's merged ranges as (first row, first column, last row, last column), from 1."""
    return [(int(r1), column_number(c1.decode()), int(r2), column_number(c2.decode()))
            for c1, r1, c2, r2 in MERGE_XML.findall(xml)] if b"mergeCell" in xml else []


def _hidden_by(merges: list[tuple[int, int, int, int]], row: int, col: int) -> str:
    """The merged range ('F5:F6') that covers the cell without starting at it (so its own value is lost), or ''."""
    for r1, c1, r2, c2 in merges:
        if r1 <= row <= r2 and c1 <= col <= c2 and (row, col) != (r1, c1):
            return f"{column_letter(c1)}{r1}:{column_letter(c2)}{r2}"
    return ""


def _cell(sheet: str, ref: str, value: CellValue, mark: Mark | None) -> NamedCell:
    if mark is None:
        return NamedCell(sheet, ref, value)
    error, formula, cached, percent = mark
    return NamedCell(sheet, ref, value, error, formula, cached, percent)


def _parts(rels: bytes, root: Any) -> dict[str, str]:
    """Sheet name -> its XML part in the zip, and '' -> the styles part (from the workbook's relationships)."""
    targets = {}
    for attrs in RELATIONSHIP.findall(rels):
        found = {key.decode(): html.unescape(value.decode()) for key, value in REL_ATTR.findall(attrs)}
        targets[found.get("Id", "")] = ("xl/" + found.get("Target", "").lstrip("/").removeprefix("xl/"),
                                        found.get("Type", ""))
    styles = [target for target, kind in targets.values() if kind.endswith("/styles")]
    parts = {"": styles[0]} if styles else {}
    for el in root.iter(f"{MAIN_NS}sheet"):
        if (target := targets.get(el.get(f"{DOC_REL_NS}id", ""))) is not None:
            parts[el.get("name", "")] = target[0]
    return parts


def _marks(xml: bytes, percent: frozenset[int]) -> Iterator[tuple[str, Mark]]:
    """(cell, (Excel error, is a formula, has a saved value, is a percentage)) for every cell of a sheet's XML that
    holds an error or a formula or is formatted as a percentage (calamine reads all three as plain values). Only
    those cells are parsed: found by their markers (bytes.find, much faster than a regex), then read from their tag."""
    prefix = CELL_PREFIX.search(xml)
    tag = (prefix.group(1) or b"") if prefix else b""
    needles = [b"<" + tag + b"f>", b"<" + tag + b"f ", b"<" + tag + b"f/", b't="e"', b"t='e'"]
    needles += [f" s={q}{i}{q}".encode() for i in percent for q in "\"'"]
    opening = b"<" + tag + b"c "
    starts = {xml.rfind(opening, 0, hit) for needle in needles for hit in _positions(xml, needle)}
    for start in sorted(starts - {-1}):
        if (cell := CELL_XML.match(xml, start)) is not None:
            yield _mark(cell.group(1), cell.group(2) or b"", percent)


def _positions(xml: bytes, needle: bytes) -> Iterator[int]:
    """Where `needle` occurs in `xml`."""
    at = xml.find(needle)
    while at != -1:
        yield at
        at = xml.find(needle, at + 1)


def _mark(attrs: bytes, body: bytes, percent: frozenset[int]) -> tuple[str, Mark]:
    found = dict(CELL_ATTR.findall(attrs))
    is_error = found.get(b"t") == b"e"
    value = VALUE_XML.search(body)
    saved = value is not None and (value.group(1) != b"" or found.get(b"t") == b"str")
    error = (value.group(1).decode(errors="replace") if value is not None else "") or "#VALUE!" if is_error else ""
    style = found.get(b"s", b"0")
    in_percent = style.isdigit() and int(style) in percent
    return found.get(b"r", b"").decode(), (error, FORMULA_XML.search(body) is not None, saved, in_percent)


def _percent_styles(xml: bytes) -> frozenset[int]:
    """The cell style indexes (of the styles part `xml`) whose number format shows a percentage."""
    custom = set()
    if b"%" in xml:
        for attrs in NUM_FMT.findall(xml):
            found = dict(FORMAT_ATTR.findall(attrs))
            if b"%" in found.get(b"formatCode", b"") and found.get(b"numFmtId", b"").isdigit():
                custom.add(int(found[b"numFmtId"]))
    start = xml.find(b"cellXfs")
    block = xml[start:xml.find(b"cellXfs", start + 7)] if start != -1 else b""
    formats = [dict(FORMAT_ATTR.findall(attrs)).get(b"numFmtId", b"0") for attrs in XF.findall(block)]
    shown = PERCENT_FORMATS | custom
    return frozenset(i for i, f in enumerate(formats) if f.isdigit() and int(f) in shown)


def column_letter(number: int) -> str:
    """1 -> 'A', 16384 -> 'XFD'."""
    letters = ""
    while number > 0:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _text(value: CellValue) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)
