"""Benchmark: chase planning for a national programme on SQLite.

1,000 grants x 10 projects (10,000 leads) x 4 quarters, built as in bench_check.py, with a year of chase messages
already sent (every ladder step of Q1 and Q2 for every project, about 9 per lead) plus weekly digests. Times
`plan_chasers` (read what was sent, plan, address and render every message due, each lead's portal link issued as
a message needs it) on a quiet day and on a pack day (the day after a quarter ends, when every lead gets a message),
in CPU seconds (the machine is shared), median of 3; the quiet day is the baseline (loading alone).

    .venv/bin/python benchmarks/bench_chase.py            # 1,000 grants
    .venv/bin/python benchmarks/bench_chase.py 100        # another size

Ends with one line per goal: `goal <job>: <figure> <unit> (goal <target> <unit>): met|missed`.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from bench_check import PROJECTS, QUARTERS, _rows
from sqlalchemy import insert
from sqlalchemy.engine import Engine
from sqlmodel import Session

from grants.kernel import models as m
from grants.kernel.db import create_schema, get_engine
from grants.messaging.chase_plan import chase_key
from grants.messaging.chase_run import officer_notices
from grants.messaging.chasing import plan_chase_run
from grants.programme.ladder import ChaseLadder
from grants.programme.periods import WorkingCalendar

os.environ.setdefault("GRANTS_SIGNING_KEY", "bench-signing-key")  # messages carry the leads' portal links
NOW = datetime(2025, 1, 2, 9, tzinfo=UTC)
PACK_DAY, QUIET_DAY = date(2025, 1, 2), date(2025, 1, 7)  # Q3's pack goes on 2 Jan; nothing falls due on 7 Jan
ESCALATION_DAY = date(2025, 1, 29)  # Q3's escalations: the leads whose return is late (one in seven)
GOAL_S = 5.0


def _sent(grants: int) -> list[dict[str, Any]]:
    """Every step of Q1 and Q2 sent to every project, and a weekly digest per grant: a year's log."""
    calendar, ladder = WorkingCalendar(), ChaseLadder()
    rows: list[dict[str, Any]] = []
    for q, (_, _, end, due) in enumerate(QUARTERS[:2]):
        steps = ladder.steps(end, due, calendar)
        for g in range(1, grants + 1):
            period = (g - 1) * 4 + q + 1
            for p in range((g - 1) * PROJECTS + 1, g * PROJECTS + 1):
                rows.extend(dict(idempotency_key=chase_key(p, period, s.name), kind=f"chase-{s.kind.value}",
                                 grant_id=g, project_id=p, period_id=period, step=s.name, as_of=s.day, sent_at=NOW)
                            for s in steps)
    for g in range(1, grants + 1):
        rows.extend(dict(idempotency_key=f"digest:{g}:2024-W{w:02d}", kind="digest", grant_id=g, project_id=None,
                         period_id=None, step="", as_of=None, sent_at=NOW)
                    for w in range(14, 53))
    return rows


def build(url: str, grants: int) -> tuple[Engine, int]:
    engine = get_engine(url)
    create_schema(engine)
    tables = _rows(grants)
    # Q3 returns arrive on 24 Jan 2025 (bench_check's NOW): not yet received on the days timed here
    sent = _sent(grants)
    tables[m.Officer] = [dict(grant_id=g, key=key, name=name, email=f"{key}@example.org", role=role,
                              manager_key="head" if key == "csto" else None)
                         for g in range(1, grants + 1)
                         for key, name, role in (("head", "Head", "manager"), ("csto", "Officer", "officer"))]
    with engine.begin() as conn:
        for model, rows in [*tables.items(), (m.Notification, sent)]:
            for i in range(0, len(rows), 20_000):
                conn.execute(insert(model), rows[i:i + 20_000])
    return engine, len(sent)


def _record_packs(engine: Engine, grants: int) -> None:
    """Q3's return packs as sent on the pack day, as the chase job would have recorded them."""
    rows = [dict(idempotency_key=chase_key(p, (g - 1) * 4 + 3, "pack"), kind="chase-return-pack", grant_id=g,
                 project_id=p, period_id=(g - 1) * 4 + 3, step="pack", as_of=PACK_DAY, sent_at=NOW)
            for g in range(1, grants + 1) for p in range((g - 1) * PROJECTS + 1, g * PROJECTS + 1)]
    with engine.begin() as conn:
        conn.execute(insert(m.Notification), rows)


def timed(engine: Engine, as_of: date) -> tuple[float, int]:
    """CPU seconds to plan the day's chase: the leads' messages and the officers' notices (each escalation says
    what reached the lead and whether a late-return risk is open), and how many messages and notices."""
    start = time.process_time()
    with Session(engine) as session:
        planned, officers = plan_chase_run(session, as_of, NOW, "returns@example.org")
        notices = officer_notices(session, officers, as_of)
    return time.process_time() - start, len(planned) + len(notices)


def main(grants: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        engine, sent = build(f"sqlite:///{Path(folder) / 'bench.db'}", grants)
        print(f"{grants} grants x {PROJECTS} projects = {grants * PROJECTS} leads; {sent:,} messages already sent; "
              f"load average {os.getloadavg()[0]:.1f}")
        figures = {}
        for name, day in (("pack day (Thu 2 Jan 2025)", PACK_DAY), ("quiet day (Tue 7 Jan 2025)", QUIET_DAY),
                          ("escalation day (Wed 29 Jan 2025)", ESCALATION_DAY)):
            if day == QUIET_DAY:
                _record_packs(engine, grants)
            runs = [timed(engine, day) for _ in range(3)]
            figures[name] = statistics.median(r[0] for r in runs)
            print(f"  {name}: {runs[0][1]:>6} messages and notices planned, {figures[name]:.2f} s cpu (median of 3)",
                  flush=True)
        engine.dispose()
    print(f"  load average {os.getloadavg()[0]:.1f}")
    pack = figures["pack day (Thu 2 Jan 2025)"]  # the goal's day: every lead gets a message
    verdict = "met" if pack < GOAL_S else "missed"
    print(f"goal chase-plan-{grants * PROJECTS}-leads: {pack:.1f} s cpu (goal {GOAL_S:g} s): {verdict}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
