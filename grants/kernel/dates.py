"""Dates and counts written for people, in the GOV.UK style: 'Monday 14 October 2024' where the weekday helps
(messages, due dates, web pages), '14 October 2024' in compact places, '14 Oct' only where space is tight (a narrow
table column); never a leading zero ('02 Oct') or an abbreviated weekday ('Mon'). Times as '9:30am'. Counts with the
right plural: '1 school', '3 working days', '1 person'.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo


def long_date(value: date | None) -> str:
    """'Monday 14 October 2024' (empty for None)."""
    return f"{value:%A} {value.day} {value:%B %Y}" if value is not None else ""


def short_date(value: date | None) -> str:
    """'14 October 2024' (empty for None)."""
    return f"{value.day} {value:%B %Y}" if value is not None else ""


def tight_date(value: date | None) -> str:
    """'14 Oct' for a narrow table column (GOV.UK abbreviates months only where space is short)."""
    return f"{value.day} {value:%b}" if value is not None else ""


def clock_time(value: datetime) -> str:
    """'9:30am', '12 noon'-free GOV.UK style: '12:05pm', '6pm'."""
    hour = value.hour % 12 or 12
    suffix = "am" if value.hour < 12 else "pm"
    return f"{hour}{f':{value.minute:02d}' if value.minute else ''}{suffix}"


def local(value: datetime, zone: str) -> datetime:
    """A stored instant (UTC; naive as SQLite gives it back) as the wall-clock time in `zone`."""
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(ZoneInfo(zone))


def date_time(value: datetime | None) -> str:
    """'14 October 2024, 9:30am' (empty for None)."""
    return f"{short_date(value)}, {clock_time(value)}" if value is not None else ""


IRREGULAR = {"people": "person", "children": "child"}


def plural(count: int, noun: str) -> str:
    """'1 working day', '3 working days', '1 school' (from the plural 'schools'), '1 person' (from 'people')."""
    words = noun.rsplit(" ", 1)
    last = words[-1]
    if count == 1:
        last = IRREGULAR.get(last, last[:-1] if last.endswith("s") and not last.endswith("ss") else last)
    elif not last.endswith("s") and last not in IRREGULAR:
        last = {"person": "people", "child": "children"}.get(last, last + "s")
    return f"{count:,} {' '.join([*words[:-1], last])}"
