"""Ingest in batches, one transaction each: a file failing fails alone, a crash loses nothing, outcomes match."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, select

from grants.kernel import models as m
from grants.returns import ingest as return_ingest
from grants.returns import intake as return_intake
from grants.returns.runlock import LOCK_FILE
from tests.factories import load_example
from tests.returns_kit import _stop_parser_pool, fill, ingest, issue  # noqa: F401

POISON_PENCE = 424242  # a poisoned return: design spend £4,242.42, "poison" in its file name
# Where a test trigger makes storing the poisoned return fail: its Return row or its spend rows (both inserted with
# the whole batch's rows at its end: the batch fails and is retried one file at a time).
POISON_STAGES = {"its-return": ('"return"', "NEW.source_name LIKE '%poison%'"),
                 "at-the-batch-end": ("returnspend", f"NEW.actual_pence = {POISON_PENCE}")}


@pytest.fixture
def inbox(engine: Engine, tmp_path: Path) -> Path:
    """An inbox folder; the example programme loaded."""
    load_example(engine)
    folder = tmp_path / "inbox"
    folder.mkdir()
    return folder


def _returns(engine: Engine, tmp_path: Path, inbox: Path, *spend_design: object, label: str = "2024-25-Q2"
             ) -> list[Path]:
    """Filled Active Bystander returns in the inbox, one per design spend given (in that order)."""
    blank = issue(engine, tmp_path / "issued", label=label)
    return [fill(blank, {"spend__design": value}, inbox / (
        f"{i:02d}-{'poison' if value == POISON_PENCE / 100 else 'fine'}-{label}.xlsx"))
        for i, value in enumerate(spend_design)]


def _poison(engine: Engine, stage: str) -> None:
    """A real database failure while storing the poisoned return (a trigger raising)."""
    table, condition = POISON_STAGES[stage]
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(text(f"CREATE TRIGGER poison BEFORE INSERT ON {table} WHEN {condition} "
                              "BEGIN SELECT RAISE(ABORT, 'disk on fire'); END"))
        else:
            conn.execute(text(f"CREATE FUNCTION poison() RETURNS trigger AS $$ BEGIN IF {condition} THEN RAISE "
                              "EXCEPTION 'disk on fire'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql"))
            conn.execute(text(f"CREATE TRIGGER poison BEFORE INSERT ON {table} FOR EACH ROW EXECUTE FUNCTION "
                              "poison()"))


def _stored(engine: Engine) -> tuple[list[tuple[str, int, str]], list[tuple[str, str]], int]:
    """(source, version, status) of every Return; (name, outcome) of every ReceivedFile; spend rows."""
    with Session(engine) as session:
        returns = [(r.source_name, r.version, r.status) for r in session.exec(select(m.Return).order_by(
            col(m.Return.id)))]
        received = [(f.name, f.outcome) for f in session.exec(select(m.ReceivedFile).order_by(
            col(m.ReceivedFile.id)))]
        spend = len(session.exec(select(m.ReturnSpend)).all())
    return returns, received, spend


@pytest.mark.parametrize("stage", POISON_STAGES)
def test_a_file_failing_to_store_rolls_back_only_itself_and_the_rest_of_the_batch_is_stored(
    engine: Engine, tmp_path: Path, inbox: Path, stage: str
) -> None:
    first, poisoned, last = _returns(engine, tmp_path, inbox, 100, POISON_PENCE / 100, 150)
    _poison(engine, stage)
    commits: list[int] = []
    event.listen(engine, "commit", lambda conn: commits.append(1))
    results = ingest(engine, tmp_path, first, poisoned, last)
    assert [(r.outcome, r.version) for r in results] == [("accepted", 1), ("failed", None), ("accepted", 2)]
    assert [p.code for p in results[1].problems] == ["ingest-failed"]
    assert len(commits) == 2  # the batch failed, then one per file: the first and the last committed
    returns, received, spend = _stored(engine)
    # The poisoned file's Return row, its superseding of version 1 and its ReceivedFile are all rolled back.
    assert returns == [(first.name, 1, "superseded"), (last.name, 2, "accepted")]
    assert received == [(first.name, "accepted"), (last.name, "accepted")]
    assert spend == 8
    assert poisoned.exists() and not first.exists() and not last.exists()
    assert list((tmp_path / "archive" / ".incoming").iterdir()) == []


@pytest.mark.parametrize("stage", POISON_STAGES)
def test_a_file_failing_first_leaves_the_register_it_read_usable_by_the_next_files(
    engine: Engine, tmp_path: Path, inbox: Path, stage: str
) -> None:
    poisoned, good = _returns(engine, tmp_path, inbox, POISON_PENCE / 100, 100)
    _poison(engine, stage)
    results = ingest(engine, tmp_path, poisoned, good)
    assert [(r.outcome, r.version) for r in results] == [("failed", None), ("accepted", 1)]


@pytest.mark.parametrize("stage", POISON_STAGES)
def test_a_failing_last_file_does_not_supersede_the_accepted_version_before_it(
    engine: Engine, tmp_path: Path, inbox: Path, stage: str
) -> None:
    first, poisoned = _returns(engine, tmp_path, inbox, 100, POISON_PENCE / 100)
    _poison(engine, stage)
    assert [r.outcome for r in ingest(engine, tmp_path, first, poisoned)] == ["accepted", "failed"]
    assert _stored(engine)[0] == [(first.name, 1, "accepted")]


def test_a_crash_mid_batch_leaves_nothing_written_and_every_file_in_the_inbox(
    engine: Engine, tmp_path: Path, inbox: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = _returns(engine, tmp_path, inbox, 100, 110, 120)
    calls: list[int] = []
    real_store = return_intake.store_return

    def crash_on_the_second(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt  # the process dies half-way through the batch
        return real_store(*args, **kwargs)

    monkeypatch.setattr(return_intake, "store_return", crash_on_the_second)
    with pytest.raises(KeyboardInterrupt):
        ingest(engine, tmp_path, *files)
    assert _stored(engine) == ([], [], 0)
    assert all(f.exists() for f in files)

    monkeypatch.setattr(return_intake, "store_return", real_store)
    assert [(r.outcome, r.version) for r in ingest(engine, tmp_path, *files)] == [
        ("accepted", 1), ("accepted", 2), ("accepted", 3)]
    assert not any(f.exists() for f in files)


def test_a_crash_after_the_commit_leaves_the_files_to_be_taken_in_as_duplicates_with_their_archive_kept(
    engine: Engine, tmp_path: Path, inbox: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = _returns(engine, tmp_path, inbox, 100, 110)

    def crash(*args: Any) -> None:
        raise KeyboardInterrupt  # the process dies after the batch committed, before the inbox was emptied

    monkeypatch.setattr(return_ingest, "remove_sources", crash)
    with pytest.raises(KeyboardInterrupt):
        ingest(engine, tmp_path, *files)
    returns = _stored(engine)[0]
    assert [r[1:] for r in returns] == [(1, "superseded"), (2, "accepted")] and all(f.exists() for f in files)

    monkeypatch.undo()
    again = ingest(engine, tmp_path, *files)
    assert [(r.outcome, [p.code for p in r.problems]) for r in again] == [("duplicate", ["duplicate-file"])] * 2
    assert _stored(engine)[0] == returns and not any(f.exists() for f in files)
    with Session(engine) as session:
        archived = [Path(r.archive_path) for r in session.exec(select(m.Return))]
    assert len(archived) == 2 and all(p.is_file() for p in archived)


def test_a_batch_whose_commit_fails_is_tried_again_one_file_per_transaction(
    engine: Engine, tmp_path: Path, inbox: Path
) -> None:
    files = _returns(engine, tmp_path, inbox, 100, 110, 120)
    commits: list[int] = []

    def fail_the_first_commit(conn: Any) -> None:
        commits.append(1)
        if len(commits) == 1:
            raise OperationalError("COMMIT", {}, Exception("disk I/O error"))

    event.listen(engine, "commit", fail_the_first_commit)
    try:
        results = ingest(engine, tmp_path, *files)
    finally:
        event.remove(engine, "commit", fail_the_first_commit)
    assert [(r.outcome, r.version) for r in results] == [("accepted", 1), ("accepted", 2), ("accepted", 3)]
    assert len(commits) == 1 + len(files)
    returns, received, _ = _stored(engine)
    assert [r[1:] for r in returns] == [(1, "superseded"), (2, "superseded"), (3, "accepted")]
    assert [f[1] for f in received] == ["accepted"] * 3


@pytest.mark.parametrize("batch_files", [1, 2, 50])
def test_outcomes_do_not_depend_on_the_batch_size(
    engine: Engine, tmp_path: Path, inbox: Path, batch_files: int
) -> None:
    """Within a batch a return sees the ones accepted before it: the Q3 return counts the Q2 spend just accepted,
    a resubmission supersedes, the same file twice is a duplicate, a bad file is rejected."""
    q2 = issue(engine, tmp_path / "issued")
    q3 = issue(engine, tmp_path / "issued", label="2024-25-Q3")
    files = [fill(q2, {"spend__materials": 1500}, inbox / "a.xlsx"), fill(q2, {"spend__design": "lots"},
             inbox / "b.xlsx"), fill(q3, {"spend__materials": 1000}, inbox / "c.xlsx")]
    files.append(Path(shutil.copyfile(files[0], inbox / "d.xlsx")))
    files.append(fill(q2, {"spend__materials": 1500, "spend__design": 1}, inbox / "e.xlsx"))
    after_q3 = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)  # a Q3 return is only taken once the quarter has ended
    results = ingest(engine, tmp_path, *files, batch_files=batch_files, received=after_q3)
    assert [(r.outcome, r.period, r.version) for r in results] == [
        ("accepted", "2024-25-Q2", 1), ("rejected", "2024-25-Q2", 2), ("accepted", "2024-25-Q3", 1),
        ("duplicate", "", None), ("accepted", "2024-25-Q2", 3)]
    assert [(p.code, p.cell) for p in results[2].problems] == [("cumulative-over-budget-line", "F8")]
    assert _stored(engine)[0] == [("a.xlsx", 1, "superseded"), ("b.xlsx", 2, "rejected"), ("c.xlsx", 1, "accepted"),
                                  ("e.xlsx", 3, "accepted")]
    with Session(engine) as session:
        archived = {Path(r.archive_path) for r in session.exec(select(m.Return))}
    archive = tmp_path / "archive"
    assert {p for p in archive.rglob("*") if p.is_file() and p.name != LOCK_FILE} == archived  # staged: moved or gone
    assert list((archive / ".incoming").iterdir()) == [] and list(inbox.iterdir()) == []

