"""Board report flow (quarterly): run the checks, write every grant's board report (Excel and HTML) to the
reports folder, and publish one row per project (spend, outputs and overall RAG with the reason) and the files."""

from __future__ import annotations

from datetime import date

from prefect import flow

from flows.engine import jobs
from flows.engine.common import publish_table, rag_label, resolve_as_of
from grants.kernel.dates import short_date


@flow(name="board-report", log_prints=True)
def board_report(as_of: date | None = None) -> list[dict[str, str]]:
    """Write the board reports as of the date; returns the artifact's rows (one per project)."""
    day = resolve_as_of(as_of)
    rows, paths = jobs.report_job(day)
    files = "\n".join(f"- `{path}`" for path in paths)
    red = sum(1 for row in rows if row["overall"] == "red")
    view = [{"project": r["project"], "RAG": rag_label(r["overall"]), "reason": r["reason"], "spend": r["spend"],
             "outputs": r["outputs"], "grant": r["grant"]} for r in rows]
    publish_table("board-report", view, f"Board report as of {short_date(day)}",
                  f"{len(rows)} projects, {red} red overall. Written to:\n{files}")
    print(f"board report as of {day}: {len(rows)} projects; " + ", ".join(str(p) for p in paths))
    return rows
