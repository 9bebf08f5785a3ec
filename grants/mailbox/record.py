"""What the mailbox fetch remembers: per account and folder the UIDVALIDITY and highest UID handled, and one row per
email handled (with or without a return in it), written in one transaction after that email's files are committed.

A row whose `moved_to` is empty is an email recorded but not yet moved out of the folder (a crash, or an answer that
could not be sent yet): the next run answers it (idempotently) and moves it, without downloading it again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select, update

from grants.kernel import models as m
from grants.kernel.db import session_scope


@dataclass(frozen=True)
class FolderKey:
    """One folder of one account under one UIDVALIDITY: the scope in which a UID names one message."""

    account: str
    folder: str
    uidvalidity: int


@dataclass(frozen=True)
class Handled:
    """What became of one email, ready to record."""

    uid: int
    message_id: str
    references: tuple[str, ...]
    sender: str
    subject: str
    outcome: str
    destination: str
    files: int = 0
    detail: str = ""


def last_uid(engine: Engine, key: FolderKey) -> int:
    """The highest UID handled in this folder under this UIDVALIDITY (0: none, or the folder was recreated)."""
    with session_scope(engine) as session:
        state = session.exec(select(m.MailboxState).where(
            m.MailboxState.account == key.account, m.MailboxState.folder == key.folder)).one_or_none()
    return state.last_uid if state is not None and state.uidvalidity == key.uidvalidity else 0


def recorded_uids(engine: Engine, key: FolderKey, uids: Sequence[int]) -> set[int]:
    """Which of these UIDs are recorded already (handled, perhaps not yet moved)."""
    with session_scope(engine) as session:
        return set(session.exec(select(m.MailMessage.uid).where(_in(key), col(m.MailMessage.uid).in_(list(uids)))))


def known_message_ids(engine: Engine, account: str, ids: Sequence[str]) -> set[str]:
    """Which Message-IDs this account has handled before (in any folder, under any UIDVALIDITY)."""
    wanted = [i for i in set(ids) if i]
    if not wanted:
        return set()
    with session_scope(engine) as session:
        return set(session.exec(select(m.MailMessage.message_id).where(
            m.MailMessage.account == account, col(m.MailMessage.message_id).in_(wanted))))


def record(engine: Engine, key: FolderKey, handled: Sequence[Handled], up_to: int, now: datetime) -> None:
    """Record the emails and advance the folder's highest UID to `up_to`, in one transaction. Emails a concurrent
    run recorded first are left as they are."""
    for attempt in (1, 2):
        try:
            with session_scope(engine) as session:
                done = set(session.exec(select(m.MailMessage.uid).where(
                    _in(key), col(m.MailMessage.uid).in_([h.uid for h in handled]))))
                session.add_all([_row(key, h, now) for h in handled if h.uid not in done])
                _advance(session, key, up_to)
            return
        except IntegrityError:
            if attempt == 2:
                raise


def _row(key: FolderKey, h: Handled, now: datetime) -> m.MailMessage:
    return m.MailMessage(account=key.account, folder=key.folder, uidvalidity=key.uidvalidity, uid=h.uid,
                         message_id=h.message_id, references=" ".join(h.references), sender=h.sender,
                         subject=h.subject, received_at=now, outcome=h.outcome, files=h.files, detail=h.detail,
                         destination=h.destination)


def _advance(session: Session, key: FolderKey, up_to: int) -> None:
    state = session.exec(select(m.MailboxState).where(
        m.MailboxState.account == key.account, m.MailboxState.folder == key.folder)).one_or_none()
    if state is None:
        state = m.MailboxState(account=key.account, folder=key.folder, uidvalidity=key.uidvalidity, last_uid=0)
    if state.uidvalidity != key.uidvalidity:
        state.uidvalidity, state.last_uid = key.uidvalidity, 0
    state.last_uid = max(state.last_uid, up_to)
    session.add(state)


def pending(engine: Engine, key: FolderKey) -> list[m.MailMessage]:
    """Emails recorded but not yet moved out of the folder, oldest first."""
    with session_scope(engine) as session:
        rows = list(session.exec(select(m.MailMessage).where(
            m.MailMessage.account == key.account, m.MailMessage.folder == key.folder,
            m.MailMessage.moved_to == "").order_by(col(m.MailMessage.uid))))
        session.expunge_all()
    return rows


def mark_moved(engine: Engine, row_ids: Sequence[int], folder: str) -> None:
    """Note that these emails have left the folder (moved to `folder`; 'gone' when their UIDs no longer apply or
    someone else took them out). The first note stands: a concurrent run's move is not overwritten."""
    if not row_ids:
        return
    with session_scope(engine) as session:
        session.exec(update(m.MailMessage).where(col(m.MailMessage.id).in_(list(row_ids)),
                                                 col(m.MailMessage.moved_to) == "").values(moved_to=folder))


def _in(key: FolderKey) -> ColumnElement[bool]:
    return and_(col(m.MailMessage.account) == key.account, col(m.MailMessage.folder) == key.folder,
                col(m.MailMessage.uidvalidity) == key.uidvalidity)


def remembered(engine: Engine, account: str, folder: str) -> tuple[int, int] | None:
    """The (UIDVALIDITY, highest UID handled) remembered for a folder, if any."""
    with session_scope(engine) as session:
        state = session.exec(select(m.MailboxState).where(
            m.MailboxState.account == account, m.MailboxState.folder == folder)).one_or_none()
    return (state.uidvalidity, state.last_uid) if state is not None else None
