"""What every request handler of the web app shares: the settings, the database engine, the clock (today, or a
fixed day for demos and tests) and the page templates (templates/web/, autoescaped)."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cached_property
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import StrictUndefined
from sqlalchemy.engine import Engine

from flows.clock import now_utc, today
from flows.database import configured_engine
from flows.web.security import RateLimiter, csp_nonce
from grants.kernel.dates import date_time, local, long_date, plural, short_date, tight_date
from grants.kernel.money import format_gbp
from grants.kernel.settings import Settings
from grants.reporting.workspace_facts import FactsCache

TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "web"
STATIC = TEMPLATES / "static"


@dataclass(frozen=True)
class Clock:
    """Today and now for the app: the real clock, or a fixed day (`grants web --as-of`) at the current wall-clock
    time in the settings' timezone (so what the app records on that day, e.g. a return received, falls on that day
    there, whatever the hour in UTC)."""

    as_of: date | None = None
    zone: str = "Europe/London"

    def today(self) -> date:
        """The day the app acts as."""
        return self.as_of or today()

    def now(self) -> datetime:
        """Now, UTC; on a fixed day, that day at the current time of day in the clock's timezone."""
        real = now_utc()
        if self.as_of is None:
            return real
        zone = ZoneInfo(self.zone)
        wall = real.astimezone(zone).time()
        return datetime.combine(self.as_of, wall, tzinfo=zone).astimezone(UTC)


class WebContext:
    """The app's shared state (one per app): settings, clock, engine, templates and the key for form tokens."""

    def __init__(self, settings: Settings, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock
        self.limiters: dict[str, RateLimiter] = {}
        self.facts = FactsCache()  # the grant and project pages' ledger figures, per grant, until anything changes
        self.templates = Jinja2Templates(directory=str(TEMPLATES))
        env = self.templates.env
        env.autoescape = True  # every page is HTML (the names end in .html.j2, which select_autoescape misses)
        env.filters["gbp"] = format_gbp
        env.filters["plural"] = plural
        zone = settings.timezone  # times stored in UTC are shown as the officers' wall-clock time
        env.filters.update(day=long_date, short_day=short_date, tight_day=tight_date,
                           when=lambda value: date_time(local(value, zone) if value is not None else None))
        env.undefined = StrictUndefined

    def limiter(self, name: str, limit: int, window_seconds: float) -> RateLimiter:
        """The app's rate limiter called `name` (made on first use; one per app, shared by its requests)."""
        if name not in self.limiters:
            self.limiters[name] = RateLimiter(limit, window_seconds)
        return self.limiters[name]

    @cached_property
    def engine(self) -> Engine:
        """The configured database (schema upgraded on first use)."""
        return configured_engine()

    @cached_property
    def form_key(self) -> bytes:
        """The key CSRF tokens are made with: derived from the signing key for this one purpose."""
        secret = self.settings.signing_secret()
        return hmac.new(secret, b"grants-web-csrf", hashlib.sha256).digest()

    def page(self, request: Request, template: str, context: dict[str, Any] | None = None,
             status_code: int = 200) -> HTMLResponse:
        """Render a page of templates/web/ with the request, its script nonce and the given context."""
        values = {"request": request, "csp_nonce": csp_nonce(request), **(context or {})}
        return self.templates.TemplateResponse(request, template, values, status_code=status_code)


def web(request: Request) -> WebContext:
    """The app's shared context (a FastAPI dependency)."""
    context: WebContext = request.app.state.web
    return context
