"""The registry: every job has a unique name and a cron schedule in Europe/London, and builds a deployment."""

from __future__ import annotations

from datetime import UTC, datetime

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
