"""Funds release: money the grant received (FundsRelease) vs when it was expected, and payments to projects.

A late release matters because the money cannot be carried forward: every day it is late comes out of the
projects' delivery windows. A project is due its payment `project_payment_days` after the council has the grant's
money; until then its missing money is the grant's late release (one cause). Recording releases and payments is
validated here (amount positive and exact to the penny, grant and project known, no duplicate, never more than the
award or the allocation).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlmodel import Session, func, select

from grants.kernel import audit
from grants.kernel import models as m
from grants.kernel.dates import short_date
from grants.kernel.errors import GrantsError, InputError
from grants.kernel.money import format_gbp, from_pence, to_decimal, to_pence
from grants.monitoring.ledger import Ledger, totals
from grants.programme.lookup import find_grant, find_project
from grants.programme.periods import days_text
from grants.programme.thresholds import MonitoringRules, percent


@dataclass(frozen=True)
class FundsCheck:
    """Money in (grant) or money out (project) as of a date, with days late and what is outstanding."""

    expected: date | None
    due_amount: int
    received: int
    first_received: date | None
    days_late: int
    outstanding: int
    window_days_left: int
    window_days: int
    late: bool
    reason: str

    @property
    def window_left_pct(self) -> Decimal:
        return percent(self.window_days_left, self.window_days) if self.window_days else Decimal(0)


def _days_late(expected: date | None, first: date | None, as_of: date, grace: int) -> tuple[int, bool]:
    """(days late, still missing): money not received by expected + grace is late until it arrives."""
    if expected is None:
        return 0, False
    if first is not None:
        return max((first - expected).days, 0), False
    late = as_of > expected + timedelta(days=grace)
    return (max((as_of - expected).days, 0), True) if late else (0, False)


def grant_funds(grant: m.Grant, received: int, first: date | None, as_of: date, rules: MonitoringRules) -> FundsCheck:
    """The grant's funds release: expected date vs releases recorded by `as_of`."""
    days, missing = _days_late(grant.expected_funds_release, first, as_of, rules.funds_release_grace_days)
    outstanding = max(grant.amount_pence - received, 0)
    window = (grant.spend_by - grant.start).days + 1
    left = max((grant.spend_by - max(as_of, grant.start)).days + 1, 0) if missing else window
    confirmed = grant.conditions_confirmed  # a day after `as_of` was not known then: not confirmed yet
    conditions = ("" if confirmed is None else f"; conditions confirmed {short_date(confirmed)}"
                  if confirmed <= as_of else "; conditions not confirmed yet")
    if grant.expected_funds_release is None:
        reason = f"Received {format_gbp(received, pence=True)} of {format_gbp(grant.amount_pence, pence=True)}"
    elif missing:
        reason = (f"Funds expected {short_date(grant.expected_funds_release)}: {format_gbp(received, pence=True)} "
                  f"of {format_gbp(grant.amount_pence, pence=True)} received by {short_date(as_of)} "
                  f"({days_text(days)} late"
                  f"{conditions}); {format_gbp(outstanding, pence=True)} outstanding")
    elif first is not None:
        when = f"{days_text(days)} late" if days else "on time"
        reason = (f"Funds received {short_date(first)} ({when}, expected {short_date(grant.expected_funds_release)}): "
                  f"{format_gbp(received, pence=True)} of {format_gbp(grant.amount_pence, pence=True)}")
    else:
        reason = f"Funds expected {short_date(grant.expected_funds_release)}"
    return FundsCheck(grant.expected_funds_release, grant.amount_pence, received, first, days, outstanding, left,
                      window, missing, reason)


def payment_due(expected: date | None, grant_received: date | None, rules: MonitoringRules) -> date | None:
    """The day a project should be paid by. Until the council has the grant's money, the grant's expected release
    date: the project's money is late with the grant's (one cause, raised on the grant). Once it has, the council has
    `project_payment_days` from the expected date or the day the money arrived, whichever is later."""
    if expected is None or grant_received is None:
        return expected
    return max(expected, grant_received) + timedelta(days=rules.project_payment_days)


def project_funds(project: m.Project, expected: date | None, paid: int, first: date | None, as_of: date,
                  rules: MonitoringRules, grant_received: date | None = None) -> FundsCheck:
    """Payments to one project: none by its payment date (`payment_due`) is late. `expected` is the grant's expected
    release date and `grant_received` the day the grant's money first arrived (None: not yet)."""
    pay_by = payment_due(expected, grant_received, rules)
    grace = rules.funds_release_grace_days if grant_received is None else 0
    days, missing = _days_late(pay_by, first, as_of, grace)
    window = (project.delivery_end - project.delivery_start).days + 1
    from_day = first if first is not None else as_of
    left = max((project.delivery_end - max(from_day, project.delivery_start)).days + 1, 0)
    left = min(left, window)
    outstanding = max(project.allocation_pence - paid, 0)
    share = f"{left} of {window} days ({percent(left, window) if window else 0}%) of the delivery window"
    if missing and pay_by is not None and grant_received is None:
        reason = (f"No payment by {short_date(as_of)} ({days_text(days)} after funds were expected "
                  f"{short_date(pay_by)}; the council has not received them yet): "
                  f"{format_gbp(outstanding, pence=True)} outstanding; {share} left")
    elif missing and pay_by is not None and grant_received is not None:
        reason = (f"Not paid by {short_date(pay_by)} ({days_text(days)} late; the grant's funds were received "
                  f"{short_date(grant_received)}): {format_gbp(outstanding, pence=True)} outstanding; {share} left")
    elif first is not None:
        after = max((first - expected).days, 0) if expected is not None else 0
        when = f"{days_text(after)} after funds were expected" if after else "on time"
        reason = (f"Paid {format_gbp(paid, pence=True)} of {format_gbp(project.allocation_pence, pence=True)}, "
                  f"first on {short_date(first)} ({when}); {share} left then")
    else:
        due = f" by {short_date(pay_by)}" if pay_by is not None and grant_received is not None else ""
        reason = f"No payment yet; {format_gbp(outstanding, pence=True)} to pay{due}"
    return FundsCheck(pay_by, project.allocation_pence, paid, first, days, outstanding, left, window, missing,
                      reason)


def funds_checks(ledger: Ledger, rules: dict[int, MonitoringRules]) -> tuple[dict[int, FundsCheck],
                                                                                dict[int, FundsCheck]]:
    """({grant_id: FundsCheck}, {project_id: FundsCheck}) as of the ledger's date."""
    received = totals(ledger.releases, "grant_id", "received_on")
    paid = totals(ledger.payments, "project_id", "paid_on")
    grants = {g.id: g for g in ledger.grants}
    grant_out = {}
    for grant_id, grant in grants.items():
        assert grant_id is not None
        amount, first = received.get(grant_id, (0, None))
        grant_out[grant_id] = grant_funds(grant, amount, first, ledger.as_of, rules[grant_id])
    project_out = {}
    for project in ledger.projects:
        assert project.id is not None
        amount, first = paid.get(project.id, (0, None))
        expected = grants[project.grant_id].expected_funds_release
        project_out[project.id] = project_funds(project, expected, amount, first, ledger.as_of,
                                                rules[project.grant_id], received.get(project.grant_id, (0, None))[1])
    return grant_out, project_out


def _not_long_before(grant: m.Grant, day: date, field: str) -> None:
    """Money moves around the grant's own dates: a day over a year before it starts is a mistyped year."""
    if day < grant.start - timedelta(days=366):
        raise InputError(field, f"{short_date(day)} is over a year before {grant.reference} starts "
                                f"({short_date(grant.start)}): check the year")


POUNDS_AS_WRITTEN = re.compile(r"£?\s*(\d{1,3}(,\d{3})+|\d+)(\.\d+)?")


def _amount(text: str) -> int:
    """Pounds as officers type them: 7500, 7500.00, £7,500 or £7,500.00 (commas only between thousands)."""
    if not str(text).strip():
        raise GrantsError("Enter the amount, in pounds (for example 1250.00)")
    plain = str(text).strip()
    if POUNDS_AS_WRITTEN.fullmatch(plain):
        plain = plain.lstrip("£").strip().replace(",", "")
    try:
        amount = to_decimal(plain)
    except ValueError as exc:
        raise GrantsError(f"amount {exc}") from None
    if amount <= 0:
        raise GrantsError(f"amount must be positive (got {text})")
    return to_pence(amount)


def record_release(session: Session, reference: str, amount: str, received_on: date, recorded_at: datetime,
                   note: str = "", *, actor: str) -> m.FundsRelease:
    """Record money received for a grant (audited); refuses duplicates and releases beyond the award."""
    grant, pence = find_grant(session, reference), _amount(amount)
    _not_long_before(grant, received_on, "received_on")
    so_far = session.exec(select(func.coalesce(func.sum(m.FundsRelease.amount_pence), 0))
                          .where(m.FundsRelease.grant_id == grant.id)).one()
    if session.exec(select(m.FundsRelease).where(m.FundsRelease.grant_id == grant.id,
                                                 m.FundsRelease.amount_pence == pence,
                                                 m.FundsRelease.received_on == received_on)).first():
        raise GrantsError(f"a release of {format_gbp(pence, pence=True)} on {received_on} is already recorded "
                          f"for {reference}")
    if so_far + pence > grant.amount_pence:
        raise GrantsError(f"releases would total {format_gbp(from_pence(so_far + pence))}, more than the "
                          f"{format_gbp(from_pence(grant.amount_pence))} award of {reference}")
    assert grant.id is not None
    row = m.FundsRelease(grant_id=grant.id, amount_pence=pence, received_on=received_on, note=note,
                         recorded_at=recorded_at)
    session.add(row)
    session.flush()
    audit.record(session, actor=actor, action="release.record", at=recorded_at, subject=reference,
                 before={"received": from_pence(so_far)},
                 after={"received": from_pence(so_far + pence), "amount": from_pence(pence), "on": received_on,
                        "note": note}, grant_id=grant.id)
    return row


def record_payment(session: Session, code: str, amount: str, paid_on: date, recorded_at: datetime, *,
                   actor: str, grant_reference: str | None = None, reference: str = "") -> m.Payment:
    """Record a payment to a project (audited); refuses duplicates and payments beyond the allocation."""
    project, pence = find_project(session, code, grant_reference), _amount(amount)
    grant = session.get(m.Grant, project.grant_id)
    if grant is not None:
        _not_long_before(grant, paid_on, "paid_on")
    so_far = session.exec(select(func.coalesce(func.sum(m.Payment.amount_pence), 0))
                          .where(m.Payment.project_id == project.id)).one()
    if session.exec(select(m.Payment).where(m.Payment.project_id == project.id, m.Payment.amount_pence == pence,
                                            m.Payment.paid_on == paid_on, m.Payment.reference == reference)).first():
        raise GrantsError(f"a payment of {format_gbp(pence, pence=True)} on {paid_on} is already recorded for {code}")
    if so_far + pence > project.allocation_pence:
        raise GrantsError(f"payments would total {format_gbp(from_pence(so_far + pence))}, more than the "
                          f"{format_gbp(from_pence(project.allocation_pence))} allocation of {code}")
    assert project.id is not None
    row = m.Payment(project_id=project.id, amount_pence=pence, paid_on=paid_on, reference=reference,
                    recorded_at=recorded_at)
    session.add(row)
    session.flush()
    audit.record(session, actor=actor, action="payment.record", at=recorded_at, subject=code,
                 before={"paid": from_pence(so_far)},
                 after={"paid": from_pence(so_far + pence), "amount": from_pence(pence), "on": paid_on,
                        "reference": reference}, grant_id=project.grant_id, project_id=project.id)
    return row
