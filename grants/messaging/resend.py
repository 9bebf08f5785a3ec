"""Sending a message again on an officer's request (the project page's "Send again", `grants message resend ID`).

The rule, by kind:
- chase steps (`chase-*`: return packs, reminders, overdue chasers, escalations) are re-rendered for today: the
  lead's current due date (an extension moves it), today's working days overdue, the lead's current portal link,
  and a freshly built pre-filled workbook when the step carries one (a pack, or a catch-up chaser that carried it);
- every other kind (receipts, rejections, quarantine notices, answers to emails, officer-mail messages, digests)
  goes again as it was sent: the kept copy (grants/messaging/copies.py) to the same people, with the same
  attachments and threading, its subject starting "Copy: " and a first line saying when it was first sent. An
  officer-mail notice sends again the one message it went in (with the other notices of that message). A message
  sent before copies were kept cannot go again this way and is refused, saying so.

Sending again a message that was itself sent again sends the original again. Each send has its own idempotency key
(`<original key>:resend:<n>`) and Notification row (with its status and its own copy), and one audit entry
(`message.resend`: who, when, what, before and after, with the outcome), the same from the web app and the CLI.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path

from sqlmodel import Session, col, select

from grants.kernel import audit
from grants.kernel import models as m
from grants.kernel.errors import GrantsError, NotFoundError
from grants.kernel.settings import get_settings
from grants.messaging import copies
from grants.messaging.chase_plan import DueStep, calendar_of, ladder_of
from grants.messaging.chasing import PackBuilder, _context, _message
from grants.messaging.notify import Address, Outgoing, Sender, already_sent, record_failed, send_once
from grants.messaging.portal import portal_link
from grants.programme.ladder import StepKind
from grants.programme.overrides import due_overrides

NO_COPY = ("this message was sent before copies of messages were kept, so there is no copy to send again; write to "
           "{to} yourself, or wait for the next message of its kind")


@dataclass(frozen=True)
class Resent:
    """What became of one message sent again: its key, status ('sent', 'failed' or 'skipped' when the same
    resend is already being sent), the channels' error when it failed, who it went to, and how it was made."""

    key: str
    status: str
    error: str
    recipients: str
    how: str  # "the same copy" or "re-rendered for today"


def resend(session: Session, notification_id: int, sender: Sender, *, as_of: date, now: datetime, actor: str,
           return_to: str, pack_builder: PackBuilder | None = None, packs_dir: Path | None = None) -> Resent:
    """Send a logged message again now (see the module docstring for what goes), log it and audit it. A channel
    that fails is logged and returned as 'failed' (with its cause), not raised; GrantsError when it cannot be sent
    again at all (no copy kept, a kept attachment gone)."""
    original = _original(session, notification_id)
    copy = session.get(m.MessageCopy, original.copy_id) if original.copy_id is not None else None
    key = _next_key(session, original.idempotency_key)
    if original.kind.startswith("chase-"):
        how, message = "re-rendered for today", _today(session, original, copy, as_of, now, return_to)
        built = _with_pack(session, message, copy, pack_builder, packs_dir or get_settings().data_dir / "packs",
                           return_to)
    elif copy is None:
        raise GrantsError(NO_COPY.format(to=original.recipients or "them"))
    else:
        how, message = "the same copy", _same_copy(original, copy, now)
        built = message
    message = replace(message, key=key)
    status = (send_once(session, replace(built, key=key), sender, as_of, now) if isinstance(built, Outgoing) else
              record_failed(session, message, as_of, now, built))
    row = session.exec(select(m.Notification).where(m.Notification.idempotency_key == key)).one()
    audit.record(session, actor=actor, action="message.resend", at=now, subject=_about(session, original),
                 before={"message": original.idempotency_key, "kind": original.kind, "status": original.status,
                         "sent_at": original.sent_at},
                 after={"message": key, "to": message.recipients, "how": how, "status": status, "error": row.error},
                 grant_id=original.grant_id, project_id=original.project_id)
    session.commit()
    return Resent(key, status, row.error, message.recipients, how)


def _original(session: Session, notification_id: int) -> m.Notification:
    """The message to send again: the logged one, or for a message that was itself a resend, the original."""
    row = session.get(m.Notification, notification_id)
    if row is None:
        raise NotFoundError(f"no message {notification_id}")
    root = row.idempotency_key.split(":resend:", 1)[0]
    if root != row.idempotency_key:
        found = session.exec(select(m.Notification).where(m.Notification.idempotency_key == root)).one_or_none()
        return found or row
    return row


def _next_key(session: Session, key: str) -> str:
    earlier = session.exec(select(m.Notification.idempotency_key).where(
        col(m.Notification.idempotency_key).startswith(f"{key}:resend:", autoescape=True))).all()
    return f"{key}:resend:{len(earlier) + 1}"


def _about(session: Session, row: m.Notification) -> str:
    """The audit entry's subject: the message, and the project and quarter it is about when it has them."""
    project = session.get(m.Project, row.project_id) if row.project_id is not None else None
    period = session.get(m.ReportingPeriod, row.period_id) if row.period_id is not None else None
    where = " ".join(x for x in (project.code if project else "", period.label if period else "") if x)
    return f"message {row.id}: {row.kind} {row.step}".strip() + (f" ({where})" if where else "")


def _same_copy(original: m.Notification, copy: m.MessageCopy, now: datetime) -> Outgoing:
    """The kept copy as it goes out again: same people, tags, attachments (still the same files) and threading."""
    subject, text, html = copies.marked(copy, now, delivered=original.status == "sent")
    return Outgoing(
        key=original.idempotency_key, kind=original.kind, subject=subject, text=text, html=html,
        to=tuple(Address(n, e) for n, e in copies.addresses(copy.to_json)),
        cc=tuple(Address(n, e) for n, e in copies.addresses(copy.cc_json)),
        tags=frozenset(copies.tags(copy)), attachments=tuple(a.check() for a in copies.attachments(copy)),
        grant_id=original.grant_id, project_id=original.project_id, period_id=original.period_id,
        step=original.step, created=now, in_reply_to=copy.in_reply_to, references=tuple(copy.thread_references.split()))


def _today(session: Session, original: m.Notification, copy: m.MessageCopy | None, as_of: date, now: datetime,
           return_to: str) -> Outgoing:
    """A chase step re-rendered for today, to the lead alone as the step first went (the lead's current due date;
    `with_pack` when the step first carried the workbook)."""
    if original.project_id is None or original.period_id is None:
        raise GrantsError(f"message {original.id} is not about a project's return")
    project, period = session.get(m.Project, original.project_id), session.get(m.ReportingPeriod, original.period_id)
    grant = session.get(m.Grant, project.grant_id) if project else None
    if project is None or period is None or grant is None:
        raise NotFoundError(f"message {original.id} is about a project that is gone")
    due = due_overrides(session, grant.id).get((original.project_id, original.period_id), period.due)
    period = m.ReportingPeriod(**(period.model_dump() | {"due": due}))
    ladder, calendar = ladder_of(grant), calendar_of(grant)
    step = next((s for s in ladder.steps(period.end, due, calendar) if s.name == original.step), None)
    if step is None:
        raise GrantsError(f"the step '{original.step}' is no longer on the grant's chase ladder")
    officers = {o.key: o for o in session.exec(select(m.Officer).where(m.Officer.grant_id == grant.id))}
    carried = copy is not None and copies.attachments(copy) != [] and step.kind != StepKind.return_pack
    planned = DueStep(original.project_id, original.period_id, step, step.day < as_of, carried)
    context = _context(grant, project, period, officers, planned, ladder, calendar, already_sent(session), as_of)
    context |= {"return_to": return_to, "rejected": False, "portal_link": portal_link(session, project, now)}
    return _message(grant, project, period, officers, planned, context, now, lead_only=True)


def _with_pack(session: Session, message: Outgoing, copy: m.MessageCopy | None, pack_builder: PackBuilder | None,
               packs_dir: Path, return_to: str) -> Outgoing | str:
    """The message with a freshly built pre-filled workbook when its step carries one; the error text if the
    workbook cannot be built (the resend is then logged as failed with it)."""
    needs = message.kind == f"chase-{StepKind.return_pack.value}" or (
        copy is not None and copies.attachments(copy) != [])
    if not needs or message.project_id is None or message.period_id is None:
        return message
    try:
        packs_dir.mkdir(parents=True, exist_ok=True)
        build = pack_builder or _signed_pack(return_to)
        workbook = build(session, message.project_id, message.period_id, packs_dir)
    except Exception as exc:
        session.rollback()
        return f"pre-filled workbook not built: {type(exc).__name__}: {exc}"[:500]
    return replace(message, attachments=(workbook,))


def _signed_pack(return_to: str) -> PackBuilder:
    """The return workbook writer signed with the installation's key (what the chase run attaches)."""
    from grants.returns.writer import write_return_workbook

    def build(session: Session, project_id: int, period_id: int, out_dir: Path) -> Path:
        return write_return_workbook(session, project_id, period_id, out_dir, get_settings().signing_secret(),
                                     return_to=return_to or None)
    return build
