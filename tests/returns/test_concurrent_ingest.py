"""Two ingest processes over the same inbox at once store each file exactly once, on PostgreSQL and SQLite: no
duplicate Return or ReceivedFile, versions never repeated, one accepted return per project and period, and a file
the other run took is reported `taken`, never `failed`."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from grants.kernel import models as m
from grants.returns.inbox import scan_inbox
from tests.factories import load_example
from tests.returns_kit import KEY, _stop_parser_pool, fill, issue  # noqa: F401

FILES = 200
RUN = """
import json, sys, time
from datetime import UTC, datetime
from pathlib import Path
from grants.kernel.db import get_engine
from grants.returns.ingest import IngestOptions, inbox_files, ingest_files
from grants.returns.sandbox import shutdown
url, tmp, start = sys.argv[1], Path(sys.argv[2]), float(sys.argv[3])
files = inbox_files(tmp / "inbox")
while time.time() < start:
    time.sleep(0.01)
options = IngestOptions(tmp / "archive", tmp / "quarantine", sys.argv[4].encode(), inbox=tmp / "inbox",
                        batch_files=10)
results = ingest_files(get_engine(url), files, datetime.now(UTC), options)
shutdown()
print(json.dumps([[r.source, r.outcome] for r in results]))
"""


def _with_comment(data: bytes, comment: bytes) -> bytes:
    """The same zip with another archive comment: a distinct file (its own SHA-256), identical content."""
    return data[:-2] + len(comment).to_bytes(2, "little") + comment


def _inbox(engine: Engine, tmp_path: Path) -> Path:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    bases = []
    for code, label in (("active-bystander", "2024-25-Q2"), ("purple-flag", "2024-25-Q2"),
                        ("active-bystander", "2024-25-Q3")):
        path = fill(issue(engine, tmp_path / "issued", code, label), {}, tmp_path / f"{code}-{label}.xlsx")
        out = io.BytesIO()
        load_workbook(path).save(out)
        bases.append(out.getvalue())
    for i in range(FILES):
        (inbox / f"r{i:03d}.xlsx").write_bytes(_with_comment(bases[i % len(bases)], f"copy {i}".encode()))
    (inbox / "r000-again.xlsx").write_bytes((inbox / "r000.xlsx").read_bytes())  # one true duplicate
    return inbox


def test_two_overlapping_ingest_runs_store_every_file_exactly_once(engine: Engine, db_url: str,
                                                                   tmp_path: Path) -> None:
    load_example(engine)
    inbox = _inbox(engine, tmp_path)
    start = str(time.time() + 4)  # both processes list the inbox, then start storing at the same moment
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    runs = [subprocess.Popen([sys.executable, "-c", RUN, db_url, str(tmp_path), start, KEY.decode()],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) for _ in range(2)]
    outputs = [run.communicate(timeout=300) for run in runs]
    assert all(run.returncode == 0 for run in runs), [err for _, err in outputs]
    outcomes = [dict(json.loads(out)) for out, _ in outputs]
    stored = Counter(name for run in outcomes for name, outcome in run.items() if outcome != "taken")
    assert all(outcome != "failed" for run in outcomes for outcome in run.values())
    assert len(stored) == FILES + 1 and set(stored.values()) == {1}  # each file taken in by exactly one run
    assert scan_inbox(inbox, time.time() + 60).files == []
    with Session(engine) as session:
        returns = session.exec(select(m.Return)).all()
        received = session.exec(select(m.ReceivedFile)).all()
    assert len(returns) == FILES and len({r.sha256 for r in returns}) == FILES
    first_copies = [f for f in received if f.outcome != "duplicate"]
    assert len(first_copies) == len({f.sha256 for f in first_copies}) == FILES
    assert [f.name for f in received if f.outcome == "duplicate"] in (["r000-again.xlsx"], ["r000.xlsx"])
    versions = Counter((r.project_id, r.period_id, r.version) for r in returns)
    assert set(versions.values()) == {1}
    accepted = Counter((r.project_id, r.period_id) for r in returns if r.status == "accepted")
    assert sorted(accepted.values()) == [1, 1, 1]
    per_pair = Counter((r.project_id, r.period_id) for r in returns)
    for (project_id, period_id), count in per_pair.items():
        numbers = sorted(r.version for r in returns if (r.project_id, r.period_id) == (project_id, period_id))
        assert numbers == list(range(1, count + 1))
