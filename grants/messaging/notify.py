"""Sending a message exactly once: the outgoing message, the channel protocol, bounded retries, and the
Notification log.

For each message, three steps and never a transaction open while a channel is slow: claim its idempotency key in one
short transaction (the row becomes `sending`), deliver it on every channel with no transaction open (each retried up
to `attempts` times), then record `sent` or `failed` in another short transaction. The row remembers which channels
took the message, so a later run retries a `failed` message only on the channels that failed, and links to the copy
of what was sent (grants/messaging/copies.py), so an officer can send it again. A `sent` row is never
sent again; a `sending` row is another run's (or, once older than CLAIM_LEASE, a crashed run's, and claimed again).
Only redacted channel descriptions and exception class names are stored or logged, never a URL with a secret.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, col, select

from grants.kernel import models as m
from grants.messaging import copies
from grants.programme.status import received_on

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
    in_reply_to: str = ""  # a well-formed <id@domain> of the email this answers, so it threads
    references: tuple[str, ...] = ()

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
    """What happened to one message on all its channels: which took it, and each failure as `channel: cause`."""

    ok: bool
    attempts: int
    errors: tuple[str, ...] = ()
    delivered: tuple[str, ...] = ()


@dataclass
class Sender:
    """Delivers a message on every channel that accepts it, retrying each a bounded number of times."""

    channels: Sequence[Channel]
    attempts: int = 3
    retry_delay_seconds: float = 0.0
    descriptions: list[str] = field(init=False)

    def __post_init__(self) -> None:
        self.descriptions = [c.description for c in self.channels]

    def deliver(self, message: Outgoing, skip: frozenset[str] = frozenset()) -> Delivery:
        """Deliver on every channel that accepts the message, except those in `skip` (they took it before)."""
        total, errors, delivered = 0, [], []
        for channel in self.channels:
            if not channel.accepts(message) or channel.description in skip:
                continue
            used, error = self._one_channel(channel, message)
            total += used
            if error:
                errors.append(error)
            else:
                delivered.append(channel.description)
        return Delivery(not errors, max(total, 1), tuple(errors), tuple(delivered))

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


CLAIM_LEASE = timedelta(minutes=30)
"""How long a `sending` claim is another run's; after that its run is taken to have crashed and the key is free."""


def send_once(session: Session, message: Outgoing, sender: Sender, as_of: date, now: datetime) -> str:
    """Send a message unless its key is already recorded as sent or another run is sending it. Returns the row's
    status ('sent' or 'failed'), or 'skipped'. No transaction is open while the channels deliver."""
    skip = claim(session, message, as_of, now)
    if skip is None:
        return "skipped"
    delivery = sender.deliver(message, skip)
    status = record(session, message.key, delivery, now, message)
    if status != "sent":
        log.error("%s to %s failed after retries: %s", message.key, message.recipients, "; ".join(delivery.errors))
    return status


def record(session: Session, key: str, delivery: Delivery, now: datetime, sent: Outgoing | None = None) -> str:
    """Record a delivery's outcome on its claimed row in one short transaction, with the copy of what was `sent`;
    returns 'sent' or 'failed'."""
    row = session.exec(select(m.Notification).where(m.Notification.idempotency_key == key)).one()
    if sent is not None:
        row.copy_id = copies.keep(session, sent, now)
    delivered = sorted(set(json.loads(row.delivered_json or "[]")) | set(delivery.delivered))
    row.status = "sent" if delivery.ok else "failed"
    row.attempts += delivery.attempts
    row.error = "; ".join(delivery.errors)
    row.sent_at, row.delivered_json = now, json.dumps(delivered)
    session.add(row)
    session.commit()
    return row.status


def record_failed(session: Session, message: Outgoing, as_of: date, now: datetime, error: str) -> str:
    """Log a message that could not even be prepared (e.g. its attachment failed) as failed; a later run retries."""
    if claim(session, message, as_of, now) is None:
        return "skipped"
    log.error("%s to %s not sent: %s", message.key, message.recipients, error)
    return record(session, message.key, Delivery(False, 1, (error,)), now, message)


def failures(session: Session, keys: Sequence[str]) -> list[tuple[str, str]]:
    """(key, error) of the messages among `keys` whose last attempt failed, in key order."""
    rows = session.exec(select(m.Notification.idempotency_key, m.Notification.error).where(
        col(m.Notification.idempotency_key).in_(list(keys)), m.Notification.status == "failed"))
    out = sorted((key, error) for key, error in rows)
    session.commit()
    return out


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def claim(session: Session, message: Outgoing, as_of: date, now: datetime) -> frozenset[str] | None:
    """Claim the message's key in one short committed transaction; returns the channels that already took it (to
    skip), or None if it is sent or another run holds a fresh claim. A concurrent insert of the same key fails on the
    unique key (or, on SQLite, with "database is locked" on a stale snapshot): roll back and look again."""
    for attempt in (1, 2):
        try:
            taken = _claim(session, message, as_of, now)
            session.commit()
            return taken
        except (IntegrityError, OperationalError):
            session.rollback()
            if attempt == 2:
                raise
    return None


def claim_all(session: Session, messages: Sequence[Outgoing], as_of: date, now: datetime
              ) -> dict[str, frozenset[str] | None]:
    """Claim several keys in one short committed transaction (one person's notices of a run): {key: the channels
    that already took it, or None if it is sent or another run holds a fresh claim}."""
    for attempt in (1, 2):
        try:
            taken = {message.key: _claim(session, message, as_of, now) for message in messages}
            session.commit()
            return taken
        except (IntegrityError, OperationalError):
            session.rollback()
            if attempt == 2:
                raise
    return {}


def record_all(session: Session, deliveries: dict[str, Delivery], now: datetime, sent: Outgoing | None = None
               ) -> dict[str, str]:
    """Record several claimed keys' outcomes in one short transaction, each linked to the one copy of what was
    `sent` (the message that carried them all); {key: 'sent' or 'failed'}."""
    rows = session.exec(select(m.Notification).where(col(m.Notification.idempotency_key).in_(list(deliveries))))
    copy_id = copies.keep(session, sent, now) if sent is not None else None
    out = {}
    for row in rows:
        row.copy_id = copy_id if copy_id is not None else row.copy_id
        delivery = deliveries[row.idempotency_key]
        row.delivered_json = json.dumps(sorted(set(json.loads(row.delivered_json or "[]")) | set(delivery.delivered)))
        row.status = "sent" if delivery.ok else "failed"
        row.attempts += delivery.attempts
        row.error, row.sent_at = "; ".join(delivery.errors), now
        session.add(row)
        out[row.idempotency_key] = row.status
    session.commit()
    return out


def _claim(session: Session, message: Outgoing, as_of: date, now: datetime) -> frozenset[str] | None:
    row = session.exec(select(m.Notification).where(m.Notification.idempotency_key == message.key)).one_or_none()
    fields: dict[str, Any] = {
        "grant_id": message.grant_id, "project_id": message.project_id, "period_id": message.period_id,
        "step": message.step, "recipients": message.recipients, "subject": message.subject[:250],
        "status": "sending", "as_of": as_of, "sent_at": now}
    if row is None:
        session.add(m.Notification(idempotency_key=message.key, kind=message.kind, attempts=0, **fields))
        session.flush()
        return frozenset()
    if row.status == "sent" or (row.status == "sending" and _utc(row.sent_at) > _utc(now) - CLAIM_LEASE):
        return None
    # take it only if nobody else changed it since we read it: a compare-and-set on status and claim time
    taken = session.execute(update(m.Notification).where(
        col(m.Notification.id) == row.id, col(m.Notification.status) == row.status,
        col(m.Notification.sent_at) == row.sent_at).values(**fields))
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return frozenset(json.loads(row.delivered_json or "[]"))


def send_each(session: Session, ids: Sequence[int], build: Callable[[int], Outgoing | None], sender: Sender,
              now: datetime, *, dry_run: bool = False) -> dict[int, str]:
    """Send the message `build` makes for each id once (send_once); {id: 'sent' | 'failed' | 'skipped' | 'planned'
    (dry run) | 'no reply' (nothing to send for it)}. Receipts, rejections and quarantine replies share this."""
    as_of = received_on(now)
    out: dict[int, str] = {}
    for key in ids:
        message = build(key)
        if message is None:
            out[key] = "no reply"
        else:
            out[key] = "planned" if dry_run else send_once(session, message, sender, as_of, now)
    return out
