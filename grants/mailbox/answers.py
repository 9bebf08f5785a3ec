"""Answers to the emails the mailbox fetch handled: the receipt or rejection of each return in it (threaded to the
email, see grants/messaging/replies.py), and one polite explanation for an email with no workbook, a zip file, a file
that could not be read, or one too large to open. Automatic mail and duplicates get nothing, so no mail loop is
possible. Every answer is sent once: its key names the email (by Message-ID), so answering again is safe.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from grants.kernel import models as m
from grants.messaging.messages import render
from grants.messaging.notify import Address, Outgoing, Sender, send_once
from grants.messaging.replies import send_ingest_replies
from grants.programme.status import received_on

EXPLAINED = ("no-workbook", "zip", "too-large")
SYNTHETIC = "@mailbox.invalid>"  # the Message-ID given to an email that had none


def answer(session: Session, row: m.MailMessage, now: datetime, sender: Sender, return_to: str,
           limit_mb: float = 25) -> list[str]:
    """Send what this email calls for (once); the status of each message ('sent', 'skipped', 'failed', ...)."""
    if row.outcome == "returns":
        return _answer_returns(session, row, now, sender, return_to)
    if row.outcome in EXPLAINED:
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
    for file in files:
        if file.outcome == "quarantined":
            problems = [p.get("message", "") for p in json.loads(file.problems_json or "[]")]
            message = _explanation(session, row, "unreadable", now, return_to, [file.name], problems,
                                   key=f"file:{file.sha256[:16]}")
            statuses.append(send_once(session, message, sender, received_on(now), now))
    return statuses


def _explanation(session: Session, row: m.MailMessage, reason: str, now: datetime, return_to: str,
                 names: list[str], problems: list[str], limit_mb: float = 25, key: str = "") -> Outgoing:
    context: dict[str, Any] = {
        "reason": reason, "file_names": names, "problems": [{"message": p} for p in problems],
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
