"""A tiny HTTP/1.1 endpoint for Prometheus scrapes and health checks, on asyncio streams.

Owns ``GET``/``HEAD`` of ``/metrics`` (the Prometheus text format from ``Metrics.render``)
and ``/healthz`` (200 ``ok ...`` or 503 with the reason from the health callable); every
other path is 404 and every other method 405. It is meant for localhost or a private
network, and stays safe if exposed: the request head is capped in size, reading it and
writing the answer each have a deadline so a slow client cannot hold a connection, the
number of open connections is capped, no body is read, and the connection is closed after
each response.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from monitor.errors import ConfigError, MonitorError
from monitor.service.metrics import Metrics

log = logging.getLogger(__name__)

MAX_HEAD = 8192                 # bytes of request line plus headers
METRICS_TYPE = "text/plain; version=0.0.4; charset=utf-8"
TEXT_TYPE = "text/plain; charset=utf-8"
REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
           408: "Request Timeout", 431: "Request Header Fields Too Large",
           500: "Internal Server Error", 503: "Service Unavailable"}

Health = Callable[[], tuple[bool, str]]


class ListenError(MonitorError):
    """The metrics endpoint cannot listen on its address (in use, not local, refused)."""


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    body: bytes
    content_type: str = TEXT_TYPE
    headers: tuple[tuple[str, str], ...] = ()


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


async def start_http(
    listen: str,
    metrics: Metrics,
    health: Health,
    *,
    timeout: float = 5.0,
    max_connections: int = 16,
) -> asyncio.Server:
    """Listen on ``listen`` and serve /metrics and /healthz until the server is closed."""
    host, port = parse_listen(listen)
    handler = _Handler(metrics, health, timeout, max_connections)
    try:
        server = await asyncio.start_server(handler, host, port, limit=MAX_HEAD)
    except OSError as exc:
        raise ListenError(f"cannot listen on {listen}: {exc.strerror or exc}") from exc
    bound = ", ".join(_address(s.getsockname()) for s in server.sockets)
    log.info("http listening address=%s", bound)
    return server


class _Handler:
    """One callable per server: reads one request per connection, answers, closes."""

    def __init__(self, metrics: Metrics, health: Health, timeout: float, limit: int) -> None:
        self.metrics = metrics
        self.health = health
        self.timeout = timeout
        self.limit = limit
        self.open = 0

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.open += 1
        try:
            if self.open > self.limit:
                log.warning("http refused reason=too_many_connections open=%d", self.open)
                return
            await self._serve(reader, writer)
        finally:
            self.open -= 1
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await self._read(reader)
        if isinstance(request, Response):
            method, path, response = "", "", request
        else:
            method, path = request
            response = self._route(method, path)
        try:
            async with asyncio.timeout(self.timeout):
                writer.write(_encode(response, head_only=method == "HEAD"))
                await writer.drain()
        except (TimeoutError, ConnectionError) as exc:
            log.info("http write abandoned path=%s error=%s", path, type(exc).__name__)
            writer.transport.abort()
            return
        log.debug("http request method=%s path=%s status=%d", method, path, response.status)

    async def _read(self, reader: asyncio.StreamReader) -> tuple[str, str] | Response:
        try:
            async with asyncio.timeout(self.timeout):
                head = await reader.readuntil(b"\r\n\r\n")
        except TimeoutError:
            return _text(408, "request timeout")
        except asyncio.LimitOverrunError:
            return _text(431, "request head too large")
        except (asyncio.IncompleteReadError, ConnectionError):
            return _text(400, "incomplete request")
        return _request_line(head)

    def _route(self, method: str, path: str) -> Response:
        if path not in ("/metrics", "/healthz"):
            return _text(404, "not found")
        if method not in ("GET", "HEAD"):
            return Response(405, b"method not allowed\n", headers=(("Allow", "GET, HEAD"),))
        if path == "/metrics":
            return self._metrics()
        return self._health()

    def _metrics(self) -> Response:
        try:
            return Response(200, self.metrics.render(), METRICS_TYPE)
        except Exception:
            log.exception("http metrics failed")
            return _text(500, "metrics unavailable")

    def _health(self) -> Response:
        try:
            ok, detail = self.health()
        except Exception as exc:
            log.exception("http health check failed")
            return _text(503, f"unhealthy: health check raised {type(exc).__name__}")
        if ok:
            return _text(200, f"ok {detail}".rstrip())
        return _text(503, f"unhealthy: {detail}")


def _request_line(head: bytes) -> tuple[str, str] | Response:
    """Method and path (query dropped) of the request, or a 400."""
    line = head.split(b"\r\n", 1)[0].decode("latin-1")
    parts = line.split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1.") or not parts[1].startswith("/"):
        return _text(400, "bad request line")
    return parts[0], parts[1].split("?", 1)[0]


def _text(status: int, text: str) -> Response:
    return Response(status, (text + "\n").encode("utf-8"))


def _encode(response: Response, *, head_only: bool) -> bytes:
    lines = [
        f"HTTP/1.1 {response.status} {REASONS.get(response.status, 'Unknown')}",
        f"Content-Type: {response.content_type}",
        f"Content-Length: {len(response.body)}",
        "Cache-Control: no-store",
        "X-Content-Type-Options: nosniff",
        "Connection: close",
        *(f"{name}: {value}" for name, value in response.headers),
    ]
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head if head_only else head + response.body


def _address(sockname: tuple[object, ...]) -> str:
    host, port = sockname[0], sockname[1]
    return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"
