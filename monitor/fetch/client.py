"""The HTTP fetch stage: one shared httpx client, conditional GET, limits, politeness, guard.

``Fetcher.fetch`` returns the bytes of one response plus its cache validators as a
``FetchResult`` (a 304 is a normal result) and turns every failure into a
``monitor.errors.FetchError``. It follows redirects itself (a cap, loop detection, no
https-to-http downgrade), enforces connect/read timeouts and an overall deadline per
response, reads the raw stream and decompresses it here so the size cap holds for the
decompressed body too, and keeps to a global and a per-host concurrency limit and a minimum
delay between request starts to one host (both in ``limits``). Every connection goes
through the address guard of ``netguard``; robots.txt answers come from ``robots``.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from http.cookiejar import CookieJar, DefaultCookiePolicy
from types import TracebackType

import httpx

from monitor import __version__
from monitor.errors import (
    FetchError,
    FetchTimeout,
    HTTPStatusError,
    RedirectRefused,
    ResponseTooLarge,
    TooManyRedirects,
    TransportFailure,
)
from monitor.fetch.limits import CappedBody, Politeness, parse_retry_after
from monitor.fetch.netguard import guarded_transport, normalise_host, precheck_behind_proxy
from monitor.fetch.robots import RobotsCache
from monitor.models import FetchResult

__all__ = ["FetchOptions", "Fetcher", "default_user_agent", "parse_retry_after"]

log = logging.getLogger(__name__)

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
RETRY_AFTER_STATUSES = frozenset({429, 503})
ROBOTS_MAX_BYTES = 512 * 1024
DRAIN_MAX_BYTES = 64 * 1024   # a body we do not keep (304, redirect) is read up to this much


def default_user_agent(contact: str = "https://github.com/news-monitor") -> str:
    return f"news-monitor/{__version__} (+{contact})"


@dataclass(frozen=True)
class FetchOptions:
    user_agent: str
    concurrency: int = 8
    per_host_concurrency: int = 2
    per_host_delay: float = 1.0
    connect_timeout: float = 10
    read_timeout: float = 20
    deadline: float = 60
    max_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 5
    allow_private_hosts: frozenset[str] = frozenset()
    proxy: str | None = None
    robots_ttl: float = 86400


@dataclass(frozen=True)
class _Reply:
    url: httpx.URL
    status: int
    headers: dict[str, str]
    body: bytes


def _refuse_cookies() -> CookieJar:
    """A cookie jar that stores nothing: a long-running fetcher must not collect cookies."""
    return CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))


class Fetcher:
    """Fetches URLs politely and safely through one shared httpx.AsyncClient."""

    def __init__(
        self,
        options: FetchOptions,
        *,
        clock: Callable[[], datetime] | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._options = options
        self._clock = clock or (lambda: datetime.now(UTC))
        self._allow = frozenset(normalise_host(host) for host in options.allow_private_hosts)
        self._politeness = Politeness(
            options.concurrency, options.per_host_concurrency, options.per_host_delay
        )
        self._robots = RobotsCache(ttl=options.robots_ttl, clock=self._clock)
        self._client = httpx.AsyncClient(
            transport=guarded_transport(
                self._allow, ssl_context or httpx.create_ssl_context(trust_env=False),
                max_connections=options.concurrency, proxy=options.proxy,
            ),
            timeout=httpx.Timeout(
                options.read_timeout, connect=options.connect_timeout, pool=options.deadline
            ),
            headers={"User-Agent": options.user_agent, "Accept-Encoding": "gzip, deflate"},
            cookies=_refuse_cookies(),
            follow_redirects=False,
            trust_env=False,
        )

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def allowed_by_robots(self, url: str) -> bool:
        """Whether robots.txt of the URL's site lets ``news-monitor`` fetch it."""
        return await self._robots.allowed(url, self._fetch_robots)

    async def _fetch_robots(self, url: str) -> FetchResult:
        return await self.fetch(url, max_bytes=ROBOTS_MAX_BYTES, accept="text/plain")

    async def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        max_bytes: int | None = None,
        accept: str | None = None,
    ) -> FetchResult:
        """GET ``url`` (conditionally when validators are given) and return the response."""
        started = time.monotonic()
        headers = {"If-None-Match": etag, "If-Modified-Since": last_modified, "Accept": accept}
        sent = {name: value for name, value in headers.items() if value}
        cap = max_bytes if max_bytes is not None else self._options.max_bytes
        try:
            reply = await self._follow(url, sent, cap)
        except FetchError as exc:
            exc.url = exc.url or url
            took = (time.monotonic() - started) * 1000
            log.info("fetch url=%s status=error error=%s took_ms=%d", url, exc.kind, took)
            raise
        took = (time.monotonic() - started) * 1000
        log.info("fetch url=%s status=%s took_ms=%d bytes=%d", url, reply.status, took,
                 len(reply.body))
        return self._result(url, reply, etag, last_modified, took)

    def _result(
        self, url: str, reply: _Reply, etag: str | None, last_modified: str | None, took: float
    ) -> FetchResult:
        if reply.status != 304:
            etag, last_modified = None, None  # a full response carries its own validators
        return FetchResult(
            url=url,
            final_url=str(reply.url),
            status=reply.status,
            headers=reply.headers,
            body=reply.body,
            etag=reply.headers.get("etag", etag),
            last_modified=reply.headers.get("last-modified", last_modified),
            fetched_at=self._clock(),
            elapsed_ms=took,
        )

    async def _follow(self, url: str, headers: dict[str, str], cap: int) -> _Reply:
        """Send the request and follow redirects, each hop checked and limited."""
        current = _parse_url(url)
        seen = {current}
        for _ in range(self._options.max_redirects + 1):
            reply = await self._exchange(current, headers, cap)
            if reply.status not in REDIRECT_STATUSES:
                return reply
            current = _redirect_target(reply)
            if current in seen:
                raise TooManyRedirects(f"redirect loop at {current}", url=url)
            seen.add(current)
        raise TooManyRedirects(f"more than {self._options.max_redirects} redirects", url=url)

    async def _exchange(self, url: httpx.URL, headers: dict[str, str], cap: int) -> _Reply:
        """One request and its response, within the politeness rules and the deadline."""
        async with self._politeness.slot(url.host):
            if self._options.proxy is not None:
                await precheck_behind_proxy(url.host, url.port or 0, self._allow)
            try:
                async with asyncio.timeout(self._options.deadline):
                    async with self._client.stream("GET", url, headers=headers) as response:
                        return await self._read(response, cap)
            except TimeoutError:
                message = f"no complete response within the {self._options.deadline:g} s deadline"
                raise FetchTimeout(message, url=str(url)) from None
            except httpx.TimeoutException as exc:
                raise FetchTimeout(f"{type(exc).__name__}: {exc}", url=str(url)) from None
            except httpx.TransportError as exc:
                raise TransportFailure(_describe(exc), url=str(url)) from None

    async def _read(self, response: httpx.Response, cap: int) -> _Reply:
        headers = {name.lower(): value for name, value in response.headers.items()}
        status, url = response.status_code, response.url
        if (status in REDIRECT_STATUSES and "location" in headers) or status == 304:
            await _drain(response)
            return _Reply(url, status, headers, b"")
        if status >= 300:
            raise self._status_error(status, headers, str(url))
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            raise ResponseTooLarge(f"response too large: more than {cap} bytes", url=str(url))
        body = CappedBody(headers.get("content-encoding", ""), cap, str(url))
        async for chunk in response.aiter_raw():
            body.feed(chunk)
        return _Reply(url, status, headers, body.finish())

    def _status_error(self, status: int, headers: dict[str, str], url: str) -> HTTPStatusError:
        retry_after = None
        if status in RETRY_AFTER_STATUSES:
            retry_after = parse_retry_after(headers.get("retry-after"), self._clock())
        return HTTPStatusError(f"HTTP {status} from {url}", status=status, url=url,
                               retry_after=retry_after)


async def _drain(response: httpx.Response) -> None:
    """Read the rest of a body we do not keep, so its connection is kept alive and reused
    (an unread body makes httpcore close it); a long one is left: the connection closes."""
    seen = 0
    async for chunk in response.aiter_raw():
        seen += len(chunk)
        if seen > DRAIN_MAX_BYTES:
            return


def _parse_url(url: str) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise FetchError(f"invalid URL {url!r}: {exc}", url=url) from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise FetchError(f"unsupported URL {url!r}: only http(s) URLs with a host", url=url)
    return parsed.copy_with(fragment=None) if parsed.fragment else parsed   # a copy re-parses


def _redirect_target(reply: _Reply) -> httpx.URL:
    """The checked next URL of a redirect: http(s) only, never from https down to http."""
    try:
        target = reply.url.join(reply.headers["location"]).copy_with(fragment=None)
    except (httpx.InvalidURL, UnicodeError) as exc:
        raise RedirectRefused(f"invalid redirect target from {reply.url}: {exc}") from None
    if target.scheme not in ("http", "https") or not target.host:
        raise RedirectRefused(f"redirect from {reply.url} to non-http(s) URL {target}")
    if reply.url.scheme == "https" and target.scheme == "http":
        raise RedirectRefused(f"redirect from https to http refused: {reply.url} -> {target}")
    return target


def _describe(exc: httpx.TransportError) -> str:
    cause = exc.__context__ or exc.__cause__
    detail = str(exc) or (str(cause) if cause else "") or type(exc).__name__
    return f"{type(exc).__name__}: {detail}"
