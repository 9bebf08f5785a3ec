"""The officers' workspace actions (POST forms): each checks the role (officer or admin) and the CSRF token on the
server, calls the same grants.* function as the CLI (which writes the audit entry), and returns to the page it
concerns; a refused action shows the page again with the problem at the top."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from flows.web.context import web
from flows.web.officer_auth import Officer, officer_csrf_valid, signed_in, to_login
from flows.web.officer_pages import page_not_found, project_view, render, risks_view
from grants.kernel import models as m
from grants.kernel.accounts import Role, issue_calendar_token
from grants.kernel.db import session_scope
from grants.kernel.errors import GrantsError
from grants.messaging.channels import build_sender, load_notify_config
from grants.messaging.resend import resend
from grants.monitoring.funds import record_payment, record_release
from grants.monitoring.manual_risks import add_manual_risk, close_risk
from grants.monitoring.risks import update_risk
from grants.programme.link_actions import reissue_lead_link, revoke_lead_link
from grants.programme.links import configured_link_key, link_address
from grants.programme.overrides import extend_due, hold_chasing, resume_chasing

router = APIRouter(prefix="/officer")
Form = dict[str, str]


async def _guard(request: Request) -> tuple[Officer, Form] | Response:
    """The acting officer and the form, or the answer: sign in (303), not allowed (403), stale form (400)."""
    officer = signed_in(request)
    if officer is None:
        return to_login(request)
    form = {k: str(v) for k, v in (await request.form()).items()}
    if not officer.can(Role.officer):
        return web(request).page(request, "error.html.j2", {
            "status": 403, "detail": "Your account can see and export, but not change anything."}, status_code=403)
    if not officer_csrf_valid(request, officer, form.get("csrf")):
        return web(request).page(request, "error.html.j2", {
            "status": 400, "detail": "The form had expired: go back, reload the page and try again."},
            status_code=400)
    return officer, form


def _day(value: str, what: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise GrantsError(f"Enter {what} as a date, for example 2025-01-29") from None


def _int(value: str, what: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise GrantsError(f"Choose {what}") from None


def _act(request: Request, action: Callable[[Session], Any]) -> str | None:
    """Run the action in one transaction; the error text if it was refused (nothing written then)."""
    try:
        with session_scope(web(request).engine) as session:
            action(session)
    except GrantsError as exc:
        return str(exc)
    return None


def _project_action(request: Request, officer: Officer, project_id: int, done: str,
                    action: Callable[[Session], Any]) -> Response:
    error = _act(request, action)
    if error is not None:
        return project_view(request, officer, project_id, [error], status_code=400)
    return RedirectResponse(f"/officer/projects/{project_id}?done={done}", status_code=303)


@router.post("/projects/{project_id}/due", response_model=None)
async def extend(request: Request, project_id: int) -> Response:
    """Give the project a new due date for one quarter."""
    guarded = await _guard(request)
    if isinstance(guarded, Response):
        return guarded
    officer, form = guarded
    clock = web(request).clock
    return _project_action(request, officer, project_id, "extended", lambda s: extend_due(
        s, project_id, _int(form.get("period_id", ""), "the quarter"), _day(form.get("due", ""), "the new due date"),
        form.get("reason", ""), actor=officer.email, now=clock.now()))


@router.post("/projects/{project_id}/hold", response_model=None)
async def hold(request: Request, project_id: int) -> Response:
    """Pause (until a day) or waive chasing for one quarter, with a reason."""
    guarded = await _guard(request)
    if isinstance(guarded, Response):
        return guarded
    officer, form = guarded
    kind, clock = form.get("kind", ""), web(request).clock

    def until() -> date | None:
        return _day(form["until"], "the last day of the pause") if kind == "pause" and form.get("until") else None
    return _project_action(request, officer, project_id, "held", lambda s: hold_chasing(
        s, project_id, _int(form.get("period_id", ""), "the quarter"), kind, form.get("reason", ""),
        actor=officer.email, now=clock.now(), until=until()))


@router.post("/projects/{project_id}/resume", response_model=None)
async def resume(request: Request, project_id: int) -> Response:
    """Lift a pause or waiver."""
    guarded = await _guard(request)
    if isinstance(guarded, Response):
        return guarded
    officer, form = guarded
    clock = web(request).clock
    return _project_action(request, officer, project_id, "resumed", lambda s: resume_chasing(
        s, project_id, _int(form.get("period_id", ""), "the quarter"), actor=officer.email, now=clock.now()))


@router.post("/projects/{project_id}/payment", response_model=None)
async def payment(request: Request, project_id: int) -> Response:
    """Record a payment made to the project."""
    guarded = await _guard(request)
    if isinstance(guarded, Response):
        return guarded
    officer, form = guarded
    clock = web(request).clock

    def act(session: Session) -> None:
        project = session.get(m.Project, project_id)
        grant = session.get(m.Grant, project.grant_id) if project else None
        if project is None or grant is None:
            raise GrantsError("no such project")
        record_payment(session, project.code, form.get("amount", ""), _day(form.get("paid_on", ""), "the day paid"),
                       clock.now(), actor=officer.email, grant_reference=grant.reference,
                       reference=form.get("reference", "").strip())
    return _project_action(request, officer, project_id, "payment", act)


@router.post("/projects/{project_id}/link", response_model=None)
async def lead_link(request: Request, project_id: int) -> Response:
    """Revoke the lead's link, or revoke it and issue a new one (shown once, for the officer to send)."""
    guarded = await _guard(request)
    if isinstance(guarded, Response):
        return guarded
    officer, form = guarded
    context, reissue = web(request), form.get("do") == "reissue"
    address: list[str] = []

    def act(session: Session) -> None:
        project = session.get(m.Project, project_id)
        if project is None:
            raise GrantsError("no such project")
        if not reissue:
            revoke_lead_link(session, project, actor=officer.email, now=context.clock.now())
            return
        link = reissue_lead_link(session, project, actor=officer.email, now=context.clock.now(),
                                 margin_days=context.settings.lead_link_margin_days)
        address.append(link_address(context.settings.web_base_url, configured_link_key(context.settings), link))
    error = _act(request, act)
    if error is not None or not reissue:
        return project_view(request, officer, project_id, [error], status_code=400) if error else RedirectResponse(
            f"/officer/projects/{project_id}?done=link-revoked", status_code=303)
    return render(request, officer, "officer/link.html.j2", {"address": address[0], "project_id": project_id})


@router.post("/notifications/{notification_id}/resend", response_model=None)
async def resend_message(request: Request, notification_id: int) -> Response:
    """Send a chase message again now."""
    guarded = await _guard(request)
    if isinstance(guarded, Response):
        return guarded
    officer, form = guarded
    context = web(request)
    project_id = _int(form.get("project_id", "0"), "the project")
    config = load_notify_config(context.settings.notify_config)
    sender = build_sender(config, context.settings.folder("outbox"))
    try:
        with session_scope(context.engine) as session:
            resend(session, notification_id, sender, as_of=context.clock.today(), now=context.clock.now(),
                   actor=officer.email, return_to=config.return_to or config.sender)
    except GrantsError as exc:
        return project_view(request, officer, project_id, [str(exc)], status_code=400)
    return RedirectResponse(f"/officer/projects/{project_id}?done=resent", status_code=303)


@router.post("/grants/{reference}/release", response_model=None)
async def release(request: Request, reference: str) -> Response:
    """Record funds received for the grant."""
    guarded = await _guard(request)
    if isinstance(guarded, Response):
        return guarded
    officer, form = guarded
    clock = web(request).clock
    error = _act(request, lambda s: record_release(
        s, reference, form.get("amount", ""), _day(form.get("received_on", ""), "the day received"), clock.now(),
        form.get("note", "").strip(), actor=officer.email))
    if error is not None:
        return web(request).page(request, "error.html.j2", {"status": 400, "detail": error}, status_code=400)
    return RedirectResponse(f"/officer/grants/{reference}?done=release", status_code=303)


def _risk_action(request: Request, officer: Officer, done: str, action: Callable[[Session], Any]) -> Response:
    error = _act(request, action)
    if error is not None:
        return risks_view(request, officer, [error], status_code=400)
    return RedirectResponse(f"/officer/risks?done={done}", status_code=303)


@router.post("/risks/new", response_model=None)
async def risk_new(request: Request) -> Response:
    """Add a risk by hand."""
    guarded = await _guard(request)
    if isinstance(guarded, Response):
        return guarded
    officer, form = guarded
    clock = web(request).clock
    return _risk_action(request, officer, "risk-added", lambda s: add_manual_risk(
        s, _int(form.get("grant_id", ""), "the grant"), form.get("title", ""),
        _int(form.get("likelihood", ""), "the likelihood"), _int(form.get("impact", ""), "the impact"),
        as_of=clock.today(), actor=officer.email, now=clock.now(), owner=form.get("owner", ""),
        mitigation=form.get("mitigation", "")))


@router.post("/risks/{risk_id}", response_model=None)
async def risk_update(request: Request, risk_id: int) -> Response:
    """Set a risk's owner, mitigation and notes."""
    guarded = await _guard(request)
    if isinstance(guarded, Response):
        return guarded
    officer, form = guarded
    clock = web(request).clock
    return _risk_action(request, officer, "risk", lambda s: update_risk(
        s, risk_id, owner=form.get("owner", ""), mitigation=form.get("mitigation", ""),
        notes=form.get("notes", ""), actor=officer.email, now=clock.now()))


@router.post("/risks/{risk_id}/close", response_model=None)
async def risk_close(request: Request, risk_id: int) -> Response:
    """Close a risk added by hand, with the reason."""
    guarded = await _guard(request)
    if isinstance(guarded, Response):
        return guarded
    officer, form = guarded
    clock = web(request).clock
    return _risk_action(request, officer, "risk-closed", lambda s: close_risk(
        s, risk_id, form.get("reason", ""), as_of=clock.today(), actor=officer.email, now=clock.now()))


@router.post("/calendar/link", response_model=None)
async def calendar_link(request: Request) -> HTMLResponse | Response:
    """Issue the officer's secret calendar subscription link (any role may subscribe; the old link stops)."""
    officer = signed_in(request)
    if officer is None:
        return to_login(request)
    form = await request.form()
    if not officer_csrf_valid(request, officer, str(form.get("csrf", ""))):
        return page_not_found(request)
    context = web(request)
    with session_scope(context.engine) as session:
        account = session.get(m.Account, officer.id)
        assert account is not None
        token = issue_calendar_token(session, account, context.clock.now())
    feed = f"{context.settings.web_base_url.rstrip('/')}/calendar/{token}.ics"
    return render(request, officer, "officer/calendar_link.html.j2", {"feed": feed})
