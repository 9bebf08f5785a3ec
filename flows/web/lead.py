"""The lead portal: a project lead's page behind their personal link (/p/<token>): the project, each quarter's
state, the workbook to download and the upload form. Anything wrong with a link gets the plain not-found page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

router = APIRouter()


@router.get("/p/{token}", response_class=HTMLResponse)
async def lead_page(request: Request, token: str) -> HTMLResponse:
    """The lead's page (skeleton: every link is unknown until lead links exist)."""
    from flows.web.app import not_found

    return not_found(request)
