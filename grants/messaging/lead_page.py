"""What a project lead sees about their own project: each quarter's due date and state, what was recorded from
each accepted return, the problems of a rejected one (in the order they appear in the workbook, each with the
label the lead sees), and which quarters' workbooks they can download. Read-only; everything takes `as_of`."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from grants.kernel import models as m
from grants.messaging.replies import ACCEPTED, problems_of, recorded
from grants.programme.overrides import due_overrides
from grants.programme.periods import reports_for
from grants.programme.status import ReturnState, received_on, return_state
from grants.returns.frame import register_frame
from grants.returns.layout import SHEETS
from grants.returns.problems import Problem

# The state in the lead's words, and the tag's colour (the words always carry the meaning; colour only adds).
STATE_WORDS: dict[str, tuple[str, str]] = {
    ReturnState.not_yet_open: ("Not yet open", "grey"),
    ReturnState.open: ("Open", "blue"),
    ReturnState.overdue: ("Overdue", "red"),
    ReturnState.rejected: ("Rejected: please fix and resend", "red"),
    ReturnState.accepted: ("Accepted", "green"),
    ReturnState.accepted_late: ("Accepted (late)", "green"),
}
DOWNLOADABLE = (ReturnState.open, ReturnState.overdue, ReturnState.rejected)


@dataclass(frozen=True)
class ProblemView:
    """One problem as the lead reads it: where (sheet, cell, the label beside the cell), what is wrong and how to
    fix it; `warning` if it did not stop the return being accepted."""

    sheet: str
    cell: str
    label: str
    message: str
    warning: bool
    code: str


@dataclass(frozen=True)
class QuarterView:
    """One reporting quarter of the project."""

    label: str
    period_id: int
    start: date
    end: date
    due: date
    state: str
    words: str
    colour: str
    can_download: bool
    received: date | None = None
    version: int | None = None
    source_name: str = ""
    recorded: dict[str, Any] | None = None
    warnings: list[ProblemView] = field(default_factory=list)
    problems: list[ProblemView] = field(default_factory=list)


@dataclass(frozen=True)
class LeadView:
    """The lead's page: the project and its quarters."""

    grant_name: str
    project_name: str
    project_code: str
    lead_organisation: str
    lead_name: str
    allocation_pence: int
    delivery_start: date
    delivery_end: date
    quarters: list[QuarterView]


def lead_view(session: Session, project: m.Project, as_of: date) -> LeadView:
    """The lead's page for `project` as of a day (only this project's returns are read)."""
    grant = session.get(m.Grant, project.grant_id)
    assert grant is not None and project.id is not None
    periods = session.exec(select(m.ReportingPeriod).where(m.ReportingPeriod.grant_id == grant.id)
                           .order_by(col(m.ReportingPeriod.start))).all()
    returns = session.exec(select(m.Return).where(m.Return.project_id == project.id)
                           .order_by(col(m.Return.version))).all()
    extended = due_overrides(session, grant.id)  # an officer's extension is the lead's due date too
    quarters = [_quarter(session, project, period, [r for r in returns if r.period_id == period.id], as_of,
                         extended.get((project.id, period.id or 0), period.due))
                for period in periods if reports_for(project, period.start, period.end)]
    return LeadView(grant.name, project.name, project.code, project.lead_organisation, project.lead_name,
                    project.allocation_pence, project.delivery_start, project.delivery_end, quarters)


def _quarter(session: Session, project: m.Project, period: m.ReportingPeriod, returns: list[m.Return],
             as_of: date, due: date) -> QuarterView:
    seen = [r for r in returns if received_on(r.received_at) <= as_of and r.status != m.ReturnStatus.duplicate]
    state = return_state(period.end, due, [(received_on(r.received_at), r.status) for r in seen], as_of)
    words, colour = STATE_WORDS[state]
    assert period.id is not None
    base: dict[str, Any] = {"label": period.label, "period_id": period.id, "start": period.start, "end": period.end,
            "due": due, "state": str(state), "words": words, "colour": colour,
            "can_download": state in DOWNLOADABLE}
    official = [r for r in seen if r.status in ACCEPTED]
    if official:
        ret = official[-1]
        views = problem_views(session, project.id or 0, period.id, problems_of(ret))
        return QuarterView(**base, received=received_on(ret.received_at), version=ret.version,
                           source_name=ret.source_name, recorded=recorded(session, ret),
                           warnings=[v for v in views if v.warning])
    if seen:
        ret = seen[-1]
        return QuarterView(**base, received=received_on(ret.received_at), version=ret.version,
                           source_name=ret.source_name,
                           problems=problem_views(session, project.id or 0, period.id, problems_of(ret)))
    return QuarterView(**base)


def _cell_order(cell: str) -> tuple[int, int]:
    match = re.fullmatch(r"\$?([A-Z]{1,3})\$?(\d+)", cell.upper())
    if not match:
        return (10**9, 0)
    column = 0
    for letter in match.group(1):
        column = column * 26 + ord(letter) - 64
    return (int(match.group(2)), column)


def problem_views(session: Session, project_id: int, period_id: int, problems: Iterable[Problem]
                  ) -> list[ProblemView]:
    """Problems as the lead reads them, in the order of the workbook: sheet by sheet, then row by row."""
    items = list(problems)
    labels: dict[str, str] = {}
    if any(p.field for p in items):
        labels = {f.name: f.label for f in register_frame(session, project_id, period_id).fields()}
    views = [ProblemView(p.sheet, p.cell, labels.get(p.field, ""), p.message, p.severity != "error", p.code)
             for p in items]
    order = {name: index for index, name in enumerate(SHEETS)}
    return sorted(views, key=lambda v: (order.get(v.sheet, -1 if not v.sheet else len(order)), _cell_order(v.cell)))
