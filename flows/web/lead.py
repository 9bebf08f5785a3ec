"""The lead portal: a project lead's page behind their personal link (/p/<token>): the project, each quarter's
state, the workbook to download for each open quarter and the upload form, and the answer to an upload.

Anything wrong with a link (malformed, altered, unknown, revoked, expired) gets the same plain not-found page; a
link only ever opens its own project's page and files."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from flows.web.context import web
from flows.web.security import csrf_token, csrf_valid
from flows.web.upload import take_upload
from grants.kernel import models as m
from grants.kernel.db import session_scope
from grants.messaging.lead_page import lead_view
from grants.programme.links import configured_link_key, verify
from grants.returns.writer import write_return_workbook

router = APIRouter()
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _project(request: Request, token: str) -> tuple[m.Project, int] | None:
    """The project (and link id) a token opens today, or None."""
    context = web(request)
    with session_scope(context.engine) as session:
        access = verify(session, configured_link_key(context.settings), token, context.clock.today())
        if access is None or access.link.id is None:
            return None
        session.expunge(access.project)
        return access.project, access.link.id


def _not_found(request: Request) -> HTMLResponse:
    return web(request).page(request, "not_found.html.j2", status_code=404)


def _page(request: Request, token: str, project: m.Project, link_id: int, *, errors: list[dict[str, str]] | None
          = None, answer: Any = None, status_code: int = 200) -> HTMLResponse:
    context = web(request)
    with session_scope(context.engine) as session:
        view = lead_view(session, project, context.clock.today())
    return context.page(request, "lead/page.html.j2", {
        "view": view, "token": token, "errors": errors or [], "answer": answer, "today": context.clock.today(),
        "csrf": csrf_token(request, context.form_key, f"lead:{link_id}"),
        "limit_mb": context.settings.return_max_file_mb,
    }, status_code=status_code)


@router.get("/p/{token}", response_class=HTMLResponse)
def lead_page(request: Request, token: str) -> HTMLResponse:
    """The lead's page."""
    found = _project(request, token)
    if found is None:
        return _not_found(request)
    return _page(request, token, *found)


@router.get("/p/{token}/workbook/{period}")
def download(request: Request, token: str, period: str) -> Response:
    """The pre-filled workbook of one open quarter of the lead's own project."""
    found = _project(request, token)
    if found is None:
        return _not_found(request)
    project, _ = found
    context = web(request)
    with session_scope(context.engine) as session:
        quarter = next((q for q in lead_view(session, project, context.clock.today()).quarters
                        if q.label == period and q.can_download), None)
        if quarter is None:
            return _not_found(request)
        with tempfile.TemporaryDirectory() as folder:
            path = write_return_workbook(session, project.id or 0, quarter.period_id, Path(folder),
                                         context.settings.signing_secret())
            content = path.read_bytes()
            name = path.name
    return Response(content, media_type=XLSX, headers={"content-disposition": f'attachment; filename="{name}"'})


@router.post("/p/{token}/upload", response_class=HTMLResponse)
async def upload(request: Request, token: str) -> HTMLResponse:
    """Take an uploaded return through the inbox's ingest and answer on the page (the database work and the
    page off the event loop)."""
    found = await run_in_threadpool(_project, request, token)
    if found is None:
        return _not_found(request)
    project, link_id = found
    context = web(request)
    if not context.limiter("lead-uploads", context.settings.web_uploads_per_hour, 3600).allow(f"lead:{link_id}"):
        return context.page(request, "lead/too_many.html.j2", {"token": token}, status_code=429)
    async with request.form(max_files=1, max_fields=5) as form:  # closes the spooled upload afterwards
        submitted = form.get("csrf")
        if not csrf_valid(request, context.form_key, f"lead:{link_id}",
                          submitted if isinstance(submitted, str) else None):
            errors = [{"href": "#return-file", "text": "This page had expired: nothing was sent. Choose the file again "
                                                       "and send it (if this happens again, reload the page first)."}]
            return await run_in_threadpool(_page, request, token, project, link_id, errors=errors, status_code=403)
        file = form.get("return_file")
        if not isinstance(file, UploadFile) or not file.filename:
            errors = [{"href": "#return-file", "text": "Select the return workbook to send"}]
            return await run_in_threadpool(_page, request, token, project, link_id, errors=errors, status_code=400)
        answer = await take_upload(context, project, file, context.clock.now())
    return await run_in_threadpool(_page, request, token, project, link_id, answer=answer)
