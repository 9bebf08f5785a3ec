"""Benchmark: (a) raw parse of N filled returns with the fastest reader vs (b) `grants ingest` end to end into SQLite.

Usage: python benchmarks/bench_ingest.py [--n 2000] [--large] [--runs 3]. Not run by the tests (`make bench`).
Files are real workbooks from the writer, filled with openpyxl; copies differ by a zip comment so every file has
its own SHA-256 (repeats for a project and period are ingested as new versions that supersede the earlier one).
"""

from __future__ import annotations

import argparse
import io
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import python_calamine
from openpyxl import load_workbook
from sqlmodel import Session, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grants.kernel import models as m  # noqa: E402
from grants.kernel.db import create_schema, get_engine, session_scope  # noqa: E402
from grants.programme.loader import load_programmes  # noqa: E402
from grants.programme.register import initialise  # noqa: E402
from grants.returns.ingest import IngestOptions, ingest_files  # noqa: E402
from grants.returns.sandbox import shutdown  # noqa: E402
from grants.returns.writer import write_return_workbook  # noqa: E402

KEY = b"benchmark-key"
PERIODS = ("2024-25-Q2", "2024-25-Q3")


def new_database(folder: Path) -> str:
    url = f"sqlite:///{folder / 'grants.db'}"
    engine = get_engine(url)
    create_schema(engine)
    with session_scope(engine) as session:
        initialise(session, load_programmes(ROOT / "config"))
    return url


def filled_bases(url: str, folder: Path) -> list[bytes]:
    """One filled workbook per project and period (values typed by defined name, as a lead would)."""
    bases = []
    with Session(get_engine(url)) as session:
        pairs = session.exec(select(m.Project, m.ReportingPeriod).join(
            m.ReportingPeriod, m.ReportingPeriod.grant_id == m.Project.grant_id)).all()  # type: ignore[arg-type]
        for proj, per in pairs:
            if per.label not in PERIODS:
                continue
            path = write_return_workbook(session, proj.id or 0, per.id or 0, folder, KEY)
            wb = load_workbook(path)
            for i, name in enumerate(wb.defined_names):
                sheet, ref = next(iter(wb.defined_names[name].destinations))
                value: object = f"£{10 + i},000.50"[:3] if name.startswith(("spend", "forecast")) else None
                value = {"output": 3, "narrative_progress": "On track", "signoff_name": "A Lead",
                         "signoff_role": "Lead", "signoff_date": date(2024, 10, 2)}.get(name.split("__")[0], value)
                wb[sheet][ref.replace("$", "")] = value
            out = io.BytesIO()
            wb.save(out)
            bases.append(out.getvalue())
    return bases


def with_comment(data: bytes, comment: bytes) -> bytes:
    """The same zip with a different archive comment (a distinct file, identical content)."""
    assert data[-2:] == b"\x00\x00", "expected a zip without a comment"
    return data[:-2] + len(comment).to_bytes(2, "little") + comment


def make_files(bases: list[bytes], n: int, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        path = folder / f"return-{i:05d}.xlsx"
        path.write_bytes(with_comment(bases[i % len(bases)], f"copy {i}".encode()))
        paths.append(path)
    return paths


def parse_calamine(paths: list[Path]) -> None:
    for path in paths:
        book = python_calamine.CalamineWorkbook.from_path(str(path))
        for name in book.sheet_names:
            book.get_sheet_by_name(name).to_python()


def parse_openpyxl(paths: list[Path]) -> None:
    for path in paths:
        wb = load_workbook(path, read_only=True, data_only=True)
        for ws in wb.worksheets:
            for _ in ws.iter_rows(values_only=True):
                pass
        wb.close()


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def ingest_run(work: Path, files: list[Path], run: int) -> float:
    folder = work / f"run{run}"
    folder.mkdir()
    url = new_database(folder)
    inbox = folder / "inbox"
    inbox.mkdir()
    copies = [Path(shutil.copyfile(f, inbox / f.name)) for f in files]
    options = IngestOptions(folder / "archive", folder / "quarantine", KEY)
    seconds = timed(lambda: ingest_files(get_engine(url), copies, datetime.now(UTC), options))
    with Session(get_engine(url)) as session:
        statuses = {s for s in session.exec(select(m.Return.status))}
    assert statuses <= {"accepted", "superseded"}, statuses
    shutdown()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--large", action="store_true", help="10,000 files")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--openpyxl-sample", type=int, default=200)
    args = parser.parse_args()
    n = 10_000 if args.large else args.n
    with tempfile.TemporaryDirectory(prefix="grants-bench-") as tmp:
        work = Path(tmp)
        bases = filled_bases(new_database(work), work / "issued")
        files = make_files(bases, n, work / "files")
        sample = files[: args.openpyxl_sample]
        parse = [timed(lambda: parse_calamine(files)) for _ in range(args.runs)]
        openpyxl_s = statistics.median(timed(lambda: parse_openpyxl(sample)) for _ in range(args.runs))
        ingest = [ingest_run(work, files, run) for run in range(args.runs)]
    a, b = statistics.median(parse), statistics.median(ingest)
    print(f"{n} returns ({len(bases)} distinct project/period workbooks), medians of {args.runs} runs")
    print(f"(a) raw parse, python-calamine direct: {a:.2f} s  {n / a:,.0f} returns/s")
    print(f"    openpyxl read-only ({len(sample)} files):  {len(sample) / openpyxl_s:,.0f} returns/s")
    print(f"(b) ingest end to end into SQLite:      {b:.2f} s  {n / b:,.0f} returns/s")
    print(f"ratio (b)/(a) time: {b / a:.1f}x")


if __name__ == "__main__":
    main()
