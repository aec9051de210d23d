"""Feed entries: the store's answer to "what is new in this feed?".

Owns the ``entries`` table, one row per (feed, entry key). ``record_entries`` compares a
poll's entries with what is stored and returns only what is new or changed. A GUID that
changes while the link stays is an identity change, not news (the row is re-keyed and
counted); tombstones of pruned keys and links keep old items from coming back as new.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, bindparam, func, or_, select, update

from monitor.models import FeedEntry
from monitor.store.db import StoreBase
from monitor.store.dialect import insert_ignore
from monitor.store.records import EntryChanges
from monitor.store.schema import entries
from monitor.store.tombstones import chunks, tombstoned_keys, tombstoned_urls

log = logging.getLogger(__name__)


def _content(entry: FeedEntry) -> dict[str, Any]:
    return {"guid": entry.guid, "link": entry.link, "title": entry.title,
            "summary": entry.summary, "published": entry.published, "updated": entry.updated}


def _entry(row: Row[Any]) -> FeedEntry:
    return FeedEntry(key=row.key, guid=row.guid, link=row.link, raw_link=row.link,
                     title=row.title, summary=row.summary, published=row.published or
                     row.first_seen, updated=row.updated, has_date=bool(row.has_date))


def _differs(row: Row[Any], entry: FeedEntry) -> bool:
    return (row.title, row.summary, row.updated) != (entry.title, entry.summary, entry.updated)


def _unique_keys(items: Sequence[FeedEntry]) -> list[FeedEntry]:
    seen: dict[str, FeedEntry] = {}
    for entry in items:
        seen.setdefault(entry.key, entry)
    return list(seen.values())


def _stored_by(column: Any) -> Any:
    """The stored rows of a feed with one of some keys or links: the columns a poll is
    compared on (no dates to convert but ``updated``)."""
    c = entries.c
    return (select(c.id, c.key, c.link, c.title, c.summary, c.updated)
            .where(c.feed_id == bindparam("b_feed"),
                   column.in_(bindparam("b_values", expanding=True)))
            .order_by(c.id))


# Built once (every poll of every feed runs them; building one cost more than running it).
_STORED = {"key": _stored_by(entries.c.key), "link": _stored_by(entries.c.link)}
_PENDING = (select(entries).where(entries.c.feed_id == bindparam("b_feed"), entries.c.pending)
            .order_by(entries.c.id))
_PENDING_KEYS = (select(entries.c.key)
                 .where(entries.c.feed_id == bindparam("b_feed"), entries.c.pending)
                 .order_by(entries.c.id))
_OF_KEYS = select(entries).where(entries.c.feed_id == bindparam("b_feed"),
                                 entries.c.key.in_(bindparam("b_keys", expanding=True)))
_FINISH = (update(entries).where(entries.c.feed_id == bindparam("b_feed"),
                                 entries.c.key.in_(bindparam("b_keys", expanding=True)))
           .values(pending=False))
# A first poll's baseline: the pending entries that are undated or published (first seen,
# when the feed gave no date: as ``_entry`` reads them) before the poll's window.
_BASELINE = (update(entries).where(
    entries.c.feed_id == bindparam("b_feed"), entries.c.pending,
    or_(entries.c.has_date.is_(False),
        func.coalesce(entries.c.published, entries.c.first_seen)
        < bindparam("b_before", type_=entries.c.first_seen.type)))
    .values(pending=False))


def _stored(conn: Connection, feed_id: int, column: str, values: list[str]) -> list[Row[Any]]:
    rows: list[Row[Any]] = []
    for part in chunks(sorted(set(values))):
        rows.extend(conn.execute(_STORED[column], {"b_feed": feed_id, "b_values": list(part)}))
    return rows


@dataclass
class _Comparison:
    """One poll's entries against the stored rows of one feed."""

    conn: Connection
    feed_id: int
    at: datetime
    batch: list[FeedEntry]
    by_key: dict[str, Row[Any]] = field(default_factory=dict)
    by_link: dict[str, Row[Any] | None] = field(default_factory=dict)
    new: list[FeedEntry] = field(default_factory=list)
    changed: list[FeedEntry] = field(default_factory=list)
    guid_changes: int = 0

    def run(self) -> EntryChanges:
        keys = [e.key for e in self.batch]
        self.by_key = {r.key: r for r in _stored(self.conn, self.feed_id, "key", keys)}
        # Links and tombstones only matter for entries whose key is not stored (``_one``):
        # the usual poll finds most keys, and looks up a handful of links, not all again.
        unknown = [e for e in self.batch if e.key not in self.by_key]
        links = [e.link for e in unknown if e.link]
        for row in _stored(self.conn, self.feed_id, "link", links):
            self.by_link.setdefault(row.link, row)
        dead = tombstoned_keys(self.conn, self.feed_id, [e.key for e in unknown]) \
            | tombstoned_urls(self.conn, links)
        batch_keys = set(keys)
        for entry in self.batch:
            self._one(entry, dead, batch_keys)
        if self.new:
            self.new = self._insert_new()
        return EntryChanges(tuple(self.new), tuple(self.changed), self.guid_changes)

    def _insert_new(self) -> list[FeedEntry]:
        """Inserts the new entries; one another process inserted meanwhile (it polled this
        feed under a lease that had run out) is not new here."""
        rows = [{"feed_id": self.feed_id, "key": e.key, "first_seen": self.at,
                 "has_date": e.has_date, "pending": True, **_content(e)} for e in self.new]
        stmt = insert_ignore(self.conn, entries, ["feed_id", "key"], returning="key")
        inserted = set(self.conn.scalars(stmt, rows))
        return [e for e in self.new if e.key in inserted]

    def _one(self, entry: FeedEntry, dead: set[str], batch_keys: set[str]) -> None:
        if entry.key in self.by_key:
            self._update(self.by_key[entry.key], entry, rekey=False)
        elif entry.link in self.by_link:
            row = self.by_link[entry.link]
            if row is not None and row.key not in batch_keys:
                self.guid_changes += 1
                self.by_link[entry.link] = None        # re-key one row once per poll
                self._update(row, entry, rekey=True)
        elif entry.key not in dead and entry.link not in dead:
            self.new.append(entry)
            if entry.link:
                self.by_link[entry.link] = None        # a second item with this link is no news

    def _update(self, row: Row[Any], entry: FeedEntry, *, rekey: bool) -> None:
        differs = _differs(row, entry)
        if not (differs or rekey):
            return
        values = _content(entry) | ({"key": entry.key} if rekey else {})
        self.conn.execute(update(entries).where(entries.c.id == row.id).values(**values))
        if differs:
            self.changed.append(entry)


def _by_key(conn: Connection, feed_id: int, keys: list[str]) -> dict[str, FeedEntry]:
    """The feed's entries with these keys, read from their rows."""
    found: dict[str, FeedEntry] = {}
    for part in chunks(keys):
        found.update((row.key, _entry(row)) for row in
                     conn.execute(_OF_KEYS, {"b_feed": feed_id, "b_keys": list(part)}))
    return found


def finish_keys(conn: Connection, feed_id: int, keys: Iterable[str]) -> None:
    """Marks the feed's entries with these keys done (not pending), in the caller's
    transaction: one statement per few hundred keys, not one per entry."""
    for part in chunks(sorted(set(keys))):
        conn.execute(_FINISH, {"b_feed": feed_id, "b_keys": list(part)})


class EntriesMixin(StoreBase):
    def record_entries(self, feed_id: int, entries: Sequence[FeedEntry], *,
                       at: datetime) -> EntryChanges:
        with self._db.write() as conn:
            result = _Comparison(conn, feed_id, at, _unique_keys(entries)).run()
        log.debug("entries_recorded feed_id=%d new=%d changed=%d guid_changes=%d", feed_id,
                  len(result.new), len(result.changed), result.guid_changes)
        return result

    def pending_entries(self, feed_id: int) -> list[FeedEntry]:
        """Entries found by a poll whose article has not been processed yet, oldest first."""
        with self._db.read() as conn:
            return [_entry(row) for row in conn.execute(_PENDING, {"b_feed": feed_id})]

    def take_pending(self, feed_id: int, *, baseline_before: datetime | None,
                     inserted: Sequence[FeedEntry] = ()) -> list[FeedEntry]:
        """The pending entries that count as new, oldest first, in one transaction. With
        ``baseline_before`` (a feed's first poll) undated entries and those published
        earlier are baseline: marked done here, by one UPDATE, and not returned (a new feed
        brings dozens of entries of which a few are recent: only those are read).
        ``inserted`` are the entries this poll has just stored (``record_entries``'s new
        ones): those still pending are handed back as given, not read again (their rows
        were written from them, so only the raw link differs); only older pending entries,
        which a later poll may have changed, are read from their rows."""
        given = {e.key: e for e in inserted}
        with self._db.write() as conn:
            if baseline_before is not None:
                conn.execute(_BASELINE, {"b_feed": feed_id, "b_before": baseline_before})
            if not given:
                return [_entry(row) for row in conn.execute(_PENDING, {"b_feed": feed_id})]
            keys = list(conn.scalars(_PENDING_KEYS, {"b_feed": feed_id}))
            stored = _by_key(conn, feed_id, [k for k in keys if k not in given])
        return [found for k in keys if (found := given.get(k) or stored.get(k)) is not None]

    def finish_entries(self, feed_id: int, keys: Sequence[str]) -> None:
        """These entries are done: processed, or baseline that never counts as new."""
        if not keys:
            return
        with self._db.write() as conn:
            finish_keys(conn, feed_id, keys)

    def entry_article(self, feed_id: int, key: str) -> int | None:
        query = select(entries.c.article_id).where(entries.c.feed_id == feed_id,
                                                   entries.c.key == key)
        with self._db.read() as conn:
            return conn.scalar(query)
