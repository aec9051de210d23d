"""What the desk's handlers work with: its settings, the current store and topics, and
the process's health and metrics.

Owns ``Desk`` (kept on the Starlette app's state) and ``DeskParts``: the parts of the
running app the pages read. The daemon hands in a callable that answers the parts of the
app it runs now (they change on a reload, and are absent while it reloads), so pages never
hold a closed store.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry
from starlette.exceptions import HTTPException
from starlette.requests import Request

from monitor.app.settings import WebSettings
from monitor.match import Normaliser, Topic
from monitor.notify.digest import DigestSettings
from monitor.store import Store
from monitor.web.security import LoginLimiter

Health = Callable[[], tuple[bool, str]]
Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class DeskParts:
    """The running app's store, compiled topics and the digest settings of every route that
    gets the digest, at least one (the next digest the desk shows is what they carry
    together; the first one's time zone is the desk's)."""

    store: Store
    topics: Sequence[Topic]
    digests: tuple[DigestSettings, ...]

    @property
    def digest(self) -> DigestSettings:
        """The first digest route's settings."""
        return self.digests[0]


@dataclass
class Desk:
    settings: WebSettings
    parts: Callable[[], DeskParts | None]
    health: Health
    metrics: CollectorRegistry | None = None
    clock: Clock = utcnow
    normaliser: Normaliser = field(default_factory=Normaliser)
    limiter: LoginLimiter = field(default_factory=lambda: LoginLimiter(time.monotonic))

    def now(self) -> datetime:
        return self.clock()

    @property
    def timezone(self) -> str:
        found = self.parts()
        return found.digest.timezone if found else "Europe/Berlin"


def desk_of(request: Request) -> Desk:
    desk: Desk = request.app.state.desk
    return desk


def parts_of(request: Request) -> DeskParts:
    """The running app's parts; 503 while the daemon (re)loads its configuration."""
    found = desk_of(request).parts()
    if found is None:
        raise HTTPException(503, "Der Dienst lädt gerade seine Konfiguration.")
    return found
