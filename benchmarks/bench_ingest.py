"""Benchmark: (a) raw parse of N filled returns with python-calamine vs (b) `ingest_files` end to end into SQLite,
per-file main-process CPU at 1,000 files and at N, and this code against main's, side by side.

Usage: python benchmarks/bench_ingest.py [--n 3000] [--large] [--runs 3] [--baseline 21728a6 | --no-baseline].
Not run by the tests (`make bench`). Files are real workbooks from the writer, filled with openpyxl; copies differ by
a zip comment so every file has its own SHA-256 (repeats for a project and period are new versions that supersede the
earlier one). Each ingest runs in a child process (fresh interpreter, fresh database) importing either this tree or a
`git archive` copy of the baseline commit with the same virtual environment; the two alternate, run by run. Ends with
`goal <job>: <figure> <unit> (goal <target> <unit>): met|missed` lines.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import python_calamine
from openpyxl import load_workbook

ROOT = Path(__file__).resolve().parent.parent
if "--child" not in sys.argv:
    sys.path.insert(0, str(ROOT))

if "--child" in sys.argv:  # the code under test: this tree or the baseline's copy
    sys.path.insert(0, sys.argv[sys.argv.index("--child") + 1])
from sqlmodel import Session, select  # noqa: E402

from grants.kernel import models as m  # noqa: E402
from grants.kernel.db import create_schema, get_engine, session_scope  # noqa: E402
from grants.programme.loader import load_programmes  # noqa: E402
from grants.programme.register import initialise  # noqa: E402
from grants.returns.ingest import IngestOptions, ingest_files  # noqa: E402
from grants.returns.sandbox import shutdown  # noqa: E402
from grants.returns.writer import write_return_workbook  # noqa: E402

KEY = b"benchmark-key"
PERIODS = ("2024-25-Q2", "2024-25-Q3")


def new_database(folder: Path, config: Path) -> str:
    url = f"sqlite:///{folder / 'grants.db'}"
    engine = get_engine(url)
    create_schema(engine)
    with session_scope(engine) as session:
        initialise(session, load_programmes(config))
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


def cpu_timed(action: Callable[[], object]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    action()
    return time.perf_counter() - wall, time.process_time() - cpu


def child(code: Path, files: Path, work: Path) -> None:
    """One ingest run of every file in `files` into a fresh database, with the code in `code`; prints JSON."""
    work.mkdir(parents=True)
    url = new_database(work, code / "config")
    inbox = work / "inbox"
    inbox.mkdir()
    copies = [Path(shutil.copyfile(f, inbox / f.name)) for f in sorted(files.iterdir())]
    options = IngestOptions(work / "archive", work / "quarantine", KEY)
    wall, cpu = cpu_timed(lambda: ingest_files(get_engine(url), copies, datetime.now(UTC), options))
    shutdown()  # waits for the workers: their CPU is then in RUSAGE_CHILDREN
    workers = resource.getrusage(resource.RUSAGE_CHILDREN)
    with Session(get_engine(url)) as session:
        statuses = set(session.exec(select(m.Return.status)))
    assert statuses <= {"accepted", "superseded"}, statuses
    print(json.dumps({"n": len(copies), "wall": wall, "main_cpu": cpu,
                      "workers_cpu": workers.ru_utime + workers.ru_stime}))


def run_child(code: Path, files: Path, work: Path) -> dict[str, float]:
    out = subprocess.run([sys.executable, __file__, "--child", str(code), str(files), str(work)], check=True,
                         capture_output=True, text=True, cwd=work.parent)
    shutil.rmtree(work, ignore_errors=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def baseline_copy(commit: str, folder: Path) -> Path:
    """The baseline's code, from `git archive` (run with this virtual environment)."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit], check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return folder


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def goal(job: str, figure: float, unit: str, target: str, met: bool) -> str:
    return f"goal {job}: {figure:.2f} {unit} (goal {target} {unit}): {'met' if met else 'missed'}"


def main() -> None:
    if "--child" in sys.argv:
        code_root, files_dir, work_dir = sys.argv[sys.argv.index("--child") + 1:][:3]
        child(Path(code_root), Path(files_dir), Path(work_dir))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3000, help="the larger size (the smaller is 1,000)")
    parser.add_argument("--large", action="store_true", help="10,000 files")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--baseline", default="21728a6", help="commit compared side by side at 1,000 files")
    parser.add_argument("--no-baseline", action="store_true")
    args = parser.parse_args()
    large = 10_000 if args.large else args.n
    sizes = sorted({1000, large})
    print(f"load average at start: {load()}")
    with tempfile.TemporaryDirectory(prefix="grants-bench-") as tmp:
        work = Path(tmp)
        bases = filled_bases(new_database(work, ROOT / "config"), work / "issued")
        files = {n: make_files(bases, n, work / f"files{n}") for n in sizes}
        codes = {"this": ROOT}
        if not args.no_baseline:
            codes["main"] = baseline_copy(args.baseline, work / "baseline")
        parse: dict[int, list[tuple[float, float]]] = {n: [] for n in sizes}
        runs: dict[tuple[str, int], list[dict[str, float]]] = {}
        for run in range(args.runs):
            for n in sizes:
                parse[n].append(cpu_timed(lambda: parse_calamine(files[n])))  # noqa: B023
                order = list(codes) if run % 2 == 0 else list(codes)[::-1]  # alternate which goes first
                for name in order if n == 1000 else ["this"]:
                    result = run_child(codes[name], work / f"files{n}", work / f"run-{name}-{n}-{run}")
                    runs.setdefault((name, n), []).append(result)
                    print(f"  run {run + 1} {name:>4} {n:>6,} files: {result['wall']:6.2f} s wall, "
                          f"main {1000 * result['main_cpu'] / n:.2f} ms cpu/file, workers "
                          f"{1000 * result['workers_cpu'] / n:.2f} ms cpu/file  (load {load()})", flush=True)
        openpyxl_s = statistics.median(cpu_timed(lambda: parse_openpyxl(files[1000][:200]))[0]
                                       for _ in range(args.runs))
    report(parse, runs, sizes, len(bases), args.runs, 200 / openpyxl_s)


def median(values: list[dict[str, float]], key: str) -> float:
    return statistics.median(v[key] for v in values)


def cpu(values: list[dict[str, float]]) -> float:
    """The median of the runs' CPU, main process and workers together."""
    return statistics.median(v["main_cpu"] + v["workers_cpu"] for v in values)


def report(parse: dict[int, list[tuple[float, float]]], runs: dict[tuple[str, int], list[dict[str, float]]],
           sizes: list[int], distinct: int, count: int, openpyxl_rate: float) -> None:
    small, large = sizes[0], sizes[-1]
    print(f"\nmedians of {count} runs; {distinct} distinct project/period workbooks; load average now {load()}")
    for n in sizes:
        a_wall = statistics.median(w for w, _ in parse[n])
        a_cpu = statistics.median(c for _, c in parse[n])
        print(f"{n:,} files: (a) raw parse, python-calamine direct: {a_wall:.2f} s wall ({a_cpu:.2f} s cpu), "
              f"{n / a_wall:,.0f} returns/s")
        for name in ("main", "this"):
            if (name, n) in runs:
                r = runs[(name, n)]
                print(f"   (b) ingest, {name:>4}: {median(r, 'wall'):.2f} s wall, "
                      f"{n / median(r, 'wall'):,.0f} returns/s; "
                      f"cpu main {median(r, 'main_cpu'):.2f} s ({1000 * median(r, 'main_cpu') / n:.2f} ms/file), "
                      f"workers {median(r, 'workers_cpu'):.2f} s; (b)/(a) {median(r, 'wall') / a_wall:.1f}x wall, "
                      f"{(median(r, 'main_cpu') + median(r, 'workers_cpu')) / a_cpu:.1f}x cpu")
    print(f"openpyxl read-only (200 files): {openpyxl_rate:,.0f} returns/s")
    # CPU, not wall: the machine is shared, and the raw parse is one process where ingest is three (main + 2 workers)
    this_large = runs[("this", large)]
    ratio = cpu(this_large) / statistics.median(c for _, c in parse[large])
    per_file = [1000 * median(runs[("this", n)], "main_cpu") / n for n in (small, large)]
    growth = per_file[1] / per_file[0]
    print(f"main-process cpu {per_file[0]:.2f} ms/file at {small:,} files, {per_file[1]:.2f} at {large:,}")
    lines = [goal("ingest-vs-raw-parse", ratio, "x cpu", "<= 3", ratio <= 3),
             goal(f"ingest-per-file-flat-{small}-to-{large}", growth, "x", "<= 1.2", growth <= 1.2)]
    if ("main", small) in runs:
        speed = cpu(runs[("main", small)]) / cpu(runs[("this", small)])
        rate = small / median(runs[("this", small)], "wall")
        print(f"{rate:,.0f} returns/s wall here, {small / cpu(runs[('this', small)]):,.0f} per cpu second")
        lines.append(goal("ingest-vs-main", speed, "x main's returns per cpu second", ">= 0.95", speed >= 0.95))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
