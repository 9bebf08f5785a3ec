"""Assessments: RAG for spend, outputs and overall per project and per grant as of a date, each with a one-line
reason in words and numbers; and `run_checks`, which stores them and brings the risk register up to date.

Overall = the worst of spend, outputs (counts and milestones), returns and funds. Assessments are upserted on
(grant, project, as_of), so a rerun for the same date changes nothing.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import insert, update
from sqlmodel import Session, col, select

from grants.kernel import models as m
from grants.kernel.dates import short_date
from grants.monitoring.checks import Checks, run_all
from grants.monitoring.compliance import ComplianceCheck
from grants.monitoring.findings import findings, funds_rag
from grants.monitoring.ledger import load_ledger
from grants.monitoring.outputs import MilestoneCheck, TargetCheck
from grants.monitoring.risks import RiskChange, sync_register
from grants.monitoring.spend import grant_spend
from grants.programme.lookup import find_grant
from grants.programme.status import ReturnState
from grants.programme.thresholds import ORDER, worst

_MISSING = (ReturnState.overdue, ReturnState.rejected)


@dataclass(frozen=True)
class Rating:
    """One assessment: a project's (or, with project_id None, the grant's) ratings and reasons."""

    grant_id: int
    project_id: int | None
    name: str
    spend_rag: m.RAG
    outputs_rag: m.RAG
    overall_rag: m.RAG
    reasons: dict[str, str]
    figures: dict[str, Any] = field(default_factory=dict)


def _pick(parts: dict[Any, tuple[m.RAG, str]]) -> tuple[m.RAG, str]:
    """The worst part and its reason (the first such part when several tie)."""
    name = max(parts, key=lambda k: ORDER[parts[k][0]])
    return parts[name]


def _unreported(parts: dict[str, tuple[m.RAG, str]]) -> tuple[m.RAG, str] | None:
    """'No data yet' overall when nothing has been reported on spend or outputs and nothing else is amber or red:
    green means the evidence says on track, and there is no evidence yet (returns not yet due, funds on time)."""
    if parts["spend"][0] is not m.RAG.no_data or parts["outputs"][0] is not m.RAG.no_data:
        return None
    if any(rag in (m.RAG.amber, m.RAG.red) for rag, _ in parts.values()):
        return None
    return m.RAG.no_data, parts["spend"][1]


def rate_project(checks: Checks, project: m.Project) -> Rating:
    """Rate one project from the run's checks."""
    assert project.id is not None
    pid, grant_id = project.id, project.grant_id
    returns = checks.returns[pid]
    spend = checks.spend.get(pid)
    if spend is not None:
        spend_part = (spend.rag, spend.reason)
    elif returns.with_state(*_MISSING):
        spend_part = (m.RAG.amber, f"No spend reported: {returns.reason}")
    else:
        spend_part = (m.RAG.no_data, "No data yet: no return due yet")
    milestones = checks.milestones.get(pid, [])
    counts = [(t.rag, t.reason) for t in checks.targets.get(pid, [])]
    outputs = dict(enumerate(counts + [(ms.rag, ms.reason) for ms in milestones if ms.overdue]))
    if outputs:
        outputs_part = _pick(outputs)
    elif spend is not None:  # a return is in, but the project has no count target and no milestone overdue
        outputs_part = (m.RAG.green, _milestones_reason(milestones))
    else:
        outputs_part = (m.RAG.no_data, _no_outputs(returns))
    funds = checks.project_funds[pid]
    parts = {"spend": spend_part, "outputs": outputs_part, "returns": (returns.rag, returns.reason),
             "funds": (funds_rag(checks, pid, grant_id, checks.ledger.as_of), funds.reason)}
    overall = _unreported(parts) or _pick(parts)
    reasons = {name: reason for name, (_, reason) in parts.items()}
    reasons |= {"milestones": _milestones_reason(milestones), "overall": overall[1]}
    figures = {
        "spend": {k: c.figures.__dict__ | {"rag": str(c.rag), "reason": c.reason} for k, c in spend.lines.items()}
        if spend else {},
        "targets": {t.key: _target_figures(t) for t in checks.targets.get(pid, [])},
        "rags": {name: str(rag) for name, (rag, _) in parts.items()},
    }
    return Rating(grant_id, pid, project.name, spend_part[0], outputs_part[0], overall[0], reasons, figures)


def _no_outputs(returns: ComplianceCheck) -> str:
    """Why outputs have no rating: nothing reported yet, and whether returns are overdue."""
    missing = returns.with_state(*_MISSING)
    return "No data yet: no outputs reported" + (f" and {len(missing)} return{'s' if len(missing) != 1 else ''} "
                                                 f"overdue" if missing else "")


def _milestones_reason(milestones: list[MilestoneCheck]) -> str:
    due = [ms for ms in milestones if ms.due_soon]
    return (f"Milestones: {sum(ms.delivered for ms in milestones)} delivered, {len(due)} due"
            + "".join(f" ({ms.name} by {short_date(ms.due)})" for ms in due)
            + f", {sum(ms.overdue for ms in milestones)} overdue")


def _target_figures(t: TargetCheck) -> dict[str, Any]:
    return {"achieved": t.achieved, "expected": t.expected, "target": t.target, "need_per_month": t.need_per_month,
            "achieved_per_month": t.achieved_per_month, "projected": t.projected, "rag": str(t.rag)}


def rate_grant(checks: Checks, grant: m.Grant, projects: list[Rating]) -> Rating:
    """Rate the grant: its total spend, its projects' outputs and returns, and the funds release."""
    assert grant.id is not None
    rules = checks.rules[grant.id]
    spend = grant_spend(grant, [c for p in checks.projects_of(grant) if (c := checks.spend.get(p.id or 0))], rules)
    spend_part = (spend.rag, spend.reason) if spend else (m.RAG.no_data, "No data yet: no spend reported")
    behind = {rag: [r.name for r in projects if r.outputs_rag is rag] for rag in (m.RAG.red, m.RAG.amber)}
    outputs_rag = worst(*(r.outputs_rag for r in projects))
    outputs_reason = (
        f"{len(behind[m.RAG.red]) + len(behind[m.RAG.amber])} of {len(projects)} projects behind "
        f"on outputs" + "".join(f"; {rag}: {', '.join(names)}" for rag, names in behind.items() if names)
    ) if outputs_rag is not m.RAG.no_data else "No data yet: no project has reported outputs"
    late = [r.name for r in projects if ORDER[m.RAG(r.figures["rags"]["returns"])] > 0]
    returns_part = (
        worst(*(m.RAG(r.figures["rags"]["returns"]) for r in projects)),
        f"{len(late)} of {len(projects)} projects with returns outstanding or rejected"
        + (f": {', '.join(late)}" if late else ""),
    )
    funds = checks.grant_funds[grant.id]
    parts = {
        "spend": spend_part,
        "outputs": (outputs_rag, outputs_reason),
        "returns": returns_part,
        "funds": (funds_rag(checks, None, grant.id, checks.ledger.as_of), funds.reason),
    }
    overall = _unreported(parts) or _pick(parts)
    reasons = {name: reason for name, (_, reason) in parts.items()} | {"overall": overall[1]}
    unreported = [p for p in checks.projects_of(grant) if p.id not in checks.spend]
    coverage = {"reported": len(checks.projects_of(grant)) - len(unreported), "projects": len(projects),
                "unreported_allocation": sum(p.allocation_pence for p in unreported)}  # whose figures the totals hold
    figures = {"spend": spend.figures.__dict__ if spend else {}, "rags": {k: str(v[0]) for k, v in parts.items()},
               "coverage": coverage}
    return Rating(grant.id, None, grant.name, spend_part[0], outputs_rag, overall[0], reasons, figures)


@dataclass(frozen=True)
class CheckRun:
    """What one run of the checks found and changed."""

    as_of: date
    ratings: list[Rating]
    risk_changes: list[RiskChange]
    assessments_written: int

    @property
    def escalations(self) -> list[RiskChange]:
        """Risks that newly went red or rose by 4+: what alerts should announce."""
        return [c for c in self.risk_changes if c.escalated]


@contextmanager
def _collector_paused() -> Iterator[None]:
    """A run allocates millions of short-lived objects (rows, frames, ratings) and few cycles: Python's cyclic
    collector, triggered by allocation counts, spent about a third of a national programme's run scanning them."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def run_checks(session: Session, as_of: date, grant_reference: str | None = None) -> CheckRun:
    """Check one grant (or all), store an assessment per project and grant, and update the risk register."""
    with _collector_paused():
        return _run_checks(session, as_of, grant_reference)


def _run_checks(session: Session, as_of: date, grant_reference: str | None) -> CheckRun:
    grant_id = find_grant(session, grant_reference).id if grant_reference is not None else None
    checks = run_all(load_ledger(session, as_of, grant_id))
    ratings: list[Rating] = []
    for grant in checks.ledger.grants:
        project_ratings = [rate_project(checks, p) for p in checks.projects_of(grant)]
        ratings += [*project_ratings, rate_grant(checks, grant, project_ratings)]
    found, rules = findings(checks), checks.rules
    grant_ids = [g.id for g in checks.ledger.grants if g.id is not None]
    del checks  # the ledger (a national programme's frames and rows) is freed before the writes allocate theirs
    written = store_assessments(session, as_of, ratings, grant_ids)
    changes = sync_register(session, found, grant_ids, as_of, rules)
    return CheckRun(as_of, ratings, changes, written)


STORED = ("spend_rag", "outputs_rag", "overall_rag", "reasons_json", "figures_json")


def store_assessments(session: Session, as_of: date, ratings: list[Rating], grant_ids: list[int]) -> int:
    """Upsert the ratings as Assessment rows for `as_of`; returns how many rows were created or changed."""
    wanted = set(grant_ids)
    columns = [col(getattr(m.Assessment, name)) for name in ("id", "grant_id", "project_id", *STORED)]
    existing = {(row[1], row[2]): (row[0], tuple(row[3:]))
                for row in session.execute(select(*columns).where(col(m.Assessment.as_of) == as_of))
                if row[1] in wanted}
    new, updates = [], []
    for r in ratings:
        values = (str(r.spend_rag), str(r.outputs_rag), str(r.overall_rag), json.dumps(r.reasons, sort_keys=True),
                  json.dumps(r.figures, sort_keys=True, default=str))
        found = existing.get((r.grant_id, r.project_id))
        if found is None:
            new.append({"grant_id": r.grant_id, "project_id": r.project_id, "as_of": as_of,
                        **dict(zip(STORED, values, strict=True))})
        elif found[1] != values:
            updates.append({"id": found[0], **dict(zip(STORED, values, strict=True))})
    if new:
        # Core executemany: thousands of rows on a first run in one statement (the ORM's bulk insert splits it at
        # every change between project rows and grant rows, whose project_id is None)
        session.connection().execute(insert(m.Assessment), new)
    if updates:
        session.execute(update(m.Assessment), updates)  # bulk update by primary key
    return len(new) + len(updates)
