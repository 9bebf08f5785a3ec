"""The board's data set: everything the quarterly report shows, as plain values (filled from the checks)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from grants.monitoring.findings import named


@dataclass(frozen=True)
class Release:
    """Money received from the funder: when and how much."""

    received_on: date
    amount: Decimal


@dataclass(frozen=True)
class GrantSummary:
    """The grant at a glance: money in, money out, the forecast and the time left."""

    reference: str
    name: str
    funder: str
    intermediary: str | None
    awarded: Decimal
    expected_release: date | None
    releases: list[Release]
    paid_to_projects: Decimal
    spent: Decimal
    forecast_outturn: Decimal
    spend_by: date
    rag: str
    reason: str
    forecast_overspend: Decimal = Decimal(0)
    """Forecast spend beyond the projects' allocations: not payable from the grant, so shown apart from it."""
    projects: int = 0
    not_reported: tuple[str, ...] = ()
    """The projects with no return yet: their spend is unknown (not £0), so the spent total leaves them out and the
    forecast counts each at its allocation."""

    @property
    def coverage(self) -> str:
        """What the spend and forecast totals cover, in words (the board's footnote)."""
        if not self.not_reported:
            return f"All {self.projects} projects have reported"
        if len(self.not_reported) == self.projects:
            return "No project has reported yet: nothing is in the spent total and the forecast is the allocations"
        return (f"{self.projects - len(self.not_reported)} of {self.projects} projects have reported; no return yet "
                f"from {named(list(self.not_reported))}: not in the spent total, forecast at their allocation")

    @property
    def released(self) -> Decimal:
        return sum((r.amount for r in self.releases), Decimal(0))

    @property
    def forecast_underspend(self) -> Decimal:
        """The grant's money forecast unspent: the award less each project's forecast capped at its allocation."""
        return max(self.awarded - self.forecast_outturn, Decimal(0))


@dataclass(frozen=True)
class ProjectRow:
    """One funded project's money and ratings, each rating with its reason."""

    code: str
    name: str
    lead_organisation: str
    allocation: Decimal
    spent: Decimal | None  # None: no return yet (nothing reported, which is not £0 spent)
    forecast: Decimal | None
    spend_rag: str
    spend_reason: str
    outputs_rag: str
    outputs_reason: str
    overall_rag: str
    overall_reason: str
    reported_to: str = ""  # the latest quarter with an accepted return

    @property
    def reported(self) -> bool:
        return self.spent is not None

    @property
    def return_status(self) -> str:
        """'reported to 2024-25-Q3', 'reported' or 'no return yet': what the money figures stand on."""
        if not self.reported:
            return NO_RETURN
        return f"reported to {self.reported_to}" if self.reported_to else "reported"

    @property
    def spent_share(self) -> Decimal | None:
        """Spent as a fraction of the allocation (0 when nothing is allocated; None with no return yet)."""
        if self.spent is None:
            return None
        return self.spent / self.allocation if self.allocation else Decimal(0)


NO_RETURN = "no return yet"


@dataclass(frozen=True)
class OutputRow:
    """A count target or milestone: what was promised, what the profile expects by now, what was achieved."""

    project: str
    name: str
    unit: str
    target: int
    due: date
    profile_to_date: int
    achieved: int
    rag: str
    reason: str

    @property
    def share_of_target(self) -> Decimal:
        """Achieved as a share of the whole target (not what the RAG rates)."""
        return Decimal(self.achieved) / Decimal(self.target) if self.target else Decimal(0)

    @property
    def share_of_profile(self) -> Decimal | None:
        """Achieved as a share of the profile to date: the figure the RAG rates (None with nothing profiled yet)."""
        return Decimal(self.achieved) / Decimal(self.profile_to_date) if self.profile_to_date else None


@dataclass(frozen=True)
class QuarterSpend:
    """Cumulative planned and actual spend for the whole grant at the end of a quarter."""

    label: str
    profile: Decimal
    actual: Decimal | None  # None for quarters whose returns are not in yet


@dataclass(frozen=True)
class RiskRow:
    """A row of the risk register as the board sees it."""

    id: int
    scope: str
    kind: str
    title: str
    likelihood: int
    impact: int
    score: int
    rag: str
    owner: str
    mitigation: str
    evidence: str
    first_seen: date
    last_seen: date


@dataclass(frozen=True)
class ReturnRow:
    """One received return file, or an outstanding one (version 0, no received date)."""

    project: str
    period: str
    due: date
    received_on: date | None
    version: int
    status: str
    problems: int


@dataclass(frozen=True)
class BoardData:
    """The whole quarterly data set for one grant, as of a date."""

    as_of: date
    grant: GrantSummary
    projects: list[ProjectRow]
    outputs: list[OutputRow]
    quarters: list[QuarterSpend]
    risks: list[RiskRow] = field(default_factory=list)
    returns: list[ReturnRow] = field(default_factory=list)
    period: str | None = None  # the quarter the report is about, when one was asked for

    @property
    def days_to_spend_by(self) -> int:
        return (self.grant.spend_by - self.as_of).days


def overall_note(project: ProjectRow) -> str:
    """The overall reason as a reader needs it: when it repeats the spend or outputs reason word for word (the
    overall RAG is the worst of the parts), say which part it comes from instead of printing the sentence twice."""
    for part, reason in (("spend", project.spend_reason), ("outputs", project.outputs_reason)):
        if project.overall_reason and project.overall_reason == reason:
            return f"As {part} (see {part})"
    return project.overall_reason
