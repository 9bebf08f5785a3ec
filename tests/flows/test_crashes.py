"""`grants serve` keeps crash detection: one automation on the Prefect server crashes a run whose heartbeats stop."""

from __future__ import annotations

from datetime import timedelta

from prefect.automations import Automation
from prefect.client.orchestration import get_client

from flows.engine.crashes import AUTOMATION, HEARTBEAT_SECONDS, MISSED, ensure_crash_detection


def test_the_crash_automation_is_created_once_and_waits_three_heartbeats() -> None:
    first = ensure_crash_detection()
    again = ensure_crash_detection()  # a restarted `grants serve` finds it by name
    assert first.id == again.id
    with get_client(sync_client=True) as client:
        assert len(client.read_automations_by_name(name=AUTOMATION)) == 1
    stored = Automation.read(name=AUTOMATION)
    trigger = stored.trigger
    assert trigger.within == timedelta(seconds=MISSED * HEARTBEAT_SECONDS)  # type: ignore[union-attr]
    assert trigger.after == {"prefect.flow-run.heartbeat"}  # type: ignore[union-attr]
    assert [a.type for a in stored.actions] == ["change-flow-run-state"]
    assert stored.actions[0].state == "CRASHED"  # type: ignore[union-attr]
