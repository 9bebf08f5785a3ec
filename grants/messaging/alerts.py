"""Immediate alerts to officers when a risk opens or turns red: once per change and person, never repeated daily,
and each person's alerts of a run in one message grouped by cause (grants/messaging/officer_mail.py).

A risk's episode is its key and first-seen date. The first alert of an episode goes to the responsible officers when
the risk is open (cause key `risk:<key>:<first seen>:<rag>`); one more goes if it later turns red, when their managers
hear of it too. A risk closed and reopened later is a new episode (new first-seen date) and alerts again.

Nothing goes to officers on a weekend or bank holiday (or a closure day of the grant): the alerts are held, and the
next working day's run sends whatever is still worth saying, worded for that day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session, col, or_, select

from grants.kernel import models as m
from grants.messaging.chase_plan import calendar_of
from grants.messaging.notify import Address, Outgoing, Sender
from grants.messaging.officer_mail import Notice, send_notices, sent_to


def alert_key(risk: m.Risk) -> str:
    """The idempotency key of an alert about this risk in its current RAG."""
    return f"risk:{risk.key}:{risk.first_seen.isoformat()}:{risk.rag}"


def alert_change(risk: m.Risk, sent: set[str]) -> str | None:
    """'opened', 'turned red' or None (nothing new to say) for one risk, given the alert keys already sent."""
    if risk.status != "open":
        return None
    episode = f"risk:{risk.key}:{risk.first_seen.isoformat()}:"
    if not any(key.startswith(episode) for key in sent):
        return "opened"
    if risk.rag == m.RAG.red and alert_key(risk) not in sent:
        return "turned red"
    return None


@dataclass(frozen=True)
class PlannedAlert:
    """An alert about one risk, with the message it went in (one per person per run, grouped by cause)."""

    risk: m.Risk
    change: str
    message: Outgoing


CAUSES = {"late-funds-release": "Funds released late", "late-return": "Returns overdue",
          "rejected-return": "Returns rejected", "forecast-underspend": "Forecast underspend",
          "overspend": "Overspend", "behind-trajectory": "Outputs behind trajectory",
          "milestone-overdue": "Milestones overdue", "no-sustainability-plan": "No sustainability plan",
          "funding-ends-soon": "Funding ends soon"}


def _sent_alerts(session: Session) -> dict[str, set[str]]:
    """{email: alert keys sent to that person}, counting alerts sent before bundling to everyone they named."""
    rows = session.exec(select(m.Notification.idempotency_key, m.Notification.recipients).where(
        m.Notification.status == "sent", or_(col(m.Notification.idempotency_key).startswith("risk:"),
                                             col(m.Notification.idempotency_key).contains(":risk:"))))
    return sent_to((key, recipients) for key, recipients in rows)


def _people(session: Session, risk: m.Risk, officers: dict[str, m.Officer]) -> tuple[list[m.Officer], list[m.Officer]]:
    """The officers responsible (the project's, or every active project's for a grant risk) and their managers."""
    if risk.project_id is not None:
        project = session.get(m.Project, risk.project_id)
        keys = {project.officer_key} if project else set()
    else:
        keys = set(session.exec(select(m.Project.officer_key).where(
            m.Project.grant_id == risk.grant_id, col(m.Project.active).is_(True))))
    to = [officers[k] for k in sorted(keys) if k in officers]
    managers = {o.manager_key for o in to if o.manager_key} - keys
    return to, [officers[k] for k in sorted(managers) if k in officers]


def _line(risk: m.Risk, change: str) -> tuple[str, tuple[str, ...]]:
    line = f"{risk.title}: {change}, {risk.rag.upper()} (score {risk.score})"
    return line, ((risk.evidence,) if risk.evidence else ())


def alert_notices(session: Session, as_of: date) -> list[tuple[m.Risk, str, Notice]]:
    """(risk, change, notice) for every person due an alert on `as_of`, highest score first: the officers
    responsible when a risk opens or turns red, their managers too when it is red. Held on days that are not working
    days for the grant (a weekend, bank holiday or closure day): the next working day's run sends them."""
    sent = _sent_alerts(session)
    announced = set().union(*sent.values()) if sent else set()
    out: list[tuple[m.Risk, str, Notice]] = []
    working: dict[int, bool] = {}
    officers: dict[int, dict[str, m.Officer]] = {}
    for risk in session.exec(select(m.Risk).where(m.Risk.status == "open").order_by(
            col(m.Risk.score).desc(), col(m.Risk.key))):
        if risk.grant_id not in working:
            grant = session.get(m.Grant, risk.grant_id)
            working[risk.grant_id] = grant is not None and calendar_of(grant).is_working_day(as_of)
            officers[risk.grant_id] = {o.key: o for o in session.exec(
                select(m.Officer).where(m.Officer.grant_id == risk.grant_id))}
        if not working[risk.grant_id]:
            continue
        out += _risk_notices(session, risk, officers[risk.grant_id], sent, announced)
    return out


def _risk_notices(session: Session, risk: m.Risk, officers: dict[str, m.Officer], sent: dict[str, set[str]],
                  announced: set[str]) -> list[tuple[m.Risk, str, Notice]]:
    to, managers = _people(session, risk, officers)
    people = [(o, "officers") for o in to] + [(o, "managers") for o in managers if risk.rag == m.RAG.red]
    episode = f"risk:{risk.key}:{risk.first_seen.isoformat()}:"
    out = []
    for officer, tag in people:
        mine = sent.get(officer.email.lower(), set())
        change = alert_change(risk, mine) if tag == "officers" else (
            None if alert_key(risk) in mine else
            "turned red" if any(k.startswith(episode) for k in announced) else "opened")
        if change is None:
            continue
        line, details = _line(risk, change)
        out.append((risk, change, Notice(
            alert_key(risk), CAUSES.get(risk.kind, risk.kind), Address(officer.name, officer.email), tag, line,
            details, risk.grant_id, risk.project_id, None, change,
            subject_hint=f"Risk {change} ({risk.rag.upper()}, score {risk.score}): {risk.title}")))
    return out


def send_risk_alerts(
    session: Session, as_of: date, now: datetime, sender: Sender, *, dry_run: bool = False
) -> list[tuple[PlannedAlert, str]]:
    """Send the due risk alerts; call after every check/risk run. Each person gets one message for the run with
    their alerts grouped by cause. Returns (alert, status) pairs, one per person and risk."""
    planned = alert_notices(session, as_of)
    outcomes = send_notices(session, [n for _, _, n in planned], sender, as_of, now, dry_run=dry_run)
    by_key = {o.notice.key: o for o in outcomes}
    return [(PlannedAlert(risk, change, by_key[n.key].message), by_key[n.key].status) for risk, change, n in planned
            if n.key in by_key]
