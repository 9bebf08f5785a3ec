"""Immediate alerts to officers when a risk opens or turns red: once per change, never repeated daily, and one
message per recipients per run (the changes grouped by cause) rather than one per risk.

A risk's episode is its key and first-seen date. The first alert of an episode goes when the risk is open (key
`risk:<key>:<first seen>:<rag>`); one more goes if it later turns red. A risk closed and reopened later is a new
episode (new first-seen date) and alerts again.

Nothing goes to officers on a weekend or bank holiday (or a closure day of the grant): the alerts are held, and the
next working day's run sends whatever is still worth saying, worded for that day.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime

from sqlmodel import Session, col, select

from grants.kernel import models as m
from grants.messaging.chasing import calendar_of
from grants.messaging.messages import render
from grants.messaging.notify import Address, Outgoing, Sender, already_sent, send_once


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
    """An alert to send about one risk."""

    risk: m.Risk
    change: str
    message: Outgoing


def _officers_for(session: Session, risk: m.Risk) -> tuple[list[m.Officer], list[m.Officer]]:
    officers = {o.key: o for o in session.exec(select(m.Officer).where(m.Officer.grant_id == risk.grant_id))}
    if risk.project_id is not None:
        project = session.get(m.Project, risk.project_id)
        keys = {project.officer_key} if project else set()
    else:
        keys = set(session.exec(select(m.Project.officer_key).where(
            m.Project.grant_id == risk.grant_id, col(m.Project.active).is_(True))))
    to = [officers[k] for k in sorted(keys) if k in officers]
    managers = {o.manager_key for o in to if o.manager_key} - keys
    return to, [officers[k] for k in sorted(managers) if k in officers]


def plan_risk_alerts(session: Session, as_of: date, now: datetime, sent: Iterable[str] | None = None) -> list[
        PlannedAlert]:
    """Alerts due for open risks, highest score first. Red alerts copy the officers' managers."""
    sent_keys = set(sent) if sent is not None else already_sent(session)
    risks = session.exec(select(m.Risk).where(m.Risk.status == "open").order_by(col(m.Risk.score).desc(),
                                                                                col(m.Risk.key)))
    out = []
    calendars: dict[int, bool] = {}
    for risk in risks:
        change = alert_change(risk, sent_keys)
        if change is None:
            continue
        if risk.grant_id not in calendars:
            grant_row = session.get(m.Grant, risk.grant_id)
            calendars[risk.grant_id] = grant_row is not None and calendar_of(grant_row).is_working_day(as_of)
        if not calendars[risk.grant_id]:  # held until the next working day
            continue
        to, managers = _officers_for(session, risk)
        project = session.get(m.Project, risk.project_id) if risk.project_id else None
        grant = session.get(m.Grant, risk.grant_id)
        context = {"risk": risk, "change": change, "project_name": project.name if project else "",
                   "grant_name": grant.name if grant else "", "as_of": as_of}
        rendered = render("risk_alert", context)
        cc = managers if risk.rag == m.RAG.red else []
        message = Outgoing(
            key=alert_key(risk), kind="risk-alert", subject=rendered.subject, text=rendered.text, html=rendered.html,
            to=tuple(Address(o.name, o.email) for o in to), cc=tuple(Address(o.name, o.email) for o in cc),
            tags=frozenset({"officers"} | ({"managers"} if cc else set())), grant_id=risk.grant_id,
            project_id=risk.project_id, step=change, created=now,
        )
        if message.to:
            out.append(PlannedAlert(risk, change, message))
    return out


CAUSES = {"late-funds-release": "Funds released late", "late-return": "Returns overdue",
          "rejected-return": "Returns rejected", "forecast-underspend": "Forecast underspend",
          "overspend": "Overspend", "behind-trajectory": "Outputs behind trajectory",
          "milestone-overdue": "Milestones overdue", "no-sustainability-plan": "No sustainability plan",
          "funding-ends-soon": "Funding ends soon"}


def bundle(alerts: list[PlannedAlert], grant_name: str, as_of: date, now: datetime) -> Outgoing:
    """One message for several alerts to the same people in one run, grouped by cause (risk kind)."""
    first = alerts[0].message
    groups: dict[str, list[PlannedAlert]] = {}
    for alert in alerts:
        groups.setdefault(CAUSES.get(alert.risk.kind, alert.risk.kind), []).append(alert)
    grant = alerts[0].risk.grant_id
    context = {"alerts": alerts, "groups": list(groups.items()), "as_of": as_of, "grant_name": grant_name}
    rendered = render("risk_alerts", context)
    digest = hashlib.sha256("\n".join(sorted(a.message.key for a in alerts)).encode()).hexdigest()[:12]
    return replace(first, key=f"alerts:{grant}:{as_of.isoformat()}:{digest}", kind="risk-alerts",
                   subject=rendered.subject, text=rendered.text, html=rendered.html, project_id=None,
                   step=f"{len(alerts)} alerts", created=now,
                   tags=frozenset().union(*(a.message.tags for a in alerts)))


def _mark_sent(session: Session, alerts: list[PlannedAlert], bundle_key: str, as_of: date, now: datetime) -> None:
    """Log each alert in a sent bundle as sent under its own key, so it is never announced again."""
    for alert in alerts:
        session.add(m.Notification(idempotency_key=alert.message.key, kind="risk-alert", grant_id=alert.risk.grant_id,
                                   project_id=alert.risk.project_id, step=f"in {bundle_key}",
                                   recipients=alert.message.recipients, subject=alert.message.subject[:250],
                                   status="sent", attempts=0, as_of=as_of, sent_at=now))
    session.commit()


def send_risk_alerts(
    session: Session, as_of: date, now: datetime, sender: Sender, *, dry_run: bool = False
) -> list[tuple[PlannedAlert, str]]:
    """Send the due risk alerts once; call after every check/risk run. Alerts for the same people in one run go as
    one message grouped by cause. Returns (alert, status) pairs, each alert with the message it went in."""
    planned = plan_risk_alerts(session, as_of, now)
    session.commit()
    groups: dict[tuple[object, ...], list[PlannedAlert]] = {}
    for alert in planned:
        groups.setdefault((alert.risk.grant_id, alert.message.to, alert.message.cc), []).append(alert)
    out: list[tuple[PlannedAlert, str]] = []
    for alerts in groups.values():
        grant = session.get(m.Grant, alerts[0].risk.grant_id)
        message = alerts[0].message if len(alerts) == 1 else bundle(alerts, grant.name if grant else "", as_of, now)
        status = "planned" if dry_run else send_once(session, message, sender, as_of, now)
        if status == "sent" and len(alerts) > 1:
            _mark_sent(session, alerts, message.key, as_of, now)
        out += [(PlannedAlert(a.risk, a.change, message), status) for a in alerts]
    return out
