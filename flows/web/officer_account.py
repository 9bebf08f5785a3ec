"""'Your account' (/officer/account), for every signed-in person: who they are, their role and last sign-in, and
changing their own password (the current one, the new one twice, the same strength rule as the CLI). A wrong current
password counts towards the lockout; a change ends the person's other sessions (the password hash is in every
session's MAC) while this browser gets a renewed session. Under single sign-on there is no password to change."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from flows.web.context import web
from flows.web.officer_auth import (
    Anyone,
    Officer,
    officer_csrf_valid,
    session_value,
    set_session_cookie,
    signed_in,
    stale_form,
    to_login,
)
from flows.web.officer_forms import Failed, refused
from flows.web.officer_pages import render
from grants.kernel import models as m
from grants.kernel.accounts import MIN_PASSWORD, WrongPassword, change_own_password
from grants.kernel.db import session_scope
from grants.kernel.errors import GrantsError, InputError

router = APIRouter(prefix="/officer")
SSO_WORDS = "You sign in through your organisation's single sign-on, so there is no password to change here."


def account_view(request: Request, officer: Officer, failed: Failed | None = None) -> HTMLResponse:
    """The account page (also shown again with a refused password change)."""
    context = web(request)
    with session_scope(context.engine) as session:
        account = session.get(m.Account, officer.id)
        last_sign_in = account.last_sign_in_at if account else None
    return render(request, officer, "officer/account.html.j2", {
        "last_sign_in": last_sign_in, "sso": bool(context.settings.web_trusted_user_header),
        "sso_words": SSO_WORDS, "min_password": MIN_PASSWORD}, failed)


@router.get("/account", response_class=HTMLResponse, response_model=None)
async def account_page(request: Request, officer: Anyone) -> Response:
    """Your account: email, role, last sign-in and the password form."""
    return account_view(request, officer)


@router.post("/account/password", response_model=None)
async def change_password(request: Request) -> Response:
    """Change your own password; this session carries on, every other session of yours ends."""
    officer = signed_in(request)
    if officer is None:
        return to_login(request)
    form = {k: str(v) for k, v in (await request.form()).items()}
    if not officer_csrf_valid(request, officer, form.get("csrf")):
        return stale_form(request)
    context = web(request)
    if context.settings.web_trusted_user_header:
        return refused(request, 400, SSO_WORDS)
    problem: GrantsError | None = None
    cookie = ""
    with session_scope(context.engine) as session:
        try:
            account = change_own_password(session, officer.id, form.get("current_password", ""),
                                          form.get("password", ""), form.get("confirm_password", ""),
                                          context.clock.now())
            cookie = session_value(context, account, time.time())
        except WrongPassword as exc:
            problem = exc  # leaving the block normally commits the counted failure (towards the lockout)
        except GrantsError as exc:
            problem = exc
            session.rollback()  # nothing else of a refused change is kept
    if problem is not None:
        field = problem.field if isinstance(problem, InputError) else "current_password"
        return account_view(request, officer, Failed("password", {}, {field: str(problem)}))
    response = RedirectResponse("/officer/account?done=password", status_code=303)
    set_session_cookie(context, response, cookie)
    return response
