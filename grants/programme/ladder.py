"""The chase ladder: when return packs, reminders, overdue chasers and escalations go out (per grant, configurable).

Offsets are England & Wales working days (grant closure days excluded). The pack goes a number of working days after
the quarter ends; every other step is relative to the return's due date. See config/README.md for the `chase` block.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from grants.programme.periods import WorkingCalendar


class Role(StrEnum):
    """Who a chase step is addressed to: the project lead, the responsible officer, or the officer's manager."""

    lead = "lead"
    officer = "officer"
    manager = "manager"


class StepKind(StrEnum):
    """The kind of message a step sends (also the template name)."""

    return_pack = "return_pack"
    reminder = "reminder"
    last_reminder = "last_reminder"
    overdue = "overdue"
    escalation = "escalation"


@dataclass(frozen=True)
class ChaseStep:
    """One rung of the ladder for one period: its name (part of the idempotency key), kind, date and addressees."""

    name: str
    kind: StepKind
    day: date
    to: tuple[Role, ...]
    cc: tuple[Role, ...] = ()


class ChaseLadder(BaseModel):
    """The `chase` block of a grant file. Defaults: pack +1 WD after quarter end, reminder 5 WD before due, last
    reminder on the due date, overdue chasers at +2 and +5 WD (lead, copying the officer), escalation at +10 WD
    (officer and their manager; the late-return risk opens), nothing after +20 WD."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    pack_working_days_after_quarter_end: int = Field(default=1, ge=1, le=20)
    reminder_working_days_before_due: int | None = Field(default=5, ge=1, le=30)
    last_reminder_on_due_date: bool = True
    overdue_working_days_after_due: list[int] = Field(default_factory=lambda: [2, 5])
    escalation_working_days_after_due: int | None = Field(default=10, ge=1, le=60)
    stop_working_days_after_due: int = Field(default=20, ge=1, le=120)
    rejection_pause_working_days: int = Field(default=5, ge=0, le=30)

    @model_validator(mode="after")
    def _ordered(self) -> ChaseLadder:
        offsets = list(self.overdue_working_days_after_due)
        if any(n < 1 for n in offsets) or offsets != sorted(set(offsets)):
            raise ValueError("overdue_working_days_after_due must be increasing positive numbers, e.g. [2, 5]")
        escalation = self.escalation_working_days_after_due
        if escalation is not None and offsets and escalation <= offsets[-1]:
            raise ValueError("escalation_working_days_after_due must come after the last overdue chaser")
        last = escalation if escalation is not None else (offsets[-1] if offsets else 0)
        if self.stop_working_days_after_due < last:
            raise ValueError("stop_working_days_after_due must not come before the last step")
        return self

    def steps(self, period_end: date, due: date, calendar: WorkingCalendar) -> list[ChaseStep]:
        """The ladder for one period, in date order (every step falls on a working day)."""
        if not self.enabled:
            return []
        lead, officer, manager = Role.lead, Role.officer, Role.manager
        out = [ChaseStep("pack", StepKind.return_pack,
                         calendar.add_working_days(period_end, self.pack_working_days_after_quarter_end), (lead,))]
        if self.reminder_working_days_before_due is not None:
            day = calendar.add_working_days(due, -self.reminder_working_days_before_due)
            out.append(ChaseStep("reminder", StepKind.reminder, day, (lead,)))
        if self.last_reminder_on_due_date:
            out.append(ChaseStep("last-reminder", StepKind.last_reminder, calendar.next_working_day(due), (lead,)))
        for n, offset in enumerate(self.overdue_working_days_after_due, start=1):
            day = calendar.add_working_days(due, offset)
            out.append(ChaseStep(f"overdue-{n}", StepKind.overdue, day, (lead,), (officer,)))
        if self.escalation_working_days_after_due is not None:
            day = calendar.add_working_days(due, self.escalation_working_days_after_due)
            out.append(ChaseStep("escalation", StepKind.escalation, day, (officer,), (manager,)))
        out.sort(key=lambda step: step.day)
        return out

    def last_day(self, due: date, calendar: WorkingCalendar) -> date:
        """The last day a chase step for this period may still be sent (late)."""
        return calendar.add_working_days(due, self.stop_working_days_after_due)
