"""robots.txt for article pages: fetched once per site, cached, read with urllib.robotparser.

``RobotsCache`` answers "may news-monitor fetch this URL?" following RFC 9309: a robots.txt
that cannot be found (any 4xx except 429) allows everything; a server error, a 429 or an
unreachable site disallows everything for a shorter time (``failure_ttl``), after which we
ask again. Rules are cached per scheme and host for ``ttl`` seconds. The fetch itself is
passed in (the Fetcher hands its own, so robots.txt goes through the same guard and limits).
urllib.robotparser reads the rules; we re-order each group so the longest path wins, as
RFC 9309 asks (robotparser itself takes the first match in file order).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

from monitor.errors import FetchError, HTTPStatusError
from monitor.models import FetchResult

log = logging.getLogger(__name__)

AGENT_TOKEN = "news-monitor"
FAILURE_TTL = 3600.0

RobotsFetch = Callable[[str], Awaitable[FetchResult]]


class _RuleLine(Protocol):
    path: str
    allowance: bool


class _Group(Protocol):
    rulelines: list[_RuleLine]


class _Parser(RobotFileParser):
    """RobotFileParser with the attributes it sets on itself, which typeshed leaves out."""

    allow_all: bool
    disallow_all: bool
    entries: list[_Group]
    default_entry: _Group | None


@dataclass(frozen=True)
class _Entry:
    parser: RobotFileParser
    expires: datetime


def _allow_all(allow: bool) -> RobotFileParser:
    parser = _Parser()
    if allow:
        parser.allow_all = True
    else:
        parser.disallow_all = True
    return parser


def _parse(body: bytes) -> RobotFileParser:
    parser = _Parser()
    parser.parse(body.decode("utf-8", errors="replace").splitlines())
    parser.modified()  # robotparser refuses every URL until it believes it has read a file
    groups = [*parser.entries, *([parser.default_entry] if parser.default_entry else [])]
    for group in groups:  # RFC 9309: the longest match wins, Allow on a tie; not file order
        group.rulelines.sort(key=lambda rule: (-len(rule.path), not rule.allowance))
    return parser


class RobotsCache:
    """Per-site robots.txt rules, cached; one fetch per site at a time."""

    def __init__(
        self,
        *,
        ttl: float,
        clock: Callable[[], datetime],
        failure_ttl: float = FAILURE_TTL,
        agent: str = AGENT_TOKEN,
    ) -> None:
        self._ttl, self._failure_ttl = ttl, min(failure_ttl, ttl)
        self._clock, self._agent = clock, agent
        self._entries: dict[str, _Entry] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def allowed(self, url: str, fetch: RobotsFetch) -> bool:
        parts = urlsplit(url)
        site = f"{parts.scheme}://{parts.netloc}".lower()
        async with self._locks.setdefault(site, asyncio.Lock()):
            entry = self._entries.get(site)
            if entry is None or entry.expires <= self._clock():
                entry = await self._load(site, fetch)
                self._entries[site] = entry
        return entry.parser.can_fetch(self._agent, url)

    async def _load(self, site: str, fetch: RobotsFetch) -> _Entry:
        parser, ttl = await self._rules(site + "/robots.txt", fetch)
        now = self._clock()
        return _Entry(parser, now + timedelta(seconds=ttl))

    async def _rules(self, robots_url: str, fetch: RobotsFetch) -> tuple[RobotFileParser, float]:
        try:
            result = await fetch(robots_url)
        except HTTPStatusError as exc:
            if 400 <= exc.status < 500 and exc.status != 429:
                log.info("robots url=%s outcome=allow_all status=%s", robots_url, exc.status)
                return _allow_all(True), self._ttl
            return self._unreachable(robots_url, str(exc))
        except FetchError as exc:
            return self._unreachable(robots_url, str(exc))
        return _parse(result.body), self._ttl

    def _unreachable(self, robots_url: str, error: str) -> tuple[RobotFileParser, float]:
        log.info("robots url=%s outcome=disallow_all error=%r", robots_url, error)
        return _allow_all(False), self._failure_ttl

