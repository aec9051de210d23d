"""robots.txt for article pages: rules, RFC 9309 failure handling, caching, the guard."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from monitor.fetch.client import Fetcher, FetchOptions, default_user_agent

LOCAL = frozenset({"127.0.0.1", "localhost"})
START = datetime(2025, 3, 14, 6, 0, tzinfo=UTC)

ROBOTS = """# Verlag: Regeln fuer Crawler
User-agent: news-monitor
Disallow: /archiv/
Allow: /archiv/frei/

User-agent: *
Disallow: /
"""


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


def options(**changes: Any) -> FetchOptions:
    settings: dict[str, Any] = {"user_agent": default_user_agent(), "per_host_delay": 0.0,
                                "allow_private_hosts": LOCAL}
    settings.update(changes)
    return FetchOptions(**settings)


def ask(httpserver: HTTPServer, paths: list[str], **changes: Any) -> list[bool]:
    async def go() -> list[bool]:
        async with Fetcher(options(**changes), clock=Clock()) as fetcher:
            return [await fetcher.allowed_by_robots(httpserver.url_for(path)) for path in paths]
    return asyncio.run(go())


def robots_requests(httpserver: HTTPServer) -> int:
    return sum(1 for entry in httpserver.log if entry[0].path == "/robots.txt")


def test_rules_for_our_agent_are_applied(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/robots.txt").respond_with_data(ROBOTS, content_type="text/plain")
    answers = ask(httpserver, ["/wirtschaft/aliexpress-russland", "/archiv/2019/megafon",
                               "/archiv/frei/rdif"])
    assert answers == [True, False, True]
    assert robots_requests(httpserver) == 1  # one fetch per site, then the cache
    assert httpserver.log[0][0].headers["User-Agent"].startswith("news-monitor/")


def test_disallow_all_for_everyone_applies_to_us(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/robots.txt").respond_with_data("User-agent: *\nDisallow: /\n")
    assert ask(httpserver, ["/artikel"]) == [False]


@pytest.mark.parametrize("status", [401, 403, 404, 410])
def test_missing_robots_txt_allows_everything(httpserver: HTTPServer, status: int) -> None:
    httpserver.expect_request("/robots.txt").respond_with_data("nicht gefunden", status=status)
    assert ask(httpserver, ["/artikel", "/archiv/x"]) == [True, True]


@pytest.mark.parametrize("status", [500, 503, 429])
def test_server_error_disallows_everything_for_an_hour(httpserver: HTTPServer, status: int) -> None:
    httpserver.expect_request("/robots.txt").respond_with_data("kaputt", status=status)
    clock = Clock()

    async def go() -> list[bool]:
        async with Fetcher(options(), clock=clock) as fetcher:
            url = httpserver.url_for("/artikel")
            first = await fetcher.allowed_by_robots(url)
            clock.now += timedelta(minutes=59)
            cached = await fetcher.allowed_by_robots(url)
            assert robots_requests(httpserver) == 1
            httpserver.clear_all_handlers()
            httpserver.expect_request("/robots.txt").respond_with_data("User-agent: *\nAllow: /\n")
            clock.now += timedelta(minutes=2)
            return [first, cached, await fetcher.allowed_by_robots(url)]

    assert asyncio.run(go()) == [False, False, True]
    assert robots_requests(httpserver) == 2


def test_unreachable_site_disallows_everything() -> None:
    async def go() -> bool:
        async with Fetcher(options()) as fetcher:
            return await fetcher.allowed_by_robots("http://127.0.0.1:9/artikel")
    assert asyncio.run(go()) is False


def test_rules_are_cached_for_the_ttl(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/robots.txt").respond_with_data(ROBOTS)
    clock = Clock()

    async def go() -> None:
        async with Fetcher(options(robots_ttl=600), clock=clock) as fetcher:
            url = httpserver.url_for("/archiv/alt")
            await asyncio.gather(*(fetcher.allowed_by_robots(url) for _ in range(5)))
            clock.now += timedelta(seconds=599)
            assert await fetcher.allowed_by_robots(url) is False
            assert robots_requests(httpserver) == 1
            clock.now += timedelta(seconds=2)
            assert await fetcher.allowed_by_robots(url) is False

    asyncio.run(go())
    assert robots_requests(httpserver) == 2


def test_robots_fetch_goes_through_the_address_guard(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/robots.txt").respond_with_data("User-agent: *\nAllow: /\n")
    assert httpserver.url_for("/").startswith("http://localhost:")
    assert ask(httpserver, ["/artikel"], allow_private_hosts=frozenset({"127.0.0.1"})) == [False]
    assert robots_requests(httpserver) == 0
