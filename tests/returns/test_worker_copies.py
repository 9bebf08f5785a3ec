"""The worker writes the archive copy of a file it read without a problem under its final name; whatever the main
process then decides, the archive ends up holding exactly the copies recorded returns point to."""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from grants.kernel import models as m
from grants.returns.archive import file_sha256, final_name
from grants.returns.runlock import LOCK_FILE
from tests.factories import load_example
from tests.returns_kit import _stop_parser_pool, fill, ingest, issue  # noqa: F401


def _archived(tmp_path: Path) -> set[Path]:
    return {p for p in (tmp_path / "archive").rglob("*") if p.is_file() and p.name != LOCK_FILE}


def _recorded(engine: Engine) -> set[Path]:
    with Session(engine) as session:
        return {Path(r.archive_path) for r in session.exec(select(m.Return))}


def test_an_accepted_return_is_archived_where_the_worker_wrote_it_with_nothing_staged(
    engine: Engine, tmp_path: Path
) -> None:
    load_example(engine)
    (tmp_path / "inbox").mkdir()
    blank = issue(engine, tmp_path / "issued")
    sent = fill(blank, {"spend__design": 100}, tmp_path / "inbox" / "q2.xlsx")
    sha256 = file_sha256(sent)
    [result] = ingest(engine, tmp_path, sent)
    assert result.outcome == "accepted" and result.return_id is not None
    assert result.stored_path == str(final_name(tmp_path / "archive", sha256, "q2.xlsx", flat=False))
    assert _archived(tmp_path) == _recorded(engine) == {Path(result.stored_path)}
    assert file_sha256(Path(result.stored_path)) == sha256
    assert list((tmp_path / "archive" / ".incoming").iterdir()) == []


def test_a_readable_file_signed_with_another_key_moves_from_the_archive_to_quarantine_and_its_copies_do_not_stay(
    engine: Engine, tmp_path: Path
) -> None:
    load_example(engine)
    (tmp_path / "inbox").mkdir()
    forged = fill(issue(engine, tmp_path / "issued", key=b"not-the-programme-key"), {"spend__design": 100},
                  tmp_path / "inbox" / "forged.xlsx")
    again = Path(shutil.copyfile(forged, tmp_path / "inbox" / "forged-again.xlsx"))
    first, second = ingest(engine, tmp_path, forged, again)
    assert (first.outcome, second.outcome) == ("quarantined", "duplicate")
    assert Path(first.stored_path).parent == tmp_path / "quarantine" and Path(first.stored_path).is_file()
    assert _archived(tmp_path) == set()  # neither worker's archive copy stays: no return points to one


def test_the_same_return_twice_keeps_the_one_archive_copy_its_return_points_to(
    engine: Engine, tmp_path: Path
) -> None:
    load_example(engine)
    (tmp_path / "inbox").mkdir()
    sent = fill(issue(engine, tmp_path / "issued"), {"spend__design": 100}, tmp_path / "inbox" / "q2.xlsx")
    again = Path(shutil.copyfile(sent, tmp_path / "inbox" / "q2-again.xlsx"))
    first, second = ingest(engine, tmp_path, sent, again, batch_files=1)
    later = ingest(engine, tmp_path, Path(shutil.copyfile(tmp_path / "archive" / Path(first.stored_path).relative_to(
        tmp_path / "archive"), tmp_path / "q2-later.xlsx")))
    assert (first.outcome, second.outcome, later[0].outcome) == ("accepted", "duplicate", "duplicate")
    assert _archived(tmp_path) == _recorded(engine) == {Path(first.stored_path)}
    assert file_sha256(Path(first.stored_path)) == first.sha256
