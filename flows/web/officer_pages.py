"""The officers' workspace pages (GET): programme overview, grant, project, risk register, intake, calendar, audit
log and exports. Every page takes its officer from the `Reader` dependency (signed in, any role; else to /login);
acting needs officer (see officer_actions.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from sqlmodel import col, select

from flows.web.context import web
from flows.web.officer_auth import Officer, Reader, RowId, officer_csrf
from flows.web.officer_forms import Failed, refused
from grants.kernel import audit
from grants.kernel import models as m
from grants.kernel.accounts import Role, account_for_calendar_token
from grants.kernel.db import session_scope
from grants.kernel.errors import NotFoundError
from grants.monitoring.risks import risk_register
from grants.reporting.calendar import calendar_items, to_ical
from grants.reporting.exports import TABLES, export_table, render_table
from grants.reporting.mail_log import mail_set_aside
from grants.reporting.svg_charts import outputs_chart, spend_chart
from grants.reporting.workspace_overview import RISK_ACTIONS, grant_page, intake_log, overview, risk_history
from grants.reporting.workspace_project import project_page

router = APIRouter(prefix="/officer")
feed_router = APIRouter()

DONE = {  # what a finished action says on the page it returns to (fixed words: nothing from the query string)
    "extended": "Due date changed", "held": "Chasing paused or waived", "resumed": "Chasing resumed",
    "payment": "Payment recorded", "release": "Funds release recorded", "risk": "Risk updated",
    "risk-added": "Risk added", "risk-closed": "Risk closed", "resent": "Message sent again",
    "link-revoked": "The lead's link was revoked",
    "link-none": "The lead had no live link: nothing was revoked", "link-reissued": "A new link was issued to the lead",
    "calendar": "Your calendar link is below: copy it now, it is shown only once",
    "password": "Your password has been changed: your other sessions have been signed out",
    "account-role": "Role changed", "account-deactivated": "Account deactivated: its sessions have stopped",
    "account-reactivated": "Account reactivated", "account-unlocked": "Account unlocked",
}


def render(request: Request, officer: Officer, template: str, values: dict[str, Any],
           failed: Failed | None = None) -> HTMLResponse:
    """A workspace page with what every page needs: who is signed in, whether they may act, the CSRF token; with a
    refused form (422) its error summary, and what was typed kept in the form."""
    context = web(request)
    done = DONE.get(request.query_params.get("done", ""), "") if failed is None else ""
    return context.page(request, template, {
        "officer": officer, "can_act": officer.can(Role.officer), "is_admin": officer.can(Role.admin),
        "csrf": officer_csrf(request, officer), "today": context.clock.today(), "done": done,
        "failed": failed or Failed("", {}), "errors": failed.summary() if failed else [], **values},
        status_code=422 if failed else 200)


def page_not_found(request: Request) -> HTMLResponse:
    return web(request).page(request, "not_found.html.j2", status_code=404)


@router.get("", response_class=HTMLResponse, response_model=None)
async def overview_page(request: Request, officer: Reader) -> Response:
    """Every grant: RAG, awarded, released, paid, spent, forecast and open risks by band."""
    context = web(request)
    with session_scope(context.engine) as session:
        lines = overview(session, context.clock.today())
    return render(request, officer, "officer/overview.html.j2", {"lines": lines})


@router.get("/grants/{reference}", response_class=HTMLResponse, response_model=None)
async def grant(request: Request, officer: Reader, reference: str) -> Response:
    """A grant: its projects and quarters, spend against profile, outputs, risks and what officers did."""
    return grant_view(request, officer, reference)


def grant_view(request: Request, officer: Officer, reference: str, failed: Failed | None = None) -> HTMLResponse:
    """The grant page (also shown again with a refused form)."""
    context = web(request)
    with session_scope(context.engine) as session:
        try:
            data = grant_page(session, reference, context.clock.today(), context.facts.facts)
        except NotFoundError:
            return page_not_found(request)
        entries = audit.entries(session, grant_id=data.grant.id, limit=30)
    return render(request, officer, "officer/grant.html.j2", {
        "data": data, "entries": entries, "spend_svg": spend_chart(data.quarters),
        "outputs_svg": outputs_chart(data.outputs)}, failed)


def project_view(request: Request, officer: Officer, project_id: int, failed: Failed | None = None) -> HTMLResponse:
    """The project page (also shown again with a refused form)."""
    context = web(request)
    with session_scope(context.engine) as session:
        try:
            data = project_page(session, project_id, context.clock.today(), context.facts.facts,
                                context.settings.timezone)
        except NotFoundError:
            return page_not_found(request)
    return render(request, officer, "officer/project.html.j2", {
        "data": data, "outputs_svg": outputs_chart(data.outputs)}, failed)


@router.get("/projects/{project_id}", response_class=HTMLResponse, response_model=None)
async def project(request: Request, officer: Reader, project_id: RowId) -> Response:
    """A project: each quarter's returns and evidence, the chase ladder, outputs, risks, messages, payments."""
    return project_view(request, officer, project_id)


@router.get("/returns/{return_id}/file", response_model=None)
async def return_file(request: Request, officer: Reader, return_id: RowId) -> Response:
    """The archived copy of a received return (exactly the bytes the lead sent)."""
    context = web(request)
    with session_scope(context.engine) as session:
        row = session.get(m.Return, return_id)
    archive = context.settings.folder("archive").resolve()
    path = Path(row.archive_path).resolve() if row is not None and row.archive_path else None
    if path is None or not path.is_relative_to(archive):
        return page_not_found(request)
    if not path.is_file():  # the row is real: say what is wrong rather than 'page not found'
        return refused(request, 404, f"The archived copy of this return ({row.source_name if row else ''}) is missing "
                                     "from the archive folder. Restore it from a backup; `grants verify` checks every "
                                     "archived file.")
    return FileResponse(path, filename=Path(row.source_name or path.name).name if row else path.name,
                        media_type="application/octet-stream")


def risks_view(request: Request, officer: Officer, failed: Failed | None = None) -> HTMLResponse:
    """The risk register (also shown again with a refused form)."""
    context = web(request)
    with session_scope(context.engine) as session:
        rows = risk_register(session, include_closed=request.query_params.get("all") == "1")
        notes = dict(session.exec(select(m.Risk.id, m.Risk.notes)).all())
        grants = list(session.exec(select(m.Grant.id, m.Grant.reference).order_by(m.Grant.reference)).all())
        projects = list(session.exec(select(m.Project.id, m.Grant.reference, m.Project.name).join(
            m.Grant, col(m.Grant.id) == col(m.Project.grant_id)).order_by(m.Grant.reference, m.Project.name)).all())
        history = risk_history(session)
        entries = audit.entries(session, actions=RISK_ACTIONS, limit=30)
    return render(request, officer, "officer/risks.html.j2", {
        "rows": rows, "notes": notes, "grants": grants, "projects": projects, "entries": entries, "history": history},
        failed)


@router.get("/risks", response_class=HTMLResponse, response_model=None)
async def risks(request: Request, officer: Reader) -> Response:
    """The risk register, highest score first, with the owner, mitigation and notes officers keep."""
    return risks_view(request, officer)


@router.get("/intake", response_class=HTMLResponse, response_model=None)
async def intake(request: Request, officer: Reader) -> Response:
    """Quarantined and rejected files with their reasons, and the emails to the returns mailbox that brought none."""
    with session_scope(web(request).engine) as session:
        rows, emails = intake_log(session), mail_set_aside(session)
    return render(request, officer, "officer/intake.html.j2", {"rows": rows, "emails": emails})


@router.get("/calendar", response_class=HTMLResponse, response_model=None)
async def calendar(request: Request, officer: Reader) -> Response:
    """Due dates and chase steps from today on, and the secret subscription link."""
    context = web(request)
    with session_scope(context.engine) as session:
        items = [i for i in calendar_items(session) if i.day >= context.clock.today()][:400]
    return render(request, officer, "officer/calendar.html.j2", {"items": items, "feed": ""})


@router.get("/audit", response_class=HTMLResponse, response_model=None)
async def audit_page(request: Request, officer: Reader) -> Response:
    """The audit log, newest first (read-only: there is no way to change it)."""
    with session_scope(web(request).engine) as session:
        entries = audit.entries(session, limit=500)
    return render(request, officer, "officer/audit.html.j2", {"entries": entries})


@router.get("/exports", response_class=HTMLResponse, response_model=None)
async def exports(request: Request, officer: Reader) -> Response:
    """Links to every export."""
    return render(request, officer, "officer/exports.html.j2", {"tables": list(TABLES)})


@router.get("/export/{name}.{fmt}", response_model=None)
async def export(request: Request, officer: Reader, name: str, fmt: str) -> Response:
    """One export as CSV or xlsx (viewers may export)."""
    if name not in TABLES or fmt not in ("csv", "xlsx"):
        return page_not_found(request)
    context = web(request)
    with session_scope(context.engine) as session:
        table = export_table(session, name, context.clock.today())
    data, media = render_table(table, fmt)
    filename = f"{name}-{context.clock.today():%Y-%m-%d}.{fmt}"
    return Response(data, media_type=media, headers={"content-disposition": f'attachment; filename="{filename}"'})


@feed_router.get("/calendar/{token}.ics", response_model=None)
async def calendar_feed(request: Request, token: str) -> Response:
    """The secret-URL iCalendar subscription: due dates and chase steps (no sign-in; the token is the secret)."""
    context = web(request)
    with session_scope(context.engine) as session:
        if account_for_calendar_token(session, token) is None:
            return page_not_found(request)
        data = to_ical(calendar_items(session), context.clock.now())
    return Response(data, media_type="text/calendar; charset=utf-8")
