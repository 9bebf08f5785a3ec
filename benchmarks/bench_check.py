"""Benchmark: a full `run_checks` over a large synthetic programme on SQLite.

N grants x 10 projects x 3 budget lines x 4 quarters, 2 count targets and 1 milestone per project, Q1-Q3 returns
in (spend, forecasts, outputs), funds released and projects paid. Times the first run (writes every assessment
and risk) and reruns for the same date (change nothing), for several sizes.

    .venv/bin/python benchmarks/bench_check.py            # sizes 100, 300, 1000
    .venv/bin/python benchmarks/bench_check.py 50 200     # other sizes
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert
from sqlalchemy.engine import Engine

from grants.kernel import models as m
from grants.kernel.db import create_schema, get_engine, session_scope
from grants.monitoring.assessment import run_checks

PROJECTS, LINES, AS_OF = 10, 3, date(2025, 1, 24)
QUARTERS = [("2024-25-Q1", date(2024, 4, 1), date(2024, 6, 30), date(2024, 7, 12)),
            ("2024-25-Q2", date(2024, 7, 1), date(2024, 9, 30), date(2024, 10, 14)),
            ("2024-25-Q3", date(2024, 10, 1), date(2024, 12, 31), date(2025, 1, 15)),
            ("2024-25-Q4", date(2025, 1, 1), date(2025, 3, 31), date(2025, 4, 14))]
PROFILE = [0, 25, 35, 40]  # % of a line per quarter
NOW = datetime(2025, 1, 24, 9, tzinfo=UTC)
GOAL_S, GOAL_MIB = 5.0, 400  # the largest size: a run in under 5 s of CPU and under 400 MiB at its peak


def _rows(grants: int) -> dict[Any, list[dict[str, Any]]]:
    """Every row of the synthetic programme, with explicit ids so they can be bulk-inserted."""
    t: dict[Any, list[dict[str, Any]]] = {k: [] for k in (
        m.Grant, m.ReportingPeriod, m.FundsRelease, m.Project, m.BudgetLine, m.BudgetProfile, m.Target,
        m.TargetProfile, m.Return, m.ReturnSpend, m.ReturnForecast, m.ReturnOutput, m.Payment)}
    ids = dict.fromkeys(("line", "profile", "target", "tprofile", "ret", "spend", "forecast", "output"), 0)

    def nxt(name: str) -> int:
        ids[name] += 1
        return ids[name]

    for g in range(1, grants + 1):
        t[m.Grant].append(dict(id=g, reference=f"G{g:05d}", name=f"Grant {g}", programme="SVD", funder="Home Office",
                               recipient="Council", amount_pence=PROJECTS * 1_200_000_00, start=date(2024, 4, 1),
                               end=date(2025, 3, 31), spend_by=date(2025, 3, 31),
                               expected_funds_release=date(2024, 5, 1), rules_json="{}"))
        for q, (label, start, end, due) in enumerate(QUARTERS):
            t[m.ReportingPeriod].append(dict(id=(g - 1) * 4 + q + 1, grant_id=g, label=label, quarter=q + 1,
                                             start=start, end=end, due=due))
        if g % 4:  # a quarter of the grants never receive their money
            t[m.FundsRelease].append(dict(grant_id=g, amount_pence=PROJECTS * 1_200_000_00,
                                          received_on=date(2024, 5 + g % 3, 1), recorded_at=NOW))
        for p in range(PROJECTS):
            _project(t, nxt, g, (g - 1) * PROJECTS + p + 1)
    return t


def _project(t: dict[Any, list[dict[str, Any]]], nxt: Any, g: int, pid: int) -> None:
    t[m.Project].append(dict(id=pid, grant_id=g, code=f"p{pid}", name=f"Project {pid}", lead_organisation="Org",
                             lead_name="Lead", lead_email="lead@example.org", officer_key="csto",
                             allocation_pence=1_200_000_00, delivery_start=date(2024, 4, 1),
                             delivery_end=date(2025, 3, 31)))
    if pid % 3:
        t[m.Payment].append(dict(project_id=pid, amount_pence=600_000_00, paid_on=date(2024, 7, 8), recorded_at=NOW))
    lines = []
    for k in range(LINES):
        line = nxt("line")
        lines.append(line)
        t[m.BudgetLine].append(dict(id=line, project_id=pid, key=f"l{k}", name=f"Line {k}", amount_pence=400_000_00))
        for q, share in enumerate(PROFILE):
            t[m.BudgetProfile].append(dict(id=nxt("profile"), budget_line_id=line, period_label=QUARTERS[q][0],
                                           amount_pence=400_000_00 * share // 100))
    targets = []
    for k, (kind, value) in enumerate([("count", 500), ("count", 40), ("milestone", 1)]):
        target = nxt("target")
        targets.append((target, kind))
        t[m.Target].append(dict(id=target, project_id=pid, key=f"t{k}", kind=kind, name=f"Target {k}",
                                target_value=value, due=date(2025, 3, 31)))
        if k == 0:
            for q, cumulative in enumerate([0, 50, 250, 500]):
                t[m.TargetProfile].append(dict(id=nxt("tprofile"), target_id=target, period_label=QUARTERS[q][0],
                                               cumulative_value=cumulative))
    pace = [100, 100, 70, 110, 40][pid % 5]  # % of profile this project spends and delivers
    for q in range(3):
        if q == 2 and pid % 7 == 0:
            continue  # late with its Q3 return
        ret = nxt("ret")
        t[m.Return].append(dict(id=ret, project_id=pid, period_id=(g - 1) * 4 + q + 1, received_at=NOW,
                                sha256=f"{ret:064x}", status="accepted"))
        for line in lines:
            t[m.ReturnSpend].append(dict(id=nxt("spend"), return_id=ret, budget_line_id=line,
                                         actual_pence=400_000_00 * PROFILE[q] * pace // 10_000))
            for later in range(q + 1, 4):
                t[m.ReturnForecast].append(dict(id=nxt("forecast"), return_id=ret, budget_line_id=line,
                                                period_label=QUARTERS[later][0],
                                                amount_pence=400_000_00 * PROFILE[later] * pace // 10_000))
        for target, kind in targets:
            if kind == "count":
                t[m.ReturnOutput].append(dict(id=nxt("output"), return_id=ret, target_id=target,
                                              achieved=[0, 50, 200][q] * pace // 100))


def build(url: str, grants: int) -> Engine:
    engine = get_engine(url)
    create_schema(engine)
    with engine.begin() as conn:
        for model, rows in _rows(grants).items():
            for i in range(0, len(rows), 20_000):
                conn.execute(insert(model), rows[i:i + 20_000])
    return engine


def timed(url: str) -> tuple[float, int, int, float]:
    """One run in a fresh process: its CPU seconds (the machine is shared: wall time measures the neighbours too),
    ratings, risk changes, and the process's peak memory in MiB (the data built for the database is not counted)."""
    out = subprocess.run([sys.executable, __file__, "--run", url], capture_output=True, text=True, check=True).stdout
    cpu, ratings, changes, peak = out.split()
    return float(cpu), int(ratings), int(changes), float(peak)


def _run(url: str) -> None:
    engine = get_engine(url)
    start = time.process_time()
    with session_scope(engine) as session:
        run = run_checks(session, AS_OF)
    cpu = time.process_time() - start
    print(cpu, len(run.ratings), len(run.risk_changes), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def main(sizes: list[int]) -> None:
    print(f"load average {os.getloadavg()[0]:.1f}")
    print(f"{'grants':>7} {'projects':>9} {'build s':>8} {'first run cpu s':>16} {'rerun cpu s (median of 3)':>26} "
          f"{'ratings':>8} {'risks opened':>13} {'peak MiB':>9}")
    worst: tuple[int, float, float] | None = None
    for size in sizes:
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite:///{Path(folder) / 'bench.db'}"
            start = time.perf_counter()
            engine = build(url, size)
            built = time.perf_counter() - start
            engine.dispose()
            get_engine.cache_clear()
            first, ratings, opened, peak = timed(url)
            reruns = [timed(url) for _ in range(3)]
            assert all(r[2] == 0 for r in reruns)
            peak = max(peak, *(r[3] for r in reruns))
            rerun = statistics.median(r[0] for r in reruns)
            print(f"{size:>7} {size * PROJECTS:>9} {built:>8.1f} {first:>16.2f} {rerun:>26.2f} {ratings:>8} "
                  f"{opened:>13} {peak:>9.0f}", flush=True)
            worst = (size, max(first, rerun), peak)
    print(f"load average {os.getloadavg()[0]:.1f}")
    if worst is not None:
        size, cpu, peak = worst
        print(f"goal checks-{size}-grants: {cpu:.1f} s cpu (goal {GOAL_S:g} s): {'met' if cpu < GOAL_S else 'missed'}")
        print(f"goal checks-{size}-grants-memory: {peak:.0f} MiB peak (goal {GOAL_MIB} MiB): "
              f"{'met' if peak < GOAL_MIB else 'missed'}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--run"]:
        _run(sys.argv[2])
    else:
        main([int(a) for a in sys.argv[1:]] or [100, 300, 1000])
