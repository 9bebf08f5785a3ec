"""What every flow shares: the date (and moment) it runs as, and publishing a table artifact."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from prefect.artifacts import create_table_artifact
from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

from flows.clock import now_utc, today
from grants.kernel.settings import get_settings


def resolve_as_of(as_of: date | None) -> date:
    """The date a flow acts as: the one given (reruns, backfills, simulation) or today in Europe/London."""
    return as_of or today()


def moment(as_of: date | None, at: time = time(12, 0)) -> datetime:
    """When a flow acts: now for today's run; for a run as of another day (backfill, simulation) that day at `at`
    Europe/London, so what it records (e.g. when a return was received) falls on the day it acts as."""
    if as_of is None or as_of == today():
        return now_utc()
    return datetime.combine(as_of, at, tzinfo=ZoneInfo(get_settings().timezone))


def publish_table(key: str, rows: Sequence[dict[str, Any]], description: str) -> None:
    """A table artifact a person can read in the Prefect UI (an empty table says so in its description)."""
    if not rows:
        rows = [{"result": "nothing to do"}]
    safe = [{k: ("" if v is None else str(v)) for k, v in row.items()} for row in rows]
    create_table_artifact(safe, key=key, description=description)


@contextmanager
def without_heartbeats() -> Iterator[None]:
    """Flow runs in this process without Prefect's flow-run heartbeat.

    The heartbeat thread sleeps in whole seconds and a sync flow waits for it when the run ends, so every run costs
    up to a second more whatever the frequency (measured: benchmarks/bench_flows.py). Heartbeats only mark a run
    crashed through an automation on the server; in-process runs (the demo) need neither. `grants serve` keeps
    them: there each run is a subprocess of its own and nothing waits for its last second.
    """
    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield
