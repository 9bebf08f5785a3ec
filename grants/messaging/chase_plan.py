"""The pure chase planner: from periods, returns, the ladder, what was already sent and `as_of`, the steps due today.

Rules (each has a test in tests/test_chase_plan.py):
- nothing is sent on a non-working day; a step missed then (or while the engine was down) goes on the next run;
- only the latest due step of a period is sent, once (idempotency key), and never once a later step was sent;
- no chaser once an accepted return exists;
- a rejected return gets the rejection reply instead: steps that fall within `rejection_pause_working_days` of the
  rejection are skipped; if no corrected return comes, chasing resumes with the next step after the pause;
- nothing is sent after `stop_working_days_after_due` (by then the late-return risk carries it);
- if the return pack never went out, the step sent to the lead carries the pre-filled workbook instead.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from grants.kernel import models as m
from grants.programme.ladder import ChaseLadder, ChaseStep, Role, StepKind
from grants.programme.periods import WorkingCalendar, closure_calendar


def ladder_of(grant: m.Grant) -> ChaseLadder:
    """The grant's chase ladder from its stored rule blocks (defaults when the grant file has no `chase` block)."""
    return _ladder(grant.rules_json or "{}")


@lru_cache(maxsize=256)
def _ladder(rules_json: str) -> ChaseLadder:
    return ChaseLadder.model_validate(json.loads(rules_json).get("chase") or {})


def calendar_of(grant: m.Grant) -> WorkingCalendar:
    """England & Wales working days plus the grant's closure days (one shared calendar per set of closures)."""
    return closure_calendar(grant.closure_days)


_STEPS: dict[tuple[int, int, date, date], tuple[ChaseLadder, WorkingCalendar, tuple[ChaseStep, ...]]] = {}
MAX_CACHED_LADDERS = 100_000


def ladder_steps(ladder: ChaseLadder, calendar: WorkingCalendar, period_end: date, due: date) -> list[ChaseStep]:
    """`ladder.steps(period_end, due, calendar)`, worked out once per ladder, calendar and dates: a national
    programme's grants share a few ladders and calendars (`ladder_of`, `calendar_of` keep one object each), so a run
    asks for the same dates thousands of times (each project and period, for the lead, officer and manager)."""
    key = (id(ladder), id(calendar), period_end, due)
    hit = _STEPS.get(key)
    if hit is None or hit[0] is not ladder or hit[1] is not calendar:
        if len(_STEPS) >= MAX_CACHED_LADDERS:
            _STEPS.clear()
        hit = _STEPS[key] = (ladder, calendar, tuple(ladder.steps(period_end, due, calendar)))
    return list(hit[2])


ACCEPTED = ("accepted", "superseded")
REJECTED = "rejected"


def chase_key(project_id: int, period_id: int, step: str) -> str:
    """The idempotency key of one chase step for one project and period."""
    return f"chase:{project_id}:{period_id}:{step}"


@dataclass(frozen=True)
class PeriodReturns:
    """One project's return for one period: the dates that drive the ladder and every file received (day, status)."""

    project_id: int
    period_id: int
    period_end: date
    due: date
    received: tuple[tuple[date, str], ...] = ()


@dataclass(frozen=True)
class DueStep:
    """A step to send today for one project and period; `late` if its day has passed, `with_pack` if it must carry
    the pre-filled workbook because the pack itself never went out."""

    project_id: int
    period_id: int
    step: ChaseStep
    late: bool
    with_pack: bool

    @property
    def key(self) -> str:
        return chase_key(self.project_id, self.period_id, self.step.name)


def plan_chase(
    items: Iterable[PeriodReturns], ladder: ChaseLadder, calendar: WorkingCalendar, sent: Iterable[str], as_of: date
) -> list[DueStep]:
    """The chase steps to send on `as_of`, at most one per project and period. `sent` is read, never copied, when
    it is already a set (a national programme passes one set of keys for every grant)."""
    if not calendar.is_working_day(as_of):
        return []
    sent_keys = sent if isinstance(sent, AbstractSet) else frozenset(sent)
    out = []
    for item in items:
        step = due_step(item, ladder, calendar, sent_keys, as_of)
        if step is not None:
            out.append(step)
    return out


def due_step(
    item: PeriodReturns, ladder: ChaseLadder, calendar: WorkingCalendar, sent: AbstractSet[str], as_of: date
) -> DueStep | None:
    """The one step due for this project and period on `as_of`, or None."""
    seen = [(day, status) for day, status in item.received if day <= as_of]
    if any(status in ACCEPTED for _, status in seen):
        return None
    if as_of > ladder.last_day(item.due, calendar):
        return None
    steps = ladder_steps(ladder, calendar, item.period_end, item.due)
    reached = [step for step in steps if step.day <= as_of]
    if not reached:
        return None
    latest = reached[-1]
    later = steps[len(reached) - 1:]
    if any(chase_key(item.project_id, item.period_id, step.name) in sent for step in later):
        return None
    if _paused_by_rejection(seen, latest, ladder, calendar):
        return None
    pack_sent = any(
        chase_key(item.project_id, item.period_id, step.name) in sent for step in steps
        if step.kind == StepKind.return_pack
    )
    with_pack = latest.kind != StepKind.return_pack and Role.lead in latest.to and not pack_sent
    return DueStep(item.project_id, item.period_id, latest, latest.day < as_of, with_pack)


def _paused_by_rejection(
    seen: Sequence[tuple[date, str]], step: ChaseStep, ladder: ChaseLadder, calendar: WorkingCalendar
) -> bool:
    rejected = [day for day, status in seen if status == REJECTED]
    if not rejected:
        return False
    pause_end = calendar.add_working_days(max(rejected), ladder.rejection_pause_working_days)
    return step.day <= pause_end
