"""What the checks mean for the risk register: one scored Finding per risk found, with its evidence."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from grants.kernel import models as m
from grants.kernel.dates import plural, short_date
from grants.kernel.money import format_gbp
from grants.monitoring import scoring
from grants.monitoring.checks import Checks
from grants.monitoring.risks import Finding, risk_key
from grants.programme.periods import days_text, working_days_text
from grants.programme.status import ReturnState
from grants.programme.thresholds import exact_percent, risk_rag, share_of_time_left, shown


def findings(checks: Checks) -> list[Finding]:
    """Every risk found across the ledger's grants and projects."""
    out: list[Finding] = []
    for grant in checks.ledger.grants:
        out += _grant_findings(checks, grant)
        for project in checks.projects_of(grant):
            out += _project_findings(checks, grant, project)
    return out


def _grant_findings(checks: Checks, grant: m.Grant) -> list[Finding]:
    assert grant.id is not None
    out = []
    funds = checks.grant_funds[grant.id]
    if funds.late:
        out.append(_late_release(checks, grant))
    days_left = (grant.spend_by - checks.ledger.as_of).days
    rules = checks.rules[grant.id]
    if not grant.recurring and 0 <= days_left <= rules.funding_ends_warning_days:
        without = [p.name for p in checks.projects_of(grant) if not _sustained(checks, p)]
        if without:
            likelihood, impact = scoring.funding_ends_soon(days_left)
            evidence = (f"Non-recurring funding ends {short_date(grant.spend_by)} ({days_text(days_left)}); "
                        f"{len(without)} of {len(checks.projects_of(grant))} projects have no sustainability "
                        f"evidence: {', '.join(without)}")
            out.append(Finding(risk_key("funding-ends-soon", grant.reference), "funding-ends-soon", grant.id, None,
                               "Non-recurring funding ends with no sustainability evidence", likelihood, impact,
                               evidence))
    return out


def _late_release(checks: Checks, grant: m.Grant) -> Finding:
    """The grant's late release, one risk for one cause: the projects left with nothing are named in its evidence
    (they raise no risk of their own while it lasts) and their own late-funds risks close into it."""
    assert grant.id is not None
    funds, projects = checks.grant_funds[grant.id], checks.projects_of(grant)
    likelihood, impact = scoring.late_release(funds.days_late, funds.window_left_pct)
    paid = sum(checks.project_funds[p.id].received for p in projects if p.id is not None)
    unpaid = [p for p in projects if p.id is not None and checks.project_funds[p.id].received == 0]
    evidence = funds.reason + (f"; {format_gbp(paid, pence=True)} paid to projects" if paid else "")
    if unpaid:
        evidence += (f"; {len(unpaid):,} of {plural(len(projects), 'projects')} "
                     f"{'have' if len(unpaid) != 1 else 'has'} received nothing: {named([p.name for p in unpaid])}")
    covers = tuple(risk_key("late-funds-release", grant.reference, p.code) for p in projects)
    return Finding(risk_key("late-funds-release", grant.reference), "late-funds-release", grant.id, None,
                   GRANT_RELEASE_LATE, likelihood, impact, evidence, covers)


GRANT_RELEASE_LATE = "Grant funds not released by the expected date"


def named(names: list[str], most: int = 8, few: int = 5) -> str:
    """Names as a list a reader takes in: all of them up to `most`, else the first `few` and how many more."""
    if len(names) <= most:
        return ", ".join(names)
    return f"{', '.join(names[:few])} and {len(names) - few} more"


def _sustained(checks: Checks, project: m.Project) -> bool:
    return any(c.is_sustainability and c.delivered for c in checks.milestones.get(project.id or 0, []))


def _project_findings(checks: Checks, grant: m.Grant, project: m.Project) -> list[Finding]:
    assert project.id is not None and grant.id is not None
    out = _money_findings(checks, grant, project)
    ref, code, gid, pid = grant.reference, project.code, grant.id, project.id
    for t in checks.targets.get(pid, []):
        if t.rag is not m.RAG.green:
            likelihood, impact = scoring.behind_trajectory(t.rag, t.unlikely, t.missed, t.is_condition)
            out.append(Finding(risk_key("behind-trajectory", ref, code, t.key), "behind-trajectory", gid, pid,
                               f"{project.name}: {t.name} behind trajectory", likelihood, impact, t.reason))
    for ms in checks.milestones.get(pid, []):
        if ms.overdue:
            likelihood, impact = scoring.milestone_overdue(ms.is_condition or ms.is_sustainability)
            out.append(Finding(risk_key("milestone-overdue", ref, code, ms.key), "milestone-overdue", gid, pid,
                               f"{project.name}: {ms.name} overdue", likelihood, impact, ms.reason))
        elapsed = 100 - exact_percent(share_of_time_left(checks.ledger.as_of, grant.start, grant.spend_by), 1)
        if (ms.is_sustainability and not ms.delivered and not grant.recurring
                and elapsed > checks.rules[gid].sustainability_check_from_pct):  # past the mark, not on it
            likelihood, impact = scoring.no_sustainability_plan(elapsed)
            out.append(Finding(risk_key("no-sustainability-plan", ref, code, ms.key), "no-sustainability-plan", gid,
                               pid, f"{project.name}: no sustainability plan yet", likelihood, impact,
                               f"{ms.name} not delivered with {shown(elapsed)}% of the non-recurring grant's time gone "
                               f"(due {short_date(ms.due)})"))
    rules = checks.rules[gid]
    for r in checks.returns[pid].returns:
        if r.state is ReturnState.overdue:
            likelihood, impact = scoring.late_return(r.working_days_late, rules.return_red_working_days)
            out.append(Finding(risk_key("late-return", ref, code, r.label), "late-return", gid, pid,
                               f"{project.name}: {r.label} return overdue", likelihood, impact,
                               f"{r.label} return due {short_date(r.due)}: "
                               f"{working_days_text(r.working_days_late)} overdue"
                               + ("; only a rejected version received" if r.rejected else "")))
        elif r.state is ReturnState.rejected:
            likelihood, impact = scoring.rejected_return()
            out.append(Finding(risk_key("rejected-return", ref, code, r.label), "rejected-return", gid, pid,
                               f"{project.name}: {r.label} return rejected", likelihood, impact,
                               f"{r.label} return rejected and not yet resubmitted (due {short_date(r.due)})"))
    return out


def _money_findings(checks: Checks, grant: m.Grant, project: m.Project) -> list[Finding]:
    assert project.id is not None and grant.id is not None
    out = []
    ref, code, gid, pid = grant.reference, project.code, grant.id, project.id
    funds = checks.project_funds[pid]
    if funds.late and funds.expected is not None and not checks.grant_funds[gid].late:  # the council's own delay
        likelihood, impact = scoring.late_release(funds.days_late, funds.window_left_pct)
        out.append(Finding(risk_key("late-funds-release", ref, code), "late-funds-release", gid, pid,
                           f"{project.name}: not paid by {short_date(funds.expected)}", likelihood, impact,
                           funds.reason))
    spend = checks.spend.get(pid)
    if spend is None:
        return out
    f = spend.figures
    if f.underspend < 0 or f.actual > f.allocation:
        already = f.actual > f.allocation
        over = (f.actual if already else f.outturn) - f.allocation
        over_pct = exact_percent(over, f.allocation) if f.allocation else Decimal(100)
        likelihood, impact = scoring.overspend(already, over_pct)
        out.append(Finding(risk_key("overspend", ref, code), "overspend", gid, pid,
                           f"{project.name}: {'overspent' if already else 'forecast to overspend'}", likelihood,
                           impact, spend.reason))
    elif f.underspend_pct > checks.rules[gid].underspend_tolerance_pct:
        time_left = share_of_time_left(checks.ledger.as_of, grant.start, grant.spend_by)
        likelihood, impact = scoring.forecast_underspend(f.underspend_pct, time_left, grant.recurring)
        out.append(Finding(risk_key("forecast-underspend", ref, code), "forecast-underspend", gid, pid,
                           f"{project.name}: forecast underspend at {short_date(grant.spend_by)}", likelihood, impact,
                           spend.reason))
    return out


def funds_rag(checks: Checks, project_id: int | None, grant_id: int, as_of: date) -> m.RAG:
    """The RAG of money reaching a project (or the grant): the band its late-funds score has, else green. A project
    left without money by the grant's late release is rated so too, though the risk is raised on the grant alone."""
    funds = checks.project_funds[project_id] if project_id is not None else checks.grant_funds[grant_id]
    if not funds.late:
        return m.RAG.green
    likelihood, impact = scoring.late_release(funds.days_late, funds.window_left_pct)
    return risk_rag(likelihood * impact, checks.rules[grant_id])
