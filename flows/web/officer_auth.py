"""Signing officers in: the /login form (email and password, CSRF, a lockout after repeated failures), the session
cookie (signed with HMAC, HttpOnly, SameSite=Lax, expiring) and, when configured, a single sign-on proxy's trusted
header naming the person. Every officer page takes its officer from one dependency (`Reader`, `Admin`, `Anyone`: not
signed in goes to /login, a temporary password to the account page, too low a role gets 403); every action asks
`signed_in` through officer_forms.act; both check the role on the server."""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, FastAPI, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session, select

from flows.web.context import WebContext, web
from flows.web.security import csrf_token, csrf_valid
from grants.kernel import models as m
from grants.kernel.accounts import Role, allows, sign_in
from grants.kernel.db import session_scope

router = APIRouter()
SESSION_COOKIE = "grants_session"
LOGIN_SCOPE = "login"
STALE_FORM = "The form had expired: go back, reload the page and try again."

RowId = Annotated[int, Path(ge=0, le=2**63 - 1)]
"""A row's id in an address: past a 64-bit integer it is no row ('page not found', not a database error)."""


@dataclass(frozen=True)
class Officer:
    """The person behind a request: account id, email and role (read from the database on every request), and whether
    they must first replace a temporary password (never under single sign-on, where passwords are not used)."""

    id: int
    email: str
    role: str
    must_change: bool = False

    def can(self, needed: Role) -> bool:
        return allows(self.role, needed)


def _key(context: WebContext) -> bytes:
    secret = context.settings.signing_key.get_secret_value().encode()
    return hmac.new(secret, b"grants-web-officer-session", hashlib.sha256).digest()


def _mac(key: bytes, payload: str, password_hash: str) -> str:
    # the password hash is in the MAC: changing a password ends every session made with the old one
    return hmac.new(key, f"{payload}|{password_hash}".encode(), hashlib.sha256).hexdigest()


def session_value(context: WebContext, account: m.Account, now: float) -> str:
    """The cookie value: account id, expiry (epoch seconds) and their MAC."""
    payload = f"{account.id}.{int(now + context.settings.web_session_hours * 3600)}"
    return f"{payload}.{_mac(_key(context), payload, account.password_hash)}"


def _from_cookie(context: WebContext, session: Session, value: str, now: float) -> m.Account | None:
    parts = value.split(".")
    if len(parts) != 3 or not all(p.isascii() and p.isdigit() and len(p) < 19 for p in parts[:2]):
        return None  # not one of ours (and no id or time has 19 digits)
    account = session.get(m.Account, int(parts[0]))
    if account is None or int(parts[1]) < now:
        return None
    expected = _mac(_key(context), f"{parts[0]}.{parts[1]}", account.password_hash)
    return account if hmac.compare_digest(expected, parts[2]) else None


def signed_in(request: Request) -> Officer | None:
    """The signed-in officer (trusted SSO header when configured, else the session cookie), or None."""
    context = web(request)
    header = context.settings.web_trusted_user_header
    with session_scope(context.engine) as session:
        if header:
            email = (request.headers.get(header) or "").strip().lower()
            account = session.exec(select(m.Account).where(m.Account.email == email)).first() if email else None
        else:
            value = request.cookies.get(SESSION_COOKIE, "")
            account = _from_cookie(context, session, value, time.time()) if value else None
        if account is None or not account.active or account.id is None:
            return None
        return Officer(account.id, account.email, account.role, account.must_change_password and not header)


def to_login(request: Request) -> RedirectResponse:
    """Send someone not signed in to the login page, remembering where they were going."""
    return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)


ACCOUNT_PAGE = "/officer/account"


class GoElsewhere(Exception):
    """A page's dependency sends the browser elsewhere: to /login, or to choose a new password first."""

    def __init__(self, location: str) -> None:
        self.location = location


class NotAllowed(Exception):
    """Signed in, but the page needs a higher role."""

    def __init__(self, needed: Role) -> None:
        self.needed = needed


def _officer_for(request: Request, needed: Role, *, temporary_ok: bool = False) -> Officer:
    officer = signed_in(request)
    if officer is None:
        raise GoElsewhere(to_login(request).headers["location"])
    if officer.must_change and not temporary_ok:
        raise GoElsewhere(ACCOUNT_PAGE)
    if not officer.can(needed):
        raise NotAllowed(needed)
    return officer


def reader(request: Request) -> Officer:
    """Any signed-in account whose password is its own (viewer, officer or admin)."""
    return _officer_for(request, Role.viewer)


def administrator(request: Request) -> Officer:
    """A signed-in administrator."""
    return _officer_for(request, Role.admin)


def anyone(request: Request) -> Officer:
    """Any signed-in account, even one that must first replace a temporary password (the account page)."""
    return _officer_for(request, Role.viewer, temporary_ok=True)


Reader = Annotated[Officer, Depends(reader)]
Admin = Annotated[Officer, Depends(administrator)]
Anyone = Annotated[Officer, Depends(anyone)]


def install(app: FastAPI) -> None:
    """Answer the page dependencies' refusals: a 303 redirect, or the plain 403 page."""

    async def go_elsewhere(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, GoElsewhere)
        return RedirectResponse(exc.location, status_code=303)

    async def not_allowed(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, NotAllowed)
        return web(request).page(request, "error.html.j2", {"status": 403, "detail": forbidden(exc.needed)},
                                 status_code=403)

    app.add_exception_handler(GoElsewhere, go_elsewhere)
    app.add_exception_handler(NotAllowed, not_allowed)


def forbidden(needed: Role) -> str:
    """Why an account of too low a role is refused."""
    if needed == Role.officer:
        return "Your account can see and export, but not change anything."
    return "Only an administrator can do this."


def officer_csrf(request: Request, officer: Officer) -> str:
    """The CSRF token of this officer's forms."""
    return csrf_token(request, web(request).form_key, f"officer:{officer.id}")


def officer_csrf_valid(request: Request, officer: Officer, submitted: str | None) -> bool:
    return csrf_valid(request, web(request).form_key, f"officer:{officer.id}", submitted)


def stale_form(request: Request) -> HTMLResponse:
    """The 403 page for a form whose CSRF token is missing, forged or from another browser: nothing was done, and the
    page says what to do."""
    return web(request).page(request, "error.html.j2", {"status": 403, "detail": STALE_FORM}, status_code=403)


def _safe_next(value: str | None) -> str:
    return value if value and value.startswith("/officer") and "//" not in value else "/officer"


def _login_page(request: Request, errors: list[dict[str, str]], email: str = "", next_path: str = "",
                status_code: int = 200) -> HTMLResponse:
    context = web(request)
    return context.page(request, "officer/login.html.j2", {
        "errors": errors, "email": email, "next": _safe_next(next_path),
        "csrf": csrf_token(request, context.form_key, LOGIN_SCOPE)}, status_code=status_code)


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request) -> HTMLResponse:
    """The sign-in form."""
    return _login_page(request, [], next_path=request.query_params.get("next", ""))


@router.post("/login", response_model=None)
async def login(request: Request) -> Response:
    """Check the email and password; on success set the session cookie and go to the overview."""
    context = web(request)
    form = await request.form()
    email, password = str(form.get("email", "")).replace("\x00", "").strip(), str(form.get("password", ""))
    next_path = str(form.get("next", ""))
    if not csrf_valid(request, context.form_key, LOGIN_SCOPE, str(form.get("csrf", ""))):
        return _login_page(request, [{"field": "email", "text": "The form had expired: please sign in again"}],
                           email, next_path, 403)
    client = request.client.host if request.client else "unknown"
    failures = context.limiter("login", 30, 300)  # wrong passwords per address; signing in costs nothing
    if failures.full(client):
        return _login_page(request, [{"field": "email", "text": "Too many sign-in attempts: wait a few minutes"}],
                           email, next_path, 429)
    if not email or not password:
        return _login_page(request, [{"field": "email" if not email else "password",
                                      "text": "Enter your email address" if not email else "Enter your password"}],
                           email, next_path, 400)
    with session_scope(context.engine) as session:
        result = sign_in(session, email, password, context.clock.now())
        cookie = session_value(context, result.account, time.time()) if result.account else ""
        temporary = result.account is not None and result.account.must_change_password
    if not cookie:
        failures.allow(client)
        return _login_page(request, [{"field": "email", "text": result.error}], email, next_path, 401)
    response = RedirectResponse(ACCOUNT_PAGE if temporary else _safe_next(next_path), status_code=303)
    set_session_cookie(context, response, cookie)
    return response


def set_session_cookie(context: WebContext, response: Response, value: str) -> None:
    """Put the session cookie on a response (signed in, or the session renewed after a password change)."""
    response.set_cookie(SESSION_COOKIE, value, max_age=context.settings.web_session_hours * 3600, path="/",
                        httponly=True, samesite="lax", secure=context.settings.web_secure_cookies)


@router.post("/logout", response_model=None)
async def logout(request: Request) -> Response:
    """End the session (the form carries the officer's CSRF token)."""
    officer = signed_in(request)
    form = await request.form()
    if officer is not None and not officer_csrf_valid(request, officer, str(form.get("csrf", ""))):
        return stale_form(request)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
