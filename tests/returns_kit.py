"""Test helpers for returns: issue a real workbook, fill it like a lead (openpyxl, by defined name), ingest it."""

from __future__ import annotations

import re
import shutil
import zipfile
from collections.abc import Iterator, Mapping
from copy import copy
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.workbook.defined_name import DefinedName
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from grants.kernel import models as m
from grants.kernel.db import session_scope
from grants.returns.ingest import IngestOptions, IngestResult, Source, ingest_files
from grants.returns.sandbox import shutdown
from grants.returns.writer import write_return_workbook
from tests.factories import period, project

KEY = b"test-signing-key"
RECEIVED = datetime(2024, 10, 3, 9, 30, tzinfo=UTC)

SIGNED: dict[str, object] = {
    "narrative_progress": "Delivered 60 sessions across four schools.",
    "signoff_name": "Jordan Ellis", "signoff_role": "Project lead", "signoff_date": date(2024, 10, 2),
}


def issue(engine: Engine, folder: Path, project_code: str = "active-bystander", label: str = "2024-25-Q2",
          key: bytes = KEY) -> Path:
    """Write the pre-filled workbook for a project and period into `folder`."""
    with session_scope(engine) as session:
        proj, per = project(session, project_code), period(session, label)
        assert proj.id is not None and per.id is not None
        return write_return_workbook(session, proj.id, per.id, folder, key)


def spend_of(engine: Engine, return_id: int | None) -> dict[str, int]:
    """The spend stored for a return: budget line key -> pence this quarter."""
    with Session(engine) as session:
        lines = {b.id: b.key for b in session.exec(select(m.BudgetLine))}
        return {lines[s.budget_line_id]: s.actual_pence
                for s in session.exec(select(m.ReturnSpend).where(m.ReturnSpend.return_id == return_id))}


def fill(path: Path, values: Mapping[str, object], out: Path | None = None, *, signed: bool = True) -> Path:
    """Type values into the cells the defined names point to (as a lead would), save to `out` (default: in place)."""
    wb = load_workbook(path)
    for name, value in ({**SIGNED, **values} if signed else dict(values)).items():
        sheet, ref = next(iter(wb.defined_names[name].destinations))
        wb[sheet][ref.replace("$", "")] = value
    target = out or path
    wb.save(target)
    return target


@pytest.fixture(scope="module", autouse=True)
def _stop_parser_pool() -> Iterator[None]:
    """Stop the sandbox's worker processes after each test module."""
    yield
    shutdown()


def options(tmp: Path, **kwargs: object) -> IngestOptions:
    return IngestOptions(archive_dir=tmp / "archive", quarantine_dir=tmp / "quarantine", signing_key=KEY,
                         **kwargs)  # type: ignore[arg-type]


def ingest(engine: Engine, tmp: Path, *paths: Path, source: Source | None = None, received: datetime = RECEIVED,
           **kwargs: object) -> list[IngestResult]:
    """Ingest the files as one run (`source`: where they all came from; default the inbox)."""
    sources = [source] * len(paths) if source is not None else None
    return ingest_files(engine, list(paths), received, options(tmp, **kwargs), sources)


def codes(result: IngestResult) -> list[tuple[str, str, str]]:
    """(code, sheet, cell) of each problem."""
    return [(p.code, p.sheet, p.cell) for p in result.problems]


def rezip(src: Path, dst: Path, replace: Mapping[str, bytes] | None = None,
          add: Mapping[str, bytes] | None = None) -> Path:
    """Copy an .xlsx zip member by member, replacing or adding members (to build hostile files from real ones)."""
    with zipfile.ZipFile(src) as source, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = (replace or {}).get(info.filename, source.read(info))
            target.writestr(info.filename, data)
        for name, data in (add or {}).items():
            target.writestr(name, data)
    return dst


def member(path: Path, name: str) -> bytes:
    """The bytes of one zip member."""
    with zipfile.ZipFile(path) as archive:
        return archive.read(name)


CELL_REF = re.compile(r"(\$?)([A-Z]{1,3})(\$?)([0-9]+)")


def insert_row(path: Path, sheet: str, at: int, values: Mapping[int, object], out: Path) -> Path:
    """Insert a row at `at` as Excel does (cells below move down; formulas and defined names follow them; a range
    spanning the new row grows) and type `values` (column -> value) into it. openpyxl's own insert_rows does not
    update formulas or names, which a lead's Excel does."""
    wb = load_workbook(path)
    ws = wb[sheet]

    def shift(text: str) -> str:
        return CELL_REF.sub(lambda m: f"{m[1]}{m[2]}{m[3]}{int(m[4]) + 1 if int(m[4]) >= at else m[4]}", text)

    for row in range(ws.max_row, 0, -1):
        for column in range(1, ws.max_column + 1):
            cell = ws.cell(row=row, column=column)
            value = shift(cell.value) if isinstance(cell.value, str) and cell.value.startswith("=") else cell.value
            if row >= at:
                below = ws.cell(row=row + 1, column=column)
                below.value, below._style = value, copy(cell._style)
                cell.value = None
            else:
                cell.value = value
    for column, value in values.items():
        ws.cell(row=at, column=column, value=value)
    for name, defined in list(wb.defined_names.items()):
        sheet_name, ref = next(iter(defined.destinations))
        if sheet_name == sheet:
            wb.defined_names[name] = DefinedName(name, attr_text=f"'{sheet}'!{shift(ref)}")
    wb.save(out)
    return out


def recalculate(path: Path) -> Path:
    """Save each formula's calculated value in the file, as Excel does on saving (openpyxl saves none). Knows the
    formulas the return workbook uses: sums of cells and SUM over a column range."""
    wb = load_workbook(path)
    values: dict[tuple[str, str], object] = {}

    def value(sheet: str, ref: str) -> float:
        if (sheet, ref) not in values:
            raw = wb[sheet][ref].value
            values[sheet, ref] = evaluate(sheet, raw[1:]) if isinstance(raw, str) and raw.startswith("=") else raw
        found = values[sheet, ref]
        return float(found) if isinstance(found, int | float) and not isinstance(found, bool) else 0.0

    def evaluate(sheet: str, formula: str) -> float:
        total = 0.0
        for term in formula.split("+"):
            if term.startswith("SUM(") and ":" in term:
                first, last = (CELL_REF.fullmatch(r.replace("$", "")) for r in term[4:-1].split(":"))
                assert first is not None and last is not None
                total += sum(value(sheet, f"{first[2]}{row}") for row in range(int(first[4]), int(last[4]) + 1))
            elif CELL_REF.fullmatch(term.strip()):
                total += value(sheet, term.strip().replace("$", ""))
            else:
                total += float(term)
        return round(total, 10)

    replaced: dict[str, bytes] = {}
    for ws in wb.worksheets:
        part = f"xl/worksheets/sheet{wb.worksheets.index(ws) + 1}.xml"
        xml = member(path, part).decode()
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and cell.value.startswith("="):
                    result = value(ws.title, cell.coordinate)
                    xml = re.sub(rf'(<c r="{cell.coordinate}"[^>]*>)<f>([^<]*)</f><v\s*/>',
                                 lambda m, r=result: f"{m[1]}<f>{m[2]}</f><v>{r!r}</v>", xml)
        replaced[part] = xml.encode()
    shutil.move(rezip(path, path.with_suffix(".calc.xlsx"), replaced), path)
    return path


def cell_of(path: Path, name: str) -> str:
    """The cell ('F5') a defined name points to."""
    _, ref = next(iter(load_workbook(path).defined_names[name].destinations))
    return ref.replace("$", "")
