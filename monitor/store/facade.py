"""``Store`` and ``open_store``: the one storage interface the rest of news-monitor sees.

Owns opening a store from its URL (SQLite file or PostgreSQL), the integrity check and the
migrations at open, and the composition of the per-concern mixins (feeds, entries, ...)
into one ``Store`` object. Each mixin owns its own tables and transactions.
"""

from __future__ import annotations

import logging
import os
import socket

from monitor.store.articles import ArticlesMixin, SignatureCache
from monitor.store.db import Database
from monitor.store.desk import DeskMixin
from monitor.store.dialect import create_store_engine, integrity_problems, optimize
from monitor.store.digests import DigestsMixin
from monitor.store.entries import EntriesMixin
from monitor.store.events import EventsMixin
from monitor.store.feeds import FeedsMixin
from monitor.store.jobs import JobsMixin
from monitor.store.learning import LearningMixin
from monitor.store.leases import release_dead
from monitor.store.meta import MetaMixin
from monitor.store.migrations import apply_migrations
from monitor.store.outbox import OutboxMixin
from monitor.store.outcome import OutcomeMixin
from monitor.store.rechecks import RechecksMixin
from monitor.store.retention import RetentionMixin
from monitor.store.schema import articles, feeds, jobs, outbox
from monitor.store.search import SearchMixin
from monitor.store.topics import TopicsMixin
from monitor.store.verdicts import VerdictsMixin

log = logging.getLogger(__name__)
_DETAIL_CHARS = 300
LEASE_SECONDS = 30.0      # a claim's lease, renewed while its work runs


class Store(FeedsMixin, EntriesMixin, ArticlesMixin, OutcomeMixin, EventsMixin,
            RetentionMixin, OutboxMixin, DigestsMixin, TopicsMixin, RechecksMixin, JobsMixin,
            MetaMixin, VerdictsMixin, SearchMixin, DeskMixin, LearningMixin):
    """The store. Every method runs in (and commits) its own transaction."""

    def __init__(self, db: Database, owner: str, lease_seconds: float = LEASE_SECONDS) -> None:
        self._db = db
        self.owner = owner
        self.lease_seconds = lease_seconds
        self._signatures = SignatureCache()

    def close(self) -> None:
        self._db.dispose()

    def pin_thread(self) -> None:
        """The calling thread makes most store calls: on SQLite it keeps one connection."""
        self._db.pin_thread()

    def integrity_ok(self) -> bool:
        """True when the store answers and a quick check finds nothing wrong."""
        try:
            with self._db.read() as conn:
                return not integrity_problems(conn, quick=True)
        except Exception:
            log.exception("store_health_failed store=%s", self._db.where())
            return False

    def release_stale_leases(self) -> int:
        """Frees leases left by dead processes of this host (after a kill or crash)."""
        host = self.owner.rpartition(":")[0]
        with self._db.write() as conn:
            freed = sum(release_dead(conn, table, host)
                        for table in (feeds, articles, outbox, jobs))
        if freed:
            log.info("leases_released count=%d host=%s", freed, host)
        return freed

    def optimize(self) -> None:
        with self._db.write() as conn:
            optimize(conn)


def open_store(url: str, *, owner: str | None = None,
               lease_seconds: float = LEASE_SECONDS) -> Store:
    """Opens (creating or migrating) the store at ``url``; damaged files raise StoreCorrupt.
    ``owner`` names this process in leases (host:pid), ``lease_seconds`` is how long a
    claim lasts unless renewed."""
    db = Database(create_store_engine(url), url)
    try:
        _check(db)
        with db.write() as conn:
            apply_migrations(conn, db.where())
    except BaseException:
        db.dispose()
        raise
    log.info("store_opened store=%s", db.where())
    return Store(db, owner or f"{socket.gethostname()}:{os.getpid()}", lease_seconds)


def _check(db: Database) -> None:
    with db.translated(), db.engine.connect() as conn:
        problems = integrity_problems(conn)
    if problems:
        detail = " ".join("; ".join(problems).split())
        raise db.damaged(detail[:_DETAIL_CHARS] + ("..." if len(detail) > _DETAIL_CHARS else ""))
