"""Storing a checked return: the Return row (versioned, superseding the earlier accepted one) and its lines.

Nothing is written per file: `store_return` queues the Return row (and its lines) in `PendingRows`, which inserts a
whole batch's rows with one executemany per table inside the batch's transaction just before it commits (the
supersede update, the returns with their ids back, their lines, the ReceivedFile rows), so a failure leaves nothing
half-written. Everything goes through Core statements built once at import, on the session's connection: building
and compiling ORM statements per file was most of ingest's time, and a statement per file (with a savepoint around
it) most of the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel, col

from grants.kernel import models as m
from grants.returns.frame import ReturnFrame
from grants.returns.problems import Problem, problems_to_json
from grants.returns.validation import ReturnContent

_SAME_RETURN = (col(m.Return.project_id) == bindparam("the_project"),
                col(m.Return.period_id) == bindparam("the_period"))
_LATEST = select(func.coalesce(func.max(m.Return.version), 0)).where(*_SAME_RETURN)
_SUPERSEDE = (update(m.Return).where(*_SAME_RETURN, col(m.Return.status) == str(m.ReturnStatus.accepted))
              .values(status=str(m.ReturnStatus.superseded)))
_INSERT_RETURN = insert(m.Return).returning(col(m.Return.id), sort_by_parameter_order=True)
RETURN_INDEX = "_return_index"  # a ReceivedFile row's queued return (see PendingRows)
_INSERTS: dict[type[SQLModel], Any] = {t: insert(t) for t in (m.ReturnSpend, m.ReturnForecast, m.ReturnOutput,
                                                                  m.ReturnMilestone, m.ReceivedFile)}


@dataclass(frozen=True)
class StoredReturn:
    """The Return row queued for the batch: its place in the batch's returns, version and status (accepted or
    rejected); its id is known once the batch's rows are inserted (`PendingRows.insert`)."""

    index: int
    version: int
    status: str


def store_return(
    frame: ReturnFrame, content: ReturnContent | None, problems: Sequence[Problem], *, source_name: str,
    sha256: str, archive_path: str, received_at: datetime, template_version: str, rows: PendingRows, version: int,
) -> StoredReturn:
    """Queue the Return in `rows` (accepted with its lines if `content`, else rejected without lines); an accepted
    one supersedes the earlier accepted version for the same project and period when the rows are inserted.
    `version`: the caller counted it (one after the latest stored)."""
    project_id, period_id = frame.project.id, frame.period.id
    assert project_id is not None and period_id is not None
    status = str(m.ReturnStatus.accepted if content is not None else m.ReturnStatus.rejected)
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
    index = rows.add_return(row, frame, content)
    return StoredReturn(index, version, status)


def latest_version(conn: Connection, project_id: int, period_id: int) -> int:
    """The highest version stored for a project and period (0 if none); one index lookup."""
    return int(conn.execute(_LATEST, {"the_project": project_id, "the_period": period_id}).scalar_one())


class PendingRows:
    """Rows waiting to be inserted at the end of the batch: Return rows (with their lines: ids are known only once
    the returns are in) and ReceivedFile rows (pointing at a queued return by its index, `RETURN_INDEX`)."""

    def __init__(self) -> None:
        self.returns: list[dict[str, Any]] = []
        self.lines: list[tuple[int, ReturnFrame, ReturnContent]] = []  # (index in returns, frame, content)
        self.rows: dict[type[SQLModel], list[dict[str, Any]]] = {table: [] for table in _INSERTS}
        self.return_ids: list[int] = []  # of `returns`, once inserted

    def add_return(self, row: dict[str, Any], frame: ReturnFrame, content: ReturnContent | None) -> int:
        """Queue a Return row (and its lines if accepted); its index among the batch's returns."""
        self.returns.append(row)
        if content is not None:
            self.lines.append((len(self.returns) - 1, frame, content))
        return len(self.returns) - 1

    def add(self, table: type[SQLModel], row: dict[str, Any]) -> None:
        """Any other row (a ReceivedFile; its `RETURN_INDEX`, if any, becomes its return_id on insert)."""
        self.rows[table].append(row)

    def extend(self, other: PendingRows) -> None:
        """Take over another collection's rows (a file's, once it was taken in without an error)."""
        offset = len(self.returns)
        self.returns += other.returns
        self.lines += [(offset + i, frame, content) for i, frame, content in other.lines]
        for table, rows in other.rows.items():
            self.rows[table] += [row | {RETURN_INDEX: row[RETURN_INDEX] + offset} if RETURN_INDEX in row else row
                                 for row in rows]

    def insert(self, conn: Connection) -> list[int]:
        """Insert everything, one executemany per table: first the earlier accepted versions of each project and
        period an accepted return of the batch supersedes, then the returns (an accepted one of the batch followed by
        another for the same project and period is stored superseded), their lines and the ReceivedFile rows.
        The ids of the returns, in order."""
        _supersede(conn, self.returns)
        self.return_ids = _insert_returns(conn, self.returns)
        spend, forecast, outputs, milestones = self.rows[m.ReturnSpend], self.rows[m.ReturnForecast], \
            self.rows[m.ReturnOutput], self.rows[m.ReturnMilestone]
        for index, frame, content in self.lines:
            return_id = self.return_ids[index]
            line_ids = {b.key: b.id for b in frame.lines}
            target_ids = {t.key: t.id for t in frame.targets}
            spend += [{"return_id": return_id, "budget_line_id": line_ids[k], "actual_pence": v}
                      for k, v in content.spend.items()]
            forecast += [{"return_id": return_id, "budget_line_id": line_ids[k], "period_label": label,
                          "amount_pence": v} for (k, label), v in content.forecast.items()]
            outputs += [{"return_id": return_id, "target_id": target_ids[k], "achieved": v}
                        for k, v in content.outputs.items()]
            milestones += [{"return_id": return_id, "target_id": target_ids[k], "delivered": a.delivered,
                            "delivered_on": a.on, "evidence": a.evidence} for k, a in content.milestones.items()]
        files = self.rows[m.ReceivedFile]
        for row in files:
            if RETURN_INDEX in row:
                row["return_id"] = self.return_ids[row.pop(RETURN_INDEX)]
        for table, statement in _INSERTS.items():
            if self.rows[table]:
                conn.execute(statement, self.rows[table])
                self.rows[table] = []
        self.returns, self.lines = [], []
        return self.return_ids


def _supersede(conn: Connection, returns: list[dict[str, Any]]) -> None:
    """Mark superseded the accepted versions stored before, and every accepted one of the batch but the last, of
    each project and period the batch has an accepted return for (one accepted per project and period: a unique
    index)."""
    accepted = str(m.ReturnStatus.accepted)
    last: dict[tuple[int, int], dict[str, Any]] = {}
    for row in returns:
        if row["status"] == accepted:
            key = (row["project_id"], row["period_id"])
            if key in last:
                last[key]["status"] = str(m.ReturnStatus.superseded)
            last[key] = row
    if last:
        conn.execute(_SUPERSEDE, [{"the_project": p, "the_period": q} for p, q in last])


def _insert_returns(conn: Connection, returns: list[dict[str, Any]]) -> list[int]:
    if not returns:
        return []
    ids = [i for i in conn.execute(_INSERT_RETURN, returns).scalars() if i is not None]
    assert len(ids) == len(returns)
    return ids
