"""One run at a time reads a returns mailbox folder: the scheduled ingest and a manual `grants ingest` overlapping
would otherwise both download, ingest and move the same emails (Dovecot's MOVE is not atomic across sessions, so an
email could land twice in the processed folder). A run takes the folder's lease or leaves the mail to the run
holding it; the lease is freed at the end, and one left by a crashed run runs out after LEASE.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, or_, select, update

from grants.kernel import models as m
from grants.kernel.db import session_scope

LEASE = timedelta(minutes=30)


@dataclass(frozen=True)
class Lease:
    """A folder taken by this run (`token`), or the time another run took it (`taken_since`, token empty)."""

    token: str = ""
    taken_since: datetime | None = None


def take(engine: Engine, account: str, folder: str, now: datetime) -> Lease:
    """Take the folder for this run, unless another run holds it and its lease has not run out."""
    try:
        with session_scope(engine) as session:
            if session.exec(select(m.MailboxLease).where(m.MailboxLease.account == account,
                                                         m.MailboxLease.folder == folder)).first() is None:
                session.add(m.MailboxLease(account=account, folder=folder))
    except IntegrityError:  # another run made the row at the same moment
        pass
    token = uuid.uuid4().hex
    with session_scope(engine) as session:
        taken = session.exec(update(m.MailboxLease).where(
            col(m.MailboxLease.account) == account, col(m.MailboxLease.folder) == folder,
            or_(col(m.MailboxLease.until).is_(None), col(m.MailboxLease.until) < now),
        ).values(holder=token, since=now, until=now + LEASE)).rowcount
    if taken == 1:
        return Lease(token)
    with session_scope(engine) as session:
        row = session.exec(select(m.MailboxLease).where(m.MailboxLease.account == account,
                                                        m.MailboxLease.folder == folder)).one()
        return Lease(taken_since=row.since)


def free(engine: Engine, account: str, folder: str, lease: Lease) -> None:
    """Give the folder back (only if this run still holds it)."""
    if not lease.token:
        return
    with session_scope(engine) as session:
        session.exec(update(m.MailboxLease).where(
            col(m.MailboxLease.account) == account, col(m.MailboxLease.folder) == folder,
            col(m.MailboxLease.holder) == lease.token).values(holder="", since=None, until=None))
