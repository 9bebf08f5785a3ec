"""What an escalation (and an officer's copy of an overdue chaser) says about a return, read once per chase run.

For every return a run escalates or copies officers on: what became of each earlier step addressed to the lead
(sent and when, failed and why, or never sent), from the notification log, and whether a late-return risk is open on
the register. `chase_facts` reads them for every return of the run in two queries per 5,000 keys (notifications by
idempotency key, open risks by key), where each message used to read its own (two queries a message).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from sqlmodel import Session, col, select

from grants.kernel import models as m
from grants.messaging.chase_plan import chase_key

CHUNK = 5_000  # keys per IN (...) list
STEP_WORDS = {"pack": "the return pack with the pre-filled workbook", "reminder": "the reminder before the due date",
              "last-reminder": "the reminder on the due date", "escalation": "this escalation"}
ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth")


def step_words(name: str) -> str:
    """A ladder step as an officer would say it: 'overdue-2' is 'the second overdue chaser'."""
    if name.startswith("overdue-") and name[8:].isdigit():
        n = int(name[8:])
        return f"the {ORDINALS[n - 1] if n <= len(ORDINALS) else f'{n}th'} overdue chaser"
    return STEP_WORDS.get(name, name)


def late_risk_key(grant: m.Grant, project: m.Project, period: m.ReportingPeriod) -> str:
    """The register key of a return's late-return risk."""
    return f"late-return:{grant.reference}:{project.code}:{period.label}"


@dataclass(frozen=True)
class Sent:
    """One notification as an escalation reports it."""

    status: str
    on: date | None
    error: str


@dataclass
class ChaseFacts:
    """The notifications of the lead's steps and the open late-return risks of the returns in play."""

    notifications: dict[str, Sent] = field(default_factory=dict)  # idempotency key -> what became of it
    risks: dict[str, m.Risk] = field(default_factory=dict)  # risk key -> the open risk

    def history(self, project_id: int, period_id: int, steps: list[str]) -> list[dict[str, object]]:
        """What became of each step for the lead: sent (and when), failed (and why), or never sent."""
        out: list[dict[str, object]] = []
        for name in dict.fromkeys(steps):
            row = self.notifications.get(chase_key(project_id, period_id, name))
            out.append({"step": name, "words": step_words(name), "status": row.status if row else "not sent",
                        "on": row.on if row else None, "error": row.error if row else ""})
        return out

    def late_risk(self, grant: m.Grant, project: m.Project, period: m.ReportingPeriod) -> m.Risk | None:
        """The open late-return risk for this return, if the register has one (an escalation never claims one that
        isn't there)."""
        return self.risks.get(late_risk_key(grant, project, period))


def chase_facts(session: Session, steps: Iterable[tuple[int, int, list[str]]], risk_keys: Iterable[str]
                ) -> ChaseFacts:
    """The facts for the lead's steps of each (project id, period id, step names) and the risks of `risk_keys`."""
    keys = sorted({chase_key(project_id, period_id, name) for project_id, period_id, names in steps for name in names})
    facts = ChaseFacts()
    columns = (col(m.Notification.idempotency_key), col(m.Notification.status), col(m.Notification.as_of),
               col(m.Notification.error))
    for i in range(0, len(keys), CHUNK):
        statement = select(*columns).where(col(m.Notification.idempotency_key).in_(keys[i:i + CHUNK]))
        for key, status, on, error in session.connection().execute(statement):
            facts.notifications[key] = Sent(status, on, error)
    wanted = sorted(set(risk_keys))
    for i in range(0, len(wanted), CHUNK):
        statement_risks = select(m.Risk).where(col(m.Risk.key).in_(wanted[i:i + CHUNK]), m.Risk.status == "open")
        facts.risks.update((risk.key, risk) for risk in session.exec(statement_risks))
    return facts
