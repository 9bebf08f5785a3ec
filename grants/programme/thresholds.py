"""Per-grant monitoring thresholds (the grant file's `monitoring` block) and the RAG bands they define.

Defaults follow the partnership's conventions: spend within 10% of profile is green, 10-25% amber, over 25% red;
outputs at 95%+ of profile green, 75-95% amber, under 75% red; any overspend of the allocation red; risk scores
(likelihood x impact, 1-5 each) 1-6 green, 8-12 amber, 15-25 red.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from grants.kernel.models import RAG

ORDER = {RAG.no_data: -1, RAG.green: 0, RAG.amber: 1, RAG.red: 2}
TENTH = Decimal("0.1")


class MonitoringRules(BaseModel):
    """RAG thresholds and risk triggers for one grant; every field has a documented default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    spend_green_pct: Decimal = Field(default=Decimal(10), ge=0)
    """Spend within this % of profile (either way) is green."""
    spend_red_pct: Decimal = Field(default=Decimal(25), ge=0)
    """Spend more than this % away from profile is red; between the two, amber."""
    outputs_green_pct: Decimal = Field(default=Decimal(95), ge=0)
    """Outputs at or above this % of the cumulative profile are green."""
    outputs_red_pct: Decimal = Field(default=Decimal(75), ge=0)
    """Outputs below this % of profile are red; between the two, amber."""
    unlikely_factor: Decimal = Field(default=Decimal(2), gt=0)
    """A condition target is red when, with a quarter or less left, it needs this many times its achieved rate."""
    underspend_tolerance_pct: Decimal = Field(default=Decimal(5), ge=0)
    """A forecast underspend above this % of the allocation goes on the risk register."""
    funds_release_grace_days: int = Field(default=0, ge=0)
    """Days after the expected funds-release date before a missing release is a risk."""
    project_payment_days: int = Field(default=14, ge=0)
    """Days the council has to pay a project once it has the grant's money (from the expected release date, or the
    day the money arrived if later); a project still unpaid after that is a risk of its own."""
    return_red_working_days: int = Field(default=5, ge=0)
    """A return overdue by more than this many working days is red (1 up to this many: amber)."""
    milestone_due_soon_days: int = Field(default=30, ge=0)
    """Milestones due within this many days are listed as due."""
    sustainability_check_from_pct: int = Field(default=50, ge=0, le=100)
    """Once this % of a non-recurring grant's time has passed, an undelivered sustainability plan is a risk."""
    funding_ends_warning_days: int = Field(default=90, ge=0)
    """Non-recurring money ending within this many days with projects lacking sustainability evidence is a risk."""
    risk_green_max: int = Field(default=6, ge=1, le=25)
    """Risk scores up to this are green."""
    risk_amber_max: int = Field(default=12, ge=1, le=25)
    """Risk scores up to this are amber; above it, red."""

    @model_validator(mode="after")
    def _bands_in_order(self) -> MonitoringRules:
        if self.spend_green_pct > self.spend_red_pct:
            raise ValueError("spend_green_pct must not exceed spend_red_pct")
        if self.outputs_red_pct > self.outputs_green_pct:
            raise ValueError("outputs_red_pct must not exceed outputs_green_pct")
        if self.risk_green_max >= self.risk_amber_max:
            raise ValueError("risk_green_max must be below risk_amber_max")
        return self


def rules_from_json(rules_json: str) -> MonitoringRules:
    """The `monitoring` block stored on a grant row (Grant.rules_json), or the defaults."""
    block = json.loads(rules_json or "{}").get("monitoring") or {}
    return MonitoringRules.model_validate(block)


def exact_percent(part: int | Decimal, whole: int | Decimal) -> Decimal:
    """part / whole as a percentage, unrounded: what every threshold compares (whole must not be zero)."""
    return Decimal(part) * 100 / Decimal(whole)


def percent(part: int | Decimal, whole: int | Decimal) -> Decimal:
    """part / whole as a percentage, rounded half up to 1 dp for display only (whole must not be zero)."""
    return shown(exact_percent(part, whole))


def shown(pct: Decimal) -> Decimal:
    """A percentage rounded half up to 1 dp, as reasons and reports show it (never compared with a threshold)."""
    return pct.quantize(TENTH, rounding=ROUND_HALF_UP)


def spend_rag(variance_pct: Decimal, rules: MonitoringRules) -> RAG:
    """RAG for spend that differs from its profile by `variance_pct` (negative = behind)."""
    size = abs(variance_pct)
    if size <= rules.spend_green_pct:
        return RAG.green
    return RAG.amber if size <= rules.spend_red_pct else RAG.red


def outputs_rag(pct_of_profile: Decimal, rules: MonitoringRules) -> RAG:
    """RAG for outputs achieved at `pct_of_profile` % of the cumulative profile."""
    if pct_of_profile >= rules.outputs_green_pct:
        return RAG.green
    return RAG.amber if pct_of_profile >= rules.outputs_red_pct else RAG.red


def risk_rag(score: int, rules: MonitoringRules) -> RAG:
    """RAG band of a risk score (likelihood x impact)."""
    if score <= rules.risk_green_max:
        return RAG.green
    return RAG.amber if score <= rules.risk_amber_max else RAG.red


def worst(*rags: RAG) -> RAG:
    """The worst of several ratings (green when none; "no data yet" only when every one is)."""
    return max(rags, key=ORDER.__getitem__, default=RAG.green)


def share_of_time_left(as_of: date, start: date, end: date) -> Decimal:
    """The fraction (0..1) of the window start..end still to run on `as_of`."""
    total = (end - start).days
    if total <= 0 or as_of >= end:
        return Decimal(0)
    left = (end - max(as_of, start)).days
    return Decimal(left) / Decimal(total)
