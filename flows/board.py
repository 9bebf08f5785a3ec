"""Board report flow (quarterly): until the full report exists, a status summary published as an artifact."""

from __future__ import annotations

from datetime import date

from prefect import flow

from flows.common import engine, publish_table, resolve_as_of
from grants.db import session_scope
from grants.money import format_gbp
from grants.status import grant_status


@flow(name="board-report", log_prints=True)
def board_report(as_of: date | None = None) -> list[dict[str, str]]:
    """One row per project: allocation and the state of each quarter's return, as of the date."""
    day = resolve_as_of(as_of)
    with session_scope(engine()) as session:
        grants = grant_status(session, day)
    rows = [
        {"grant": g.reference, "project": p.name, "allocation": format_gbp(p.allocation),
         **{period.label: period.state.value for period in p.periods}}
        for g in grants for p in g.projects
    ]
    publish_table("board-report", rows, f"Status of every funded project as of {day:%d %b %Y}")
    print(f"board report: {len(rows)} projects as of {day}")
    return rows
