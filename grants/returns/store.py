"""Storing a checked return: the Return row (versioned, superseding the earlier accepted one) and its lines.

Runs inside the caller's transaction (ingest gives each file its own savepoint), so a failure leaves nothing
half-written. Everything goes through Core statements built once at import, on the session's connection: building
and compiling ORM statements per file was most of ingest's time. The Return row is written at once (its id is
needed); its lines, like the ReceivedFile rows, are collected in `PendingRows` and inserted for a whole batch with
one executemany per table before the batch commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.engine import Connection
from sqlmodel import Session, SQLModel, col

from grants.kernel import models as m
from grants.returns.frame import ReturnFrame
from grants.returns.problems import Problem, problems_to_json
from grants.returns.validation import ReturnContent

_SAME_RETURN = (col(m.Return.project_id) == bindparam("the_project"),
                col(m.Return.period_id) == bindparam("the_period"))
_LATEST = select(func.coalesce(func.max(m.Return.version), 0)).where(*_SAME_RETURN)
_SUPERSEDE = (update(m.Return).where(*_SAME_RETURN, col(m.Return.status) == str(m.ReturnStatus.accepted))
              .values(status=str(m.ReturnStatus.superseded)))
_INSERT_RETURN = insert(m.Return)
_INSERTS: dict[type[SQLModel], Any] = {t: insert(t) for t in (m.ReturnSpend, m.ReturnForecast, m.ReturnOutput,
                                                                  m.ReturnMilestone, m.ReceivedFile)}


@dataclass(frozen=True)
class StoredReturn:
    """The Return row just written: its id, version and status (accepted or rejected)."""

    id: int
    version: int
    status: str


def store_return(
    session: Session, frame: ReturnFrame, content: ReturnContent | None, problems: Sequence[Problem], *,
    source_name: str, sha256: str, archive_path: str, received_at: datetime, template_version: str,
    rows: PendingRows, version: int | None = None,
) -> StoredReturn:
    """Add the Return (accepted with its lines, added to `rows`, if `content`, else rejected without lines); an
    accepted one supersedes the earlier accepted version for the same project and period. `version`: the caller
    counted it (default: one after the latest stored)."""
    project_id, period_id = frame.project.id, frame.period.id
    assert project_id is not None and period_id is not None
    conn = session.connection()
    same = {"the_project": project_id, "the_period": period_id}
    if version is None:
        version = 1 + latest_version(conn, project_id, period_id)
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
        rows.add_lines(frame, content, return_id)
    return StoredReturn(return_id, version, status)


def latest_version(conn: Connection, project_id: int, period_id: int) -> int:
    """The highest version stored for a project and period (0 if none); one index lookup."""
    return int(conn.execute(_LATEST, {"the_project": project_id, "the_period": period_id}).scalar_one())


class PendingRows:
    """Rows waiting to be inserted at the end of the batch: lines of stored returns and ReceivedFile rows."""

    def __init__(self) -> None:
        self.rows: dict[type[SQLModel], list[dict[str, Any]]] = {table: [] for table in _INSERTS}

    def add_lines(self, frame: ReturnFrame, content: ReturnContent, return_id: int) -> None:
        """The spend, forecast, output and milestone rows of a return."""
        line_ids = {b.key: b.id for b in frame.lines}
        target_ids = {t.key: t.id for t in frame.targets}
        self.rows[m.ReturnSpend] += [{"return_id": return_id, "budget_line_id": line_ids[k], "actual_pence": v}
                                     for k, v in content.spend.items()]
        self.rows[m.ReturnForecast] += [
            {"return_id": return_id, "budget_line_id": line_ids[k], "period_label": label, "amount_pence": v}
            for (k, label), v in content.forecast.items()]
        self.rows[m.ReturnOutput] += [{"return_id": return_id, "target_id": target_ids[k], "achieved": v}
                                      for k, v in content.outputs.items()]
        self.rows[m.ReturnMilestone] += [
            {"return_id": return_id, "target_id": target_ids[k], "delivered": a.delivered, "delivered_on": a.on,
             "evidence": a.evidence} for k, a in content.milestones.items()]

    def add(self, table: type[SQLModel], row: dict[str, Any]) -> None:
        """Any other row (a ReceivedFile)."""
        self.rows[table].append(row)

    def extend(self, other: PendingRows) -> None:
        """Take over another collection's rows (a file's, once its savepoint is released)."""
        for table, rows in other.rows.items():
            self.rows[table] += rows

    def insert(self, conn: Connection) -> None:
        """Insert everything, one executemany per table, and start empty again."""
        for table, statement in _INSERTS.items():
            if self.rows[table]:
                conn.execute(statement, self.rows[table])
                self.rows[table] = []
