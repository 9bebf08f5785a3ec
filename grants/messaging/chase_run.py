"""A chase run: each lead's chaser sent once on its own, then every officer's notices of the run (copies of overdue
chasers, escalations, and any risk alert not yet sent) as one message per person grouped by cause.

The officers' notices are written after the leads' messages went, so they say what actually happened to the lead's
chaser (sent, or failed and why) and are worded for the day they are sent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path

from sqlmodel import Session

from grants.kernel.dates import long_date, plural
from grants.messaging.alerts import alert_notices
from grants.messaging.chase_facts import ChaseFacts, chase_facts, late_risk_key
from grants.messaging.chase_plan import calendar_of, ladder_of
from grants.messaging.chasing import OfficerStep, PackBuilder, PlannedChase, plan_chase_run
from grants.messaging.notify import Outgoing, Sender, record_failed, send_once
from grants.messaging.officer_mail import Notice, send_notices
from grants.programme.ladder import Role, StepKind

log = logging.getLogger(__name__)

OVERDUE, ESCALATED, TEAM = ("Returns overdue: the lead was chased", "Returns escalated to you",
                           "Returns escalated to your team")


@dataclass(frozen=True)
class ChaseOutcome:
    """What happened to one message of the run: sent, failed, skipped (already sent) or planned (dry run). For an
    officer's notice, `message` is its view in the one message that person got (its own key, the bundle's words)."""

    message: Outgoing
    project_code: str
    period_label: str
    step: str
    status: str


def run_chase(
    session: Session, as_of: date, now: datetime, sender: Sender, pack_builder: PackBuilder, packs_dir: Path,
    *, return_to: str, dry_run: bool = False,
) -> list[ChaseOutcome]:
    """Send every lead's chase message due on `as_of` once, then each officer one message with their notices."""
    leads, officers = plan_chase_run(session, as_of, now, return_to)
    session.commit()
    outcomes = []
    for item in leads:
        if Role.lead not in (*item.due.step.to, *item.due.step.cc):
            continue  # an escalation: it goes to the officers in their one message
        outcomes.append(ChaseOutcome(item.message, item.project_code, item.period_label, item.due.step.name,
                                     "planned" if dry_run else _send_lead(session, item, sender, pack_builder,
                                                                          packs_dir, as_of, now)))
    notices = list(zip([s.project.code for s in officers], [s.period.label for s in officers],
                       officer_notices(session, officers, as_of), strict=True))
    said = {(step.to.email.lower(), late_risk_key(step.grant, step.project, step.period)) for step in officers}
    notices += [(risk.key, "", replace(notice, folded=(notice.recipient.email.lower(), risk.key) in said))
                for risk, _, notice in alert_notices(session, as_of)]
    about = {notice.key: (code, label) for code, label, notice in notices}
    for done in send_notices(session, [n for _, _, n in notices], sender, as_of, now, dry_run=dry_run):
        view = replace(done.message, key=done.notice.key, step=done.notice.step)
        outcomes.append(ChaseOutcome(view, *about[done.notice.key], done.notice.step, done.status))
    return outcomes


def _send_lead(session: Session, item: PlannedChase, sender: Sender, pack_builder: PackBuilder, packs_dir: Path,
               as_of: date, now: datetime) -> str:
    message: Outgoing | str = item.message
    if item.due.step.kind == StepKind.return_pack or item.due.with_pack:
        message = _attach_pack(session, item, pack_builder, packs_dir)
    if isinstance(message, str):  # the pack itself could not be built: log it failed, a later run retries
        return record_failed(session, item.message, as_of, now, message)
    return send_once(session, message, sender, as_of, now)


def _attach_pack(session: Session, item: PlannedChase, pack_builder: PackBuilder, packs_dir: Path) -> Outgoing | str:
    """The message with its workbook attached; if the workbook fails, a catch-up chaser goes without it (its text
    re-rendered) and a return pack becomes the error text. One project's failure never stops the others."""
    try:
        packs_dir.mkdir(parents=True, exist_ok=True)
        workbook = pack_builder(session, item.due.project_id, item.due.period_id, packs_dir)
    except Exception as exc:
        session.rollback()
        error = f"pre-filled workbook not built: {type(exc).__name__}: {exc}"[:500]
        if item.due.step.kind == StepKind.return_pack:
            return error
        log.warning("%s goes without the workbook: %s", item.due.key, error)
        return item.without_pack()
    return replace(item.message, attachments=(workbook,))


def _what_the_lead_got(entry: dict[str, object], as_of: date) -> str:
    words = str(entry["words"])
    if entry["status"] == "sent":
        day = entry["on"]
        when = long_date(day) if isinstance(day, date) else "earlier"
        return f"{words.capitalize()}: sent {'today' if day == as_of else when}"
    if entry["status"] == "failed":
        cause = entry["error"] or "no cause recorded"
        return f"{words.capitalize()}: failed to send ({cause}); the next run tries again"
    return f"{words.capitalize()}: not sent"


def officer_notices(session: Session, officers: list[OfficerStep], as_of: date) -> list[Notice]:
    """The officers' notices of the run's steps (call once the leads' messages went: they say what reached them),
    the facts they report read for all of them at once."""
    facts = chase_facts(session, [(s.due.project_id, s.due.period_id, _lead_steps(s)) for s in officers],
                        [late_risk_key(s.grant, s.project, s.period) for s in officers])
    return [chase_notice(step, as_of, facts) for step in officers]


def chase_notice(step: OfficerStep, as_of: date, facts: ChaseFacts) -> Notice:
    """One officer's notice about a chase step, from the day's facts (what reached the lead, the open risk)."""
    ctx, project, period, due = step.context, step.project, step.period, step.due
    overdue = int(str(ctx["working_days_overdue"]))
    line = (f"{project.name} ({project.lead_organisation}), {period.label} return: due {long_date(period.due)}, "
            f"{plural(overdue, 'working days')} overdue")
    history = facts.history(due.project_id, due.period_id, _lead_steps(step))
    details: list[str] = [f"Lead: {project.lead_name}, {project.lead_email}"]
    if ctx.get("rejected"):
        details.append("Only a rejected version has been received; no corrected return has arrived.")
    if due.step.kind == StepKind.escalation:
        details += [_what_the_lead_got(h, as_of) for h in history]
        reached = sum(h["status"] == "sent" for h in history)
        details.append(f"The lead has been chased {plural(reached, 'times')}." if reached else
                       f"Nothing has reached the lead: check the address {project.lead_email} and the channel "
                       "settings in notify.yaml.")
        risk = facts.late_risk(step.grant, project, period)
        details.append(f"A late-return risk is open on the register (since {long_date(risk.first_seen)}, "
                       f"{risk.rag.upper()})." if risk else "No late-return risk is open on the register for it yet.")
        if step.role == Role.manager and step.officer is not None:
            details.append(f"Escalated to {step.officer.name}; you get this as their manager.")
        details.append(f"Suggested next step: phone {project.lead_name} at {project.lead_organisation} today, agree "
                       "a date for the return, and record it as the risk's mitigation.")
    else:  # an overdue chaser: the return's late-return risk, if open, is said here (its alert is folded into this)
        details += [_what_the_lead_got(h, as_of) for h in history if h["step"] == due.step.name]
        if risk := facts.late_risk(step.grant, project, period):
            details.append(f"A late-return risk is open on the register (since {long_date(risk.first_seen)}, "
                           f"{risk.rag.upper()}, score {risk.score}).")
    cause = OVERDUE if due.step.kind != StepKind.escalation else TEAM if step.role == Role.manager else ESCALATED
    return Notice(due.key, cause, step.to, "managers" if step.role == Role.manager else "officers", line,
                  tuple(details), step.grant.id, project.id, period.id, due.step.name,
                  subject_hint=f"{'Overdue' if cause == OVERDUE else 'Escalation'}: {project.name} return for "
                               f"{period.label} is {plural(overdue, 'working days')} overdue")


def _lead_steps(step: OfficerStep) -> list[str]:
    """The ladder's steps to the lead up to this one (what an officer's notice reports)."""
    steps = ladder_of(step.grant).steps(step.period.end, step.period.due, calendar_of(step.grant))
    return [s.name for s in steps if Role.lead in (*s.to, *s.cc) and s.day <= step.due.step.day]
