"""The administrators' 'Accounts' page (/officer/accounts): every account with its role, whether it is active, its
last sign-in and any lockout; add an account (with a temporary password the administrator types, or one the page makes
and shows once), change a role, deactivate or reactivate, reset a password, lift a lockout. Each action goes through
officer_forms.act (administrators only, CSRF checked) and the same grants.kernel.accounts function as `grants user`,
so the audit entries are the CLI's."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from flows.web.context import web
from flows.web.officer_auth import Admin, Officer, RowId
from flows.web.officer_forms import Acting, Failed, Page, act
from flows.web.officer_pages import render
from grants.kernel import audit
from grants.kernel import models as m
from grants.kernel.accounts import (
    RANK,
    Role,
    accounts,
    add_account,
    is_locked,
    set_active,
    set_password,
    set_role,
    temporary_password,
    unlock,
)
from grants.kernel.db import session_scope
from grants.kernel.errors import NotFoundError

router = APIRouter(prefix="/officer")
PAGE = "/officer/accounts"


@dataclass(frozen=True)
class AccountLine:
    """One account as the page lists it."""

    id: int
    email: str
    role: str
    active: bool
    last_sign_in: datetime | None
    locked_until: datetime | None
    failed_logins: int
    must_change: bool


def accounts_view(request: Request, officer: Officer, failed: Failed | None = None) -> HTMLResponse:
    """The accounts page (also shown again with a refused form)."""
    context = web(request)
    now = context.clock.now()
    with session_scope(context.engine) as session:
        lines = [AccountLine(a.id or 0, a.email, a.role, a.active, a.last_sign_in_at,
                             a.locked_until if is_locked(a, now) else None, a.failed_logins, a.must_change_password)
                 for a in accounts(session)]
        entries = [e for e in audit.entries(session, limit=300) if e.action.startswith("account.")][:30]
    return render(request, officer, "officer/accounts.html.j2", {
        "lines": lines, "roles": list(RANK), "entries": entries,
        "sso": bool(context.settings.web_trusted_user_header)}, failed)


@router.get("/accounts", response_class=HTMLResponse, response_model=None)
async def accounts_page(request: Request, officer: Admin) -> Response:
    """Every account and what an administrator can do to it."""
    return accounts_view(request, officer)


def _page(request: Request) -> Page:
    return lambda officer, failed: accounts_view(request, officer, failed)


def _email(session: Session, account_id: int) -> str:
    account = session.get(m.Account, account_id)
    if account is None:
        raise NotFoundError("There is no such account: reload the page")
    return account.email


def _password_shown(request: Request, what: str) -> Callable[[Officer, tuple[str, str, bool]], Response]:
    """The answer to adding an account or resetting a password: the temporary password, shown once when the page
    made it."""
    def done(officer: Officer, made: tuple[str, str, bool]) -> Response:
        email, password, generated = made
        return render(request, officer, "officer/account_password.html.j2", {
            "what": what, "email": email, "password": password if generated else "",
            "sso": bool(web(request).settings.web_trusted_user_header)})
    return done


def _temporary(acting: Acting) -> tuple[str, bool]:
    """The password the administrator typed, else one made here (and whether it was made here)."""
    typed = acting.form.get("password", "")
    return (typed, False) if typed else (temporary_password(), True)


@router.post("/accounts", response_model=None)
async def account_add(request: Request) -> Response:
    """Add an account with a role and a temporary password (to be changed at first sign-in)."""
    def run(s: Session, a: Acting) -> tuple[str, str, bool]:
        password, generated = _temporary(a)
        sso = bool(a.context.settings.web_trusted_user_header)  # no passwords under single sign-on: none shown
        account = add_account(s, a.text("email"), a.text("role"), password, a.now, a.email, temporary=not sso)
        return account.email, password, generated and not sso
    return await act(request, form="add-account", field="email", run=run, needs=Role.admin,
                     done=_password_shown(request, "added"), page=_page(request))


@router.post("/accounts/{account_id}/role", response_model=None)
async def account_role(request: Request, account_id: RowId) -> Response:
    """Give an account another role (not the last active administrator's)."""
    def done(officer: Officer, account: m.Account) -> Response:
        where = "/officer/account" if account.id == officer.id and account.role != Role.admin else PAGE
        return RedirectResponse(f"{where}?done=account-role", status_code=303)
    return await act(request, form=f"role-{account_id}", field="role", run=lambda s, a: set_role(
        s, _email(s, account_id), a.text("role"), a.now, a.email), needs=Role.admin, done=done, page=_page(request))


@router.post("/accounts/{account_id}/active", response_model=None)
async def account_active(request: Request, account_id: RowId) -> Response:
    """Deactivate (its sessions stop at once; not the last active administrator) or reactivate an account."""
    def run(s: Session, a: Acting) -> str:
        active = a.text("do") == "reactivate"
        set_active(s, _email(s, account_id), active, a.now, a.email)
        return f"{PAGE}?done={'account-reactivated' if active else 'account-deactivated'}"
    return await act(request, form=f"active-{account_id}", field="", run=run, needs=Role.admin,
                     done=lambda officer, where: RedirectResponse(where, status_code=303), page=_page(request))


@router.post("/accounts/{account_id}/password", response_model=None)
async def account_password(request: Request, account_id: RowId) -> Response:
    """Reset an account's password to a temporary one (its sessions end; it must choose its own at sign-in)."""
    def run(s: Session, a: Acting) -> tuple[str, str, bool]:
        password, generated = _temporary(a)
        account = set_password(s, _email(s, account_id), password, a.now, a.email, temporary=True)
        return account.email, password, generated
    return await act(request, form=f"reset-{account_id}", field="password", run=run, needs=Role.admin,
                     done=_password_shown(request, "reset"), page=_page(request))


@router.post("/accounts/{account_id}/unlock", response_model=None)
async def account_unlock(request: Request, account_id: RowId) -> Response:
    """Lift a lockout after repeated wrong passwords."""
    return await act(request, form=f"unlock-{account_id}", field="", run=lambda s, a: unlock(
        s, _email(s, account_id), a.now, a.email), needs=Role.admin, done=f"{PAGE}?done=account-unlocked",
        page=_page(request))
