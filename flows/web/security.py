"""Security pieces every page of the web app shares: response headers (a strict Content-Security-Policy with a
per-request nonce), a request body limit enforced while the body streams in, CSRF tokens bound to a cookie and a
scope, a per-key rate limiter, and an access log that never writes a secret path segment.

The CSRF token is HMAC(key, "csrf" | scope | cookie nonce): a page embeds `csrf_token(request, scope)` in its form and
the handler calls `csrf_valid(request, scope, submitted)`. The nonce cookie is random, HttpOnly and SameSite=Strict;
another site can neither read it nor compute the token.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

access_log = logging.getLogger("grants.web.access")

CSRF_COOKIE = "grants_csrf"
_NONCE_BYTES = 18


def content_security_policy(nonce: str) -> str:
    """No inline script or style; scripts only with this response's nonce; nothing from other sites."""
    return (f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'self'; img-src 'self' data:; "
            "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")


SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",  # a page's address (it may hold a personal link) never leaves in a Referer
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}


class BodyTooLarge(Exception):
    """A request body went past the limit while it was being received."""


class SecurityMiddleware:
    """Pure ASGI middleware: security headers and `Cache-Control: no-store` on every response, the CSRF nonce cookie,
    a body limit counted as the body arrives (413 before the handler sees more), and a token-free access log line
    (the route's pattern, e.g. `/p/{token}`, never the path itself)."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, secure_cookies: bool = False,
                 too_large: Callable[[Scope], Awaitable[tuple[int, bytes]]] | None = None) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.secure_cookies = secure_cookies
        self.too_large = too_large

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state: MutableMapping[str, Any] = scope.setdefault("state", {})
        state["csp_nonce"] = secrets.token_urlsafe(16)
        cookie = _cookie(scope, CSRF_COOKIE)
        new_cookie = cookie is None or len(cookie) != 24
        state["csrf_nonce"] = secrets.token_urlsafe(_NONCE_BYTES) if new_cookie else cookie
        started, status, begun = False, 0, time.perf_counter()

        async def send_with_headers(message: Message) -> None:
            nonlocal started, status
            if message["type"] == "http.response.start":
                started, status = True, message["status"]
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"content-security-policy"]
                headers += [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
                headers.append((b"content-security-policy", content_security_policy(state["csp_nonce"]).encode()))
                if not any(k.lower() == b"cache-control" for k, _ in headers):
                    headers.append((b"cache-control", b"no-store"))
                if new_cookie:
                    flags = "; Secure" if self.secure_cookies else ""
                    headers.append((b"set-cookie", f"{CSRF_COOKIE}={state['csrf_nonce']}; Path=/; HttpOnly; "
                                    f"SameSite=Strict{flags}".encode()))
                message["headers"] = headers
            await send(message)

        try:
            declared = _content_length(scope)
            if declared is not None and declared > self.max_body_bytes:
                raise BodyTooLarge
            await self.app(scope, _counting(receive, self.max_body_bytes), send_with_headers)
        except BodyTooLarge:
            if started:
                raise
            await self._reject(scope, send_with_headers)
            status = 413
        finally:
            route = scope.get("route")
            where = getattr(route, "path", None) or "(no route)"
            access_log.info("%s %s %s %.0fms", scope.get("method"), where, status,
                            (time.perf_counter() - begun) * 1000)

    async def _reject(self, scope: Scope, send: Send) -> None:
        status, body = (413, b"The file is too large.") if self.too_large is None else await self.too_large(scope)
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"text/html; charset=utf-8"), (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


def _counting(receive: Receive, limit: int) -> Receive:
    total = 0

    async def counted() -> Message:
        nonlocal total
        message = await receive()
        if message["type"] == "http.request":
            total += len(message.get("body", b""))
            if total > limit:
                raise BodyTooLarge
        return message

    return counted


def _content_length(scope: Scope) -> int | None:
    for key, value in scope.get("headers", []):
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _cookie(scope: Scope, name: str) -> str | None:
    for key, value in scope.get("headers", []):
        if key == b"cookie":
            for part in value.decode("latin-1").split(";"):
                k, _, v = part.strip().partition("=")
                if k == name:
                    return str(v)
    return None


def csp_nonce(request: Request) -> str:
    """This response's script nonce (for a `<script nonce=...>` a page may need)."""
    return str(request.state.csp_nonce)


def csrf_token(request: Request, key: bytes, scope: str) -> str:
    """The token a form posting to `scope` (e.g. one lead link, or one officer session) must carry back."""
    mac = hmac.new(key, f"csrf|{scope}|{request.state.csrf_nonce}".encode(), hashlib.sha256)
    return mac.hexdigest()


def csrf_valid(request: Request, key: bytes, scope: str, submitted: str | None) -> bool:
    """True when the submitted token matches this browser's cookie and the scope (constant-time comparison)."""
    if not submitted or _cookie(request.scope, CSRF_COOKIE) is None:
        return False
    return hmac.compare_digest(csrf_token(request, key, scope), submitted)


@dataclass
class RateLimiter:
    """At most `limit` events per key in any `window_seconds` (a sliding window, in memory, thread-safe).
    `clock` is monotonic seconds; tests may pass their own."""

    limit: int
    window_seconds: float
    clock: Callable[[], float] = time.monotonic
    _events: dict[str, deque[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def allow(self, key: str) -> bool:
        """Record an event for `key` and say whether it is within the limit (a refused event is not counted)."""
        now = self.clock()
        with self._lock:
            events = self._recent(key, now)
            if len(events) >= self.limit:
                return False
            events.append(now)
            return True

    def full(self, key: str) -> bool:
        """Whether `key` has had its `limit` events in the window (records nothing)."""
        with self._lock:
            return len(self._recent(key, self.clock())) >= self.limit

    def _recent(self, key: str, now: float) -> deque[float]:
        events = self._events.setdefault(key, deque())
        while events and events[0] <= now - self.window_seconds:
            events.popleft()
        return events
