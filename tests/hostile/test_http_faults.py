"""HTTP faults at a feed URL, from misbehaving local servers, through the real pipeline.

Each fault is served by a raw asyncio server on 127.0.0.1 and polled in one cycle next to
a healthy feed: the fault must end as an error on its feed's store row (the words a user
reads in ``news-monitor feeds``), within bounded time and memory, and the healthy feed
must still be polled. One command-line run puts every fault in one config and reads
``poll`` and ``feeds`` as a user would.
"""

from __future__ import annotations

import asyncio
import re
import socket
import struct
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from tests.conftest import NewsSite, run_cli
from tests.hostile.helpers import (
    Figures,
    Handler,
    RawServer,
    assert_recorded,
    hostile_config,
    poll_cycle,
)
from tests.newsroom import LAYOFFS, OTHER, Item, rss
from tests.test_fetch_limits import gzip_bomb

CAP = 5_000_000          # max_bytes in these configs
DEADLINE = 3             # seconds, the per-response deadline in these configs
GIB = 1 << 30
FEED = rss("http://127.0.0.1", "Störungsmelder", [
    Item(LAYOFFS.headline, "/artikel/aliexpress", "Alibaba-Tochter baut ab.", guid="s-1"),
    Item(OTHER.headline, "/artikel/dax", "Anleger erleichtert.", guid="s-2")]).encode()
ERROR_PAGE = ("<!DOCTYPE html><html lang=\"de\"><head><title>Wartungsarbeiten</title></head>"
              "<body><h1>Diese Seite ist vorübergehend nicht erreichbar</h1><p>Wir arbeiten an "
              "unserem Angebot. Bitte versuchen Sie es später erneut.</p></body></html>").encode()
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64)


def head(status: str, content_type: str, length: int | None, *extra: str) -> bytes:
    lines = [f"HTTP/1.1 {status}", f"Content-Type: {content_type}", "Connection: close", *extra]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def respond(status: str, content_type: str, body: bytes, *extra: str) -> Handler:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(head(status, content_type, len(body), *extra) + body)
    return handler


async def reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                                struct.pack("ii", 1, 0))
    writer.transport.abort()


async def truncated(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(head("200 OK", "application/rss+xml", len(FEED) + 4000) + FEED[:1000])


async def drip(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(head("200 OK", "application/rss+xml", len(FEED)))
    for byte in FEED:
        writer.write(bytes([byte]))
        await writer.drain()
        await asyncio.sleep(1)


def gigabyte_of_news() -> Iterator[bytes]:
    """1 GiB of feed-like text, 64 KiB at a time: never held in memory."""
    chunk = (b"<item><title>Sanktionen treffen AliExpress Russland</title></item>" * 1000)[:65536]
    yield b'<?xml version="1.0"?><rss version="2.0"><channel>'
    for _ in range(GIB // len(chunk)):
        yield chunk


def stream_gigabyte(server: RawServer, path: str, declared: bool) -> Handler:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(head("200 OK", "application/rss+xml", GIB if declared else None))
        server.sent[path] = 0
        for chunk in gigabyte_of_news():
            writer.write(chunk)
            await writer.drain()  # raises once the client hung up
            server.sent[path] += len(chunk)
    return handler


@dataclass(frozen=True)
class Fault:
    path: str
    kind: str                # the status on the feed's row
    message: str             # a regex for the error a user reads


FAULTS = {
    "reset": Fault("/reset", "transport", r"^(ReadError|RemoteProtocolError): "),
    "truncated": Fault("/kurz", "transport",
                       r"^RemoteProtocolError: .*incomplete|complete message"),
    "json": Fault("/json", "parse", r"^(not a feed|XML error at line \d+: )"),
    "png": Fault("/bild", "parse", r"^(not a feed|XML error at line \d+: )"),
    "html-page": Fault("/wartung", "parse", r"^not a feed: HTML page$"),
    "html-500": Fault("/fehler", "http_status", r"^HTTP 500 from http://127\.0\.0\.1:\d+/fehler$"),
    "redirect-loop": Fault("/schleife-a", "redirects", r"^redirect loop at http://.*/schleife-a"),
    "gigabyte": Fault("/gigabyte", "too_large", rf"^response too large: more than {CAP} bytes$"),
    "gigabyte-declared": Fault("/gigabyte-angesagt", "too_large",
                               rf"^response too large: more than {CAP} bytes$"),
    "gzip-bomb": Fault("/bombe", "too_large", rf"^response too large: more than {CAP} bytes$"),
    "drip": Fault("/tropf", "timeout", rf"^no complete response within the {DEADLINE} s deadline$"),
}


def install(server: RawServer) -> None:
    loop_a, loop_b = server.url("/schleife-a"), server.url("/schleife-b")
    server.routes.update({
        "/reset": reset, "/kurz": truncated, "/tropf": drip,
        "/json": respond("200 OK", "application/json", b'{"artikel": [], "status": "ok"}'),
        "/bild": respond("200 OK", "image/png", PNG),
        "/wartung": respond("200 OK", "text/html; charset=utf-8", ERROR_PAGE),
        "/fehler": respond("500 Internal Server Error", "text/html; charset=utf-8", ERROR_PAGE),
        "/schleife-a": respond("302 Found", "text/plain", b"", f"Location: {loop_b}"),
        "/schleife-b": respond("301 Moved Permanently", "text/plain", b"", f"Location: {loop_a}"),
        "/gigabyte": stream_gigabyte(server, "/gigabyte", declared=False),
        "/gigabyte-angesagt": stream_gigabyte(server, "/gigabyte-angesagt", declared=True),
        "/bombe": respond("200 OK", "application/rss+xml", gzip_bomb(), "Content-Encoding: gzip"),
        "/als-html": respond("200 OK", "text/html", FEED),
    })


def healthy(site: NewsSite) -> dict[str, object]:
    """A feed that works; its entries are older than the first-poll window (baseline)."""
    site.put("/gesund.xml", rss(site.url("").rstrip("/"), "Wirtschaftskurier", [
        Item(LAYOFFS.headline, "/artikel/a", "Stellenabbau.", guid="g-1", age=timedelta(days=3)),
        Item(OTHER.headline, "/artikel/b", "Dax fester.", guid="g-2", age=timedelta(days=3))]))
    return {"name": "Gesund", "url": site.url("/gesund.xml"), "full_text": False}


def fault_config(tmp_path: Path, site: NewsSite, server: RawServer, names: list[str]) -> Path:
    feeds = [{"name": name, "url": server.url(FAULTS[name].path), "full_text": False}
             for name in names]
    return hostile_config(tmp_path, [*feeds, healthy(site)], deadline=f"{DEADLINE}s",
                          timeout="2s", max_bytes=str(CAP))


@pytest.mark.parametrize("name", sorted(FAULTS))
def test_fault_is_recorded_on_its_feed_and_others_still_poll(
        name: str, site: NewsSite, raw_server: RawServer, tmp_path: Path,
        figures: Figures) -> None:
    install(raw_server)
    config = fault_config(tmp_path, site, raw_server, [name])
    cycle = poll_cycle(config)
    outcomes, states, took, growth_mib = (cycle.outcomes, cycle.states, cycle.seconds,
                                          cycle.peak_growth_mib)
    fault = FAULTS[name]
    assert_recorded(outcomes[name], states[name])
    assert states[name].last_status == fault.kind
    assert re.search(fault.message, states[name].last_error or ""), states[name].last_error
    assert outcomes["Gesund"].status == "ok" and states["Gesund"].entries_count == 2
    assert took < DEADLINE + 4, f"{name}: the cycle took {took:.1f} s"
    assert growth_mib < 64, f"{name}: peak RSS grew by {growth_mib:.0f} MiB"
    if name.startswith("gigabyte"):
        assert raw_server.sent.get(fault.path, 0) < 64 * 1024 * 1024  # we hung up early
    figures.record("http-fault", fault=name, seconds=round(took, 2), rss_mib=round(growth_mib))


def test_feed_served_as_html_is_still_read(site: NewsSite, raw_server: RawServer,
                                           tmp_path: Path) -> None:
    install(raw_server)
    config = hostile_config(tmp_path, [
        {"name": "Falscher Typ", "url": raw_server.url("/als-html"), "full_text": False}])
    cycle = poll_cycle(config)
    outcomes, states = cycle.outcomes, cycle.states
    assert outcomes["Falscher Typ"].status == "ok", outcomes["Falscher Typ"]
    assert states["Falscher Typ"].entries_count == 2


def test_every_fault_in_one_poll_as_the_user_sees_it(
        site: NewsSite, raw_server: RawServer, tmp_path: Path) -> None:
    install(raw_server)
    config = fault_config(tmp_path, site, raw_server, sorted(FAULTS))
    started = time.monotonic()
    polled = run_cli("poll", config=config)
    assert time.monotonic() - started < DEADLINE + 20
    assert polled.returncode == 0, polled.stderr
    assert f"{len(FAULTS) + 1} feeds: 1 ok, 0 not modified, {len(FAULTS)} failed" in polled.stdout
    shown = run_cli("feeds", config=config)
    assert shown.returncode == 0, shown.stderr
    rows = shown.stdout.split("\n")
    for name, fault in FAULTS.items():
        row = next(i for i, line in enumerate(rows) if line.startswith(name + " "))
        assert rows[row].split()[1] == fault.kind[:13], rows[row]
        assert rows[row + 1].startswith("    last error: "), rows[row:row + 2]
        assert re.search(fault.message, rows[row + 1].removeprefix("    last error: "))
    assert re.search(r"^Gesund +ok ", shown.stdout, re.MULTILINE), shown.stdout
    assert "Traceback" not in polled.stderr + shown.stderr
