"""Time one tiny Prefect flow run (one task) with the flow heartbeat on (Prefect's default) and off.

Under `prefect_test_harness` (a temporary server on SQLite in a temporary PREFECT_HOME), after one warm-up run;
medians of N runs each way. Run: `.venv/bin/python -m benchmarks.bench_flow_overhead 5`.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from tempfile import TemporaryDirectory

from prefect import __version__ as prefect_version
from prefect import flow, task
from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
from prefect.testing.utilities import prefect_test_harness


@task
def add(a: int, b: int) -> int:
    return a + b


@flow
def tiny(n: int) -> int:
    return add(n, 1)


def _median_seconds(runs: int) -> tuple[float, list[float]]:
    times = []
    for i in range(runs):
        start = time.perf_counter()
        assert tiny(i) == i + 1
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def main(runs: int) -> None:
    with TemporaryDirectory() as home:
        os.environ.update(PREFECT_HOME=home, DO_NOT_TRACK="1", PREFECT_SERVER_ANALYTICS_ENABLED="false")
        with prefect_test_harness(server_startup_timeout=90):
            tiny(0)  # warm-up: the first run registers the flow and loads the engine
            on, on_all = _median_seconds(runs)
            with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
                off, off_all = _median_seconds(runs)
    print(f"Prefect {prefect_version}, heartbeat default {PREFECT_FLOWS_HEARTBEAT_FREQUENCY.value()} s")
    print(f"heartbeat on : median {on:.3f} s  ({', '.join(f'{t:.3f}' for t in on_all)})")
    print(f"heartbeat off: median {off:.3f} s  ({', '.join(f'{t:.3f}' for t in off_all)})")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
