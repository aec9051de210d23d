"""Tombstones: what was pruned, remembered so it never counts as new again.

Owns the ``tombstones`` table (kind "url" for canonical article/entry links, feed id 0;
kind "entry" for an entry key within one feed) and the chunked ``IN`` lookups used by
entries, articles and retention.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import TypeVar

from sqlalchemy import Connection, bindparam, select

from monitor.store.dialect import insert_ignore
from monitor.store.schema import tombstones

T = TypeVar("T")
CHUNK = 500


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    """Slices small enough for an ``IN (...)`` list on every backend."""
    for start in range(0, len(items), size):
        yield items[start:start + size]


_LOOKUP = select(tombstones.c.value).where(
    tombstones.c.kind == bindparam("b_kind"), tombstones.c.feed_id == bindparam("b_feed"),
    tombstones.c.value.in_(bindparam("b_values", expanding=True)))   # built once: every poll


def _lookup(conn: Connection, kind: str, feed_id: int, values: Iterable[str]) -> set[str]:
    wanted = sorted({v for v in values if v})
    found: set[str] = set()
    for part in chunks(wanted):
        found.update(conn.scalars(_LOOKUP, {"b_kind": kind, "b_feed": feed_id,
                                            "b_values": list(part)}))
    return found


def tombstoned_urls(conn: Connection, urls: Iterable[str]) -> set[str]:
    return _lookup(conn, "url", 0, urls)


_ONE_URL = select(tombstones.c.value).where(
    tombstones.c.kind == "url", tombstones.c.feed_id == 0,
    tombstones.c.value == bindparam("b_url"))   # built once: every new article


def tombstoned_url(conn: Connection, url: str) -> bool:
    """``tombstoned_urls`` of one URL: a plain comparison, where a list of one costs an
    expanded ``IN`` rendered anew on every call."""
    return conn.scalar(_ONE_URL, {"b_url": url}) is not None


def tombstoned_keys(conn: Connection, feed_id: int, keys: Iterable[str]) -> set[str]:
    return _lookup(conn, "entry", feed_id, keys)


def bury(conn: Connection, *, at: datetime, urls: Iterable[str] = (),
         keys: Iterable[tuple[int, str]] = ()) -> int:
    """Adds tombstones (duplicates ignored); returns how many rows were given."""
    rows = [{"kind": "url", "feed_id": 0, "value": u, "created_at": at} for u in set(urls) if u]
    rows += [{"kind": "entry", "feed_id": f, "value": k, "created_at": at} for f, k in set(keys)]
    if rows:
        conn.execute(insert_ignore(conn, tombstones, ["kind", "feed_id", "value"]), rows)
    return len(rows)
