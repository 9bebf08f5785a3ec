"""The returns mailbox as officers see it on the intake page: emails that brought no return (no workbook, a zip, a link
to a shared file, winmail.dat, too large) and automatic mail (out-of-office replies, bounces of the engine's own mail),
newest first, each with who sent it, why it was set aside and the folder it went to."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, col, select

from grants.kernel import models as m

_WHY = {
    "no-workbook": "no workbook attached",
    "zip": "a zip file, not opened",
    "link": "a link to a shared file instead of the file",
    "tnef": "Outlook's winmail.dat, which cannot be opened",
    "too-large": "too large to open",
    "automatic": "automatic mail, not answered",
}


@dataclass(frozen=True)
class SetAsideRow:
    """One email that brought no return."""

    received_on: date
    sender: str
    subject: str
    why: str
    detail: str
    folder: str


def mail_set_aside(session: Session, limit: int = 200) -> list[SetAsideRow]:
    """Emails with no return in them, newest first (duplicates of emails already handled are left out)."""
    rows = session.exec(select(m.MailMessage).where(col(m.MailMessage.outcome).in_(list(_WHY)))
                        .order_by(col(m.MailMessage.received_at).desc(), col(m.MailMessage.id).desc()).limit(limit))
    return [SetAsideRow(r.received_at.date(), r.sender, r.subject, _WHY[r.outcome], _detail(r.detail),
                        r.moved_to or r.destination) for r in rows]


def _detail(detail: str) -> str:
    """The files named (or the shared link's host), or why the mail counts as automatic."""
    if detail.startswith("["):
        return ", ".join(str(name) for name in json.loads(detail))
    return detail
