"""The append-only audit log: `record` is the one function every action (web app or CLI) writes through.

An entry says who acted, when, what they did, on what, and the state before and after (plain JSON). Nothing in the
engine updates or deletes an entry; `entries` reads them newest first.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlmodel import Session, col, select

from grants.kernel import models as m


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def record(
    session: Session, *, actor: str, action: str, at: datetime, subject: str = "",
    before: Mapping[str, Any] | None = None, after: Mapping[str, Any] | None = None, reason: str = "",
    grant_id: int | None = None, project_id: int | None = None,
) -> m.AuditEntry:
    """Append one audit entry in the caller's transaction (it commits or rolls back with the action itself)."""
    if not actor.strip():
        raise ValueError("an audit entry needs the actor")
    entry = m.AuditEntry(
        at=at, actor=actor.strip(), action=action, subject=subject, reason=reason.strip(),
        before_json=json.dumps(_plain(before or {}), sort_keys=True),
        after_json=json.dumps(_plain(after or {}), sort_keys=True), grant_id=grant_id, project_id=project_id,
    )
    session.add(entry)
    session.flush()
    return entry


@dataclass(frozen=True)
class AuditRow:
    """An audit entry as officers read it."""

    id: int
    at: datetime
    actor: str
    action: str
    subject: str
    before: dict[str, Any]
    after: dict[str, Any]
    reason: str
    grant_id: int | None
    project_id: int | None


def entries(
    session: Session, *, grant_id: int | None = None, project_id: int | None = None, limit: int | None = None,
    actions: tuple[str, ...] | None = None,
) -> list[AuditRow]:
    """Audit entries, newest first (for one grant or project, and of these actions, when given)."""
    statement = select(m.AuditEntry).order_by(col(m.AuditEntry.id).desc())
    if actions is not None:
        statement = statement.where(col(m.AuditEntry.action).in_(actions))
    if grant_id is not None:
        statement = statement.where(m.AuditEntry.grant_id == grant_id)
    if project_id is not None:
        statement = statement.where(m.AuditEntry.project_id == project_id)
    if limit is not None:
        statement = statement.limit(limit)
    return [AuditRow(e.id or 0, e.at, e.actor, e.action, e.subject, json.loads(e.before_json),
                     json.loads(e.after_json), e.reason, e.grant_id, e.project_id)
            for e in session.exec(statement)]
