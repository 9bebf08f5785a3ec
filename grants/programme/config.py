"""The grant programme as configuration: pydantic models for one grant file (grant, officers, projects, targets)."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    EmailStr,
    Field,
    Tag,
)

from grants.kernel.money import to_decimal
from grants.programme.ladder import ChaseLadder
from grants.programme.periods import QuarterBasis
from grants.programme.thresholds import MonitoringRules

KEY_PATTERN = r"^[a-z][a-z0-9_]{0,40}$"
CODE_PATTERN = r"^[a-z0-9][a-z0-9-]{0,40}$"
ORG_ID_PATTERN = r"^[A-Za-z0-9]+-[A-Za-z0-9]+(-[A-Za-z0-9._-]+)?$"
PERIOD_LABEL = re.compile(r"^\d{4}(-\d{2})?-Q[1-4]$")


def _non_negative(amount: Decimal) -> Decimal:
    if amount < 0:
        raise ValueError(f"must not be negative (got £{amount:,.2f})")
    return amount


def _one_line(text: str) -> str:
    if any(ch in text for ch in "\r\n\x00") or any(ord(ch) < 32 and ch != "\t" for ch in text):
        raise ValueError("must be one line: no line breaks or control characters (they would break every message "
                         "that names it)")
    return text


OneLine = Annotated[str, Field(min_length=1), AfterValidator(_one_line)]
"""A name or title that appears in email headers and message text: non-empty, one line, no control characters."""

Money = Annotated[Decimal, BeforeValidator(to_decimal), AfterValidator(_non_negative)]
"""Pounds: written as 125000, 125000.00 or '125000.00'; exact to the penny; never negative."""


class Strict(BaseModel):
    """Every config model rejects unknown keys, so a typo is an error rather than silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Contact(Strict):
    """A person: name and email (the example uses example.org addresses)."""

    name: OneLine
    email: EmailStr


class Officer(Contact):
    """A council officer: responsible for projects, receives alerts; `manager` names the escalation officer."""

    role: OneLine = "Community Safety Officer"
    manager: str | None = None


class Lead(Contact):
    """The project lead who fills in the quarterly return."""

    organisation: OneLine
    org_id: str | None = Field(default=None, pattern=ORG_ID_PATTERN)  # e.g. GB-CHC-1234567 (org-id.guide)


class Reporting(Strict):
    """How often returns are due and when: quarter end + N working days (England & Wales)."""

    cadence: Literal["quarterly"] = "quarterly"
    quarter_basis: QuarterBasis = "financial_year"
    due_working_days: int = Field(default=10, ge=0, le=60)
    closure_days: list[date] = Field(default_factory=list)


class BudgetLine(Strict):
    """A budget line of a project with its planned spend per quarter (keys are period labels, e.g. 2024-25-Q2)."""

    key: str = Field(pattern=KEY_PATTERN)
    name: OneLine
    cost_type: Literal["labour", "non_labour"] = "non_labour"
    amount: Money
    profile: dict[str, Money] = Field(default_factory=dict)


class CountTarget(Strict):
    """A count condition, e.g. at least 500 people trained by 31 March; `profile` is cumulative per quarter."""

    kind: Literal["count"] = "count"
    key: str = Field(pattern=KEY_PATTERN)
    name: OneLine
    unit: str = "people"
    target: int = Field(gt=0)
    due: date
    condition: bool = True
    profile: dict[str, int] = Field(default_factory=dict)


class MilestoneTarget(Strict):
    """A milestone, e.g. a city-wide conference delivered or a funding plan for sustainability submitted."""

    kind: Literal["milestone"]
    key: str = Field(pattern=KEY_PATTERN)
    name: OneLine
    due: date
    condition: bool = True
    sustainability: bool = False


def _target_kind(value: object) -> str:
    """A target without `kind` is a count; `kind: milestone` makes it a milestone."""
    if isinstance(value, dict):
        return str(value.get("kind", "count"))
    return str(getattr(value, "kind", "count"))


Target = Annotated[
    Annotated[CountTarget, Tag("count")] | Annotated[MilestoneTarget, Tag("milestone")],
    Discriminator(_target_kind, custom_error_type="target_kind",
                  custom_error_message="kind must be 'count' (the default) or 'milestone'"),
]


class Project(Strict):
    """A funded project: an allocation out of the grant, run by a lead, overseen by an officer."""

    code: str = Field(pattern=CODE_PATTERN)
    name: OneLine
    description: str = ""
    illustrative: bool = False
    lead: Lead
    officer: str
    allocation: Money
    delivery_start: date | None = None
    delivery_end: date | None = None
    budget_lines: list[BudgetLine] = Field(min_length=1)
    targets: list[Target] = Field(default_factory=list)
    award_date: date | None = None  # when the allocation was decided; default open_data.award_date


class OpenData(Strict):
    """Publishing the grants made to projects as 360Giving open data."""

    prefix: str = Field(pattern=r"^360G-[A-Za-z0-9_-]+$")  # the publisher's 360Giving identifier prefix
    funder_org_id: str = Field(pattern=ORG_ID_PATTERN)  # the allocating organisation, e.g. GB-LAE-PLY
    award_date: date | None = None  # default award date for every project


class Grant(Strict):
    """The award the partnership receives: who from, how much, when it must be spent and how it is reported."""

    reference: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9-]{0,40}$")
    name: OneLine
    programme: OneLine
    funder: OneLine
    intermediary: OneLine | None = None
    recipient: OneLine
    amount: Money
    currency: Literal["GBP"] = "GBP"
    start: date
    end: date
    spend_by: date
    recurring: bool = False
    expected_funds_release: date | None = None
    conditions_confirmed: date | None = None
    reporting: Reporting = Field(default_factory=Reporting)
    open_data: OpenData | None = None
    chase: ChaseLadder = Field(default_factory=ChaseLadder)
    monitoring: MonitoringRules = Field(default_factory=MonitoringRules)


class ProgrammeFile(Strict):
    """One grant programme file: the grant, its officers and its funded projects."""

    grant: Grant
    officers: dict[str, Officer] = Field(min_length=1)
    projects: list[Project] = Field(min_length=1)
