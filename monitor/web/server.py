"""Serving an ASGI application on uvicorn inside the caller's event loop.

Owns the listening socket (bound here, so a taken port is a ``ListenError`` at start and a
test may listen on port 0) and a uvicorn server that leaves the process's signal handlers
alone (the daemon owns SIGTERM, SIGINT and SIGHUP). Connections beyond the cap get a 503,
idle keep-alive connections are closed after ``timeout``, and ``X-Forwarded-*`` headers
are believed from the local reverse proxy only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Iterator
from typing import TYPE_CHECKING

import uvicorn

from monitor.errors import ConfigError, MonitorError

if TYPE_CHECKING:
    from starlette.types import ASGIApp

log = logging.getLogger(__name__)


class ListenError(MonitorError):
    """The HTTP endpoint cannot listen on its address (in use, not local, refused)."""


def parse_listen(listen: str) -> tuple[str, int]:
    """``"127.0.0.1:9464"`` or ``"[::1]:9464"`` to (host, port); ConfigError when malformed."""
    host, sep, port_text = listen.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        host = ""  # an IPv6 address must be bracketed
    if not sep or not host or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ConfigError([f"metrics listen address {listen!r}: expected HOST:PORT or [IPv6]:PORT"])
    return host, int(port_text)


class _Embedded(uvicorn.Server):
    """A uvicorn server that installs no signal handlers of its own."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class HttpServer:
    """A running server: its sockets, and closing it."""

    def __init__(self, server: uvicorn.Server, sock: socket.socket) -> None:
        self.server, self.sockets = server, [sock]
        self.task = asyncio.create_task(server.serve(sockets=[sock]))

    def close(self) -> None:
        self.server.should_exit = True

    async def wait_closed(self) -> None:
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


def _bind(listen: str) -> socket.socket:
    """A listening TCP socket. Its protocol is named (not 0) so that asyncio sets
    TCP_NODELAY on each accepted connection: without it a small response waits ~40 ms for
    the client's delayed ACK."""
    host, port = parse_listen(listen)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise ListenError(f"cannot listen on {listen}: {exc.strerror or exc}") from exc
    sock.setblocking(False)
    return sock


async def serve_asgi(listen: str, app: ASGIApp, *, timeout: float = 5.0,
                     max_connections: int = 64) -> HttpServer:
    """Listen on ``listen`` and serve ``app`` until the returned server is closed."""
    sock = _bind(listen)
    config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="off",
                            timeout_keep_alive=max(1, int(timeout)),
                            limit_concurrency=max_connections, server_header=False,
                            proxy_headers=True, forwarded_allow_ips="127.0.0.1,::1")
    server = HttpServer(_Embedded(config), sock)
    host, port = sock.getsockname()[:2]
    log.info("http listening address=%s", f"[{host}]:{port}" if ":" in host else f"{host}:{port}")
    await asyncio.sleep(0)
    return server
