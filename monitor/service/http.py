"""The daemon's HTTP endpoint: ``/metrics`` and ``/healthz``, and the review desk.

Owns which application the daemon serves where: with ``[web]`` the whole desk
(``monitor.web``, its ``/metrics`` behind the login unless configured open) on
``[web] listen``; with ``[http] listen`` the open ``/healthz`` and ``/metrics`` alone
(``/metrics`` is prometheus_client's ASGI app, ``/healthz`` 200 ``ok ...`` or 503 with
the reason from the health callable). Both run on uvicorn in the daemon's own event loop
(``monitor.web.server``): connections beyond the cap are refused with 503, idle ones are
closed after ``timeout``.
"""

from __future__ import annotations

from collections.abc import Callable

from monitor.service.metrics import Metrics
from monitor.web.server import HttpServer, ListenError, parse_listen, serve_asgi

__all__ = ["Health", "HttpServer", "ListenError", "parse_listen", "start_http"]

Health = Callable[[], tuple[bool, str]]


async def start_http(
    listen: str,
    metrics: Metrics,
    health: Health,
    *,
    timeout: float = 5.0,
    max_connections: int = 16,
) -> HttpServer:
    """Listen on ``listen`` and serve /metrics and /healthz until the server is closed."""
    from monitor.web.app import endpoint_app  # the web app's libraries only when served

    return await serve_asgi(listen, endpoint_app(health, metrics.registry), timeout=timeout,
                            max_connections=max_connections)
