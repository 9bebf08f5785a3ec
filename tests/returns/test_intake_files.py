"""Files into ingest: what the inbox scan takes and skips (with reasons), links and special files never opened, files
outside the inbox copied not moved, size checked before reading, leftovers cleaned, plain-line stops."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from grants.kernel import models as m
from grants.kernel.db import create_schema, get_engine
from grants.returns.archive import clean_leftovers, staging_folder
from grants.returns.inbox import scan_inbox
from grants.returns.ingest import IngestStopped, Source
from grants.returns.outcome import failure_cause
from grants.returns.safety import NotARegularFile, read_capped
from tests.factories import load_example
from tests.returns_kit import KEY, _stop_parser_pool, fill, ingest, issue, rezip  # noqa: F401

NOW = time.time()


def _old(path: Path) -> Path:
    os.utime(path, (NOW - 60, NOW - 60), follow_symlinks=False)
    return path


def test_the_inbox_scan_skips_links_folders_special_hidden_and_lock_files_with_a_reason(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "return.xlsx").write_bytes(b"x")
    _old(inbox / "return.xlsx")
    (inbox / "passwd.xlsx").symlink_to("/etc/passwd")
    (inbox / "sub").mkdir()
    os.mkfifo(inbox / "pipe.xlsx")
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(inbox / "sock"))
        (inbox / ".hidden.xlsx").write_bytes(b"x")
        (inbox / "~$return.xlsx").write_bytes(b"x")
        scan = scan_inbox(inbox, NOW, settle_seconds=5)
    assert scan.files == [inbox / "return.xlsx"]
    reasons = {s.name: s.reason.split(":")[0] for s in scan.skipped}
    assert reasons == {"passwd.xlsx": "a symbolic link", "sub": "a folder", "pipe.xlsx": "not a regular file (a pipe, "
                       "socket or device)", "sock": "not a regular file (a pipe, socket or device)",
                       ".hidden.xlsx": "a hidden file (its name starts with '.')",
                       "~$return.xlsx": "an Office lock file (the workbook is open in Excel or LibreOffice)"}


def test_a_file_still_being_written_waits_and_a_settled_or_renamed_in_one_is_taken(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "copying.xlsx").write_bytes(b"half")
    (tmp_path / "done.xlsx").write_bytes(b"whole")
    _old(tmp_path / "done.xlsx").rename(inbox / "done.xlsx")  # a rename keeps the file's modification time
    scan = scan_inbox(inbox, time.time(), settle_seconds=5)
    assert scan.files == [inbox / "done.xlsx"]
    [waiting] = scan.skipped
    assert (waiting.name, waiting.waiting) == ("copying.xlsx", True)
    assert "still being written" in waiting.reason
    assert scan_inbox(inbox, time.time() + 6, settle_seconds=5).files == [inbox / "copying.xlsx", inbox / "done.xlsx"]


def test_links_and_special_files_are_never_opened_even_when_named_directly(tmp_path: Path) -> None:
    (tmp_path / "link.xlsx").symlink_to("/etc/passwd")
    os.mkfifo(tmp_path / "pipe.xlsx")  # opening a pipe for reading would hang: it must not even be opened
    for name in ("link.xlsx", "pipe.xlsx"):
        with pytest.raises(NotARegularFile):
            read_capped(tmp_path / name, 5_000_000)


def test_a_file_over_the_limit_is_hashed_in_chunks_and_never_read_whole(tmp_path: Path) -> None:
    big = tmp_path / "big.xlsx"
    with open(big, "wb") as handle:
        handle.truncate(3 * 1024 * 1024)
    data, sha256, size = read_capped(big, 1_000_000)
    assert (data, size) == (None, 3 * 1024 * 1024)
    assert sha256 == hashlib.sha256(b"\0" * size).hexdigest()


MEMORY_SCRIPT = """
import json, sys
from datetime import UTC, datetime
from pathlib import Path
from grants.kernel.db import get_engine
from grants.returns import sandbox
from grants.returns.ingest import IngestOptions, ingest_files
from grants.returns.ingest import inbox_files

def peak(pid):  # VmHWM: the most this process itself ever had resident (not inherited across fork or exec)
    return next(int(line.split()[1]) * 1024 for line in open(f"/proc/{pid}/status") if line.startswith("VmHWM"))

tmp = Path(sys.argv[1])
options = IngestOptions(tmp / "archive", tmp / "quarantine", sys.argv[2].encode(), inbox=tmp / "inbox")
results = ingest_files(get_engine(sys.argv[3]), inbox_files(tmp / "inbox"), datetime.now(UTC), options)
workers = [peak(w.process.pid) for pools in sandbox._pools.values() for pool in pools for w in pool]
print(json.dumps({"main": peak("self"), "workers": workers, "limit": options.limits.memory_bytes,
                  "outcomes": sorted({(r.outcome, r.problems[0].code if r.problems else "") for r in results})}))
sandbox.shutdown()
"""
MB = 1024 * 1024


def _grid_sheet(rows: int, cols: int) -> bytes:
    """A Spend sheet filled with distinct text from A1 to (rows, cols): within the row and column limits, but its
    values take ~1.7 MB to send back from the worker and several times that once unpickled."""
    letters = [chr(65 + i // 26 - 1) + chr(65 + i % 26) if i >= 26 else chr(65 + i) for i in range(cols)]
    body = b"".join(b'<row r="%d">' % r + b"".join(b'<c r="%s%d" t="inlineStr"><is><t>%d-%dxxxxxxxx</t></is></c>'
                                                   % (c.encode(), r, r, i) for i, c in enumerate(letters)) + b"</row>"
                    for r in range(1, rows + 1))
    return (b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            b"<sheetData>" + body + b"</sheetData></worksheet>")


def _copies(path: Path, count: int, folder: Path) -> None:
    """`count` copies of a zip differing only in the archive comment: distinct files, identical content."""
    data = path.read_bytes()
    for i in range(count):
        comment = f"copy {i}".encode()
        (folder / f"{path.stem}-{i:03d}.xlsx").write_bytes(data[:-2] + len(comment).to_bytes(2, "little") + comment)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the bound is the process's, not the database's
def test_ingest_memory_stays_bounded_whatever_sits_in_the_inbox(loaded: Engine, db_url: str, tmp_path: Path) -> None:
    """A 400 MB file, a zip bomb, a sheet a million rows long and 40 returns whose values would take hundreds of MB if
    held at once: the ingest process peaks under 300 MB and each parser worker within its address-space limit."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    with open(inbox / "huge.xlsx", "wb") as handle:  # sparse: 400 MB on paper, nothing on disk until copied
        handle.write(b"PK\x03\x04")
        handle.truncate(400 * MB)
    good = fill(issue(loaded, tmp_path / "issued"), {"spend__design": 100}, tmp_path / "good.xlsx")
    rezip(good, inbox / "bomb.xlsx", add={"xl/media/filler.xml": b" " * 60_000_000})
    rows = b"".join(b'<row r="%d"/>' % r for r in range(1, 1_000_001))
    rezip(good, inbox / "million.xlsx", replace={"xl/worksheets/sheet3.xml": _grid_sheet(1, 1).replace(
        b"</sheetData>", rows + b"</sheetData>")})
    _copies(rezip(good, tmp_path / "full.xlsx", replace={"xl/worksheets/sheet3.xml": _grid_sheet(2000, 45)}), 40,
            inbox)
    run = subprocess.run([sys.executable, "-c", MEMORY_SCRIPT, str(tmp_path), KEY.decode(), db_url],
                         capture_output=True, text=True, check=False, cwd=tmp_path,
                         env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])})
    assert run.returncode == 0, run.stderr
    found = json.loads(run.stdout)
    assert found["main"] < 300 * MB
    assert found["workers"] and all(peak < found["limit"] for peak in found["workers"])
    assert [tuple(o) for o in found["outcomes"]] == [("quarantined", "file-too-large"),
                                                     ("quarantined", "sheet-too-large"), ("quarantined", "zip-bomb"),
                                                     ("rejected", "not-a-number")]
    assert not any(inbox.iterdir()) and len(list((tmp_path / "quarantine").iterdir())) == 3


@pytest.fixture
def loaded(engine: Engine) -> Engine:
    load_example(engine)
    return engine


def test_a_file_named_from_outside_the_inbox_is_copied_in_and_never_moved(loaded: Engine, tmp_path: Path) -> None:
    outside = fill(issue(loaded, tmp_path / "issued"), {"spend__design": 100}, tmp_path / "mine.xlsx")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    inside = Path(shutil.copyfile(fill(outside, {"spend__design": 200}, tmp_path / "x.xlsx"), inbox / "in.xlsx"))
    results = ingest(loaded, tmp_path, outside, inside, inbox=inbox)
    assert [r.outcome for r in results] == ["accepted", "accepted"]
    assert outside.exists() and not inside.exists()
    assert all(Path(r.stored_path).is_file() for r in results)


def test_a_file_gone_when_its_turn_came_was_taken_by_another_run_not_failed(loaded: Engine, tmp_path: Path) -> None:
    [result] = ingest(loaded, tmp_path, tmp_path / "gone.xlsx")
    assert (result.outcome, result.note) == ("taken", "another ingest run took this file in first")


def test_sent_as_opendocument_or_with_sheets_added_says_what_to_do(loaded: Engine, tmp_path: Path) -> None:
    ods = tmp_path / "return.ods"
    with zipfile.ZipFile(ods, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("content.xml", "<office:document-content/>")
    good = fill(issue(loaded, tmp_path / "issued"), {"spend__design": 100}, tmp_path / "good.xlsx")
    sheets = tmp_path / "sheets.xlsx"
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(sheets, "w") as target:
        for info in source.infolist():
            target.writestr(info, source.read(info))
        for i in range(30):
            target.writestr(f"xl/worksheets/extra{i}.xml", "<worksheet/>")
    results = ingest(loaded, tmp_path, ods, sheets, source=Source("email", "lead@example.org"))
    assert [(r.outcome, r.problems[0].code) for r in results] == [("quarantined", "opendocument"),
                                                                 ("quarantined", "too-many-sheets")]
    assert "File > Save As > Excel Workbook (.xlsx)" in results[0].problems[0].message
    assert "Delete the sheets you added" in results[1].problems[0].message
    with Session(loaded) as session:
        rows = session.exec(select(m.ReceivedFile)).all()
    assert {(r.source, r.sender) for r in rows} == {("email", "lead@example.org")}


def test_stale_part_files_and_staged_copies_are_cleaned_by_the_next_run(tmp_path: Path) -> None:
    archive, quarantine = tmp_path / "archive", tmp_path / "quarantine"
    for path in (staging_folder(archive) / "abc", staging_folder(archive) / ".abc.77.part",
                 archive / "ab" / ".abc.xlsx.77.part", quarantine / ".abc.ods.9.part", archive / "ab" / "abc.xlsx"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    assert clean_leftovers(archive, quarantine) == 4
    assert [p.name for p in (archive / "ab").iterdir()] == ["abc.xlsx"] and not any(quarantine.iterdir())


def test_a_read_only_database_stops_the_run_with_one_line_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "grants.db"
    create_schema(get_engine(f"sqlite:///{path}"))
    load_example(get_engine(f"sqlite:///{path}"))
    read_only = get_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
    good = fill(issue(get_engine(f"sqlite:///{path}"), tmp_path / "issued"), {"spend__design": 1}, tmp_path / "g.xlsx")
    with pytest.raises(IngestStopped) as stopped:
        ingest(read_only, tmp_path, good)
    assert str(stopped.value).startswith("ingest stopped: the database is read-only")
    assert "\n" not in str(stopped.value) and good.exists()


def test_a_full_disk_is_named_as_such() -> None:
    cause = failure_cause(OSError(errno.ENOSPC, "No space left on device", "/data/archive/ab/x.xlsx"))
    assert cause == "the disk is full at /data/archive/ab/x.xlsx"


def test_sqlite_commits_are_durable_synchronous_full(tmp_path: Path) -> None:
    with get_engine(f"sqlite:///{tmp_path / 'g.db'}").connect() as conn:
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar_one() == 2  # FULL
