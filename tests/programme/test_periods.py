"""The reporting calendar: working days (England & Wales bank holidays) and quarterly due dates."""

from __future__ import annotations

from datetime import date

import pytest

from grants.programme.periods import (
    ENGLAND_AND_WALES,
    WorkingCalendar,
    quarter_of,
    reporting_periods,
    working_days_text,
)


@pytest.mark.parametrize(
    ("after", "n", "expected"),
    [
        (date(2024, 6, 30), 10, date(2024, 7, 12)),   # quarter ends on a Sunday
        (date(2024, 9, 30), 10, date(2024, 10, 14)),
        (date(2024, 12, 31), 10, date(2025, 1, 15)),  # skips New Year's Day
        (date(2025, 3, 31), 10, date(2025, 4, 14)),
        (date(2025, 3, 31), 15, date(2025, 4, 23)),   # skips Good Friday and Easter Monday
        (date(2025, 12, 31), 10, date(2026, 1, 15)),
        (date(2026, 3, 31), 10, date(2026, 4, 16)),   # Easter 2026
        (date(2024, 8, 23), 1, date(2024, 8, 27)),    # Friday before the August bank holiday
        (date(2024, 12, 24), 1, date(2024, 12, 27)),  # Christmas Day and Boxing Day
    ],
)
def test_due_date_is_nth_working_day_strictly_after(after: date, n: int, expected: date) -> None:
    assert ENGLAND_AND_WALES.add_working_days(after, n) == expected


def test_zero_working_days_is_the_day_itself() -> None:
    assert ENGLAND_AND_WALES.add_working_days(date(2024, 12, 25), 0) == date(2024, 12, 25)


def test_negative_working_days_count_backwards_over_holidays() -> None:
    assert ENGLAND_AND_WALES.add_working_days(date(2024, 12, 27), -1) == date(2024, 12, 24)


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2024, 12, 25), False), (date(2024, 12, 26), False), (date(2025, 1, 1), False),
        (date(2025, 4, 18), False), (date(2025, 4, 21), False), (date(2024, 8, 26), False),
        (date(2024, 8, 24), False), (date(2024, 8, 27), True), (date(2025, 1, 2), True),
        (date(2026, 12, 28), False),  # Boxing Day (substitute day)
    ],
)
def test_weekends_and_england_and_wales_bank_holidays_are_not_working_days(day: date, working: bool) -> None:
    assert ENGLAND_AND_WALES.is_working_day(day) is working


def test_configured_closure_days_are_skipped() -> None:
    calendar = WorkingCalendar([date(2024, 12, 27), date(2024, 12, 30), date(2024, 12, 31)])
    assert calendar.add_working_days(date(2024, 12, 24), 1) == date(2025, 1, 2)


def test_working_days_between_counts_days_after_start_up_to_end() -> None:
    assert ENGLAND_AND_WALES.working_days_between(date(2025, 1, 15), date(2025, 1, 17)) == 2
    assert ENGLAND_AND_WALES.working_days_between(date(2025, 1, 17), date(2025, 1, 15)) == -2
    assert ENGLAND_AND_WALES.working_days_between(date(2024, 12, 24), date(2024, 12, 27)) == 1


def test_financial_year_grant_has_four_quarters_due_ten_working_days_after_each() -> None:
    periods = reporting_periods(date(2024, 4, 1), date(2025, 3, 31))
    assert [(p.label, p.start, p.end, p.due) for p in periods] == [
        ("2024-25-Q1", date(2024, 4, 1), date(2024, 6, 30), date(2024, 7, 12)),
        ("2024-25-Q2", date(2024, 7, 1), date(2024, 9, 30), date(2024, 10, 14)),
        ("2024-25-Q3", date(2024, 10, 1), date(2024, 12, 31), date(2025, 1, 15)),
        ("2024-25-Q4", date(2025, 1, 1), date(2025, 3, 31), date(2025, 4, 14)),
    ]


def test_grant_starting_mid_quarter_gets_a_clipped_first_period() -> None:
    periods = reporting_periods(date(2024, 5, 30), date(2025, 1, 31), due_working_days=15)
    assert [(p.label, p.start, p.end) for p in periods] == [
        ("2024-25-Q1", date(2024, 5, 30), date(2024, 6, 30)),
        ("2024-25-Q2", date(2024, 7, 1), date(2024, 9, 30)),
        ("2024-25-Q3", date(2024, 10, 1), date(2024, 12, 31)),
        ("2024-25-Q4", date(2025, 1, 1), date(2025, 1, 31)),
    ]
    assert periods[-1].due == date(2025, 2, 21)


@pytest.mark.parametrize(
    ("day", "basis", "label", "quarter"),
    [
        (date(2024, 4, 1), "financial_year", "2024-25-Q1", 1),
        (date(2025, 3, 31), "financial_year", "2024-25-Q4", 4),
        (date(1999, 12, 31), "financial_year", "1999-00-Q3", 3),
        (date(2025, 3, 31), "calendar_year", "2025-Q1", 1),
        (date(2024, 12, 31), "calendar_year", "2024-Q4", 4),
    ],
)
def test_quarter_labels_follow_the_basis(day: date, basis: str, label: str, quarter: int) -> None:
    got = quarter_of(day, basis)  # type: ignore[arg-type]
    assert (got[0], got[1]) == (label, quarter)


def test_grant_ending_before_it_starts_is_refused() -> None:
    with pytest.raises(ValueError, match="ends"):
        reporting_periods(date(2025, 4, 1), date(2025, 3, 31))


@pytest.mark.parametrize(("n", "text"), [(0, "0 working days"), (1, "1 working day"), (7, "7 working days")])
def test_working_days_text_is_singular_only_for_one(n: int, text: str) -> None:
    assert working_days_text(n) == text
