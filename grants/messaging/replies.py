"""Replies to leads after ingest: a receipt for an accepted return (what was recorded, any warnings) or a rejection
listing each problem with its sheet, cell and how to fix it, with the original file attached back.

Idempotent per return: the key is `reply:<return id>`, so calling it again after every ingest run is safe.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from openpyxl.utils.cell import column_index_from_string
from sqlmodel import Session, col, select

from grants.kernel import models as m
from grants.messaging.messages import render
from grants.messaging.notify import Address, Outgoing, Sender, send_each
from grants.messaging.portal import portal_link
from grants.programme.status import received_on
from grants.returns.layout import SHEETS, Subject, input_fields
from grants.returns.problems import PROBLEM_KEYS, Problem

ACCEPTED = (m.ReturnStatus.accepted, m.ReturnStatus.superseded)


def reply_key(return_id: int) -> str:
    """The idempotency key of the reply to one received return."""
    return f"reply:{return_id}"


_CELL = re.compile(r"^\$?([A-Z]{1,3})\$?(\d+)$")


def _sheet_order(p: Problem) -> tuple[int, int, int]:
    """(sheet as the workbook orders them, row, column): problems read top to bottom as the lead sees them."""
    sheet = SHEETS.index(p.sheet) if p.sheet in SHEETS else len(SHEETS) if p.sheet else -1
    found = _CELL.match(p.cell.upper())
    if found is None:
        return sheet, 0, 0
    return sheet, int(found.group(2)), column_index_from_string(found.group(1))


def problems_of(ret: m.Return, labels: dict[str, str] | None = None) -> list[Problem]:
    """The return's problems in sheet order (row, then column), each field under the label the lead sees in the
    workbook (an internal name with no label is left out); tolerant of missing keys."""
    raw: list[dict[str, Any]] = json.loads(ret.problems_json or "[]")
    items = [Problem(*(str(p.get(k) or "") for k in PROBLEM_KEYS)) for p in raw]
    if labels is not None:
        items = [replace(p, field=labels.get(p.field, "")) for p in items]
    return sorted(items, key=_sheet_order)


def field_labels(session: Session, project: m.Project, period: m.ReportingPeriod) -> dict[str, str]:
    """{defined name: the label beside that cell in the project's workbook for this period}."""
    lines = [Subject(b.key, b.name) for b in session.exec(select(m.BudgetLine).where(
        m.BudgetLine.project_id == project.id, col(m.BudgetLine.active).is_(True))
        .order_by(col(m.BudgetLine.position)))]
    targets = list(session.exec(select(m.Target).where(
        m.Target.project_id == project.id, col(m.Target.active).is_(True)).order_by(col(m.Target.position))))
    later = list(session.exec(select(m.ReportingPeriod.label).where(
        m.ReportingPeriod.grant_id == period.grant_id, col(m.ReportingPeriod.start) > period.start)))
    fields = input_fields(lines, [Subject(t.key, t.name) for t in targets if t.kind == "count"],
                          [Subject(t.key, t.name) for t in targets if t.kind == "milestone"], later)
    return {f.name: f.label for f in fields}


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


def _emailed(session: Session, ret: m.Return) -> m.ReceivedFile | None:
    """The record of the email the return came in (None: it came through the inbox folder)."""
    return session.exec(select(m.ReceivedFile).where(
        m.ReceivedFile.return_id == ret.id, m.ReceivedFile.message_id != "").order_by(col(m.ReceivedFile.id))).first()


def _thread(session: Session, origin: m.ReceivedFile | None) -> tuple[str, tuple[str, ...]]:
    """In-Reply-To and References for an answer to the email a return came in."""
    if origin is None:
        return "", ()
    earlier = session.exec(select(m.MailMessage.references).where(
        m.MailMessage.message_id == origin.message_id)).first() or ""
    return origin.message_id, tuple(earlier.split())


def _replaced(session: Session, ret: m.Return) -> dict[str, Any] | None:
    """The accepted version this one replaced (its number and the day it came in), said in the receipt so that a lead
    who sent the wrong quarter's workbook sees at once which return it overwrote; None for a first version."""
    earlier = session.exec(select(m.Return).where(
        m.Return.project_id == ret.project_id, m.Return.period_id == ret.period_id, m.Return.version < ret.version,
        col(m.Return.status).in_(ACCEPTED)).order_by(col(m.Return.version).desc())).first()
    return {"version": earlier.version, "received": received_on(earlier.received_at)} if earlier else None


def reply_for(session: Session, ret: m.Return, now: datetime, return_to: str) -> Outgoing | None:
    """The receipt or rejection for one return (None for a duplicate file, which needs no reply)."""
    if ret.status not in (*ACCEPTED, m.ReturnStatus.rejected) or ret.id is None:
        return None
    project, period = session.get(m.Project, ret.project_id), session.get(m.ReportingPeriod, ret.period_id)
    assert project is not None and period is not None
    grant = session.get(m.Grant, project.grant_id)
    officer = session.exec(select(m.Officer).where(
        m.Officer.grant_id == project.grant_id, m.Officer.key == project.officer_key)).one_or_none()
    problems = problems_of(ret, field_labels(session, project, period))
    accepted = ret.status in ACCEPTED
    origin = _emailed(session, ret)
    stranger = origin.sender if origin and origin.sender.lower() != project.lead_email.lower() else ""
    received = received_on(ret.received_at)
    context: dict[str, Any] = {
        "grant_name": grant.name if grant else "", "project_name": project.name, "lead_name": project.lead_name,
        "period_label": period.label, "due": period.due, "version": ret.version, "source_name": ret.source_name,
        "received": received, "return_to": return_to, "signed_name": ret.signed_name,
        "overdue": not accepted and received > period.due,
        "warnings": [p for p in problems if p.severity != "error"], "problems": problems,
        "officer": Address(officer.name, officer.email) if officer else None, "sent_by": stranger,
        "portal_link": portal_link(session, project, now),
    }
    if accepted:
        context |= recorded(session, ret) | {"replaced": _replaced(session, ret)}
    kind = "receipt" if accepted else "rejection"
    rendered = render(kind, context)
    original = Path(ret.archive_path) if ret.archive_path else None
    attachments = ((_as_sent(original, ret.source_name, ret.id),)
                   if not accepted and original is not None and original.is_file() else ())
    # The officer is copied on a rejection, and on any return sent by someone other than the lead on record.
    cc = (Address(officer.name, officer.email),) if officer and (stranger or not accepted) else ()
    tags = {f"lead-{project.code}"} | ({"officers"} if cc else set())
    to = ((Address("", stranger),) if stranger else ()) + (Address(project.lead_name, project.lead_email),)
    in_reply_to, references = _thread(session, origin)
    return Outgoing(
        key=reply_key(ret.id), kind=kind, subject=rendered.subject, text=rendered.text, html=rendered.html,
        to=to, cc=cc, tags=frozenset(tags), attachments=attachments,
        grant_id=project.grant_id, project_id=project.id, period_id=period.id, step=f"v{ret.version}", created=now,
        in_reply_to=in_reply_to, references=references,
    )


def send_ingest_replies(
    session: Session, return_ids: list[int], now: datetime, sender: Sender, *, return_to: str,
    dry_run: bool = False,
) -> dict[int, str]:
    """Send the receipt or rejection for each return id once; {return id: 'sent' | 'failed' | 'skipped' |
    'planned' (dry run) | 'no reply' (duplicate file)}. Call it after every ingest run with the ids it stored."""
    def build(return_id: int) -> Outgoing | None:
        ret = session.get(m.Return, return_id)
        return reply_for(session, ret, now, return_to) if ret is not None else None

    return send_each(session, return_ids, build, sender, now, dry_run=dry_run)
