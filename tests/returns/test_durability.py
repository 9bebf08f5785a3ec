"""Fault injection: an ingest process killed at each step of making a copy durable (write, fsync, rename, folder
fsync, commit, remove) never leaves an original gone from the inbox without its copy written, fsynced, renamed into a
fsynced folder and recorded by a committed transaction; the next run then stores every file exactly once. On SQLite
and PostgreSQL, with the worker's copy (written, fsynced and renamed under its final name by the worker, a process
the hook does not see) and with the original copied by the main process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from grants.kernel import models as m
from grants.returns.archive import file_sha256, staging_folder
from grants.returns.verify import verify_archive
from tests.factories import load_example
from tests.returns_kit import KEY, RECEIVED, _stop_parser_pool, fill, ingest, issue  # noqa: F401

KILLED = 9
SCRIPT = """
import os, sys
from datetime import UTC, datetime
from pathlib import Path
from grants.kernel.db import get_engine
from grants.returns import archive
from grants.returns.ingest import IngestOptions, ingest_files
url, tmp, target, nth, key = sys.argv[1], Path(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5]
log = open(tmp / "steps.log", "a", buffering=1)
seen = []
def hook(step, path):
    log.write(f"{step} {path}\\n")
    seen.append(step)
    if step == target and seen.count(step) == nth:
        os._exit(9)  # killed: no clean-up, no rollback, nothing flushed by Python
archive.set_step_hook(hook)
files = sorted((tmp / "inbox").iterdir())
ingest_files(get_engine(url), files, datetime.now(UTC),
             IngestOptions(tmp / "archive", tmp / "quarantine", key.encode(), inbox=tmp / "inbox"))
os._exit(0)
"""
STEPS = ["write", "fsync", "rename", "folder-fsync", "commit", "remove"]
CASES = [(step, False) for step in STEPS] + [(step, True) for step in STEPS[3:]]


def _steps(log: Path) -> list[tuple[str, str]]:
    return [tuple(line.split(" ", 1)) for line in log.read_text().splitlines()]  # type: ignore[misc]


def _assert_durable_before_removal(engine: Engine, tmp_path: Path, originals: dict[str, str], staged: bool) -> None:
    steps = _steps(tmp_path / "steps.log")
    with Session(engine) as session:
        recorded = {f.sha256: f for f in session.exec(select(m.ReceivedFile))}
    for name, sha256 in originals.items():
        if (tmp_path / "inbox" / name).exists():
            continue
        row = recorded[sha256]  # gone from the inbox: recorded by a committed transaction
        copy = Path(row.stored_path)
        assert copy.is_file() and file_sha256(copy) == sha256
        removed = steps.index(("remove", str(tmp_path / "inbox" / name)))
        before = steps[:removed]
        assert ("folder-fsync", str(copy.parent)) in before
        assert ("commit", "") in before[before.index(("folder-fsync", str(copy.parent))):]
        if staged:  # the worker's copy, under its final name before the main process saw the file
            assert ("rename", str(copy)) not in steps
        else:  # copied by this process: its bytes fsynced before the rename into the folder fsynced after it
            assert before.index(("folder-fsync", str(copy.parent))) > before.index(("rename", str(copy)))
            fsynced = [i for i, (s, p) in enumerate(before) if s == "fsync" and f".{copy.name}." in p]
            assert fsynced and fsynced[0] < before.index(("rename", str(copy)))


@pytest.mark.parametrize(("step", "staged"), CASES, ids=[f"{s}-{'staged' if st else 'copied'}" for s, st in CASES])
def test_killed_at_any_step_no_original_leaves_before_its_copy_is_durable_and_recorded(
    engine: Engine, db_url: str, tmp_path: Path, step: str, staged: bool
) -> None:
    load_example(engine)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    blank = issue(engine, tmp_path / "issued")
    files = [fill(blank, {"spend__design": 100 + i}, inbox / f"r{i}.xlsx") for i in range(2)]
    originals = {f.name: file_sha256(f) for f in files}
    if not staged:  # no staging folder can be made: the main process copies each original itself
        staging_folder(tmp_path / "archive").parent.mkdir()
        staging_folder(tmp_path / "archive").write_bytes(b"")
    nth = 2 if step in ("write", "fsync", "rename", "remove") else 1
    run = subprocess.run([sys.executable, "-c", SCRIPT, db_url, str(tmp_path), step, str(nth), KEY.decode()],
                         capture_output=True, text=True, check=False,
                         env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])})
    assert run.returncode == KILLED, run.stderr
    _assert_durable_before_removal(engine, tmp_path, originals, staged)

    again = ingest(engine, tmp_path, *sorted(inbox.iterdir()), inbox=inbox)
    assert all(r.outcome in ("accepted", "duplicate") for r in again) and not any(inbox.iterdir())
    with Session(engine) as session:
        returns = session.exec(select(m.Return)).all()
        assert sorted(r.sha256 for r in returns) == sorted(originals.values())
        assert verify_archive(session).problems == []
