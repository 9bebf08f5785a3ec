"""Sending a message exactly once: the outgoing message, the channel protocol, bounded retries, and the
Notification log written in the same transaction as the send.

For each message: claim its idempotency key (insert or lock the Notification row), deliver it on every channel
(each retried up to `attempts` times), then record `sent` or `failed` and commit. A crash before the commit rolls the
claim back, so a rerun sends it; a committed `sent` row is never sent again; a `failed` row is retried by a later run.
Only redacted channel descriptions and exception class names are stored or logged, never a URL with a secret.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Protocol

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, select

from grants.kernel import models as m

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Address:
    """A person to write to."""

    name: str
    email: str

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>" if self.name else self.email


@dataclass(frozen=True)
class Outgoing:
    """One rendered message: who to, what, attachments, the Apprise tags it carries and its idempotency key."""

    key: str
    kind: str
    subject: str
    text: str
    html: str
    to: tuple[Address, ...]
    cc: tuple[Address, ...] = ()
    tags: frozenset[str] = frozenset()
    attachments: tuple[Path, ...] = ()
    grant_id: int | None = None
    project_id: int | None = None
    period_id: int | None = None
    step: str = ""
    created: datetime | None = None

    @property
    def recipients(self) -> str:
        to = ", ".join(a.email for a in self.to)
        return to + (f"; cc {', '.join(a.email for a in self.cc)}" if self.cc else "")


class ChannelError(Exception):
    """A channel could not deliver a message. The text must never contain a secret."""


class Channel(Protocol):
    """Where messages go: the outbox folder, an SMTP server, a Teams or Slack webhook (via Apprise)."""

    @property
    def description(self) -> str:
        """A redacted description, safe to log and store (no passwords or tokens)."""
        ...

    def accepts(self, message: Outgoing) -> bool:
        """Whether this message is for this channel (by its tags)."""
        ...

    def deliver(self, message: Outgoing) -> None:
        """Deliver or raise ChannelError."""
        ...


@dataclass(frozen=True)
class Delivery:
    """What happened to one message on all its channels."""

    ok: bool
    attempts: int
    errors: tuple[str, ...] = ()


@dataclass
class Sender:
    """Delivers a message on every channel that accepts it, retrying each a bounded number of times."""

    channels: Sequence[Channel]
    attempts: int = 3
    retry_delay_seconds: float = 0.0
    descriptions: list[str] = field(init=False)

    def __post_init__(self) -> None:
        self.descriptions = [c.description for c in self.channels]

    def deliver(self, message: Outgoing) -> Delivery:
        total, errors = 0, []
        for channel in self.channels:
            if not channel.accepts(message):
                continue
            used, error = self._one_channel(channel, message)
            total += used
            if error:
                errors.append(error)
        return Delivery(not errors, max(total, 1), tuple(errors))

    def _one_channel(self, channel: Channel, message: Outgoing) -> tuple[int, str]:
        reason = ""
        for attempt in range(1, self.attempts + 1):
            try:
                channel.deliver(message)
                return attempt, ""
            except ChannelError as exc:
                reason = str(exc)
            except Exception as exc:  # any library failure: keep only its class name (messages may hold URLs)
                reason = type(exc).__name__
            log.warning("%s: %s failed on attempt %d/%d: %s", message.key, channel.description, attempt,
                        self.attempts, reason)
            if attempt < self.attempts and self.retry_delay_seconds:
                time.sleep(self.retry_delay_seconds)
        return self.attempts, f"{channel.description}: {reason}"


def already_sent(session: Session, keys: Sequence[str] | None = None) -> set[str]:
    """Idempotency keys recorded as sent (all of them, or those among `keys`)."""
    statement = select(m.Notification.idempotency_key).where(m.Notification.status == "sent")
    return set(session.exec(statement)) if keys is None else set(session.exec(statement)) & set(keys)


def send_once(session: Session, message: Outgoing, sender: Sender, as_of: date, now: datetime) -> str:
    """Send a message unless its key is already recorded as sent; commit the log row. Returns the row's status,
    or 'skipped' if it had been sent (by this or a concurrent run)."""
    row = _claim_or_skip(session, message, as_of, now)
    if row is None:
        return "skipped"
    delivery = sender.deliver(message)
    row.status = "sent" if delivery.ok else "failed"
    row.attempts += delivery.attempts
    row.error = "; ".join(delivery.errors)
    row.sent_at = now
    session.add(row)
    session.commit()
    if not delivery.ok:
        log.error("%s to %s failed after retries: %s", message.key, message.recipients, row.error)
    return row.status


def record_failed(session: Session, message: Outgoing, as_of: date, now: datetime, error: str) -> str:
    """Log a message that could not even be prepared (e.g. its attachment failed) as failed; a later run retries."""
    row = _claim_or_skip(session, message, as_of, now)
    if row is None:
        return "skipped"
    row.status, row.attempts, row.error, row.sent_at = "failed", row.attempts + 1, error, now
    session.add(row)
    session.commit()
    log.error("%s to %s not sent: %s", message.key, message.recipients, error)
    return row.status


def _claim_or_skip(session: Session, message: Outgoing, as_of: date, now: datetime) -> m.Notification | None:
    """Claim the message's key in a fresh transaction; None if it is already sent or a concurrent run holds it.

    A concurrent run that claimed the key first makes our insert fail (unique key) once it commits; on SQLite a stale
    read snapshot fails with "database is locked" instead. Either way: roll back and look again with fresh eyes.
    """
    for attempt in (1, 2):
        try:
            row = _claim(session, message, as_of, now)
        except (IntegrityError, OperationalError):
            session.rollback()
            if attempt == 2:
                raise
            continue
        if row is None:
            session.commit()
        return row
    return None


def _claim(session: Session, message: Outgoing, as_of: date, now: datetime) -> m.Notification | None:
    statement = select(m.Notification).where(m.Notification.idempotency_key == message.key).with_for_update()
    row = session.exec(statement).one_or_none()
    if row is not None and row.status == "sent":
        return None
    if row is None:
        row = m.Notification(idempotency_key=message.key, kind=message.kind, attempts=0, sent_at=now)
    row.grant_id, row.project_id, row.period_id = message.grant_id, message.project_id, message.period_id
    row.step, row.recipients, row.subject = message.step, message.recipients, message.subject[:250]
    row.status, row.as_of = "sending", as_of
    session.add(row)
    session.flush()
    return row
