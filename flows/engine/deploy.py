"""`grants deploy --pool NAME`: register every job of the registry as a deployment on a Prefect work pool, for when
one machine running `grants serve` is not enough: a Prefect server of its own, and workers on other machines.

The deployments name their flows by module path (e.g. `flows.engine.flows.ingest_returns`), so a worker needs no image
and no remote storage: any machine with this project installed and the same GRANTS_* settings (the PostgreSQL URL,
the shared inbox/outbox folders) can run them with `prefect worker start --pool NAME`.
"""

from __future__ import annotations

from uuid import UUID

from prefect import deploy
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.deployments.runner import RunnerDeployment
from prefect.exceptions import ObjectNotFound
from prefect.schedules import Cron
from prefect.types.entrypoint import EntrypointType

from flows.engine.registry import JOBS, TIMEZONE


def pool_deployments() -> list[RunnerDeployment]:
    """Every job as a deployment whose entrypoint is a module path, with its cron schedule in Europe/London."""
    return [
        job.flow.to_deployment(  # type: ignore[attr-defined]
            name=job.name, schedule=Cron(job.cron, timezone=TIMEZONE), description=job.description,
            concurrency_limit=1,  # one run of a job at a time; a late run waits for the previous one
            entrypoint_type=EntrypointType.MODULE_PATH,
        )
        for job in JOBS
    ]


def ensure_process_pool(pool: str) -> bool:
    """Create the work pool (type process) unless it exists; True if it was created."""
    with get_client(sync_client=True) as client:
        try:
            client.read_work_pool(pool)
            return False
        except ObjectNotFound:
            client.create_work_pool(WorkPoolCreate(name=pool, type="process"))
            return True


def deploy_to_pool(pool: str) -> list[UUID]:
    """Create or update every job's deployment on the pool (rerunning updates them in place)."""
    ensure_process_pool(pool)
    ids = deploy(*pool_deployments(), work_pool_name=pool, build=False, push=False,
                 print_next_steps_message=False, ignore_warnings=True)
    assert isinstance(ids, list)  # the sync form (not inside an event loop)
    return ids
