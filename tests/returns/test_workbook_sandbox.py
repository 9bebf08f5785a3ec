"""The sandbox's worker processes: results in order, a dying worker costs only its file, replies are only results."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import Workbook

from grants.returns import sandbox as workbook_sandbox
from grants.returns.layout import META
from grants.returns.safety import Limits
from grants.returns.sandbox import WorkerStartError, examine_each, shutdown
from tests.returns_kit import member, rezip

LAX = Limits(max_rows=2_000_000, max_cols=20_000, memory_bytes=400 * 1024 * 1024)  # lets the crasher be read


@pytest.fixture(autouse=True)
def _fresh_workers() -> Iterator[None]:
    shutdown()
    yield
    shutdown()


@pytest.fixture
def files(tmp_path: Path) -> list[Path]:
    """Five small workbooks with different contents."""
    paths = []
    for i in range(5):
        wb = Workbook()
        wb.active["A1"] = f"file {i}"
        wb.save(tmp_path / f"f{i}.xlsx")
        paths.append(tmp_path / f"f{i}.xlsx")
    return paths


@pytest.fixture
def crasher(tmp_path: Path) -> Path:
    """A workbook whose metadata sheet (always read) claims a cell at XFD1048576: python-calamine aborts the whole
    process on it."""
    wb = Workbook()
    wb.active.title = META
    wb.active["A1"] = "template_id"
    wb.save(tmp_path / "base.xlsx")
    far = b'<row r="1048576"><c r="XFD1048576" t="n"><v>1</v></c></row></sheetData>'
    sheet = "xl/worksheets/sheet1.xml"
    return rezip(tmp_path / "base.xlsx", tmp_path / "crash.xlsx", replace={sheet: member(
        tmp_path / "base.xlsx", sheet).replace(b"</sheetData>", far)})


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_results_come_back_in_the_order_of_the_paths_and_the_workers_serve_the_next_run(files: list[Path]) -> None:
    assert [f.sha256 for f in examine_each(files, LAX, workers=2)] == [_sha(p) for p in files]
    assert [f.sha256 for f in examine_each(files[::-1], LAX, workers=2)] == [_sha(p) for p in files[::-1]]


def test_a_worker_dying_on_one_file_costs_only_that_file(files: list[Path], crasher: Path) -> None:
    paths = [files[1], crasher, files[2], files[3], crasher, files[4]]
    found = list(examine_each(paths, LAX, workers=2))
    assert [f.sha256 for f in found] == [_sha(p) for p in paths]
    assert [[p.code for p in f.problems] for f in found] == [
        [], ["unreadable-workbook"], [], [], ["unreadable-workbook"], []]


def test_a_run_abandoned_half_way_leaves_no_stale_results_for_the_next(files: list[Path]) -> None:
    run = examine_each(files, LAX, workers=2)
    assert next(run).sha256 == _sha(files[0])
    run.close()
    assert [f.sha256 for f in examine_each(files[3:], LAX, workers=2)] == [_sha(p) for p in files[3:]]


def test_a_worker_that_cannot_start_is_an_error_not_a_bad_file(
    files: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(workbook_sandbox, "BOOT", "raise SystemExit(3)")
    with pytest.raises(WorkerStartError):
        list(examine_each(files, LAX, workers=2))


def test_a_reply_that_is_not_a_result_is_never_unpickled(files: list[Path], monkeypatch: pytest.MonkeyPatch) -> None:
    impostor = ("import os, pickle, sys; i, o = sys.stdin.buffer, sys.stdout.buffer; pickle.load(i); pickle.load(i); "
                "pickle.dump('ready', o); o.flush(); pickle.load(i); pickle.dump(os.getcwd, o); o.flush()")
    monkeypatch.setattr(workbook_sandbox, "BOOT", impostor)
    [found] = examine_each(files[:1], LAX, workers=1)
    assert (found.sha256, [p.code for p in found.problems]) == (_sha(files[0]), ["unreadable-workbook"])


def test_callers_in_several_threads_at_once_each_reuse_an_idle_pool(files: list[Path]) -> None:
    """The web app ingests uploads in several threads: after the first burst, later ones start no new workers."""
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    barrier = Barrier(3)

    def run(_: int) -> list[str]:
        found = examine_each(files, LAX, workers=1)
        first = next(found)  # all three hold a pool at the same moment
        barrier.wait(timeout=60)
        return [first.sha256, *(f.sha256 for f in found)]

    def pids() -> set[int]:
        return {w.process.pid for pool in workbook_sandbox._pools[(1, LAX.memory_bytes)] for w in pool}

    with ThreadPoolExecutor(3) as threads:
        assert list(threads.map(run, range(3))) == [[_sha(p) for p in files]] * 3
        started = pids()
        assert len(started) == 3
        assert list(threads.map(run, range(3))) == [[_sha(p) for p in files]] * 3
    assert pids() == started


def test_a_file_whose_values_are_too_many_to_send_back_is_sheet_too_large(tmp_path: Path) -> None:
    """Within the row and column limits, yet its values would take more than MAX_REPLY_BYTES to send: the worker
    answers with the problem, never with the values (the ingest process's memory stays bounded)."""
    wb = Workbook()
    for name in ("Spend", "Outputs"):
        sheet = wb.create_sheet(name)
        for row in range(1, 2_001):
            sheet.append([f"{name}-{row}-{col}-text" for col in range(100)])
    wb.save(tmp_path / "full.xlsx")
    [found] = examine_each([tmp_path / "full.xlsx"], Limits(), workers=1)
    assert (found.sha256, [p.code for p in found.problems]) == (_sha(tmp_path / "full.xlsx"), ["sheet-too-large"])
    assert found.grids == {} and 0 < found.reply_bytes < 10_000
