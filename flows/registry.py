"""The one registry of scheduled jobs: each flow with its schedule (Europe/London), served by `grants serve`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from cronsim import CronSim
from prefect.deployments.runner import RunnerDeployment
from prefect.schedules import Cron

from flows.board import board_report

TIMEZONE = "Europe/London"


@dataclass(frozen=True)
class Job:
    """A flow, when it runs (cron in Europe/London) and what it is for."""

    name: str
    flow: Callable[..., Any]
    cron: str
    description: str


JOBS: list[Job] = [
    Job("board-report", board_report, "0 7 20 1,4,7,10 *",
        "Quarterly, on the 20th of the month after each quarter ends: the board's status summary"),
]


def deployments() -> list[RunnerDeployment]:
    """Every job as a Prefect deployment with its cron schedule."""
    return [
        job.flow.to_deployment(  # type: ignore[attr-defined]
            name=job.name, schedule=Cron(job.cron, timezone=TIMEZONE), description=job.description,
        )
        for job in JOBS
    ]


def next_runs(now: datetime) -> list[tuple[Job, datetime]]:
    """When each job runs next after `now`, in Europe/London time."""
    local = now.astimezone(ZoneInfo(TIMEZONE))
    return [(job, next(CronSim(job.cron, local))) for job in JOBS]
