"""Signing officers in: the /login form (email and password, CSRF, a lockout after repeated failures), the session
cookie (signed with HMAC, HttpOnly, SameSite=Lax, expiring) and, when configured, a single sign-on proxy's trusted
header naming the person. Every officer page and action asks `signed_in` and checks the role on the server."""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from urllib.parse import quote

from fastapi import APIRouter, Request
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


@dataclass(frozen=True)
class Officer:
    """The person behind a request: account id, email and role (read from the database on every request)."""

    id: int
    email: str
    role: str

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
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
        return None
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
        return Officer(account.id, account.email, account.role)


def to_login(request: Request) -> RedirectResponse:
    """Send someone not signed in to the login page, remembering where they were going."""
    return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)


def officer_csrf(request: Request, officer: Officer) -> str:
    """The CSRF token of this officer's forms."""
    return csrf_token(request, web(request).form_key, f"officer:{officer.id}")


def officer_csrf_valid(request: Request, officer: Officer, submitted: str | None) -> bool:
    return csrf_valid(request, web(request).form_key, f"officer:{officer.id}", submitted)


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
    email, password = str(form.get("email", "")).strip(), str(form.get("password", ""))
    next_path = str(form.get("next", ""))
    if not csrf_valid(request, context.form_key, LOGIN_SCOPE, str(form.get("csrf", ""))):
        return _login_page(request, [{"field": "email", "text": "The form had expired: please sign in again"}],
                           email, next_path, 400)
    client = request.client.host if request.client else "unknown"
    if not context.limiter("login", 30, 300).allow(client):
        return _login_page(request, [{"field": "email", "text": "Too many sign-in attempts: wait a few minutes"}],
                           email, next_path, 429)
    if not email or not password:
        return _login_page(request, [{"field": "email" if not email else "password",
                                      "text": "Enter your email address" if not email else "Enter your password"}],
                           email, next_path, 400)
    with session_scope(context.engine) as session:
        result = sign_in(session, email, password, context.clock.now())
        cookie = session_value(context, result.account, time.time()) if result.account else ""
    if not cookie:
        return _login_page(request, [{"field": "email", "text": result.error}], email, next_path, 401)
    response = RedirectResponse(_safe_next(next_path), status_code=303)
    response.set_cookie(SESSION_COOKIE, cookie, max_age=context.settings.web_session_hours * 3600, path="/",
                        httponly=True, samesite="lax", secure=context.settings.web_secure_cookies)
    return response


@router.post("/logout", response_model=None)
async def logout(request: Request) -> Response:
    """End the session (the form carries the officer's CSRF token)."""
    officer = signed_in(request)
    form = await request.form()
    if officer is not None and not officer_csrf_valid(request, officer, str(form.get("csrf", ""))):
        return HTMLResponse("The form had expired.", status_code=400)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
