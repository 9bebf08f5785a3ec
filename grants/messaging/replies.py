"""Replies to leads after ingest: a receipt for an accepted return (what was recorded, any warnings) or a rejection
listing each problem with its sheet, cell and how to fix it, with the original file attached back.

Idempotent per return: the key is `reply:<return id>`, so calling it again after every ingest run is safe.
"""

from __future__ import annotations

import json
import re
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from grants.kernel import models as m
from grants.messaging.messages import render
from grants.messaging.notify import Address, Outgoing, Sender, send_once
from grants.messaging.portal import portal_link
from grants.programme.status import received_on
from grants.returns.problems import PROBLEM_KEYS, Problem

ACCEPTED = (m.ReturnStatus.accepted, m.ReturnStatus.superseded)


def reply_key(return_id: int) -> str:
    """The idempotency key of the reply to one received return."""
    return f"reply:{return_id}"


def problems_of(ret: m.Return) -> list[Problem]:
    """The return's problems, errors first; tolerant of missing keys."""
    raw: list[dict[str, Any]] = json.loads(ret.problems_json or "[]")
    items = [Problem(*(str(p.get(k) or "") for k in PROBLEM_KEYS)) for p in raw]
    return sorted(items, key=lambda p: (p.severity != "error", p.sheet, p.cell))


def recorded(session: Session, ret: m.Return) -> dict[str, Any]:
    spend = session.exec(
        select(m.BudgetLine.name, m.ReturnSpend.actual_pence).join(m.ReturnSpend)
        .where(m.ReturnSpend.return_id == ret.id).order_by(col(m.BudgetLine.position))
    ).all()
    outputs = session.exec(
        select(m.Target.name, m.Target.unit, m.ReturnOutput.achieved).join(m.ReturnOutput)
        .where(m.ReturnOutput.return_id == ret.id).order_by(col(m.Target.position))
    ).all()
    milestones = session.exec(
        select(m.Target.name, m.ReturnMilestone).join(m.ReturnMilestone)
        .where(m.ReturnMilestone.return_id == ret.id).order_by(col(m.Target.position))
    ).all()
    return {"spend": [{"line": n, "pence": p} for n, p in spend], "spend_total": sum(p for _, p in spend),
            "outputs": [{"name": n, "unit": u, "achieved": a} for n, u, a in outputs],
            "milestones": [{"name": n, "delivered": r.delivered, "on": r.delivered_on} for n, r in milestones]}


def _as_sent(archived: Path, source_name: str, return_id: int) -> Path:
    """A copy of the archived original under the name the lead gave it (the archive names files by SHA-256), so the
    rejection hands back the file they recognise: `<archive>/as-sent/<return id>/<their file name>`."""
    name = re.sub(r"[^\w .()&'+,-]+", "_", Path(source_name.replace("\\", "/")).name).strip(" .") or archived.name
    target = archived.parent / "as-sent" / str(return_id) / name
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(archived, target)
    return target


def reply_for(session: Session, ret: m.Return, now: datetime, return_to: str) -> Outgoing | None:
    """The receipt or rejection for one return (None for a duplicate file, which needs no reply)."""
    if ret.status not in (*ACCEPTED, m.ReturnStatus.rejected) or ret.id is None:
        return None
    project, period = session.get(m.Project, ret.project_id), session.get(m.ReportingPeriod, ret.period_id)
    assert project is not None and period is not None
    grant = session.get(m.Grant, project.grant_id)
    officer = session.exec(select(m.Officer).where(
        m.Officer.grant_id == project.grant_id, m.Officer.key == project.officer_key)).one_or_none()
    problems = problems_of(ret)
    accepted = ret.status in ACCEPTED
    context: dict[str, Any] = {
        "grant_name": grant.name if grant else "", "project_name": project.name, "lead_name": project.lead_name,
        "period_label": period.label, "due": period.due, "version": ret.version, "source_name": ret.source_name,
        "received": received_on(ret.received_at), "return_to": return_to, "signed_name": ret.signed_name,
        "warnings": [p for p in problems if p.severity != "error"], "problems": problems,
        "officer": Address(officer.name, officer.email) if officer else None,
        "portal_link": portal_link(session, project, now),
    }
    if accepted:
        context |= recorded(session, ret)
    kind = "receipt" if accepted else "rejection"
    rendered = render(kind, context)
    original = Path(ret.archive_path) if ret.archive_path else None
    attachments = ((_as_sent(original, ret.source_name, ret.id),)
                   if not accepted and original is not None and original.is_file() else ())
    cc = (Address(officer.name, officer.email),) if officer and not accepted else ()
    tags = {f"lead-{project.code}"} | ({"officers"} if cc else set())
    return Outgoing(
        key=reply_key(ret.id), kind=kind, subject=rendered.subject, text=rendered.text, html=rendered.html,
        to=(Address(project.lead_name, project.lead_email),), cc=cc, tags=frozenset(tags), attachments=attachments,
        grant_id=project.grant_id, project_id=project.id, period_id=period.id, step=f"v{ret.version}", created=now,
    )


def send_ingest_replies(
    session: Session, return_ids: list[int], now: datetime, sender: Sender, *, return_to: str,
    dry_run: bool = False,
) -> dict[int, str]:
    """Send the receipt or rejection for each return id once; {return id: 'sent' | 'failed' | 'skipped' |
    'planned' (dry run) | 'no reply' (duplicate file)}. Call it after every ingest run with the ids it stored."""
    as_of = received_on(now)
    out: dict[int, str] = {}
    for return_id in return_ids:
        ret = session.get(m.Return, return_id)
        message = reply_for(session, ret, now, return_to) if ret is not None else None
        if message is None:
            out[return_id] = "no reply"
        else:
            out[return_id] = "planned" if dry_run else send_once(session, message, sender, as_of, now)
    return out
