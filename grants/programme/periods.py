"""The reporting calendar: England & Wales working days and UK financial-year quarters with due dates."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Literal, Protocol

import holidays

from grants.kernel.dates import plural

QuarterBasis = Literal["financial_year", "calendar_year"]
MEMO_LIMIT = 100_000  # remembered answers per calendar, so a long-running engine stays small


@lru_cache(maxsize=64)
def _bank_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("GB", subdiv="ENG", years=year).keys())


class WorkingCalendar:
    """Weekends, England & Wales bank holidays (the `holidays` library) and optional extra closure days."""

    def __init__(self, closure_days: Iterable[date] = ()) -> None:
        self.closure_days = frozenset(closure_days)
        self._added: dict[tuple[date, int], date] = {}  # memos: a national programme asks the same dates often
        self._between: dict[tuple[date, date], int] = {}

    def is_working_day(self, day: date) -> bool:
        """True on a weekday that is neither a bank holiday nor a configured closure day."""
        return day.weekday() < 5 and day not in _bank_holidays(day.year) and day not in self.closure_days

    def add_working_days(self, day: date, n: int) -> date:
        """The n-th working day strictly after `day` (n > 0), or strictly before it (n < 0); `day` itself if n == 0."""
        found = self._added.get((day, n))
        if found is None:
            if len(self._added) > MEMO_LIMIT:
                self._added.clear()
            found = self._added[(day, n)] = self._add_working_days(day, n)
        return found

    def _add_working_days(self, day: date, n: int) -> date:
        step = 1 if n >= 0 else -1
        remaining = abs(n)
        current = day
        while remaining:
            current += timedelta(days=step)
            if self.is_working_day(current):
                remaining -= 1
        return current

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in (start, end]: how many working days `end` is after `start` (negative if before)."""
        if end < start:
            return -self.working_days_between(end, start)
        found = self._between.get((start, end))
        if found is None:
            if len(self._between) > MEMO_LIMIT:
                self._between.clear()
            found = self._between[(start, end)] = self._count_working_days(start, end)
        return found

    def _count_working_days(self, start: date, end: date) -> int:
        count, current = 0, start
        while current < end:
            current += timedelta(days=1)
            if self.is_working_day(current):
                count += 1
        return count

    def next_working_day(self, day: date) -> date:
        """`day` itself if it is a working day, else the next working day."""
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day


ENGLAND_AND_WALES = WorkingCalendar()


@lru_cache(maxsize=256)
def closure_calendar(closure_days: str) -> WorkingCalendar:
    """England & Wales working days plus a grant's closure days as stored ("2024-12-27,..."): one shared calendar
    per set of closures."""
    return WorkingCalendar(date.fromisoformat(d) for d in closure_days.split(",") if d)


def days_text(n: int) -> str:
    """'1 day', '45 days'."""
    return plural(n, "days")


def working_days_text(n: int) -> str:
    """'1 working day', '7 working days'."""
    return plural(n, "working days")


class Delivery(Protocol):
    """A project's delivery window (a `Project` row, or anything with its two dates)."""

    @property
    def delivery_start(self) -> date: ...

    @property
    def delivery_end(self) -> date: ...


def reports_for(project: Delivery, start: date, end: date) -> bool:
    """Whether a project reports for the period from `start` to `end`: its delivery window overlaps the period. A
    project that starts delivering in September has no return for April to June: none is chased, due or taken."""
    return start <= project.delivery_end and end >= project.delivery_start


@dataclass(frozen=True)
class Period:
    """One reporting quarter of a grant: label like '2024-25-Q2', its dates and its return due date."""

    label: str
    quarter: int
    start: date
    end: date
    due: date


def _quarter_end(year: int, month: int) -> date:
    next_month = date(year + (month == 12), month % 12 + 1, 1)
    return next_month - timedelta(days=1)


def quarter_of(day: date, basis: QuarterBasis = "financial_year") -> tuple[str, int, date, date]:
    """(label, quarter number, quarter start, quarter end) of the quarter holding `day`."""
    first_month = ((day.month - 1) // 3) * 3 + 1
    start = date(day.year, first_month, 1)
    end = _quarter_end(day.year, first_month + 2)
    if basis == "calendar_year":
        quarter = (first_month - 1) // 3 + 1
        return f"{day.year}-Q{quarter}", quarter, start, end
    fy_start = day.year if day.month >= 4 else day.year - 1
    quarter = ((day.month - 4) % 12) // 3 + 1
    return f"{fy_start}-{(fy_start + 1) % 100:02d}-Q{quarter}", quarter, start, end


def reporting_periods(
    start: date,
    end: date,
    *,
    due_working_days: int = 10,
    basis: QuarterBasis = "financial_year",
    calendar: WorkingCalendar = ENGLAND_AND_WALES,
) -> list[Period]:
    """The quarters overlapping [start, end], clipped to those dates, each due N working days after it ends."""
    if end < start:
        raise ValueError(f"grant ends ({end}) before it starts ({start})")
    periods: list[Period] = []
    day = start
    while day <= end:
        label, quarter, q_start, q_end = quarter_of(day, basis)
        p_start, p_end = max(q_start, start), min(q_end, end)
        periods.append(Period(label, quarter, p_start, p_end, calendar.add_working_days(p_end, due_working_days)))
        day = q_end + timedelta(days=1)
    return periods
