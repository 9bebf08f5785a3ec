"""Replies about quarantined files: whenever the sender or the project is known, the person who sent the file is told
in plain words what to do (save it as .xlsx, remove the password, delete the sheets they added, use the workbook
we sent). A file from an unknown sender of an unknown project gets no reply; the officers' digest lists every
quarantined file either way (`quarantined_files`).

Idempotent per file: the key is `quarantine-reply:<ReceivedFile id>`.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlmodel import Session, col, select

from grants.kernel import models as m
from grants.messaging.messages import render
from grants.messaging.notify import Address, Outgoing, Sender, send_each
from grants.programme.status import received_on
from grants.returns.problems import PROBLEM_KEYS, Problem


def quarantine_reply_key(file_id: int) -> str:
    """The idempotency key of the reply about one quarantined file."""
    return f"quarantine-reply:{file_id}"


def _problems(row: m.ReceivedFile) -> list[Problem]:
    raw: list[dict[str, Any]] = json.loads(row.problems_json or "[]")
    return [Problem(*(str(p.get(k) or "") for k in PROBLEM_KEYS)) for p in raw]


def quarantine_reply(session: Session, row: m.ReceivedFile, now: datetime, return_to: str) -> Outgoing | None:
    """The reply about one quarantined file: to its project's lead (the officer copied in) when the project is
    known, else to the address it came from; None when neither is known."""
    if row.id is None or row.outcome != "quarantined":
        return None
    project = session.get(m.Project, row.project_id) if row.project_id is not None else None
    officer = None
    if project is not None:
        officer = session.exec(select(m.Officer).where(
            m.Officer.grant_id == project.grant_id, m.Officer.key == project.officer_key)).one_or_none()
        to = Address(project.lead_name, project.lead_email)
    elif row.sender:
        to = Address("", row.sender)
    else:
        return None
    grant = session.get(m.Grant, project.grant_id) if project else None
    rendered = render("quarantined", {
        "grant_name": grant.name if grant else "the grants team", "name": to.name, "source_name": row.name,
        "received": received_on(row.received_at), "return_to": return_to,
        "problems": _problems(row), "project_name": project.name if project else "",
        "officer": Address(officer.name, officer.email) if officer else None})
    cc = (Address(officer.name, officer.email),) if officer else ()
    tags = {f"lead-{project.code}"} if project else set()
    return Outgoing(
        key=quarantine_reply_key(row.id), kind="quarantined", subject=rendered.subject, text=rendered.text,
        html=rendered.html, to=(to,), cc=cc, tags=frozenset(tags | ({"officers"} if cc else set())),
        grant_id=grant.id if grant else None, project_id=project.id if project else None, step=f"file-{row.id}",
        created=now)


def send_quarantine_replies(session: Session, file_ids: list[int], now: datetime, sender: Sender, *,
                            return_to: str, dry_run: bool = False) -> dict[int, str]:
    """Send the reply about each quarantined file once; {file id: 'sent' | 'failed' | 'skipped' | 'planned' |
    'no reply' (nobody known to tell)}."""
    def build(file_id: int) -> Outgoing | None:
        row = session.get(m.ReceivedFile, file_id)
        return quarantine_reply(session, row, now, return_to) if row is not None else None

    return send_each(session, file_ids, build, sender, now, dry_run=dry_run)


def quarantined_files(session: Session, grant_id: int, week_from: date, as_of: date) -> list[dict[str, Any]]:
    """Every file quarantined from `week_from` to `as_of` (days in the configured timezone) that is this grant's or
    nobody's (its project unknown)."""
    since = datetime.combine(week_from - timedelta(days=1), time(), UTC)
    projects = {p.id: p.name for p in session.exec(select(m.Project).where(m.Project.grant_id == grant_id))}
    rows = session.exec(select(m.ReceivedFile).where(
        m.ReceivedFile.outcome == "quarantined", col(m.ReceivedFile.received_at) >= since)
        .order_by(col(m.ReceivedFile.received_at)))
    out = []
    for row in rows:
        if (row.project_id is not None and row.project_id not in projects) or not (
                week_from <= received_on(row.received_at) <= as_of):
            continue
        first = next(iter(_problems(row)), None)
        out.append({"name": row.name, "received": row.received_at, "source": row.source, "sender": row.sender,
                    "project": projects.get(row.project_id, "") if row.project_id else "",
                    "code": first.code if first else "", "reason": first.message if first else "",
                    "stored": row.stored_path})
    return out
