"""Benchmark: what a Prefect flow run adds to a job, with and without the flow-run heartbeat.

On the example programme (eight projects, a Prefect test server), times side by side in one process the check job
and the chase job called directly (flows/engine/jobs.py), an empty flow (Prefect's own cost of a run: creating it and
its state changes through the API), and the jobs as Prefect flow runs with the heartbeat `grants serve` sets
(flows/engine/crashes.py) and without it (`without_heartbeats()`, what the demo uses). Medians of 7 wall-clock runs
after a warm-up (the Prefect server is another process, so CPU time would hide its share); each job repeats the
same work every run (the checks recompute; the chase finds every message already sent).

    .venv/bin/python benchmarks/bench_flows.py

Ends with one line per goal: `goal <job>: <figure> <unit> (goal <target> <unit>): met|missed`.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS, GOAL_PCT = 7, 10.0
DAY = date(2025, 1, 29)  # escalation day of Q3: the chase has eight messages to consider


def _medians(calls: list[Callable[[], object]]) -> list[float]:
    """Each call's median wall time, the calls taken in turn round after round (side by side in time, so the
    load of the shared machine falls on all alike), after one warm-up each (and the chase's one real send)."""
    for call in calls:
        call()
    times: list[list[float]] = [[] for _ in calls]
    for _ in range(RUNS):
        for call, taken in zip(calls, times, strict=True):
            start = time.perf_counter()
            call()
            taken.append(time.perf_counter() - start)
    return [statistics.median(taken) for taken in times]


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="bench-flows-"))
    os.environ.update({"GRANTS_DATA_DIR": str(folder), "GRANTS_CONFIG_DIR": str(ROOT / "config"),
                       "PREFECT_HOME": str(folder / "prefect"), "DO_NOT_TRACK": "1",
                       "PREFECT_SERVER_ANALYTICS_ENABLED": "false"})
    from prefect import flow
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    from flows.database import open_session
    from flows.engine import jobs
    from flows.engine.common import moment, without_heartbeats
    from flows.engine.crashes import HEARTBEAT_SECONDS
    from flows.engine.flows import chase_returns, check_and_assess
    from grants.kernel.settings import get_settings
    from grants.programme.loader import load_programmes
    from grants.programme.register import initialise

    with open_session() as session:
        initialise(session, load_programmes(get_settings().config_dir))

    @flow(name="empty")
    def empty(as_of: date | None = None) -> int:
        return 0

    def beating(call: Callable[[], object]) -> Callable[[], object]:
        def run() -> object:
            with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: HEARTBEAT_SECONDS}):
                return call()
        return run

    goals = []
    print(f"load average {os.getloadavg()[0]:.1f}")
    with prefect_test_harness(server_startup_timeout=90), without_heartbeats():
        for name, job, flow_ in (("check", jobs.check_job, check_and_assess), ("chase", jobs.chase_job, chase_returns)):
            direct, bare, quiet, beat = _medians([
                lambda job=job: job(DAY, moment(DAY)), lambda: empty(as_of=DAY),  # type: ignore[misc]
                lambda flow_=flow_: flow_(as_of=DAY), beating(lambda flow_=flow_: flow_(as_of=DAY))])  # type: ignore[misc]
            over_beating, over_quiet = beat - direct, quiet - direct
            print(f"{name:>5}: job {direct * 1000:5.0f} ms | flow run with a heartbeat every {HEARTBEAT_SECONDS} s "
                  f"{beat * 1000:5.0f} ms (+{over_beating * 1000:.0f} ms) | without {quiet * 1000:5.0f} ms "
                  f"(+{over_quiet * 1000:.0f} ms; Prefect's own {bare * 1000:.0f} ms, the artifact and glue "
                  f"{(over_quiet - bare) * 1000:.0f} ms)", flush=True)
            goals.append((name, 100 * over_quiet / direct))
    print(f"load average {os.getloadavg()[0]:.1f}")
    for name, pct in goals:
        verdict = "met" if pct < GOAL_PCT else "missed"
        print(f"goal flow-overhead-{name}: {pct:.0f} % of the job (goal {GOAL_PCT:g} %): {verdict}")


if __name__ == "__main__":
    main()
