"""The board report's detail rows, from the checks' ledger and results and the returns' states: one row per count
target and milestone, the grant's cumulative spend against profile by quarter, and the returns log."""

from __future__ import annotations

import json
from datetime import date

from grants.kernel import models as m
from grants.kernel.money import from_pence
from grants.monitoring.checks import Checks
from grants.monitoring.ledger import Ledger
from grants.programme.status import GrantStatus, ReturnState, received_on
from grants.reporting.board import OutputRow, QuarterSpend, ReturnRow

ReturnFile = tuple[str, str, m.Return]
"""(project code, period label, the stored return)."""

OUTSTANDING = (ReturnState.open, ReturnState.overdue)


def output_rows(checks: Checks, grant: m.Grant) -> list[OutputRow]:
    """Every active target of the grant's projects, in project order: counts as the output check rated them (not
    rated before the project's first return), milestones delivered, due or overdue (one not yet due is "no data yet"
    before the project's first return: nothing says it is on track)."""
    projects = checks.projects_of(grant)
    order = {p.id: index for index, p in enumerate(projects)}
    names = {p.id: p.name for p in projects}
    counts = {t.target_id: t for p in projects for t in checks.targets.get(p.id or 0, [])}
    milestones = {ms.target_id: ms for p in projects for ms in checks.milestones.get(p.id or 0, [])}
    out = []
    for target in sorted((t for t in checks.ledger.targets if t.project_id in order),
                         key=lambda t: (order[t.project_id], t.position, t.id or 0)):
        project = names[target.project_id]
        if (ms := milestones.get(target.id or 0)) is not None:
            due_by_now = int(ms.due <= checks.ledger.as_of)
            out.append(OutputRow(project, ms.name, "milestone", 1, ms.due, due_by_now, int(ms.delivered),
                                 str(ms.rag), ms.reason))
        elif (t := counts.get(target.id or 0)) is not None:
            out.append(OutputRow(project, t.name, target.unit, t.target, t.due, t.expected, t.achieved, str(t.rag),
                                 t.reason))
        else:
            out.append(OutputRow(project, target.name, target.unit, target.target_value, target.due, 0, 0,
                                 str(m.RAG.no_data), "No data yet: no return received"))
    return out


def quarter_series(ledger: Ledger, grant_id: int) -> list[QuarterSpend]:
    """Cumulative profile and cumulative actual spend of the grant's projects at the end of each quarter; the
    actual is None after the last quarter any project has an official return for."""
    project_ids = {p.id for p in ledger.projects if p.grant_id == grant_id}
    line_ids = set(ledger.lines.loc[ledger.lines["project_id"].isin(project_ids), "line_id"])
    planned = ledger.profile[ledger.profile["line_id"].isin(line_ids)].groupby("position")["planned"].sum()
    actual = ledger.spend[ledger.spend["line_id"].isin(line_ids)].groupby("position")["actual"].sum()
    official = ledger.official[ledger.official["project_id"].isin(project_ids)]
    reported_to = int(official["position"].max()) if len(official) else -1
    periods = ledger.periods[ledger.periods["grant_id"] == grant_id].sort_values("position")
    out, profile_sum, actual_sum = [], 0, 0
    for label, position in periods[["label", "position"]].itertuples(index=False):
        profile_sum += int(planned.get(position, 0))
        actual_sum += int(actual.get(position, 0))
        out.append(QuarterSpend(str(label), from_pence(profile_sum),
                                from_pence(actual_sum) if position <= reported_to else None))
    return out


def returns_log(status: GrantStatus, files: list[ReturnFile], period: str | None) -> list[ReturnRow]:
    """Every return file received by the status date and every return still outstanding (open or overdue), latest
    quarter first; up to `period` when one is given."""
    by_key: dict[tuple[str, str], list[m.Return]] = {}
    for code, label, ret in files:
        by_key.setdefault((code, label), []).append(ret)
    labels = [p.label for p in status.projects[0].periods] if status.projects else []
    if period is not None and period in labels:
        labels = labels[: labels.index(period) + 1]
    out = []
    for label in reversed(labels):
        for project in status.projects:
            state = next(p for p in project.periods if p.label == label)
            for ret in sorted(by_key.get((project.code, label), []), key=lambda r: r.version):
                out.append(_file_row(project.name, label, state.due, ret))
            if state.state in OUTSTANDING:
                out.append(ReturnRow(project.name, label, state.due, None, 0, state.state.value, 0))
    return out


def _file_row(project: str, label: str, due: date, ret: m.Return) -> ReturnRow:
    day = received_on(ret.received_at)
    status = "accepted late" if ret.status == m.ReturnStatus.accepted and day > due else str(ret.status)
    return ReturnRow(project, label, due, day, ret.version, status, len(json.loads(ret.problems_json or "[]")))
