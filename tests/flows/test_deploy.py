"""`grants deploy`: every job lands on a process work pool with a module entrypoint and its London cron schedule, and
a Prefect worker (a separate process, as on another machine) picks up a run and does the job."""

from __future__ import annotations

import os
import subprocess
import sys

from prefect.client.orchestration import get_client
from prefect.settings import PREFECT_API_URL

from flows.database import configured_engine as engine
from flows.engine.deploy import deploy_to_pool
from flows.engine.registry import JOBS, TIMEZONE
from grants.kernel.settings import Settings
from tests.factories import load_example


def test_deploy_puts_every_job_on_the_pool_with_its_schedule_and_a_module_entrypoint() -> None:
    ids = deploy_to_pool("grants-test")
    assert deploy_to_pool("grants-test") == ids  # rerunning updates the same deployments
    with get_client(sync_client=True) as client:
        deployed = {d.name: d for d in (client.read_deployment(i) for i in ids)}
    assert sorted(deployed) == sorted(job.name for job in JOBS)
    for job in JOBS:
        d = deployed[job.name]
        assert d.work_pool_name == "grants-test"
        assert d.entrypoint is not None and d.entrypoint.startswith("flows.")
        [schedule] = d.schedules
        assert (schedule.schedule.cron, schedule.schedule.timezone) == (job.cron, TIMEZONE)  # type: ignore[union-attr]


def test_a_worker_process_runs_a_deployed_job_against_the_configured_database(settings: Settings) -> None:
    load_example(engine())
    [chase] = [i for i in deploy_to_pool("grants-worker") if _name(i) == "chase-returns"]
    with get_client(sync_client=True) as client:
        run = client.create_flow_run_from_deployment(chase, parameters={"as_of": "2024-07-01"})
    env = {**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value())}
    worker = subprocess.run([sys.executable, "-m", "prefect", "worker", "start", "--pool", "grants-worker",
                             "--run-once", "--type", "process"], env=env, capture_output=True, text=True,
                            timeout=240, check=False)
    with get_client(sync_client=True) as client:
        state = client.read_flow_run(run.id).state
    assert state is not None and state.is_completed(), worker.stdout[-2000:] + worker.stderr[-2000:]
    assert len(list(settings.folder("outbox").glob("chase_*_pack.eml"))) == 8


def _name(deployment_id: object) -> str:
    with get_client(sync_client=True) as client:
        return client.read_deployment(deployment_id).name  # type: ignore[arg-type]
