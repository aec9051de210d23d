"""Fetcher against a real local HTTP server: headers sent, validators, statuses, redirects,
guard."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Coroutine
from datetime import UTC, datetime
from typing import Any, TypeVar

import pytest
from pytest_httpserver import HTTPServer

from monitor.errors import (
    AddressBlocked,
    FetchError,
    HTTPStatusError,
    RedirectRefused,
    TooManyRedirects,
    TransportFailure,
)
from monitor.fetch.client import Fetcher, FetchOptions, default_user_agent, parse_retry_after
from monitor.models import FetchResult

T = TypeVar("T")
LOCAL = frozenset({"127.0.0.1", "localhost"})
NOW = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)

FEED = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Wirtschaft aktuell</title>
<item><title>AliExpress Russland baut Belegschaft ab</title>
<link>https://news.example/aliexpress-russland</link>
<description>Das Gemeinschaftsunternehmen mit VK und MegaFon streicht Stellen in Moskau.
</description>
</item></channel></rss>"""


def options(**changes: Any) -> FetchOptions:
    settings: dict[str, Any] = {"user_agent": default_user_agent(), "per_host_delay": 0.0,
                                "allow_private_hosts": LOCAL}
    settings.update(changes)
    return FetchOptions(**settings)


def fetch(url: str, opts: FetchOptions | None = None, **kwargs: Any) -> FetchResult:
    async def go() -> FetchResult:
        async with Fetcher(opts or options(), clock=lambda: NOW) as fetcher:
            return await fetcher.fetch(url, **kwargs)
    return asyncio.run(go())


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def test_sends_our_headers_and_returns_body_and_validators(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed.xml").respond_with_data(
        FEED, content_type="application/rss+xml",
        headers={"ETag": '"v1"', "Last-Modified": "Fri, 14 Mar 2025 08:00:00 GMT"})
    result = fetch(httpserver.url_for("/feed.xml"), accept="application/rss+xml")
    sent = httpserver.log[0][0].headers
    assert sent["User-Agent"].startswith("news-monitor/") and "(+https://" in sent["User-Agent"]
    assert sent["Accept-Encoding"] == "gzip, deflate"
    assert sent["Accept"] == "application/rss+xml"
    assert "If-None-Match" not in sent and "Cookie" not in sent
    assert (result.status, result.body, result.etag) == (200, FEED, '"v1"')
    assert result.last_modified == "Fri, 14 Mar 2025 08:00:00 GMT"
    assert result.headers["content-type"] == "application/rss+xml"
    assert result.fetched_at == NOW and result.final_url == result.url


def test_a_links_fragment_is_not_part_of_the_page_fetched(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/artikel.html").respond_with_data(FEED)
    result = fetch(httpserver.url_for("/artikel.html") + "#kommentare")
    assert result.final_url == httpserver.url_for("/artikel.html")
    assert httpserver.log[0][0].path == "/artikel.html"


def test_second_fetch_is_conditional_and_304_is_a_result(httpserver: HTTPServer) -> None:
    httpserver.expect_ordered_request("/feed.xml").respond_with_data(
        FEED, headers={"ETag": '"v1"', "Last-Modified": "Fri, 14 Mar 2025 08:00:00 GMT"})
    httpserver.expect_ordered_request(
        "/feed.xml", headers={"If-None-Match": '"v1"',
                              "If-Modified-Since": "Fri, 14 Mar 2025 08:00:00 GMT"},
    ).respond_with_data("", status=304)
    first = fetch(httpserver.url_for("/feed.xml"))
    second = fetch(httpserver.url_for("/feed.xml"), etag=first.etag,
                   last_modified=first.last_modified)
    assert second.not_modified and second.body == b""
    assert (second.etag, second.last_modified) == (first.etag, first.last_modified)
    httpserver.check_assertions()


def test_gzip_and_deflate_bodies_are_decoded(httpserver: HTTPServer) -> None:
    import gzip
    import zlib
    httpserver.expect_request("/gz").respond_with_data(
        gzip.compress(FEED), headers={"Content-Encoding": "gzip"})
    httpserver.expect_request("/zlib").respond_with_data(
        zlib.compress(FEED), headers={"Content-Encoding": "deflate"})
    raw = zlib.compressobj(wbits=-15)
    httpserver.expect_request("/raw").respond_with_data(
        raw.compress(FEED) + raw.flush(), headers={"Content-Encoding": "deflate"})
    for path in ("/gz", "/zlib", "/raw"):
        assert fetch(httpserver.url_for(path)).body == FEED


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br"])
def test_corrupt_or_unknown_encoding_is_a_transport_failure(
    httpserver: HTTPServer, encoding: str
) -> None:
    httpserver.expect_request("/kaputt").respond_with_data(
        b"kein komprimierter Text", headers={"Content-Encoding": encoding})
    with pytest.raises(TransportFailure,
                       match=r"corrupt compressed body|unsupported content-encoding"):
        fetch(httpserver.url_for("/kaputt"))


@pytest.mark.parametrize("status", [403, 404, 410, 500, 502])
def test_error_statuses_raise_without_retry_after(httpserver: HTTPServer, status: int) -> None:
    httpserver.expect_request("/x").respond_with_data("Fehler", status=status,
                                                     headers={"Retry-After": "30"})
    with pytest.raises(HTTPStatusError) as caught:
        fetch(httpserver.url_for("/x"))
    assert caught.value.status == status and caught.value.retry_after is None
    assert caught.value.url == httpserver.url_for("/x")


@pytest.mark.parametrize("value,expected", [
    ("120", 120.0), ("Fri, 14 Mar 2025 09:45:00 GMT", 900.0),
    ("Fri, 14 Mar 2025 09:00:00 GMT", 0.0),
])
@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_is_parsed_on_429_and_503(
    httpserver: HTTPServer, status: int, value: str, expected: float
) -> None:
    httpserver.expect_request("/busy").respond_with_data("", status=status,
                                                        headers={"Retry-After": value})
    with pytest.raises(HTTPStatusError) as caught:
        fetch(httpserver.url_for("/busy"))
    assert caught.value.status == status and caught.value.retry_after == expected


def test_retry_after_garbage_is_ignored() -> None:
    assert parse_retry_after("bald", NOW) is None
    assert parse_retry_after(None, NOW) is None


def test_redirects_are_followed_and_logged(httpserver: HTTPServer,
                                           caplog: pytest.LogCaptureFixture) -> None:
    httpserver.expect_request("/alt").respond_with_data("", status=301,
                                                        headers={"Location": "/neu"})
    httpserver.expect_request("/neu").respond_with_data(FEED)
    caplog.set_level(logging.INFO, logger="monitor.fetch")
    result = fetch(httpserver.url_for("/alt"))
    assert result.final_url == httpserver.url_for("/neu") and result.body == FEED
    line = f"fetch url={httpserver.url_for('/alt')} status=200 took_ms="
    assert any(r.getMessage().startswith(line) and r.getMessage().endswith(f"bytes={len(FEED)}")
               for r in caplog.records)


def test_redirect_loop_is_detected(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/a").respond_with_data("", status=302, headers={"Location": "/b"})
    httpserver.expect_request("/b").respond_with_data("", status=302, headers={"Location": "/a"})
    with pytest.raises(TooManyRedirects, match="loop"):
        fetch(httpserver.url_for("/a"))
    assert len(httpserver.log) == 2


def test_more_than_five_redirects_are_refused(httpserver: HTTPServer) -> None:
    for hop in range(6):
        httpserver.expect_request(f"/{hop}").respond_with_data(
            "", status=307, headers={"Location": f"/{hop + 1}"})
    httpserver.expect_request("/6").respond_with_data(FEED)
    with pytest.raises(TooManyRedirects, match="more than 5 redirects"):
        fetch(httpserver.url_for("/0"))
    assert [entry[0].path for entry in httpserver.log] == [f"/{hop}" for hop in range(6)]
    assert fetch(httpserver.url_for("/0"), options(max_redirects=6)).body == FEED


def test_five_redirects_are_fine(httpserver: HTTPServer) -> None:
    for hop in range(5):
        httpserver.expect_request(f"/{hop}").respond_with_data(
            "", status=302, headers={"Location": f"/{hop + 1}"})
    httpserver.expect_request("/5").respond_with_data(FEED)
    assert fetch(httpserver.url_for("/0")).body == FEED


def test_redirect_to_other_scheme_is_refused(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/ftp").respond_with_data(
        "", status=302, headers={"Location": "ftp://files.example/feed.xml"})
    with pytest.raises(RedirectRefused, match="non-http"):
        fetch(httpserver.url_for("/ftp"))


@pytest.mark.parametrize("target,address", [
    ("http://127.0.0.1:{port}/geheim", "127.0.0.1"),
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254"),
    ("http://[::1]:{port}/geheim", "::1"),
    ("http://2130706433:{port}/geheim", "127.0.0.1"),
])
def test_redirect_to_internal_address_is_blocked(
    httpserver: HTTPServer, target: str, address: str
) -> None:
    httpserver.expect_request("/weiter").respond_with_data(
        "", status=302, headers={"Location": target.format(port=httpserver.port)})
    httpserver.expect_request("/geheim").respond_with_data("intern")
    with pytest.raises(AddressBlocked, match=f"address {address} of host"):
        fetch(httpserver.url_for("/weiter").replace("127.0.0.1", "localhost"),
              options(allow_private_hosts=frozenset({"localhost"})))
    assert [entry[0].path for entry in httpserver.log] == ["/weiter"]


def test_localhost_is_refused_unless_allowed(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/").respond_with_data(FEED)
    url = httpserver.url_for("/").replace("127.0.0.1", "localhost")
    with pytest.raises(AddressBlocked, match=r"of host localhost is not allowed \(loopback\)"):
        fetch(url, options(allow_private_hosts=frozenset()))
    assert httpserver.log == []
    assert fetch(url, options(allow_private_hosts=frozenset({"LOCALHOST"}))).body == FEED


@pytest.mark.parametrize("url", ["ftp://files.example/x", "file:///etc/passwd", "http://", "nix"])
def test_only_http_urls_are_fetched(url: str) -> None:
    with pytest.raises(FetchError):
        fetch(url)


def test_environment_proxy_is_ignored(httpserver: HTTPServer,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("ALL_PROXY", "http://127.0.0.1:9")
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    httpserver.expect_request("/feed.xml").respond_with_data(FEED)
    assert fetch(httpserver.url_for("/feed.xml")).body == FEED


def test_configured_proxy_is_used_and_literal_internal_targets_still_refused(
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_request("/rss/wirtschaft").respond_with_data(FEED)
    via_proxy = options(proxy=httpserver.url_for("/"), allow_private_hosts=frozenset())
    result = fetch("http://feeds.handelsblatt.invalid/rss/wirtschaft", via_proxy)
    assert result.body == FEED
    assert httpserver.log[0][0].headers["Host"] == "feeds.handelsblatt.invalid"
    with pytest.raises(AddressBlocked, match=re.escape("169.254.169.254")):
        fetch("http://169.254.169.254/latest/meta-data/", via_proxy)
    assert len(httpserver.log) == 1
