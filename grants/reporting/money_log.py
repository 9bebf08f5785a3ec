"""Funds received and payments made as officers read them: each with who recorded it and when, from the audit entry
that grants.monitoring.funds wrote with it (the same for the web app and the CLI)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlmodel import Session, col, select

from grants.kernel import audit
from grants.kernel import models as m
from grants.kernel.money import from_pence


@dataclass(frozen=True)
class MoneyRecord:
    """A funds release (`reference` is its note) or a payment, with who recorded it ('' when no entry says)."""

    day: date
    amount: Decimal
    reference: str
    recorded_at: datetime
    recorded_by: str


def _who(entries: list[audit.AuditRow], keyed: str) -> dict[tuple[int | None, str, str, str], str]:
    """{(grant or project id, amount, day, reference or note): actor}: the entry's own record of what was recorded
    (funds.py refuses a second row with the same key, so the key names one row)."""
    out: dict[tuple[int | None, str, str, str], str] = {}
    for e in reversed(entries):  # oldest first: the first recording wins
        owner = e.project_id if keyed == "project" else e.grant_id
        key = (owner, str(e.after.get("amount", "")), str(e.after.get("on", "")),
               str(e.after.get("reference" if keyed == "project" else "note", "")))
        out.setdefault(key, e.actor)
    return out


def payments_of(session: Session, project_id: int, as_of: date) -> list[MoneyRecord]:
    """The project's payments paid by `as_of`, oldest first."""
    rows = session.exec(select(m.Payment).where(m.Payment.project_id == project_id, m.Payment.paid_on <= as_of)
                        .order_by(col(m.Payment.paid_on), col(m.Payment.id)))
    who = _who(audit.entries(session, project_id=project_id, actions=("payment.record",)), "project")
    return [MoneyRecord(p.paid_on, from_pence(p.amount_pence), p.reference, p.recorded_at,
                        who.get((p.project_id, f"{from_pence(p.amount_pence):.2f}", p.paid_on.isoformat(),
                                 p.reference), "")) for p in rows]


def releases_of(session: Session, grant_id: int, as_of: date) -> list[MoneyRecord]:
    """The grant's funds releases received by `as_of`, oldest first."""
    rows = session.exec(select(m.FundsRelease).where(m.FundsRelease.grant_id == grant_id,
                                                     m.FundsRelease.received_on <= as_of)
                        .order_by(col(m.FundsRelease.received_on), col(m.FundsRelease.id)))
    who = _who(audit.entries(session, grant_id=grant_id, actions=("release.record",)), "grant")
    return [MoneyRecord(r.received_on, from_pence(r.amount_pence), r.note, r.recorded_at,
                        who.get((r.grant_id, f"{from_pence(r.amount_pence):.2f}", r.received_on.isoformat(), r.note),
                                "")) for r in rows]


def recorders(session: Session) -> dict[tuple[str, int, str, str, str], str]:
    """{("release", grant id, ...) or ("payment", project id, ...): actor} for every release and payment (exports)."""
    out: dict[tuple[str, int, str, str, str], str] = {}
    for kind, action, keyed in (("release", "release.record", "grant"), ("payment", "payment.record", "project")):
        for (owner, amount, day, ref), actor in _who(audit.entries(session, actions=(action,)), keyed).items():
            out[(kind, owner or 0, amount, day, ref)] = actor
    return out
