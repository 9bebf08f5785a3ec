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
from prefect.types.entrypoint import EntrypointType

from flows.engine.board import board_report
from flows.engine.flows import chase_returns, check_and_assess, ingest_returns, officer_digest

TIMEZONE = "Europe/London"


@dataclass(frozen=True)
class Job:
    """A flow, when it runs (cron in Europe/London) and what it is for."""

    name: str
    flow: Callable[..., Any]
    cron: str
    description: str


JOBS: list[Job] = [
    Job("ingest-returns", ingest_returns, "*/5 * * * *",
        "Every 5 minutes: ingest returns from the inbox, reply to leads, re-check if anything was accepted"),
    Job("chase-returns", chase_returns, "0 9 * * 1-5",
        "Working-day mornings at 09:00: return packs at quarter end, reminders, chasers, escalations"),
    Job("check-and-assess", check_and_assess, "30 6 * * *",
        "Daily at 06:30: checks, RAG, the risk register and officer alerts"),
    Job("officer-digest", officer_digest, "0 8 * * 1-5",
        "Weekdays at 08:00: the officers' weekly digest on the week's first working day (Tuesday after a "
        "bank-holiday Monday)"),
    Job("board-report", board_report, "0 7 20 1,4,7,10 *",
        "Quarterly, on the 20th of the month after each quarter ends: the board report (Excel and HTML)"),
]


def deployments() -> list[RunnerDeployment]:
    """Every job as a Prefect deployment with its cron schedule. The entrypoint is the flow's module path: Prefect
    loads a file path entrypoint with its folder first on sys.path, where `flows/engine/flows.py` hides the `flows`
    package, so the board report's run crashed on `from flows.engine import ...`."""
    return [
        job.flow.to_deployment(  # type: ignore[attr-defined]
            name=job.name, schedule=Cron(job.cron, timezone=TIMEZONE), description=job.description,
            concurrency_limit=1,  # one run of a job at a time; a late run waits for the previous one
            entrypoint_type=EntrypointType.MODULE_PATH,
        )
        for job in JOBS
    ]


def next_runs(now: datetime) -> list[tuple[Job, datetime]]:
    """When each job runs next after `now`, in Europe/London time."""
    local = now.astimezone(ZoneInfo(TIMEZONE))
    return [(job, next(CronSim(job.cron, local))) for job in JOBS]
