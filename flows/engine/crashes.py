"""Crash detection for `grants serve`: every flow run sends a heartbeat every HEARTBEAT_SECONDS, and an automation on
the Prefect server marks a run Crashed when neither a heartbeat nor any other event of it arrives for three of them
(the machine died, the process was killed), so a scheduled job never hangs as Running for ever.

Only the long-running server needs it. A heartbeat costs an in-process flow run up to a second at its end (Prefect's
heartbeat thread sleeps in whole seconds and a sync flow joins it): the demo and the benchmarks run without it
(`flows.engine.common.without_heartbeats`).
"""

from __future__ import annotations

from datetime import timedelta
from typing import cast

from prefect.automations import Automation
from prefect.client.schemas.objects import StateType
from prefect.events.actions import ChangeFlowRunState
from prefect.events.schemas.automations import EventTrigger, Posture
from prefect.events.schemas.events import ResourceSpecification

HEARTBEAT_SECONDS = 60  # PREFECT_FLOWS_HEARTBEAT_FREQUENCY (Prefect's default is 180, its minimum 30)
MISSED = 3  # heartbeats missed before a run counts as crashed
AUTOMATION = "grants: mark flow runs crashed when their heartbeats stop"


def crash_automation() -> Automation:
    """After each heartbeat of a flow run, expect another event of that run within MISSED heartbeats, or crash it."""
    return Automation(
        name=AUTOMATION,
        description="Marks a flow run Crashed when it stops sending heartbeats (see flows/engine/crashes.py).",
        trigger=EventTrigger(
            after={"prefect.flow-run.heartbeat"}, expect={"prefect.flow-run.*"},
            match=ResourceSpecification({"prefect.resource.id": ["prefect.flow-run.*"]}),
            for_each={"prefect.resource.id"}, posture=Posture.Proactive, threshold=1,
            within=timedelta(seconds=MISSED * HEARTBEAT_SECONDS),
        ),
        actions=[ChangeFlowRunState(
            state=StateType.CRASHED, message=f"No heartbeat for {MISSED * HEARTBEAT_SECONDS} s: its process died.")],
    )


def ensure_crash_detection() -> Automation:
    """The crash automation on the current Prefect server, created once (a restart finds it by name)."""
    try:  # called from sync code: Prefect's dispatch runs the sync variant (its type says either)
        return cast(Automation, Automation.read(name=AUTOMATION))
    except ValueError:
        return cast(Automation, crash_automation().create())
