"""Board report flow (quarterly): run the checks, write every grant's board report (Excel and HTML) to the
reports folder, and publish one row per project (spend, outputs and overall RAG with the reason) and the files."""

from __future__ import annotations

from datetime import date

from prefect import flow

from flows.common import engine, publish_table, resolve_as_of
from grants.board_data import build_board_data
from grants.db import session_scope
from grants.report import write_board_reports
from grants.settings import get_settings


@flow(name="board-report", log_prints=True)
def board_report(as_of: date | None = None) -> list[dict[str, str]]:
    """Write the board reports as of the date; returns the artifact's rows (one per project)."""
    day = resolve_as_of(as_of)
    with session_scope(engine()) as session:
        boards = build_board_data(session, day)
        paths = write_board_reports(boards, get_settings().folder("reports"))
    rows = [{"grant": b.grant.reference, "project": p.name, "spend": p.spend_rag, "outputs": p.outputs_rag,
             "overall": p.overall_rag, "reason": p.overall_reason} for b in boards for p in b.projects]
    files = "\n".join(f"- `{path}`" for path in paths)
    publish_table("board-report", rows, f"Board report as of {day:%d %b %Y}, written to:\n{files}")
    print(f"board report as of {day}: {len(rows)} projects; " + ", ".join(str(p) for p in paths))
    return rows
