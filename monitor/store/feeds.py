"""Feeds: the configured list, their poll schedule, validators, health, and poll leases.

Owns the ``feeds`` table. Timing state lives here so that a restart, or a second process
against the same database, continues where the last one stopped. ``sync_feeds`` is an
idempotent upsert (``INSERT ... ON CONFLICT``, updates only where something differs,
serialised by an advisory lock on PostgreSQL), so any number of processes may start or
reload at once. A poll is claimed under a short lease (``store.leases``), a bounded batch
at a time; when several daemons are live each prefers its share of the feeds (feed id
modulo the number of live daemons, ``store.jobs``) and takes another's only once it is
overdue by a lease, so live processes share the work and a dead one's is taken over.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Boolean, Connection, Row, bindparam, case, func, or_, select, update

from monitor.models import FeedState
from monitor.store.db import StoreBase
from monitor.store.dialect import advisory_lock, insert_ignore
from monitor.store.entries import finish_keys
from monitor.store.jobs import live_owners
from monitor.store.leases import FREE, claim
from monitor.store.schema import entries, feeds

log = logging.getLogger(__name__)
_SYNC_LOCK = 727_003      # advisory lock key of syncing the configured feeds

_RESET_ON_URL_CHANGE: dict[str, Any] = {
    "etag": None, "last_modified": None, "consecutive_errors": 0, "last_status": None,
    "last_error": None, "baseline_done": False, "next_poll_at": None, "guid_unstable": False,
}




@dataclass(frozen=True, slots=True)
class PollSuccess:
    """One successful poll of a feed, as ``record_polls`` writes it with others at once:
    its schedule and validators, and the keys of entries it finished (``done``)."""

    feed_id: int
    at: datetime
    status: str                  # "ok" or "not_modified"
    etag: str | None
    last_modified: str | None
    next_poll_at: datetime
    new_entries: int = 0
    done: tuple[str, ...] = ()

    def params(self) -> dict[str, Any]:
        """The bind parameters of ``_POLLED`` (a 304 without validators keeps the old)."""
        keep = self.status == "not_modified"
        return {"b_id": self.feed_id, "b_status": self.status, "b_at": self.at,
                "b_next": self.next_poll_at, "b_etag": self.etag,
                "b_keep_etag": keep and self.etag is None, "b_modified": self.last_modified,
                "b_keep_modified": keep and self.last_modified is None,
                "b_new": self.new_entries > 0}


def _kept(column: Any, flag: str, value: str) -> Any:
    return case((bindparam(flag, type_=Boolean), column), else_=bindparam(value, type_=column.type))


_AT = bindparam("b_at", type_=feeds.c.last_success_at.type)
_POLLED = update(feeds).where(feeds.c.id == bindparam("b_id")).values(
    last_status=bindparam("b_status"), last_error=None, consecutive_errors=0,
    last_success_at=_AT, last_polled_at=_AT, baseline_done=True,
    next_poll_at=bindparam("b_next", type_=feeds.c.next_poll_at.type), **FREE,
    etag=_kept(feeds.c.etag, "b_keep_etag", "b_etag"),
    last_modified=_kept(feeds.c.last_modified, "b_keep_modified", "b_modified"),
    last_new_at=case((bindparam("b_new", type_=Boolean), _AT), else_=feeds.c.last_new_at))


def _state_query() -> Any:
    count = (select(func.count()).select_from(entries)
             .where(entries.c.feed_id == feeds.c.id).scalar_subquery())
    return select(feeds, count.label("entries_count"))


def _to_state(row: Row[Any]) -> FeedState:
    m = row._mapping
    return FeedState(
        id=m["id"], name=m["name"], url=m["url"], etag=m["etag"],
        last_modified=m["last_modified"], next_poll_at=m["next_poll_at"],
        consecutive_errors=m["consecutive_errors"], last_status=m["last_status"],
        last_error=m["last_error"], last_success_at=m["last_success_at"],
        last_polled_at=m["last_polled_at"], last_new_at=m["last_new_at"],
        baseline_done=bool(m["baseline_done"]), guid_unstable=bool(m["guid_unstable"]),
        entries_count=m.get("entries_count") or 0,   # counted only where it is shown
    )


class FeedsMixin(StoreBase):
    def sync_feeds(self, feeds: Sequence[tuple[str, str]]) -> None:
        with self._db.write() as conn:
            _sync_all(conn, dict(feeds))

    def feed_states(self, *, include_inactive: bool = False) -> list[FeedState]:
        query = _state_query().order_by(feeds.c.name)
        if not include_inactive:
            query = query.where(feeds.c.active.is_(True))
        with self._db.read() as conn:
            return [_to_state(r) for r in conn.execute(query)]

    def feed_counts(self) -> tuple[int, int]:
        """(active feeds, of them failing): for the service's status line, without rows."""
        failing = func.sum(case((feeds.c.consecutive_errors > 0, 1), else_=0))
        query = select(func.count(), failing).where(feeds.c.active.is_(True))
        with self._db.read() as conn:
            total, bad = conn.execute(query).one()
        return int(total), int(bad or 0)

    def claim_due_feeds(self, now: datetime, *, names: Sequence[str] | None = None,
                        due_only: bool = True, lease_seconds: float | None = None,
                        limit: int | None = None) -> list[FeedState]:
        """Leases feeds to poll now: the due ones (or all, ``due_only=False``), at most
        ``limit``, this daemon's share first (see the module docstring)."""
        conds: list[Any] = [feeds.c.active.is_(True)]
        if names is not None:
            conds.append(feeds.c.name.in_(list(names)))
        if due_only:
            conds.append(or_(feeds.c.next_poll_at.is_(None), feeds.c.next_poll_at <= now))
        with self._db.write() as conn:
            share, order = self._share(conn, now) if due_only else ([], ())
            ids = claim(conn, feeds, *conds, *share, now=now, owner=self.owner,
                        seconds=lease_seconds or self.lease_seconds,
                        order=(*order, feeds.c.next_poll_at, feeds.c.id), limit=limit)
            rows = conn.execute(select(feeds).where(feeds.c.id.in_(ids))
                                .order_by(feeds.c.name)).all() if ids else []
            claimed = [_to_state(r) for r in rows]
        log.debug("feeds_claimed owner=%s count=%d", self.owner, len(claimed))
        return claimed

    def _share(self, conn: Connection, now: datetime) -> tuple[list[Any], tuple[Any, ...]]:
        """This daemon's share of the feeds while others are live: its own first, another's
        only once overdue by a lease. Nothing is restricted for a process that is not a
        registered daemon (a command) or the only one."""
        live = live_owners(conn, now)
        if len(live) < 2 or self.owner not in live:
            return [], ()
        mine = (feeds.c.id % len(live)) == live.index(self.owner)
        overdue = feeds.c.next_poll_at <= now - timedelta(seconds=self.lease_seconds)
        return [or_(mine, overdue)], (case((mine, 0), else_=1),)

    def record_poll_success(self, feed_id: int, *, at: datetime, status: str,
                            etag: str | None, last_modified: str | None,
                            next_poll_at: datetime, new_entries: int) -> None:
        self.record_polls([PollSuccess(feed_id, at, status, etag, last_modified, next_poll_at,
                                       new_entries)])

    def record_polls(self, polls: Sequence[PollSuccess]) -> None:
        """Several successful polls in one transaction: each feed's schedule, validators and
        health, its lease freed, and the entries it finished marked done."""
        if not polls:
            return
        with self._db.write() as conn:
            conn.execute(_POLLED, [p.params() for p in polls])
            for poll in polls:
                finish_keys(conn, poll.feed_id, poll.done)

    def record_poll_failure(self, feed_id: int, *, at: datetime, status: str, error: str,
                            next_poll_at: datetime) -> int:
        values = {"consecutive_errors": feeds.c.consecutive_errors + 1, "last_status": status,
                  "last_error": error, "last_polled_at": at, "next_poll_at": next_poll_at,
                  **FREE}
        with self._db.write() as conn:
            errors = conn.scalar(update(feeds).where(feeds.c.id == feed_id).values(**values)
                                 .returning(feeds.c.consecutive_errors))
        return int(errors or 0)

    def mark_guid_unstable(self, feed_id: int) -> None:
        with self._db.write() as conn:
            conn.execute(update(feeds).where(feeds.c.id == feed_id).values(guid_unstable=True))


def _sync_all(conn: Connection, wanted: dict[str, str]) -> None:
    advisory_lock(conn, _SYNC_LOCK)      # concurrent syncs take turns (no row-lock cycles)
    for name, url in sorted(wanted.items()):
        _sync_one(conn, name, url)
    gone = conn.execute(update(feeds).where(feeds.c.name.not_in(list(wanted)),
                                            feeds.c.active.is_(True))
                        .values(active=False)).rowcount
    if gone:
        log.info("feeds_deactivated count=%d", gone)


def _sync_one(conn: Connection, name: str, url: str) -> None:
    """Adds the feed, or reactivates it (its poll state reset when its URL changed); writes
    nothing when it is stored as configured."""
    added = conn.scalar(insert_ignore(conn, feeds, ["name"])
                        .values(name=name, url=url, active=True).returning(feeds.c.id))
    if added is not None:
        log.info("feed_added feed=%s url=%s", name, url)
        return
    moved = conn.execute(update(feeds).where(feeds.c.name == name, feeds.c.url != url)
                         .values(url=url, active=True, **_RESET_ON_URL_CHANGE)).rowcount
    if moved:
        log.info("feed_url_changed feed=%s url=%s", name, url)
    conn.execute(update(feeds).where(feeds.c.name == name, feeds.c.active.is_(False))
                 .values(active=True))
