"""Which received return is the official one for a project and period, as of a date.

Every file is kept. The official return is the latest (by version) accepted one received by `as_of`; a return that a
later accepted version superseded was official until that version arrived.
"""

from __future__ import annotations

from datetime import date

from sqlmodel import Session, col, select

from grants import models as m
from grants.status import received_on

COUNTED = (m.ReturnStatus.accepted, m.ReturnStatus.superseded)


def official_returns(
    session: Session, as_of: date, *, grant_id: int | None = None, project_id: int | None = None
) -> dict[tuple[int, int], m.Return]:
    """{(project_id, period_id): official Return} for returns received on or before `as_of`."""
    statement = select(m.Return).where(col(m.Return.status).in_(COUNTED))
    if project_id is not None:
        statement = statement.where(m.Return.project_id == project_id)
    if grant_id is not None:
        statement = statement.join(m.Project).where(m.Project.grant_id == grant_id)
    official: dict[tuple[int, int], m.Return] = {}
    for row in session.exec(statement.order_by(col(m.Return.version), col(m.Return.id))):
        if received_on(row.received_at) <= as_of:
            official[(row.project_id, row.period_id)] = row
    return official
