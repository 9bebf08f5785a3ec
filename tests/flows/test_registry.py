"""The registry: every job has a unique name and a cron schedule in Europe/London, and builds a deployment."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from flows.engine.registry import JOBS, TIMEZONE, deployments, next_runs


def test_job_names_are_unique() -> None:
    names = [job.name for job in JOBS]
    assert len(names) == len(set(names))


def test_every_deployment_has_a_cron_schedule_in_london_time() -> None:
    built = deployments()
    assert [d.name for d in built] == [job.name for job in JOBS]
    for deployment in built:
        [schedule] = deployment.schedules
        assert schedule.schedule.timezone == TIMEZONE  # type: ignore[union-attr]


def test_board_report_next_runs_on_the_20th_after_each_quarter_at_7_london_time() -> None:
    runs = dict((job.name, when) for job, when in next_runs(datetime(2025, 6, 30, 12, tzinfo=UTC)))
    when = runs["board-report"]
    assert (when.year, when.month, when.day, when.hour) == (2025, 7, 20, 7)
    assert when.utcoffset() is not None and when.utcoffset().total_seconds() == 3600  # BST


def test_every_deployment_runs_one_at_a_time() -> None:
    for deployment in deployments():
        assert deployment.concurrency_limit == 1


def test_every_served_job_loads_in_a_fresh_process_as_the_runner_loads_it() -> None:
    """`grants serve` runs each job in a child process that imports the deployment's entrypoint (Prefect's
    import_object); a file path entrypoint put flows/engine/ first on sys.path, so board-report crashed."""
    entrypoints = [d.entrypoint for d in deployments()]
    assert entrypoints == [f"{job.flow.__module__}.{job.flow.fn.__name__}" for job in JOBS]  # type: ignore[attr-defined]
    code = ("import sys\nfrom prefect.utilities.importtools import import_object\n"
            "for entrypoint in sys.argv[1:]:\n    print(import_object(entrypoint).name)")
    loaded = subprocess.run([sys.executable, "-c", code, *(e or "" for e in entrypoints)], capture_output=True,
                            text=True, cwd=Path(__file__).resolve().parents[2], check=False, timeout=120)
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.split() == [job.name for job in JOBS]
