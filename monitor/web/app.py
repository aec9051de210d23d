"""The desk's ASGI application: its routes and middleware.

Owns what answers where. ``desk_app`` is the whole desk (pages, API, Atom feeds, static
files, ``/healthz`` and ``/metrics``) behind the security headers, a signed session cookie
(HttpOnly, SameSite=Lax, Secure when the desk is reached over https) and the login gate;
``endpoint_app`` only ``/healthz`` and ``/metrics``, for ``[http] listen`` without a desk.
"""

from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry, make_asgi_app
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from monitor.web import (
    api,
    views_auth,
    views_digest,
    views_feeds,
    views_links,
    views_search,
    views_stories,
    views_topics,
)
from monitor.web.pages import page, templates
from monitor.web.security import LoginGate, SecurityHeaders
from monitor.web.state import Desk, Health

STATIC = Path(__file__).with_name("static")
SESSION_DAYS = 14


class _Asgi:
    """An ASGI app as a route's endpoint (a plain function would be taken for a view)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


def _monitoring(metrics: CollectorRegistry | None) -> list[Route]:
    routes = [Route("/healthz", views_auth.healthz, methods=["GET", "HEAD"])]
    if metrics is not None:
        routes.append(Route("/metrics", _Asgi(make_asgi_app(metrics)), methods=["GET", "HEAD"]))
    return routes


def _pages() -> list[Route]:
    return [
        Route("/", views_digest.today), Route("/digest/{day}", views_digest.day),
        Route("/login", views_auth.login_form), Route("/login", views_auth.login,
                                                      methods=["POST"]),
        Route("/logout", views_auth.logout, methods=["POST"]),
        Route("/stories", views_stories.story_list),
        Route("/stories/{id:int}", views_stories.story),
        Route("/stories/{id:int}/verdict", views_stories.verdict, methods=["POST"]),
        Route("/search", views_search.search),
        Route("/feeds", views_feeds.feeds),
        Route("/feeds/{name}/pause", views_feeds.pause, methods=["POST"]),
        Route("/topics", views_topics.topics),
        Route("/topics/dry-run", views_topics.try_query, methods=["POST"]),
        Route("/topics/{name}/backfill", views_topics.run_backfill, methods=["POST"]),
        Route("/v/{token}", views_links.confirm),
        Route("/v/{token}", views_links.record, methods=["POST"]),
        Route("/api/stories", api.stories),
        Route("/api/stories/{id:int}", api.story),
        Route("/api/stories/{id:int}/verdict", api.verdict, methods=["POST"]),
        Route("/atom/{topic}.xml", api.atom),
    ]


async def _error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if (request.url.path.startswith(("/api/", "/atom/", "/healthz", "/metrics"))
            or not hasattr(request.app.state, "desk")):
        return PlainTextResponse(f"{exc.detail}\n", exc.status_code, headers=exc.headers)
    return page(request, "message.html.j2", status=exc.status_code,
                heading=f"Fehler {exc.status_code}", message=str(exc.detail))


def desk_app(desk: Desk) -> Starlette:
    """The review desk."""
    settings = desk.settings
    app = Starlette(
        routes=[*_monitoring(desk.metrics), *_pages()],
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(SessionMiddleware, secret_key=settings.secret,
                       session_cookie="desk_session", max_age=SESSION_DAYS * 86400,
                       same_site="lax", https_only=settings.secure_cookies),
            Middleware(LoginGate, public_metrics=settings.public_metrics),
        ],
        exception_handlers={HTTPException: _error})
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.state.desk = desk
    app.state.health = desk.health
    app.state.templates = templates()
    return app


def endpoint_app(health: Health, metrics: CollectorRegistry | None) -> Starlette:
    """Only ``/healthz`` and ``/metrics`` (open), for the daemon without a desk."""
    app = Starlette(routes=_monitoring(metrics), middleware=[Middleware(SecurityHeaders)],
                    exception_handlers={HTTPException: _error})
    app.state.health = health
    return app
