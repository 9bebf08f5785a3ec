"""The engine's Prefect flows: thin glue over flows/jobs.py, each publishing a table artifact of what it did.

Every flow takes `as_of` (reruns, backfills, simulation) and is safe to rerun: chasing and replies are idempotent
by key, ingest by SHA-256, checks by (grant, project, date). So retries are set only on those that repeat safely.
"""

from __future__ import annotations

from datetime import date

from prefect import flow, get_run_logger

from flows.engine import jobs
from flows.engine.common import check_view, moment, publish_table, resolve_as_of
from grants.kernel.dates import short_date


@flow(name="ingest-returns", retries=1, retry_delay_seconds=30)
def ingest_returns(as_of: date | None = None) -> int:
    """Ingest the inbox; when anything was accepted, run the checks straight away."""
    rows, accepted = jobs.ingest_job(moment(as_of))
    for row in rows:
        if str(row["outcome"]).startswith("error:"):  # the mailbox could not be read: one line in the run's log
            get_run_logger().warning("returns mailbox %s: %s", row["file"], str(row["outcome"]).removeprefix("error: "))
    publish_table("ingest-returns", rows, "Returns ingested from the inbox",
                  f"{len(rows)} files read, {accepted} accepted; each lead was sent a receipt or what to fix.")
    if accepted:
        check_and_assess(as_of)
    return accepted


@flow(name="chase-returns", retries=1, retry_delay_seconds=60)
def chase_returns(as_of: date | None = None) -> int:
    """Return packs, reminders, overdue chasers and escalations due today; returns how many were sent."""
    day = resolve_as_of(as_of)
    rows = jobs.chase_job(day, moment(as_of))
    sent = sum(1 for row in rows if row["status"] == "sent")
    publish_table("chase-returns", rows, f"Return packs and chasers due on {short_date(day)}",
                  f"{sent} of {len(rows)} messages sent (a rerun sends nothing twice).")
    return sent


@flow(name="check-and-assess", retries=1, retry_delay_seconds=60)
def check_and_assess(as_of: date | None = None) -> int:
    """Checks, RAG ratings, the risk register, and alerts for risks that opened or turned red."""
    day = resolve_as_of(as_of)
    rows = jobs.check_job(day, moment(as_of))
    view, summary = check_view(rows)
    publish_table("check-and-assess", view, f"Ratings, risks and alerts as of {short_date(day)}", summary)
    return len(rows)


@flow(name="officer-digest", retries=1, retry_delay_seconds=60)
def officer_digest(as_of: date | None = None) -> int:
    """The weekly digest for officers; returns how many were sent (0 on a rerun in the same week)."""
    day = resolve_as_of(as_of)
    rows = jobs.digest_job(day, moment(as_of))
    publish_table("officer-digest", rows, f"Officers' digest for the week of {short_date(day)}",
                  f"{sum(1 for row in rows if row['status'] == 'sent')} digests sent (once a week).")
    return sum(1 for row in rows if row["status"] == "sent")
