"""Answers to the emails the mailbox fetch handled: the receipt or rejection of each return in it (threaded to the
email, see grants/messaging/replies.py), and one polite explanation for an email with no workbook, a zip file, a file
that could not be read, or one too large to open; a file sent before (in another email or on the page) is answered
with what became of it then. Automatic mail and redelivered emails get nothing, so no mail loop is possible; an
email with no return in it from a sender not on record (spam) gets nothing either, nor one whose sender had the
same answer in the last day (a misbehaving auto-responder). Every answer is sent once: its key names the email (by
Message-ID), so answering again is safe.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, func, select

from grants.kernel import models as m
from grants.messaging.channels import MESSAGE_ID_DOMAIN
from grants.messaging.messages import render
from grants.messaging.notify import Address, Outgoing, Sender, send_once
from grants.messaging.replies import problems_of, send_ingest_replies
from grants.programme.status import received_on
from grants.returns.problems import PROBLEM_KEYS, Problem

EXPLAINED = ("no-workbook", "zip", "too-large", "link", "tnef")
SYNTHETIC = "@mailbox.invalid>"  # the Message-ID given to an email that had none
UNKNOWN = "not answered: the sender is not on record"
LATELY = "not answered: the sender had the same answer in the last day (an auto-responder loop?)"


def answer(session: Session, row: m.MailMessage, now: datetime, sender: Sender, return_to: str,
           limit_mb: float = 25) -> list[str]:
    """Send what this email calls for (once); the status of each message ('sent', 'skipped', 'failed', ...)."""
    if row.outcome == "returns":
        return _answer_returns(session, row, now, sender, return_to)
    if row.outcome in EXPLAINED:
        if not on_record(session, row):
            return [UNKNOWN]
        if _answered_lately(session, row, now):
            return [LATELY]
        names = json.loads(row.detail) if row.detail.startswith("[") else []
        message = _explanation(session, row, row.outcome, now, return_to, names, [], limit_mb)
        return [send_once(session, message, sender, received_on(now), now)]
    return []


def _answer_returns(session: Session, row: m.MailMessage, now: datetime, sender: Sender, return_to: str
                    ) -> list[str]:
    files = list(session.exec(select(m.ReceivedFile).where(
        m.ReceivedFile.message_id == row.message_id).order_by(col(m.ReceivedFile.id))))
    ids = list(dict.fromkeys(f.return_id for f in files if f.return_id is not None))
    statuses = list(send_ingest_replies(session, ids, now, sender, return_to=return_to).values())
    if not on_record(session, row) and any(f.outcome in ("quarantined", "duplicate") for f in files):
        return [*statuses, UNKNOWN]  # no return identified: nothing to tell a stranger (spam, a forged sender)
    for file in files:
        if file.outcome == "quarantined":
            problems = [p.get("message", "") for p in json.loads(file.problems_json or "[]")]
            message = _explanation(session, row, "unreadable", now, return_to, [file.name], problems,
                                   key=f"file:{file.sha256[:16]}")
            statuses.append(send_once(session, message, sender, received_on(now), now))
    resent = [item for f in files if f.outcome == "duplicate" and (item := _sent_before(session, f, row)) is not None]
    if resent:
        message = _explanation(session, row, "resent", now, return_to, [], [], resent=resent)
        statuses.append(send_once(session, message, sender, received_on(now), now))
    return statuses


def _answered_lately(session: Session, row: m.MailMessage, now: datetime) -> bool:
    """Whether this sender was sent the same explanation in the last day. An auto-responder that ignores the
    Auto-Submitted header and answers every email would otherwise trade a message with the engine on every run."""
    return session.exec(select(m.Notification.id).where(
        m.Notification.kind == f"mail-{row.outcome}", m.Notification.recipients == row.sender,
        m.Notification.status == "sent", m.Notification.sent_at > now - timedelta(days=1))).first() is not None


def on_record(session: Session, row: m.MailMessage) -> bool:
    """Whether the sender may be told what became of an email with no return in it: a lead or officer on record, an
    address that has sent a return (a signed workbook) before, or a reply to one of the engine's own emails. Anyone
    else (spam with an .exe, a .zip or an .xlsm, a forged sender) gets no answer: answering would be backscatter."""
    if f"@{MESSAGE_ID_DOMAIN}>" in row.references:
        return True
    sender = row.sender.lower()
    if not sender:
        return False
    known = (select(m.Project.id).where(func.lower(m.Project.lead_email) == sender),
             select(m.Officer.id).where(func.lower(m.Officer.email) == sender),
             select(m.ReceivedFile.id).where(m.ReceivedFile.sender == sender,
                                             col(m.ReceivedFile.return_id).is_not(None)))
    return any(session.exec(query).first() is not None for query in known)


def _sent_before(session: Session, file: m.ReceivedFile, row: m.MailMessage) -> dict[str, Any] | None:
    """What became of the first copy of a file received again: the day, and what was recorded or what is wrong with
    it. None when the first copy came in this same email (a run that stopped before recording it, fetched again)."""
    first = session.exec(select(m.ReceivedFile).where(
        m.ReceivedFile.sha256 == file.sha256, m.ReceivedFile.outcome != "duplicate")).first()
    if first is None or first.message_id == row.message_id:
        return None
    ret = session.get(m.Return, first.return_id) if first.return_id is not None else None
    errors = [{"message": p.message} for p in _problems(ret, first) if p.severity == "error"]
    item: dict[str, Any] = {"name": file.name, "day": received_on(first.received_at), "status": "quarantined",
                            "problems": errors}
    if ret is not None:
        period = session.get(m.ReportingPeriod, ret.period_id)
        item |= {"status": ret.status, "version": ret.version, "period": period.label if period else ""}
    return item


def _problems(ret: m.Return | None, first: m.ReceivedFile) -> list[Problem]:
    if ret is not None:
        return problems_of(ret)
    raw: list[dict[str, Any]] = json.loads(first.problems_json or "[]")
    return [Problem(*(str(p.get(k) or "") for k in PROBLEM_KEYS)) for p in raw]


def _explanation(session: Session, row: m.MailMessage, reason: str, now: datetime, return_to: str,
                 names: list[str], problems: list[str], limit_mb: float = 25, key: str = "",
                 resent: list[dict[str, Any]] | None = None) -> Outgoing:
    context: dict[str, Any] = {
        "reason": reason, "file_names": names, "problems": [{"message": p} for p in problems], "resent": resent or [],
        "received": received_on(row.received_at), "return_to": return_to, "limit_mb": f"{limit_mb:g}",
        "grant_name": _programme_name(session)}
    rendered = render("mail_answer", context)
    real_id = row.message_id if not row.message_id.endswith(SYNTHETIC) else ""
    digest = hashlib.sha256(f"{row.account} {row.message_id}".encode()).hexdigest()[:20]
    return Outgoing(key=f"mail:{digest}:{key or reason}", kind=f"mail-{reason}", subject=rendered.subject,
                    text=rendered.text, html=rendered.html, to=(Address("", row.sender),),
                    tags=frozenset({"lead-mail"}), created=now, in_reply_to=real_id,
                    references=tuple(row.references.split()), step=reason)


def _programme_name(session: Session) -> str:
    names = list(session.exec(select(m.Grant.name)))
    return names[0] if len(names) == 1 else "the partnership's grants"
