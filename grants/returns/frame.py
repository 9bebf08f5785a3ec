"""What a return for one project and period is about: the project's lines, targets, profiles and figures to date.

Loaded once from the register and the official earlier returns; the workbook writer pre-fills it and the ingest
checks compare what a lead entered against it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date

from sqlmodel import Session, col, select

from grants.kernel import models as m
from grants.kernel.errors import NotFoundError
from grants.programme.periods import reports_for
from grants.returns.layout import InputField, Subject, input_fields
from grants.returns.official import Figures, official_figures


@dataclass(frozen=True)
class LineFacts:
    """A budget line: budget, profile this quarter and spend before this quarter (pence)."""

    id: int
    key: str
    name: str
    cost_type: str
    budget_pence: int
    profile_pence: int
    spent_before_pence: int


@dataclass(frozen=True)
class TargetFacts:
    """A target: its cumulative profile to the end of this quarter and achieved before it."""

    id: int
    key: str
    kind: str
    name: str
    unit: str
    target_value: int
    due: date
    profile_to_date: int | None
    achieved_before: int


@dataclass
class ReturnFrame:
    """Everything a return for (project, period) is checked against."""

    grant: m.Grant
    project: m.Project
    period: m.ReportingPeriod
    lines: list[LineFacts]
    targets: list[TargetFacts]
    later_periods: list[str]
    earlier_period_ids: list[int] = field(default_factory=list)
    reported_periods: list[str] = field(default_factory=list)

    @property
    def counts(self) -> list[TargetFacts]:
        return [t for t in self.targets if t.kind == "count"]

    @property
    def milestones(self) -> list[TargetFacts]:
        return [t for t in self.targets if t.kind == "milestone"]

    def fields(self) -> list[InputField]:
        """The layout's input fields for this project and period."""
        return input_fields(
            [Subject(b.key, b.name) for b in self.lines], [Subject(t.key, t.name) for t in self.counts],
            [Subject(t.key, t.name) for t in self.milestones], self.later_periods,
        )

    @property
    def reports_for_period(self) -> bool:
        """True if the project's delivery overlaps the period (it owes a return for it)."""
        return self.period.label in self.reported_periods


def load_frame(session: Session, project_id: int, period_id: int, as_of: date = date.max) -> ReturnFrame:
    """The frame for a project and period, with figures to date from official returns received by `as_of`."""
    return with_figures_to_date(session, register_frame(session, project_id, period_id), as_of)


def register_frame(session: Session, project_id: int, period_id: int) -> ReturnFrame:
    """The frame from the register alone (no figures to date): cacheable for a run of many files."""
    project = session.get(m.Project, project_id)
    period = session.get(m.ReportingPeriod, period_id)
    if project is None or period is None:
        raise NotFoundError(f"no project {project_id} or period {period_id} in the register")
    grant = session.get(m.Grant, project.grant_id)
    assert grant is not None
    periods = session.exec(select(m.ReportingPeriod).where(m.ReportingPeriod.grant_id == grant.id)
                           .order_by(col(m.ReportingPeriod.start))).all()
    return ReturnFrame(
        grant=grant, project=project, period=period, lines=_lines(session, project_id, period.label),
        targets=_targets(session, project_id, period.label),
        later_periods=[p.label for p in periods if p.start > period.end],
        earlier_period_ids=[p.id or 0 for p in periods if p.end < period.start],
        reported_periods=[p.label for p in periods if reports_for(project, p.start, p.end)],
    )


def with_figures_to_date(session: Session, frame: ReturnFrame, as_of: date) -> ReturnFrame:
    """The frame with spend and outputs before its period, from the official earlier returns received by `as_of`."""
    earlier = official_figures(session, as_of, frame.project.id or 0, frame.earlier_period_ids)
    return figures_before(frame, earlier)


def figures_before(frame: ReturnFrame, by_period: Mapping[int, Figures]) -> ReturnFrame:
    """The frame with spend and outputs summed over the official returns of the periods before its own
    (`by_period`: period id -> what its official return reported; other periods are ignored)."""
    spent: dict[int, int] = {}
    achieved: dict[int, int] = {}
    for period_id in frame.earlier_period_ids:
        figures = by_period.get(period_id)
        if figures is None:
            continue
        for line_id, pence in figures.spend.items():
            spent[line_id] = spent.get(line_id, 0) + pence
        for target_id, count in figures.outputs.items():
            achieved[target_id] = achieved.get(target_id, 0) + count
    return replace(
        frame, lines=[replace(b, spent_before_pence=spent.get(b.id, 0)) for b in frame.lines],
        targets=[replace(t, achieved_before=achieved.get(t.id, 0)) for t in frame.targets],
    )


def _lines(session: Session, project_id: int, label: str) -> list[LineFacts]:
    rows = session.exec(select(m.BudgetLine).where(m.BudgetLine.project_id == project_id, col(m.BudgetLine.active))
                        .order_by(col(m.BudgetLine.position), col(m.BudgetLine.id))).all()
    profiles = {p.budget_line_id: p.amount_pence for p in session.exec(select(m.BudgetProfile).where(
        col(m.BudgetProfile.budget_line_id).in_([b.id for b in rows]), m.BudgetProfile.period_label == label))}
    return [LineFacts(b.id or 0, b.key, b.name, b.cost_type, b.amount_pence, profiles.get(b.id or 0, 0), 0)
            for b in rows]


def _targets(session: Session, project_id: int, label: str) -> list[TargetFacts]:
    rows = session.exec(select(m.Target).where(m.Target.project_id == project_id, col(m.Target.active))
                        .order_by(col(m.Target.position), col(m.Target.id))).all()
    profiles = {p.target_id: p.cumulative_value for p in session.exec(select(m.TargetProfile).where(
        col(m.TargetProfile.target_id).in_([t.id for t in rows]), m.TargetProfile.period_label == label))}
    return [TargetFacts(t.id or 0, t.key, t.kind, t.name, t.unit, t.target_value, t.due, profiles.get(t.id or 0), 0)
            for t in rows]
