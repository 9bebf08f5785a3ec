"""Storing a checked return: the Return row (versioned, superseding the earlier accepted one) and its lines.

Runs inside the caller's transaction (ingest gives each file its own savepoint), so a failure leaves nothing
half-written. Everything goes through Core statements built once at import, on the session's connection: building
and compiling ORM statements per file was most of ingest's time. Lines go in with one executemany per table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.engine import Connection
from sqlmodel import Session, col

from grants import models as m
from grants.return_checks import ReturnContent
from grants.return_frame import ReturnFrame
from grants.return_problems import Problem, problems_to_json

_SAME_RETURN = (col(m.Return.project_id) == bindparam("the_project"),
                col(m.Return.period_id) == bindparam("the_period"))
_VERSIONS = select(func.count()).select_from(m.Return).where(*_SAME_RETURN)
_SUPERSEDE = (update(m.Return).where(*_SAME_RETURN, col(m.Return.status) == str(m.ReturnStatus.accepted))
              .values(status=str(m.ReturnStatus.superseded)))
_INSERT_RETURN = insert(m.Return)
_INSERT_LINES = tuple(insert(t) for t in (m.ReturnSpend, m.ReturnForecast, m.ReturnOutput, m.ReturnMilestone))


@dataclass(frozen=True)
class StoredReturn:
    """The Return row just written: its id, version and status (accepted or rejected)."""

    id: int
    version: int
    status: str


def store_return(
    session: Session, frame: ReturnFrame, content: ReturnContent | None, problems: Sequence[Problem], *,
    source_name: str, sha256: str, archive_path: str, received_at: datetime, template_version: str,
) -> StoredReturn:
    """Add the Return (accepted with its lines if `content`, else rejected without lines); an accepted one
    supersedes the earlier accepted version for the same project and period."""
    project_id, period_id = frame.project.id, frame.period.id
    assert project_id is not None and period_id is not None
    conn = session.connection()
    same = {"the_project": project_id, "the_period": period_id}
    version = 1 + int(conn.execute(_VERSIONS, same).scalar_one())
    status = str(m.ReturnStatus.accepted if content is not None else m.ReturnStatus.rejected)
    if content is not None:
        conn.execute(_SUPERSEDE, same)
    text = content.text if content is not None else {}
    row = {
        "project_id": project_id, "period_id": period_id, "version": version, "status": status,
        "received_at": received_at, "source_name": source_name, "sha256": sha256, "archive_path": archive_path,
        "template_version": template_version,
        "problems_json": problems_to_json(problems), "signed_name": text.get("signoff_name", ""),
        "signed_role": text.get("signoff_role", ""), "signed_on": content.signed_on if content else None,
        "progress": text.get("narrative_progress", ""), "issues": text.get("narrative_issues", ""),
        "risks": text.get("narrative_risks", ""),
    }
    key = conn.execute(_INSERT_RETURN, row).inserted_primary_key
    assert key is not None
    return_id = int(key[0])
    if content is not None:
        _lines(conn, frame, content, return_id)
    return StoredReturn(return_id, version, status)


def _lines(conn: Connection, frame: ReturnFrame, content: ReturnContent, return_id: int) -> None:
    line_ids = {b.key: b.id for b in frame.lines}
    target_ids = {t.key: t.id for t in frame.targets}
    rows: tuple[list[dict[str, Any]], ...] = (
        [{"return_id": return_id, "budget_line_id": line_ids[k], "actual_pence": v}
         for k, v in content.spend.items()],
        [{"return_id": return_id, "budget_line_id": line_ids[k], "period_label": label, "amount_pence": v}
         for (k, label), v in content.forecast.items()],
        [{"return_id": return_id, "target_id": target_ids[k], "achieved": v} for k, v in content.outputs.items()],
        [{"return_id": return_id, "target_id": target_ids[k], "delivered": a.delivered, "delivered_on": a.on,
          "evidence": a.evidence} for k, a in content.milestones.items()],
    )
    for statement, table_rows in zip(_INSERT_LINES, rows, strict=True):
        if table_rows:
            conn.execute(statement, table_rows)
