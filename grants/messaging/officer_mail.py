"""One message per officer per run: every officer-facing notice of a run (copies of overdue chasers, escalations,
risk alerts, the funder releasing money late) goes to each person as one email grouped by cause.

A notice is one thing one person should hear about (a chase step for a project's return, a risk that opened or
turned red). Each has its own Notification row, keyed `to:<email>:<cause key>` (the cause key being the chase step's
`chase:<project>:<period>:<step>` or the alert's `risk:<risk>:<first seen>:<rag>`), which records the channels that
took it. A run claims its notices, renders for each channel the notices that channel has not taken yet (usually all
of them, as one message), delivers with no transaction open and records each notice. A notice that failed is not
sent: the sources plan it again on the next working day's run, when it is rebuilt from that day's facts (a return
that arrived meanwhile drops out, the days overdue are that day's) and goes in that run's message, only on the
channels that did not take it. Nothing goes to officers on a weekend, bank holiday or closure day of the grant.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlmodel import Session, col, select

from grants.kernel import models as m
from grants.messaging.messages import render
from grants.messaging.notify import Address, Delivery, Outgoing, Sender, claim_all, record_all

CAUSE_ORDER = ("Returns escalated to you", "Returns escalated to your team", "Returns overdue: the lead was chased",
               "Funds released late", "Returns overdue", "Returns rejected", "Overspend", "Forecast underspend",
               "Outputs behind trajectory", "Milestones overdue", "No sustainability plan", "Funding ends soon")


@dataclass(frozen=True)
class Notice:
    """One thing one person should hear about in this run: its cause (the heading it goes under), what it is about
    in one line, and any further lines (an escalation's history and the suggested next step)."""

    cause_key: str
    cause: str
    recipient: Address
    tag: str  # "officers" or "managers": which channels (by Apprise tag) carry it
    line: str
    details: tuple[str, ...] = ()
    grant_id: int | None = None
    project_id: int | None = None
    period_id: int | None = None
    step: str = ""
    subject_hint: str = field(default="", compare=False)
    folded: bool = False  # said by another notice in the same message (a late-return risk by the escalation)

    @property
    def key(self) -> str:
        return notice_key(self.recipient.email, self.cause_key)


def notice_key(email: str, cause_key: str) -> str:
    """The idempotency key of one notice to one person."""
    return f"to:{email.lower()}:{cause_key}"


def cause_key_of(key: str) -> str:
    """The cause key a Notification key is about: `chase:1:2:overdue-1` for itself or for `to:<email>:chase:...`."""
    if key.startswith("to:"):
        parts = key.split(":", 2)
        return parts[2] if len(parts) == 3 else key
    return key


def named_in(recipients: str) -> set[str]:
    """The addresses a Notification row's `recipients` names ('a@x, b@y; cc c@z')."""
    out = set()
    for part in recipients.replace(";", ",").split(","):
        word = part.strip().removeprefix("cc ").strip().lower()
        if word:
            out.add(word)
    return out


def sent_to(rows: Iterable[tuple[str, str]]) -> dict[str, set[str]]:
    """{email: cause keys sent to that person} from sent Notification rows (key, recipients). A row counts for every
    address it names, so a message sent before bundling (to a lead, copying the officer) counts for the officer."""
    out: dict[str, set[str]] = defaultdict(set)
    for key, recipients in rows:
        for email in named_in(recipients):
            out[email].add(cause_key_of(key))
    return out


@dataclass(frozen=True)
class NoticeOutcome:
    """What became of one notice: the message it went in (one per person per run) and its status."""

    notice: Notice
    message: Outgoing
    status: str


def _sort_key(notice: Notice) -> tuple[int, str, str]:
    order = CAUSE_ORDER.index(notice.cause) if notice.cause in CAUSE_ORDER else len(CAUSE_ORDER)
    return order, notice.cause, notice.line


def bundle(notices: Sequence[Notice], grant_names: dict[int, str], as_of: date, now: datetime) -> Outgoing:
    """The one message to one person for these notices, grouped by cause (folded notices are recorded with it but
    not listed: another notice says it)."""
    ordered = sorted([n for n in notices if not n.folded] or notices, key=_sort_key)
    groups: dict[str, list[Notice]] = {}
    for notice in ordered:
        groups.setdefault(notice.cause, []).append(notice)
    grants = sorted({grant_names.get(n.grant_id or 0, "") for n in ordered} - {""})
    first = ordered[0]
    context = {"groups": list(groups.items()), "count": len(ordered), "as_of": as_of, "name": first.recipient.name,
               "grant_name": " and ".join(grants) or "grant", "single": first.subject_hint if len(ordered) == 1 else ""}
    rendered = render("officer_mail", context)
    grant_ids = {n.grant_id for n in ordered}
    return Outgoing(
        key=f"officer-mail:{first.recipient.email.lower()}:{as_of.isoformat()}:{_digest(notices)}", kind="officer-mail",
        subject=rendered.subject, text=rendered.text, html=rendered.html, to=(first.recipient,),
        tags=frozenset(n.tag for n in ordered), grant_id=grant_ids.pop() if len(grant_ids) == 1 else None,
        step=f"{len(ordered)} notices", created=now)


def _digest(notices: Sequence[Notice]) -> str:
    return hashlib.sha256("\n".join(sorted(n.key for n in notices)).encode()).hexdigest()[:10]


def _shadow(notice: Notice, subject: str) -> Outgoing:
    """The Notification row's view of one notice (what claim and record store)."""
    return Outgoing(key=notice.key, kind="officer-mail", subject=subject, text="", html="", to=(notice.recipient,),
                    tags=frozenset({notice.tag}), grant_id=notice.grant_id, project_id=notice.project_id,
                    period_id=notice.period_id, step=notice.step)


def _grant_names(session: Session, notices: Sequence[Notice]) -> dict[int, str]:
    ids = {n.grant_id for n in notices if n.grant_id is not None}
    return {g.id or 0: g.name for g in session.exec(select(m.Grant).where(col(m.Grant.id).in_(list(ids))))}


def send_notices(session: Session, notices: Sequence[Notice], sender: Sender, as_of: date, now: datetime, *,
                 dry_run: bool = False) -> list[NoticeOutcome]:
    """Send each person one message with their notices, grouped by cause; each notice at most once per channel."""
    unique = {n.key: n for n in notices}
    per_person: dict[str, list[Notice]] = defaultdict(list)
    for notice in unique.values():
        per_person[notice.recipient.email.lower()].append(notice)
    names = _grant_names(session, list(unique.values()))
    session.commit()
    out: list[NoticeOutcome] = []
    for email in sorted(per_person):
        mine = per_person[email]
        message = bundle(mine, names, as_of, now)
        if dry_run:
            out += [NoticeOutcome(n, message, "planned") for n in mine]
            continue
        out += _send_one_person(session, mine, message, names, sender, as_of, now)
    return out


def _send_one_person(session: Session, notices: list[Notice], message: Outgoing, names: dict[int, str],
                     sender: Sender, as_of: date, now: datetime) -> list[NoticeOutcome]:
    """Claim the person's notices, send each channel the ones it lacks (one message per distinct set), record."""
    claimed = claim_all(session, [_shadow(n, message.subject) for n in notices], as_of, now)
    mine = [n for n in notices if claimed.get(n.key) is not None]
    skipped = [NoticeOutcome(n, message, "skipped") for n in notices if claimed.get(n.key) is None]
    if not mine:
        return skipped
    needs: dict[tuple[str, ...], list[str]] = defaultdict(list)  # the notices a channel lacks -> those channels
    for channel in sender.channels:
        if not channel.accepts(message):
            continue
        keys = tuple(n.key for n in mine if channel.description not in (claimed[n.key] or frozenset()))
        if keys:
            needs[keys].append(channel.description)
    deliveries: dict[str, list[Delivery]] = defaultdict(list)
    sent_message = bundle(mine, names, as_of, now) if len(mine) != len(notices) else message
    for keys, channels in needs.items():
        part = [n for n in mine if n.key in keys]
        body = sent_message if len(part) == len(mine) else bundle(part, names, as_of, now)
        delivery = sender.deliver(body, frozenset(sender.descriptions) - frozenset(channels))
        for key in keys:
            deliveries[key].append(delivery)
    statuses = record_all(session, {n.key: _merge(deliveries.get(n.key, [])) for n in mine}, now, sent_message)
    return skipped + [NoticeOutcome(n, sent_message, statuses[n.key]) for n in mine]


def _merge(deliveries: list[Delivery]) -> Delivery:
    if not deliveries:  # every channel took it before
        return Delivery(True, 1)
    return Delivery(all(d.ok for d in deliveries), sum(d.attempts for d in deliveries),
                    tuple(e for d in deliveries for e in d.errors), tuple(c for d in deliveries for c in d.delivered))
