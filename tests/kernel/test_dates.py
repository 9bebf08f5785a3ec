"""Dates and counts for people in the GOV.UK style: no leading zero, the month and weekday in full, plurals right."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from grants.kernel.dates import date_time, long_date, plural, short_date, tight_date


@pytest.mark.parametrize(("formatted", "expected"), [
    (long_date(date(2024, 10, 14)), "Monday 14 October 2024"),
    (long_date(date(2024, 10, 2)), "Wednesday 2 October 2024"),  # never "Wed 02 Oct 2024"
    (short_date(date(2025, 3, 31)), "31 March 2025"),  # never "31 Mar 2025"
    (short_date(date(2024, 5, 1)), "1 May 2024"),
    (tight_date(date(2024, 10, 2)), "2 Oct"),  # only for a narrow column
    (date_time(datetime(2024, 10, 14, 9, 30)), "14 October 2024, 9:30am"),
    (date_time(datetime(2024, 10, 14, 18, 0)), "14 October 2024, 6pm"),
    (date_time(datetime(2024, 10, 14, 12, 5)), "14 October 2024, 12:05pm"),
    (long_date(None), ""),
])
def test_dates_are_written_the_govuk_way(formatted: str, expected: str) -> None:
    assert formatted == expected


@pytest.mark.parametrize(("count", "noun", "expected"), [
    (1, "schools", "1 school"), (2, "schools", "2 schools"), (1, "working days", "1 working day"),
    (0, "working days", "0 working days"), (1, "people", "1 person"), (3, "person", "3 people"),
    (1, "children", "1 child"), (1, "time", "1 time"), (2, "time", "2 times"), (1, "business", "1 business"),
    (1_250, "days", "1,250 days"),
])
def test_counts_agree_with_their_nouns(count: int, noun: str, expected: str) -> None:
    assert plural(count, noun) == expected
