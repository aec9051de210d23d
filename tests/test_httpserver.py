"""The metrics/health endpoint (uvicorn, monitor.web) over real TCP connections to 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable

import httpx
import pytest

from monitor.errors import ConfigError
from monitor.service.http import ListenError, parse_listen, start_http
from monitor.service.metrics import Metrics

Health = Callable[[], tuple[bool, str]]


def healthy() -> tuple[bool, str]:
    return True, "feeds=12 failing=0"


def serve(
    check: Callable[[str], Awaitable[None]],
    *,
    metrics: Metrics | None = None,
    health: Health = healthy,
    listen: str = "127.0.0.1:0",
    **options: float,
) -> None:
    """Start a server, run ``check(base_url)`` against it, close the server."""

    async def run() -> None:
        server = await start_http(listen, metrics or Metrics(), health, **options)
        host, port = server.sockets[0].getsockname()[:2]
        base = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
        try:
            await check(base)
        finally:
            server.close()
            await server.wait_closed()

    asyncio.run(run())


async def raw(base: str, data: bytes, *, wait: float = 5.0) -> bytes:
    """Send ``data`` as is and read until the server closes the connection."""
    host, port = base.rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host.split("//")[1], int(port))
    writer.write(data)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), wait)
    writer.close()
    return answer


def test_metrics_are_served_with_the_prometheus_content_type() -> None:
    metrics = Metrics()
    metrics.observe_poll("handelsblatt", "ok", 0.3)
    metrics.set_outbox(pending=5, dead=0)

    async def check(base: str) -> None:
        async with httpx.AsyncClient() as client:
            response = await client.get(base + "/metrics?x=1")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain; version=")
        assert 'news_monitor_polls_total{feed="handelsblatt",status="ok"} 1.0' in response.text
        assert "news_monitor_mail_pending 5.0" in response.text

    serve(check, metrics=metrics)


def test_head_sends_headers_without_body() -> None:
    async def check(base: str) -> None:
        answer = await raw(base, b"HEAD /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 OK\r\n")
        assert b"content-length: 22\r\n" in head.lower()  # len("ok feeds=12 failing=0\n")
        assert body == b""

    serve(check)


def test_healthz_ok_and_unhealthy() -> None:
    state = {"ok": True}

    def health() -> tuple[bool, str]:
        if state["ok"]:
            return True, "last_cycle_age=12s"
        return False, "no poll cycle for 900s"

    async def check(base: str) -> None:
        async with httpx.AsyncClient() as client:
            first = await client.get(base + "/healthz")
            state["ok"] = False
            second = await client.get(base + "/healthz")
        assert (first.status_code, first.text) == (200, "ok last_cycle_age=12s\n")
        assert (second.status_code, second.text) == (503, "unhealthy: no poll cycle for 900s\n")

    serve(check, health=health)


def test_a_raising_health_check_is_503() -> None:
    def health() -> tuple[bool, str]:
        raise RuntimeError("store locked")

    async def check(base: str) -> None:
        async with httpx.AsyncClient() as client:
            response = await client.get(base + "/healthz")
        assert response.status_code == 503
        assert response.text == "unhealthy: health check raised RuntimeError\n"

    serve(check, health=health)


def test_unknown_path_and_method() -> None:
    async def check(base: str) -> None:
        async with httpx.AsyncClient() as client:
            missing = await client.get(base + "/admin")
            posted = await client.post(base + "/metrics", content=b"x")
        assert missing.status_code == 404
        assert posted.status_code == 405
        assert set(posted.headers["allow"].split(", ")) == {"GET", "HEAD"}

    serve(check)


def test_a_slow_client_does_not_hold_up_others() -> None:
    async def check(base: str) -> None:
        host, port = base.split("//")[1].rsplit(":", 1)
        _, slow = await asyncio.open_connection(host, int(port))
        slow.write(b"GET /metr")                   # and then nothing more
        async with httpx.AsyncClient() as client:
            assert (await client.get(base + "/healthz")).status_code == 200
        slow.close()

    serve(check, timeout=0.3)


def test_oversized_and_malformed_requests() -> None:
    async def check(base: str) -> None:
        big = b"GET /metrics HTTP/1.1\r\nX-Pad: " + b"a" * 20_000 + b"\r\n\r\n"
        assert (await raw(base, big)).startswith((b"HTTP/1.1 431 ", b"HTTP/1.1 400 "))
        assert (await raw(base, b"hallo welt\r\n\r\n")).startswith(b"HTTP/1.1 400 ")

    serve(check)


def test_connections_beyond_the_cap_are_refused_at_once() -> None:
    async def check(base: str) -> None:
        host, port = base.split("//")[1].rsplit(":", 1)
        idle = [await asyncio.open_connection(host, int(port)) for _ in range(2)]
        await asyncio.sleep(0.05)
        answer = await raw(base, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 503 ")
        for _, writer in idle:
            writer.close()

    serve(check, max_connections=2, timeout=3)


def test_ipv6_loopback() -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    try:
        socket.create_server(("::1", 0), family=socket.AF_INET6).close()
    except OSError:
        pytest.skip("no IPv6 loopback here")

    async def check(base: str) -> None:
        assert base.startswith("http://[::1]:")
        async with httpx.AsyncClient() as client:
            assert (await client.get(base + "/healthz")).status_code == 200

    serve(check, listen="[::1]:0")


@pytest.mark.parametrize("listen", ["9464", "::1:9464", "localhost:", "127.0.0.1:99999", ":80"])
def test_malformed_listen_addresses(listen: str) -> None:
    with pytest.raises(ConfigError, match="metrics listen address"):
        parse_listen(listen)


def test_listen_parsing() -> None:
    assert parse_listen("127.0.0.1:9464") == ("127.0.0.1", 9464)
    assert parse_listen("[::1]:9464") == ("::1", 9464)


def test_port_in_use_is_a_listen_error() -> None:
    taken = socket.create_server(("127.0.0.1", 0))
    port = taken.getsockname()[1]

    async def run() -> None:
        await start_http(f"127.0.0.1:{port}", Metrics(), healthy)

    try:
        with pytest.raises(ListenError, match=f"cannot listen on 127.0.0.1:{port}"):
            asyncio.run(run())
    finally:
        taken.close()
