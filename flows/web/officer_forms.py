"""The one shape of every officer action (a POST form): signed in, role and CSRF token checked on the server, the
grants.* function run in one transaction (it writes the audit entry), then back to the page the action concerns with
a 'done' banner. A refused action shows that page again (422) with everything the officer typed kept, an error
summary at the top linking to each problem and the message beside its field (the GOV.UK pattern)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from flows.web.context import WebContext, web
from flows.web.officer_auth import ACCOUNT_PAGE, Officer, forbidden, officer_csrf_valid, signed_in, stale_form, to_login
from grants.kernel.accounts import Role
from grants.kernel.db import session_scope
from grants.kernel.errors import GrantsError, InputError

Form = dict[str, str]


@dataclass(frozen=True)
class Failed:
    """A refused form to show again: which form (its id on the page), what was typed, each problem by field name
    ("" for the form as a whole)."""

    form: str
    values: Form
    problems: dict[str, str] = field(default_factory=dict)

    def value(self, form: str, name: str, default: Any = "") -> Any:
        """What the officer typed in this field of this form, else `default` (the page's own value)."""
        return self.values.get(name, default) if form == self.form else default

    def error(self, form: str, name: str = "") -> str:
        """The message to show beside this field of this form ('' when none)."""
        return self.problems.get(name, "") if form == self.form else ""

    def summary(self) -> list[dict[str, str]]:
        """The error summary's items, each linking to its field (id `<form>-<field>`, or the form itself)."""
        return [{"href": f"#{self.form}-{name}" if name else f"#{self.form}", "text": text}
                for name, text in self.problems.items()]


@dataclass(frozen=True)
class Acting:
    """Who is acting, what they sent and when: what an action's body needs."""

    officer: Officer
    form: Form
    context: WebContext
    now: datetime
    today: date

    @property
    def email(self) -> str:
        return self.officer.email

    def text(self, name: str) -> str:
        return self.form.get(name, "").strip()

    def day(self, name: str, what: str, *, not_after_today: bool = False, optional: bool = False) -> date | None:
        """The field as a date (YYYY-MM-DD, as a date input sends it); InputError naming the field otherwise."""
        value = self.text(name)
        if not value and optional:
            return None
        if not value:
            raise InputError(name, f"Enter {what}")
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise InputError(name, f"Enter {what} as a real date, for example 2025-01-29") from None
        if not_after_today and day > self.today:
            raise InputError(name, f"{what[0].upper()}{what[1:]} cannot be in the future")
        return day

    def required_day(self, name: str, what: str, *, not_after_today: bool = False) -> date:
        day = self.day(name, what, not_after_today=not_after_today)
        assert day is not None
        return day

    def number(self, name: str, what: str, low: int | None = None, high: int | None = None) -> int:
        """The field as a whole number (within low..high when given); InputError naming the field otherwise."""
        try:
            value = int(self.text(name))
        except ValueError:
            raise InputError(name, f"Enter {what} as a whole number") from None
        if (low is not None and value < low) or (high is not None and value > high):
            raise InputError(name, f"{what[0].upper()}{what[1:]} must be {low} to {high}")
        if abs(value) >= 2**63:  # past a 64-bit integer: no row has it, and the database could not compare it
            raise InputError(name, f"There is no such {what.removeprefix('the ')}: reload the page")
        return value


Page = Callable[[Officer, Failed], HTMLResponse]
Done = Callable[[Officer, Any], Response]


def refused(request: Request, status: int, detail: str) -> HTMLResponse:
    """The plain error page for a request that cannot be taken at all (not allowed, stale form)."""
    return web(request).page(request, "error.html.j2", {"status": status, "detail": detail}, status_code=status)


async def act(request: Request, *, form: str | Callable[[Form], str], field: str,
              run: Callable[[Session, Acting], Any], done: str | Done, page: Page,
              needs: Role = Role.officer) -> Response:
    """Check, run and answer one action. `form` is the form's id on its page (or works it out from the fields) and
    `field` the field a refusal without a field of its own is shown beside; `run` does the work in one transaction
    (its result goes to `done`: a redirect address, or a function making the answer); `page(officer, failed)`
    shows the page again with the refused form."""
    officer = signed_in(request)
    if officer is None:
        return to_login(request)
    if officer.must_change:  # a temporary password: nothing else until the person has chosen their own
        return RedirectResponse(ACCOUNT_PAGE, status_code=303)
    # a NUL character is never meant, and PostgreSQL cannot store one in text: dropped, not a server error
    values = {k: str(v).replace("\x00", "") for k, v in (await request.form()).items()}
    if not officer.can(needs):
        return refused(request, 403, forbidden(needs))
    if not officer_csrf_valid(request, officer, values.get("csrf")):
        return stale_form(request)
    context = web(request)
    acting = Acting(officer, values, context, context.clock.now(), context.clock.today())
    try:
        with session_scope(context.engine) as session:
            result = run(session, acting)
    except GrantsError as exc:
        form_id = form(values) if callable(form) else form
        problem = {exc.field if isinstance(exc, InputError) else field: str(exc)}
        return page(officer, Failed(form_id, _kept(values), problem))
    return RedirectResponse(done, status_code=303) if isinstance(done, str) else done(officer, result)


def _kept(values: Form) -> Form:
    """What to put back in the form: everything but the token and any password."""
    return {k: v for k, v in values.items() if k != "csrf" and "password" not in k}
