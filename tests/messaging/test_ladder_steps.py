"""The ladder's dates worked out once per ladder, calendar and dates (chase_plan.ladder_steps) are the ladder's own,
for every ladder and calendar, however often a run asks."""

from __future__ import annotations

from datetime import date

from grants.messaging.chase_plan import ladder_steps
from grants.programme.ladder import ChaseLadder
from grants.programme.periods import ENGLAND_AND_WALES, WorkingCalendar

Q3_END, Q3_DUE = date(2024, 12, 31), date(2025, 1, 15)


def test_each_ladder_and_calendar_gets_its_own_dates_the_same_every_time() -> None:
    plain = ChaseLadder()
    short = ChaseLadder(reminder_working_days_before_due=None, last_reminder_on_due_date=False,
                        overdue_working_days_after_due=[3], escalation_working_days_after_due=None)
    closed = WorkingCalendar([date(2025, 1, 2), date(2025, 1, 3)])  # the office shut after New Year
    for ladder in (plain, short):
        for calendar in (ENGLAND_AND_WALES, closed):
            expected = ladder.steps(Q3_END, Q3_DUE, calendar)
            first = ladder_steps(ladder, calendar, Q3_END, Q3_DUE)
            first.clear()  # a caller changing its list changes nothing for the next
            assert ladder_steps(ladder, calendar, Q3_END, Q3_DUE) == expected
    assert ladder_steps(plain, closed, Q3_END, Q3_DUE)[0].day > ladder_steps(plain, ENGLAND_AND_WALES, Q3_END,
                                                                             Q3_DUE)[0].day


def test_a_new_ladder_is_never_given_the_dates_of_one_that_is_gone() -> None:
    for offset in (3, 4, 5, 6):  # ladders made and dropped in turn may reuse one another's memory
        ladder = ChaseLadder(overdue_working_days_after_due=[offset], escalation_working_days_after_due=None)
        assert ladder_steps(ladder, ENGLAND_AND_WALES, Q3_END, Q3_DUE) == ladder.steps(Q3_END, Q3_DUE,
                                                                                        ENGLAND_AND_WALES)
