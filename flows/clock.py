"""The only place the engine reads the clock: today in the configured timezone, and now in UTC."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from grants.kernel.settings import get_settings


def today() -> date:
    """Today's date in the configured timezone (Europe/London by default)."""
    return datetime.now(ZoneInfo(get_settings().timezone)).date()


def now_utc() -> datetime:
    """The current time, UTC and timezone-aware (for timestamps such as when a return was received)."""
    return datetime.now(ZoneInfo("UTC"))
