"""The pure chase planner and the ladder: one table row per rule, on 2024-25 Q3 (due Wednesday 15 January 2025)."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from grants.messaging.chase_plan import PeriodReturns, chase_key, plan_chase
from grants.programme.ladder import ChaseLadder, Role
from grants.programme.periods import ENGLAND_AND_WALES, WorkingCalendar

Q3_END, Q3_DUE = date(2024, 12, 31), date(2025, 1, 15)
LADDER = ChaseLadder()
ALL_BEFORE = {"reminder": ["pack"], "last-reminder": ["pack", "reminder"],
              "overdue-1": ["pack", "reminder", "last-reminder"],
              "overdue-2": ["pack", "reminder", "last-reminder", "overdue-1"],
              "escalation": ["pack", "reminder", "last-reminder", "overdue-1", "overdue-2"]}


def test_default_ladder_dates_for_2024_25_q3_skip_new_years_day() -> None:
    steps = LADDER.steps(Q3_END, Q3_DUE, ENGLAND_AND_WALES)
    assert [(s.name, s.day) for s in steps] == [
        ("pack", date(2025, 1, 2)), ("reminder", date(2025, 1, 8)), ("last-reminder", date(2025, 1, 15)),
        ("overdue-1", date(2025, 1, 17)), ("overdue-2", date(2025, 1, 22)), ("escalation", date(2025, 1, 29)),
    ]
    assert steps[3].to == (Role.lead,) and steps[3].cc == (Role.officer,)
    assert steps[5].to == (Role.officer,) and steps[5].cc == (Role.manager,)
    assert LADDER.last_day(Q3_DUE, ENGLAND_AND_WALES) == date(2025, 2, 12)


def _plan(as_of: date, sent: list[str], received: tuple[tuple[date, str], ...] = ()) -> list[tuple[str, bool, bool]]:
    item = PeriodReturns(1, 3, Q3_END, Q3_DUE, received)
    keys = [chase_key(1, 3, name) for name in sent]
    return [(d.step.name, d.late, d.with_pack) for d in plan_chase([item], LADDER, ENGLAND_AND_WALES, keys, as_of)]


R, A = "rejected", "accepted"


@pytest.mark.parametrize(("rule", "as_of", "sent", "received", "expected"), [
    ("nothing before the pack day", date(2024, 12, 31), [], (), []),
    ("nothing on a bank holiday", date(2025, 1, 1), [], (), []),
    ("nothing on a weekend", date(2025, 1, 18), ALL_BEFORE["overdue-2"], (), []),
    ("pack on the first working day after quarter end", date(2025, 1, 2), [], (), [("pack", False, False)]),
    ("a step is never sent twice", date(2025, 1, 3), ["pack"], (), []),
    ("reminder 5 working days before due", date(2025, 1, 8), ["pack"], (), [("reminder", False, False)]),
    ("missed steps: only the latest, late, carrying the pack", date(2025, 1, 9), [], (), [("reminder", True, True)]),
    ("last reminder on the due date", date(2025, 1, 15), ALL_BEFORE["last-reminder"], (),
     [("last-reminder", False, False)]),
    ("first overdue chaser at +2", date(2025, 1, 17), ALL_BEFORE["overdue-1"], (), [("overdue-1", False, False)]),
    ("second overdue chaser at +5", date(2025, 1, 22), ALL_BEFORE["overdue-2"], (), [("overdue-2", False, False)]),
    ("escalation at +10", date(2025, 1, 29), ALL_BEFORE["escalation"], (), [("escalation", False, False)]),
    ("no chaser once return accepted", date(2025, 1, 29), ALL_BEFORE["escalation"], ((date(2025, 1, 20), A),), []),
    ("a superseded version still counts as accepted", date(2025, 1, 22), [], ((date(2025, 1, 10), "superseded"),),
     []),
    ("a return received after as_of is not seen yet", date(2025, 1, 17), ALL_BEFORE["overdue-1"],
     ((date(2025, 1, 20), A),), [("overdue-1", False, False)]),
    ("rejection pauses chasers for 5 working days", date(2025, 1, 17), ALL_BEFORE["overdue-1"],
     ((date(2025, 1, 14), R),), []),
    ("steps inside the pause are skipped, not sent late", date(2025, 1, 21), ALL_BEFORE["overdue-1"],
     ((date(2025, 1, 14), R),), []),
    ("chasing resumes after the pause if no corrected return", date(2025, 1, 22), ALL_BEFORE["overdue-1"],
     ((date(2025, 1, 14), R),), [("overdue-2", False, False)]),
    ("no chaser once a rejected return is corrected", date(2025, 1, 22), ALL_BEFORE["overdue-1"],
     ((date(2025, 1, 14), R), (date(2025, 1, 20), A)), []),
    ("nothing after the stop day", date(2025, 2, 13), [], (), []),
    ("the escalation is still sent late before the stop day", date(2025, 2, 12), [], (), [("escalation", True, False)]),
    ("never an earlier step once a later one was sent", date(2025, 1, 23), ["overdue-2"], (), []),
])
def test_planner_rules(
    rule: str, as_of: date, sent: list[str], received: tuple[tuple[date, str], ...],
    expected: list[tuple[str, bool, bool]],
) -> None:
    assert _plan(as_of, sent, received) == expected, rule


def test_closure_day_moves_the_pack_to_the_next_working_day() -> None:
    calendar = WorkingCalendar([date(2025, 1, 2)])
    assert LADDER.steps(Q3_END, Q3_DUE, calendar)[0].day == date(2025, 1, 3)
    item = PeriodReturns(1, 3, Q3_END, Q3_DUE)
    assert plan_chase([item], LADDER, calendar, [], date(2025, 1, 2)) == []


def test_disabled_ladder_sends_nothing() -> None:
    item = PeriodReturns(1, 3, Q3_END, Q3_DUE)
    assert plan_chase([item], ChaseLadder(enabled=False), ENGLAND_AND_WALES, [], date(2025, 1, 2)) == []


def test_ladder_without_reminders_or_escalation() -> None:
    ladder = ChaseLadder(reminder_working_days_before_due=None, last_reminder_on_due_date=False,
                         overdue_working_days_after_due=[3], escalation_working_days_after_due=None)
    assert [s.name for s in ladder.steps(Q3_END, Q3_DUE, ENGLAND_AND_WALES)] == ["pack", "overdue-1"]


@pytest.mark.parametrize("bad", [
    {"overdue_working_days_after_due": [5, 2]},
    {"overdue_working_days_after_due": [0]},
    {"escalation_working_days_after_due": 4},
    {"stop_working_days_after_due": 8},
    {"reminder_days": 5},
])
def test_ladder_rejects_inconsistent_or_unknown_settings(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        ChaseLadder.model_validate(bad)
