"""Fetcher limits against hostile local servers: bombs, drips, resets, caps, politeness, TLS."""

from __future__ import annotations

import asyncio
import itertools
import re
import socket
import ssl
import struct
import time
import zlib
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import trustme
from pytest_httpserver import HTTPServer

from monitor.errors import FetchTimeout, RedirectRefused, ResponseTooLarge, TransportFailure
from monitor.fetch.client import Fetcher, FetchOptions, default_user_agent

LOCAL = frozenset({"127.0.0.1", "localhost"})
Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def options(**changes: Any) -> FetchOptions:
    settings: dict[str, Any] = {"user_agent": default_user_agent(), "per_host_delay": 0.0,
                                "allow_private_hosts": LOCAL}
    settings.update(changes)
    return FetchOptions(**settings)


async def serve(handler: Handler) -> tuple[asyncio.Server, int]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


def time_failure(handler: Handler, opts: FetchOptions, error: type[Exception], match: str) -> float:
    """Seconds until fetching from ``handler``'s server fails with ``error``."""
    async def go() -> float:
        server, port = await serve(handler)
        async with server, Fetcher(opts) as fetcher:
            started = time.monotonic()
            with pytest.raises(error, match=match):
                await fetcher.fetch(f"http://127.0.0.1:{port}/")
            return time.monotonic() - started
    return asyncio.run(go())


def gzip_bomb(gigabytes: int = 1) -> bytes:
    """A valid gzip stream of ``gigabytes`` GiB of zeros, about 1 MB per GiB on the wire."""
    deflate = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    mib = bytes(1 << 20)
    segment = deflate.compress(mib) + deflate.flush(zlib.Z_FULL_FLUSH)  # position-independent
    crc = 0
    for _ in range(1024):
        crc = zlib.crc32(mib, crc)
    crc = crc if gigabytes == 1 else 0  # only the 1 GiB trailer is exact; we never reach it
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03"
    trailer = struct.pack("<II", crc, (gigabytes << 30) & 0xFFFFFFFF)
    return header + segment * (1024 * gigabytes) + b"\x03\x00" + trailer


def peak_rss_reset() -> None:
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")


def peak_rss_kib() -> int:
    with open("/proc/self/status") as handle:
        return next(int(line.split()[1]) for line in handle if line.startswith("VmHWM:"))


def test_gzip_bomb_is_cut_off_at_the_cap_without_inflating(httpserver: HTTPServer) -> None:
    bomb = gzip_bomb()
    assert len(bomb) < 2 * 1024 * 1024
    httpserver.expect_request("/bomb").respond_with_data(bomb, headers={"Content-Encoding": "gzip"})
    peak_rss_reset()
    before = peak_rss_kib()
    started = time.monotonic()

    async def go() -> None:
        async with Fetcher(options(max_bytes=10 * 1024 * 1024)) as fetcher:
            await fetcher.fetch(httpserver.url_for("/bomb"))

    with pytest.raises(ResponseTooLarge, match="response too large: more than 10485760 bytes"):
        asyncio.run(go())
    growth_mib = (peak_rss_kib() - before) / 1024
    assert growth_mib < 80, f"peak RSS grew by {growth_mib:.0f} MiB"
    assert time.monotonic() - started < 5


def test_declared_length_above_cap_fails_at_once() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 50000000\r\n\r\nAliExpress")
        await writer.drain()
        await asyncio.sleep(10)  # never sends the rest
        writer.close()

    opts = options(max_bytes=1000, deadline=5)
    assert time_failure(handler, opts, ResponseTooLarge, "more than 1000 bytes") < 1.0


def test_chunked_body_above_cap_is_refused(httpserver: HTTPServer) -> None:
    def chunks() -> Any:
        for _ in range(100):
            yield b"Sanktionen gegen russische Banken. " * 100
    from werkzeug import Response
    httpserver.expect_request("/lang").respond_with_response(Response(chunks()))

    async def go() -> None:
        async with Fetcher(options(max_bytes=64 * 1024)) as fetcher:
            await fetcher.fetch(httpserver.url_for("/lang"))

    with pytest.raises(ResponseTooLarge, match="more than 65536 bytes"):
        asyncio.run(go())


def test_drip_feeding_server_is_cut_off_at_the_deadline() -> None:
    async def drip(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
        for _ in range(1000):
            writer.write(b"x")
            await writer.drain()
            await asyncio.sleep(1)

    took = time_failure(drip, options(deadline=2, read_timeout=20), FetchTimeout, "2 s deadline")
    assert 1.9 < took < 3.0


def test_read_timeout_applies_to_a_silent_server() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        await asyncio.sleep(5)

    opts = options(read_timeout=0.3, deadline=10)
    assert time_failure(silent, opts, FetchTimeout, "ReadTimeout") < 2


def test_connection_reset_and_refused_are_transport_failures() -> None:
    async def reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()

    async def go() -> tuple[str, str]:
        server, port = await serve(reset)
        async with server, Fetcher(options()) as fetcher:
            with pytest.raises(TransportFailure) as was_reset:
                await fetcher.fetch(f"http://127.0.0.1:{port}/weg")
        with socket.socket() as unused:
            unused.bind(("127.0.0.1", 0))
            closed_port = unused.getsockname()[1]
        async with Fetcher(options()) as fetcher:
            with pytest.raises(TransportFailure) as refused:
                await fetcher.fetch(f"http://127.0.0.1:{closed_port}/")
        return str(was_reset.value), str(refused.value)

    reset_message, refused_message = asyncio.run(go())
    assert reset_message.startswith(("ReadError", "RemoteProtocolError"))
    assert re.match(r"ConnectError: cannot connect to 127\.0\.0\.1 port \d+ \(127\.0\.0\.1\): "
                    r"ConnectionRefusedError", refused_message), refused_message


def test_unresolvable_host_is_a_transport_failure() -> None:
    async def go() -> None:
        async with Fetcher(options()) as fetcher:
            await fetcher.fetch("http://gibt-es-nicht.invalid/feed")

    with pytest.raises(TransportFailure,
                       match=re.escape("cannot resolve host gibt-es-nicht.invalid")):
        asyncio.run(go())


class Counter:
    """A slow server counting requests in flight, per Host header and overall."""

    def __init__(self) -> None:
        self.now = self.peak = 0
        self.starts: list[float] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        self.starts.append(time.monotonic())
        self.now += 1
        self.peak = max(self.peak, self.now)
        await asyncio.sleep(0.25)
        self.now -= 1
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        await writer.drain()
        writer.close()


def run_many(opts: FetchOptions, hosts: list[str]) -> Counter:
    async def go() -> Counter:
        counter = Counter()
        server, port = await serve(counter.handle)
        async with server, Fetcher(opts) as fetcher:
            await asyncio.gather(*(fetcher.fetch(f"http://{host}:{port}/{n}")
                                   for n, host in enumerate(hosts)))
        return counter
    return asyncio.run(go())


def test_per_host_concurrency_is_capped_per_host() -> None:
    opts = options(concurrency=8, per_host_concurrency=2)
    assert run_many(opts, ["127.0.0.1"] * 6).peak == 2
    assert run_many(opts, ["127.0.0.1", "localhost"] * 4).peak == 4


def test_global_concurrency_is_capped() -> None:
    assert run_many(options(concurrency=3, per_host_concurrency=8), ["127.0.0.1"] * 9).peak == 3


def test_requests_to_one_host_start_at_least_the_delay_apart() -> None:
    counter = run_many(options(per_host_delay=0.4, per_host_concurrency=4), ["127.0.0.1"] * 3)
    gaps = [b - a for a, b in itertools.pairwise(counter.starts)]
    assert len(gaps) == 2 and min(gaps) >= 0.38, gaps
    other_hosts = run_many(options(per_host_delay=0.4), ["127.0.0.1", "localhost"])
    assert abs(other_hosts.starts[1] - other_hosts.starts[0]) < 0.2


@pytest.fixture(scope="module")
def tls() -> tuple[trustme.CA, ssl.SSLContext]:
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(server_context)
    return ca, server_context


@pytest.fixture
def https_server(tls: tuple[trustme.CA, ssl.SSLContext]) -> Any:
    server = HTTPServer(host="localhost", port=0, ssl_context=tls[1])
    server.start()
    yield server
    server.clear()
    server.stop()


def client_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


def fetch_tls(url: str, context: ssl.SSLContext | None) -> bytes:
    async def go() -> bytes:
        async with Fetcher(options(), ssl_context=context) as fetcher:
            return (await fetcher.fetch(url)).body
    return asyncio.run(go())


def test_https_verifies_the_host_name_while_connecting_to_the_vetted_ip(
    https_server: HTTPServer, tls: tuple[trustme.CA, ssl.SSLContext]
) -> None:
    https_server.expect_request("/sicher").respond_with_data("Handelsblatt")
    url = f"https://localhost:{https_server.port}/sicher"
    assert fetch_tls(url, client_context(tls[0])) == b"Handelsblatt"
    with pytest.raises(TransportFailure, match="CERTIFICATE_VERIFY_FAILED"):
        fetch_tls(url, None)  # the system trust store does not know our test CA
    with pytest.raises(TransportFailure, match="CERTIFICATE_VERIFY_FAILED"):
        fetch_tls(url.replace("localhost", "127.0.0.1"), client_context(tls[0]))


def test_https_to_http_redirect_is_refused(
    https_server: HTTPServer, httpserver: HTTPServer, tls: tuple[trustme.CA, ssl.SSLContext]
) -> None:
    plain = httpserver.url_for("/klartext")
    https_server.expect_request("/alt").respond_with_data("", status=301,
                                                          headers={"Location": plain})
    httpserver.expect_request("/klartext").respond_with_data("unsicher")
    with pytest.raises(RedirectRefused, match="from https to http"):
        fetch_tls(f"https://localhost:{https_server.port}/alt", client_context(tls[0]))
    assert httpserver.log == []
