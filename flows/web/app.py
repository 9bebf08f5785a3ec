"""The web app's factory: one FastAPI app with a router per area (the lead portal in lead.py; the officers'
workspace adds officer*.py), the shared security middleware, the stylesheet and the plain not-found page."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date

from fastapi import FastAPI, Request
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Scope

from flows.web import lead, officer_account, officer_actions, officer_admin, officer_auth, officer_pages
from flows.web.context import STATIC, Clock, WebContext, web
from flows.web.security import SecurityMiddleware
from grants.kernel.settings import Settings, get_settings

FORM_OVERHEAD_BYTES = 64 * 1024  # room for the form's other fields around the file


def create_app(settings: Settings | None = None, *, as_of: date | None = None) -> FastAPI:
    """The web app. `as_of` fixes the day it acts as (demos, tests); default today."""
    settings = settings or get_settings()
    app = FastAPI(title="Grant returns", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.web = WebContext(settings, Clock(as_of, settings.timezone))
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(lead.router)
    for router in (officer_auth.router, officer_pages.router, officer_pages.feed_router, officer_actions.router,
                   officer_account.router, officer_admin.router):
        app.include_router(router)
    officer_auth.install(app)

    @app.get("/", response_class=HTMLResponse)
    async def home(request: Request) -> HTMLResponse:
        return web(request).page(request, "home.html.j2")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> HTMLResponse:
        if exc.status_code == 404:
            return not_found(request)
        return web(request).page(request, "error.html.j2", {"status": exc.status_code, "detail": exc.detail},
                                 status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        if all(error.get("loc", ("",))[0] == "path" for error in exc.errors()):
            return not_found(request)  # /officer/projects/abc is an unknown page, not a malformed request
        return await request_validation_exception_handler(request, exc)

    max_body = int(settings.return_max_file_mb * 1_000_000) + FORM_OVERHEAD_BYTES
    app.add_middleware(SecurityMiddleware, max_body_bytes=max_body, secure_cookies=settings.web_secure_cookies,
                       too_large=_too_large_page(app, settings))
    return app


def not_found(request: Request) -> HTMLResponse:
    """The one plain 'page not found' answer for anything unknown, altered, expired or revoked."""
    return web(request).page(request, "not_found.html.j2", status_code=404)


def _too_large_page(app: FastAPI, settings: Settings) -> Callable[[Scope], Awaitable[tuple[int, bytes]]]:
    async def page(scope: Scope) -> tuple[int, bytes]:
        context: WebContext = app.state.web
        body = context.templates.get_template("too_large.html.j2").render(
            limit_mb=settings.return_max_file_mb, csp_nonce="")
        return 413, body.encode()
    return page
