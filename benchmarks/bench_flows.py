"""Benchmark: what a Prefect flow run adds to a job, and what each setting we control takes off it.

On the example programme (eight projects, a Prefect test server), times side by side in one process the check job
and the chase job called directly (flows/engine/jobs.py), an empty flow (Prefect's own cost of a run: creating it and
its state changes through the API), and the jobs as Prefect flow runs:
- `plain`: as the demo runs them (no heartbeat; `without_heartbeats()`);
- `no-api-logs`: with PREFECT_LOGGING_TO_API_ENABLED off (the run's log lines are not shipped to the server);
- `reused-client`: runs in one SyncClientContext (one API client and connection for every run of the process, one
  version check), as `flows.engine.common.in_process_runs` holds it for the demo's in-process runs;
- `lean`: both of the above;
- `heartbeat`: the heartbeat every 60 s that `grants serve` sets (flows/engine/crashes.py);
and both jobs as plain functions inside one flow run (`one-flow`, against the two jobs' sum). It also counts the
HTTP requests a run makes to the server. Medians of 5 wall-clock runs after a warm-up (the Prefect server is another
process, so CPU time would hide its share); each job repeats the same work every run (the checks recompute; the chase
finds every message already sent).

    .venv/bin/python benchmarks/bench_flows.py

Ends with one line per goal: `goal <job>: <figure> <unit> (goal <target> <unit>): met|missed`.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack, nullcontext
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RUNS, GOAL_PCT = 5, 10.0
DAY = date(2025, 1, 29)  # escalation day of Q3: the chase has eight messages to consider
_requests = [0]
CPU: list[float] = []  # the last _medians' CPU medians


def _cpu() -> float:
    """CPU seconds of this process and of its children still running (the Prefect test server), from /proc."""
    total = time.process_time()
    tick = os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == os.getpid():  # ppid
            total += (int(fields[11]) + int(fields[12])) / tick  # utime + stime
    return total


def _medians(calls: list[Callable[[], object]]) -> list[float]:
    """Each call's median wall time, the calls taken in turn round after round (side by side in time, so the
    load of the shared machine falls on all alike), after one warm-up each (and the chase's one real send). Each
    call's median CPU (this process and the server) goes to `CPU`."""
    for call in calls:
        call()
    times: list[list[float]] = [[] for _ in calls]
    cpus: list[list[float]] = [[] for _ in calls]
    for _ in range(RUNS):
        for call, taken, used in zip(calls, times, cpus, strict=True):
            start, cpu = time.perf_counter(), _cpu()
            call()
            taken.append(time.perf_counter() - start)
            used.append(_cpu() - cpu)
    CPU[:] = [statistics.median(used) for used in cpus]
    return [statistics.median(taken) for taken in times]


def _count_requests() -> None:
    """Count every HTTP request a Prefect client sends (sync and async)."""
    import httpx

    for cls in (httpx.Client, httpx.AsyncClient):
        original = cls.send

        def send(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            _requests[0] += 1
            return _original(self, *args, **kwargs)

        cls.send = send  # type: ignore[method-assign]


def _requests_per_run(call: Callable[[], object]) -> int:
    before = _requests[0]
    call()
    time.sleep(2.5)  # the API log handler ships its batch every 2 s
    return _requests[0] - before


Wrapper = Callable[[Callable[[], object]], Callable[[], object]]


def _within(*managers: Callable[[], AbstractContextManager[Any]]) -> Wrapper:
    def wrap(call: Callable[[], object]) -> Callable[[], object]:
        def run() -> object:
            with ExitStack() as stack:
                for manager in managers:
                    stack.enter_context(manager())
                return call()
        return run
    return wrap


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="bench-flows-"))
    os.environ.update({"GRANTS_DATA_DIR": str(folder), "GRANTS_CONFIG_DIR": str(ROOT / "config"),
                       "PREFECT_HOME": str(folder / "prefect"), "DO_NOT_TRACK": "1",
                       "PREFECT_SERVER_ANALYTICS_ENABLED": "false"})
    from prefect import flow
    from prefect.settings import (
        PREFECT_FLOWS_HEARTBEAT_FREQUENCY,
        PREFECT_LOGGING_TO_API_ENABLED,
        temporary_settings,
    )
    from prefect.testing.utilities import prefect_test_harness

    from flows.database import open_session
    from flows.engine import jobs
    from flows.engine.common import in_process_runs, moment, without_heartbeats
    from flows.engine.crashes import HEARTBEAT_SECONDS
    from flows.engine.flows import chase_returns, check_and_assess
    from grants.kernel.settings import get_settings
    from grants.programme.loader import load_programmes
    from grants.programme.register import initialise

    with open_session() as session:
        initialise(session, load_programmes(get_settings().config_dir))
    _count_requests()

    @flow(name="empty")
    def empty(as_of: date | None = None) -> int:
        return 0

    @flow(name="check-and-chase")
    def both(as_of: date) -> int:
        return len(jobs.check_job(as_of, moment(as_of))) + len(jobs.chase_job(as_of, moment(as_of)))

    def no_api_logs() -> AbstractContextManager[Any]:
        return temporary_settings(updates={PREFECT_LOGGING_TO_API_ENABLED: False})


    def heartbeat() -> AbstractContextManager[Any]:
        return temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: HEARTBEAT_SECONDS})

    variants: dict[str, Wrapper] = {
        "plain": _within(nullcontext), "no-api-logs": _within(no_api_logs), "heartbeat": _within(heartbeat)}
    goals: dict[str, float] = {}
    print(f"load average {os.getloadavg()[0]:.1f}")
    with prefect_test_harness(server_startup_timeout=90), without_heartbeats():
        for name, job, flow_ in (("check", jobs.check_job, check_and_assess), ("chase", jobs.chase_job, chase_returns)):
            def direct(job: Callable[..., object] = job) -> object:
                return job(DAY, moment(DAY))

            def as_flow(flow_: Callable[..., object] = flow_) -> object:
                return flow_(as_of=DAY)

            quiet = variants["no-api-logs"](as_flow)
            print(f"{name}: HTTP requests per run: empty flow {_requests_per_run(lambda: empty(as_of=DAY))}, "
                  f"plain {_requests_per_run(as_flow)}, no-api-logs {_requests_per_run(quiet)}", flush=True)
            calls = [direct, lambda: empty(as_of=DAY), *(wrap(as_flow) for wrap in variants.values())]
            figures = _medians(calls)
            cpus = list(CPU)
            with in_process_runs():
                reused = _medians([as_flow, variants["no-api-logs"](as_flow)])
            job_s, empty_s = figures[0], figures[1]
            runs = dict(zip(variants, figures[2:], strict=True)) | {"reused-client": reused[0], "lean": reused[1]}
            print(f"{name:>5}: job {job_s * 1000:5.0f} ms | empty flow {empty_s * 1000:5.0f} ms | "
                  + " | ".join(f"{k} {v * 1000:.0f} ms (+{(v - job_s) * 1000:.0f})" for k, v in runs.items()),
                  flush=True)
            print(f"{name:>5} cpu (this process and the server): job {cpus[0] * 1000:.0f} ms | empty flow "
                  f"{cpus[1] * 1000:.0f} ms | " + " | ".join(f"{k} {v * 1000:.0f} ms" for k, v in zip(
                      [*variants, "reused-client", "lean"], cpus[2:] + CPU, strict=True)), flush=True)
            goals[name] = 100 * (runs["plain"] - job_s) / job_s
            goals[f"{name}-lean"] = 100 * (runs["lean"] - job_s) / job_s
        apart, together = _medians([lambda: (jobs.check_job(DAY, moment(DAY)), jobs.chase_job(DAY, moment(DAY))),
                                    lambda: both(as_of=DAY)])
        print(f"both jobs: {apart * 1000:.0f} ms called directly, {together * 1000:.0f} ms as one flow run "
              f"(+{(together - apart) * 1000:.0f} ms)")
        goals["check-and-chase-in-one-flow"] = 100 * (together - apart) / apart
    print(f"load average {os.getloadavg()[0]:.1f}")
    for name, pct in goals.items():
        verdict = "met" if pct < GOAL_PCT else "missed"
        print(f"goal flow-overhead-{name}: {pct:.0f} % of the job (goal {GOAL_PCT:g} %): {verdict}")


if __name__ == "__main__":
    main()
