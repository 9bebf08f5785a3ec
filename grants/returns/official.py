"""Which received return is the official one for a project and period, as of a date, and what it reported.

Every file is kept. The official return is the latest (by version) accepted one received by `as_of`; a return that a
later accepted version superseded was official until that version arrived.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TypeVar, cast

from sqlalchemy import bindparam
from sqlalchemy.orm import Mapped
from sqlmodel import Session, col, select

from grants.kernel import models as m
from grants.programme.status import received_on

COUNTED = (m.ReturnStatus.accepted, m.ReturnStatus.superseded)
T = TypeVar("T")
_OF_PROJECT = col(m.Return.project_id) == bindparam("project")
_RETURN_ID = cast("Mapped[int]", col(m.Return.id))  # a stored row always has its id (the model says int | None)
_ACCEPTED = select(col(m.Return.period_id), col(m.Return.received_at), _RETURN_ID).where(
    _OF_PROJECT, col(m.Return.status) == str(m.ReturnStatus.accepted))
_SUPERSEDED_PERIODS = select(col(m.Return.period_id)).distinct().where(
    _OF_PROJECT, col(m.Return.status) == str(m.ReturnStatus.superseded))
_HISTORY = select(col(m.Return.period_id), col(m.Return.received_at), _RETURN_ID).where(
    _OF_PROJECT, col(m.Return.status).in_(COUNTED)).order_by(col(m.Return.version), col(m.Return.id))
_SPEND = select(col(m.ReturnSpend.return_id), col(m.ReturnSpend.budget_line_id), col(m.ReturnSpend.actual_pence)).where(
    col(m.ReturnSpend.return_id).in_(bindparam("ids", expanding=True)))
_OUTPUTS = select(col(m.ReturnOutput.return_id), col(m.ReturnOutput.target_id), col(m.ReturnOutput.achieved)).where(
    col(m.ReturnOutput.return_id).in_(bindparam("ids", expanding=True)))


@dataclass(frozen=True)
class Figures:
    """What one return reported for its period: spend per budget line (pence) and achieved per count target."""

    spend: dict[int, int] = field(default_factory=dict)
    outputs: dict[int, int] = field(default_factory=dict)


def official_returns(
    session: Session, as_of: date, *, grant_id: int | None = None, project_id: int | None = None
) -> dict[tuple[int, int], m.Return]:
    """{(project_id, period_id): official Return} for returns received on or before `as_of`."""
    statement = select(m.Return).where(col(m.Return.status).in_(COUNTED))
    if project_id is not None:
        statement = statement.where(m.Return.project_id == project_id)
    if grant_id is not None:
        statement = statement.join(m.Project).where(m.Project.grant_id == grant_id)
    rows = session.exec(statement.order_by(col(m.Return.version), col(m.Return.id))).all()
    return _latest((((r.project_id, r.period_id), r.received_at, r) for r in rows), as_of)


def official_figures(
    session: Session, as_of: date, project_id: int, period_ids: Collection[int] | None = None
) -> dict[int, Figures]:
    """{period_id: what its official return reported} for one project, only `period_ids` if given. Plain column
    queries on the session's connection (no Return objects): ingest reads this for every project it sees."""
    conn = session.connection()
    official = official_return_ids(session, as_of, project_id)
    if period_ids is not None:
        official = {period: rid for period, rid in official.items() if period in set(period_ids)}
    period_of = {return_id: period_id for period_id, return_id in official.items()}
    figures = {period_id: Figures() for period_id in official}
    if period_of:
        for return_id, line_id, pence in conn.execute(_SPEND, {"ids": list(period_of)}):
            spend = figures[period_of[return_id]].spend
            spend[line_id] = spend.get(line_id, 0) + pence
        for return_id, target_id, achieved in conn.execute(_OUTPUTS, {"ids": list(period_of)}):
            outputs = figures[period_of[return_id]].outputs
            outputs[target_id] = outputs.get(target_id, 0) + achieved
    return figures


def official_return_ids(session: Session, as_of: date, project_id: int) -> dict[int, int]:
    """{period_id: id of its official return} for a project. Usually that is each period's one accepted return: an
    accepted version supersedes the one before, so it has the highest version. The whole history (every version
    ever counted) is read only when an accepted one arrived after `as_of`, or the rule does not hold."""
    conn = session.connection()
    params = {"project": project_id}
    accepted: dict[int, int] = {}
    settled = True
    for period_id, received_at, return_id in conn.execute(_ACCEPTED, params):
        settled = settled and period_id not in accepted and received_on(received_at) <= as_of
        accepted[period_id] = return_id
    if settled and set(conn.execute(_SUPERSEDED_PERIODS, params).scalars()) <= accepted.keys():
        return accepted
    rows = conn.execute(_HISTORY, params)
    return {period_id: rid for (_, period_id), rid in
            _latest((((project_id, period_id), at, rid) for period_id, at, rid in rows), as_of).items()}


def _latest(rows: Iterable[tuple[tuple[int, int], datetime, T]], as_of: date) -> dict[tuple[int, int], T]:
    """The last row per (project, period) received by `as_of`, from rows in version order."""
    official: dict[tuple[int, int], T] = {}
    for key, received_at, row in rows:
        if received_on(received_at) <= as_of:
            official[key] = row
    return official
