"""What every flow shares: the date (and moment) it runs as, and publishing a table artifact an officer can read in
one screen: a title and a summary in words, the columns they read first (project, RAG, reason), risks by title."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from prefect.artifacts import create_table_artifact
from prefect.context import SyncClientContext
from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

from flows.clock import now_utc, today
from grants.kernel.settings import get_settings

RAG_LABEL = {"red": "✖ red", "amber": "▲ amber", "green": "✔ green"}


def resolve_as_of(as_of: date | None) -> date:
    """The date a flow acts as: the one given (reruns, backfills, simulation) or today in Europe/London."""
    return as_of or today()


def moment(as_of: date | None, at: time = time(12, 0)) -> datetime:
    """When a flow acts: now for today's run; for a run as of another day (backfill, simulation) that day at `at`
    Europe/London, so what it records (e.g. when a return was received) falls on the day it acts as."""
    if as_of is None or as_of == today():
        return now_utc()
    return datetime.combine(as_of, at, tzinfo=ZoneInfo(get_settings().timezone))


def publish_table(key: str, rows: Sequence[dict[str, Any]], title: str, summary: str = "") -> None:
    """A table artifact a person can read in the Prefect UI: its description opens with `title` as a heading and
    `summary` in words (an empty table says so)."""
    if not rows:
        rows = [{"result": "nothing to do"}]
    safe = [{k: ("" if v is None else str(v)) for k, v in row.items()} for row in rows]
    create_table_artifact(safe, key=key, description=f"### {title}\n\n{summary}".rstrip())


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


@contextmanager
def in_process_runs() -> Iterator[None]:
    """Flow runs one after another in this thread (the demo): without the heartbeat, and through one API client
    for all of them, so each run does not create its own (an SSL context, a connection and the server's version
    check each time: 20-40 ms of CPU a run, measured in benchmarks/bench_flows.py). Not for `grants serve`: there
    each run is a process of its own."""
    with without_heartbeats(), SyncClientContext.get_or_create():
        yield


def rag_label(rag: str) -> str:
    """A RAG in words with a symbol, never by colour alone."""
    return RAG_LABEL.get(rag, rag or "not rated")


def check_view(rows: Sequence[dict[str, Any]]) -> tuple[list[dict[str, str]], str]:
    """The check job's rows as an officer reads them: one row per project and one for the grant (name, overall RAG,
    reason, and the risks the run changed for it, by title), and a summary line of ratings, risks and alerts."""
    ratings = [r for r in rows if r["what"] == "rating"]
    changes = [r for r in rows if str(r["what"]).startswith("risk ")]
    alerts = [r for r in rows if r["what"] == "alert"]
    names = [str(r["subject"]) for r in ratings]
    by_name: dict[str, list[str]] = {name: [] for name in names}
    for change in changes:
        title = str(change.get("title") or change["subject"])
        owner = next((n for n in names if title.startswith(f"{n}: ")), names[-1] if names else "")
        text = title.removeprefix(f"{owner}: ")
        by_name.setdefault(owner, []).append(
            f"{str(change['what']).removeprefix('risk ')}: {text} ({rag_label(str(change['overall']))}, "
            f"score {change.get('score', '')})")
    view = [{"project": name, "RAG": rag_label(str(r["overall"])), "reason": str(r["detail"]),
             "risks changed": "; ".join(by_name.get(name, []))} for name, r in zip(names, ratings, strict=True)]
    counts = Counter(str(r["overall"]) for r in ratings)
    kinds = Counter(str(c["what"]).removeprefix("risk ") for c in changes)
    sent = sum(1 for a in alerts if a["overall"] == "sent")
    summary = (f"{len(ratings)} ratings: {counts['red']} red, {counts['amber']} amber, {counts['green']} green. "
               f"Risks: {', '.join(f'{n} {k}' for k, n in sorted(kinds.items())) or 'no changes'}. "
               f"Alerts to officers: {sent} sent.")
    return view, summary
