"""Test helpers for returns: issue a real workbook, fill it like a lead (openpyxl, by defined name), ingest it."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy.engine import Engine

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


def ingest(engine: Engine, tmp: Path, *paths: Path, source: Source | None = None, **kwargs: object
           ) -> list[IngestResult]:
    """Ingest the files as one run (`source`: where they all came from; default the inbox)."""
    sources = [source] * len(paths) if source is not None else None
    return ingest_files(engine, list(paths), RECEIVED, options(tmp, **kwargs), sources)


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
