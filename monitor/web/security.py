"""The desk's guards: the login gate, CSRF tokens, security headers and the login limit.

Owns what every response and request passes through: ``SecurityHeaders`` adds a strict
Content-Security-Policy (``default-src 'self'``, no inline script or style, no frames),
``nosniff``, no referrer beyond the site and ``no-store`` to every response;
``LoginGate`` sends every request without a logged-in session to ``/login``, except the
paths that need none (health, static files, the login page, signed mail links, and the
API and Atom feeds, which check their own tokens; ``/metrics`` only when configured
open); ``csrf_token`` and ``checked_form`` put a per-session token into every form and
refuse a POST without it (403); ``LoginLimiter`` counts failed logins per client address.
"""

from __future__ import annotations

import hmac
import secrets
from collections import deque
from collections.abc import Callable, MutableMapping
from typing import Any
from urllib.parse import quote

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
HEADERS = ((b"content-security-policy", CSP.encode()),
           (b"x-content-type-options", b"nosniff"),
           (b"referrer-policy", b"same-origin"),
           (b"x-frame-options", b"DENY"),
           (b"cache-control", b"no-store"))
OPEN_PREFIXES = ("/static/", "/v/", "/api/", "/atom/")
OPEN_PATHS = ("/healthz", "/login")


class SecurityHeaders:
    """Adds the security headers to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []),
                                      *(h for h in HEADERS if h[0] not in present)]
            await send(message)

        await self.app(scope, receive, with_headers)


class LoginGate:
    """Every path but the open ones needs a logged-in session (``SessionMiddleware`` runs
    first); without one, a redirect to ``/login`` with the page asked for."""

    def __init__(self, app: ASGIApp, *, public_metrics: bool = False) -> None:
        self.app = app
        self.public_metrics = public_metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self._open(scope["path"]) or _user(scope):
            await self.app(scope, receive, send)
            return
        target = scope["path"] + ("?" + scope["query_string"].decode("latin-1")
                                  if scope.get("query_string") else "")
        response = RedirectResponse("/login?next=" + quote(target, safe=""), status_code=303)
        await response(scope, receive, send)

    def _open(self, path: str) -> bool:
        return (path in OPEN_PATHS or path.startswith(OPEN_PREFIXES)
                or (self.public_metrics and path == "/metrics"))


def _user(scope: Scope) -> str | None:
    session: MutableMapping[str, Any] = scope.get("session", {})
    user = session.get("user")
    return user if isinstance(user, str) else None


def current_user(request: Request) -> str | None:
    return _user(request.scope)


def csrf_token(request: Request) -> str:
    """This session's CSRF token, made on first use."""
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


async def checked_form(request: Request) -> FormData:
    """The posted form, when it carries this session's CSRF token; 403 otherwise."""
    form = await request.form()
    sent = form.get("csrf")
    expected = request.session.get("csrf")
    if not (isinstance(sent, str) and isinstance(expected, str)
            and hmac.compare_digest(sent, expected)):
        raise HTTPException(403, "CSRF-Token fehlt oder ist ungültig")
    return form


def safe_next(target: str | None) -> str:
    """Where to go after logging in: a path on this site only."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


class LoginLimiter:
    """At most ``attempts`` failed logins per client address in ``window`` seconds."""

    def __init__(self, clock: Callable[[], float], attempts: int = 5,
                 window: float = 600.0) -> None:
        self.clock, self.attempts, self.window = clock, attempts, window
        self.failures: dict[str, deque[float]] = {}

    def allowed(self, address: str) -> bool:
        recent = self.failures.get(address)
        if not recent:
            return True
        while recent and recent[0] < self.clock() - self.window:
            recent.popleft()
        return len(recent) < self.attempts

    def failed(self, address: str) -> None:
        if len(self.failures) > 10_000:          # bounded: forget the oldest addresses
            self.failures.pop(next(iter(self.failures)))
        self.failures.setdefault(address, deque()).append(self.clock())

    def succeeded(self, address: str) -> None:
        self.failures.pop(address, None)


