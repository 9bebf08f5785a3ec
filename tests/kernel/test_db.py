"""The database layer: concurrent read-then-write transactions from several processes all succeed on SQLite."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from sqlmodel import select

from grants.kernel import models as m
from grants.kernel.db import create_schema, get_engine, session_scope


def _bump(url: str, times: int) -> None:
    engine = get_engine(url)
    for _ in range(times):
        with session_scope(engine) as session:  # read, then write what was read: a lost update if not serialised
            row = session.exec(select(m.Grant)).one()
            row.due_working_days += 1
            session.add(row)


def test_concurrent_read_then_write_transactions_neither_fail_nor_lose_updates(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'race.db'}"
    engine = get_engine(url)
    create_schema(engine)
    from datetime import date
    with session_scope(engine) as session:
        session.add(m.Grant(reference="G", name="G", programme="P", funder="F", recipient="R", amount_pence=1,
                            start=date(2024, 4, 1), end=date(2025, 3, 31), spend_by=date(2025, 3, 31),
                            due_working_days=0))
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_bump, args=(url, 50)) for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
    assert [w.exitcode for w in workers] == [0, 0, 0, 0]
    with session_scope(engine) as session:
        assert session.exec(select(m.Grant)).one().due_working_days == 200
