"""The web app's clock: on a fixed day (`grants web --as-of`) what it records falls on that day in the settings'
timezone, whatever the hour in UTC (a return sent at 23:30 UTC on a summer evening is received that day in London)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from flows.web import context
from flows.web.context import Clock
from grants.kernel.dates import local


@pytest.mark.parametrize("utc_now", [
    datetime(2026, 12, 1, 23, 30, tzinfo=UTC),  # real clock in winter, late evening
    datetime(2026, 7, 1, 23, 30, tzinfo=UTC),  # real clock in summer: already tomorrow in London
    datetime(2026, 7, 1, 0, 15, tzinfo=UTC),
])
@pytest.mark.parametrize("as_of", [date(2024, 10, 14), date(2025, 1, 24), date(2024, 7, 15)])
def test_a_fixed_day_is_that_day_in_the_settings_timezone_at_any_hour(
        monkeypatch: pytest.MonkeyPatch, utc_now: datetime, as_of: date) -> None:
    monkeypatch.setattr(context, "now_utc", lambda: utc_now)
    clock = Clock(as_of, "Europe/London")
    now = clock.now()
    assert now.tzinfo is not None and now.utcoffset() == UTC.utcoffset(None)
    assert local(now, "Europe/London").date() == as_of == clock.today()
    assert local(now, "Europe/London").time().replace(second=0) == local(utc_now, "Europe/London").time().replace(
        second=0)  # the wall-clock time of day is kept, so what is done in a session stays in order


def test_without_a_fixed_day_the_clock_is_the_real_one(monkeypatch: pytest.MonkeyPatch) -> None:
    real = datetime(2026, 7, 1, 23, 30, tzinfo=UTC)
    monkeypatch.setattr(context, "now_utc", lambda: real)
    assert Clock(None, "Europe/London").now() == real


def test_on_the_day_the_clocks_go_forward_the_missing_hour_still_falls_on_that_day(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(context, "now_utc", lambda: datetime(2026, 7, 1, 0, 15, tzinfo=UTC))  # 01:15 in London
    now = Clock(date(2024, 3, 31), "Europe/London").now()  # 01:00-02:00 does not exist in London that day
    assert local(now, "Europe/London").date() == date(2024, 3, 31)
