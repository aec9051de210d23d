"""Numbered schema migrations, applied in one transaction when the store is opened.

A fresh database gets the current tables from ``schema.metadata`` and every known version
recorded in ``schema_migrations``. An existing one gets each step whose number is above its
highest recorded version, in order, each recorded with its time. A database recorded by a
newer news-monitor than this one is refused with a clear ``StoreError``. To change the
schema: change ``schema.py`` and append a step here that brings an existing database to it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from sqlalchemy import Connection, func, insert, inspect, select, text

from monitor.errors import StoreError
from monitor.store import search  # noqa: F401  (the search index's DDL, made with its table)
from monitor.store.dialect import lock_for_migrations
from monitor.store.schema import (
    digests,
    events,
    jobs,
    metadata,
    outbox,
    revisions,
    schema_migrations,
    search_text,
    verdicts,
)

log = logging.getLogger(__name__)

Step = Callable[[Connection], None]


def _baseline(conn: Connection) -> None:
    metadata.create_all(conn)


def _outbox_event(conn: Connection) -> None:
    """Alerts are queued with their event and rendered when sent: ``outbox.event_id``."""
    conn.execute(text("ALTER TABLE outbox ADD COLUMN event_id INTEGER "
                      "REFERENCES events (id) ON DELETE SET NULL"))
    next(i for i in outbox.indexes if i.name == "ix_outbox_event").create(conn)


def _leases_and_digest_identity(conn: Connection) -> None:
    """Singleton jobs, page claims and presence (``jobs``); a digest's identity is its
    route and period (``digests.route``, ``digests.period``, unique together). Each part is
    skipped when already there, so the step also repairs a half-migrated database."""
    inspector = inspect(conn)
    if not inspector.has_table(jobs.name):
        jobs.create(conn)
    columns = {c["name"] for c in inspector.get_columns(digests.name)}
    if "route" not in columns:
        conn.execute(text("ALTER TABLE digests ADD COLUMN route VARCHAR(100) "
                          "NOT NULL DEFAULT 'default'"))
    if "period" not in columns:
        conn.execute(text("ALTER TABLE digests ADD COLUMN period VARCHAR(40)"))
    if "uq_digests_route_period" not in {i["name"] for i in inspector.get_indexes(digests.name)}:
        next(i for i in digests.indexes if i.name == "uq_digests_route_period").create(conn)


def _desk(conn: Connection) -> None:
    """The review desk: ``verdicts``, the search index (``search_text`` and, on SQLite, its
    FTS5 table), ``events.backfill`` and an index for the digest's count of extraction
    problems. Each part is skipped when already there."""
    inspector = inspect(conn)
    for table in (verdicts, search_text):
        if not inspector.has_table(table.name):
            table.create(conn)
    if "ix_revisions_status_fetched" not in {i["name"] for i in
                                             inspector.get_indexes(revisions.name)}:
        next(i for i in revisions.indexes if i.name == "ix_revisions_status_fetched").create(conn)
    if "backfill" not in {c["name"] for c in inspector.get_columns(events.name)}:
        conn.execute(text("ALTER TABLE events ADD COLUMN backfill BOOLEAN NOT NULL "
                          "DEFAULT FALSE"))


MIGRATIONS: tuple[tuple[int, Step], ...] = (
    (1, _baseline),
    (2, _outbox_event),
    (3, _leases_and_digest_identity),
    (5, _desk),      # 4 is the routes' step, merged separately
)


def apply_migrations(conn: Connection, where: str,
                     steps: Sequence[tuple[int, Step]] = MIGRATIONS) -> list[int]:
    """Bring the database to the newest version; returns the versions applied now."""
    lock_for_migrations(conn)
    known = max(version for version, _ in steps)
    current = _current_version(conn)
    if current is None:
        metadata.create_all(conn)
        _record(conn, [version for version, _ in steps])
        log.info("store_created store=%s version=%d", where, known)
        return [version for version, _ in steps]
    if current > known:
        raise StoreError(
            f"store {where} has schema version {current}, written by a newer news-monitor; "
            f"this one knows versions up to {known}: upgrade news-monitor")
    pending = [(version, step) for version, step in steps if version > current]
    for version, step in pending:
        step(conn)
        _record(conn, [version])
        log.info("store_migrated store=%s version=%d", where, version)
    return [version for version, _ in pending]


def _current_version(conn: Connection) -> int | None:
    if not inspect(conn).has_table(schema_migrations.name):
        return None
    version = conn.scalar(select(func.max(schema_migrations.c.version)))
    return None if version is None else int(version)


def _record(conn: Connection, versions: list[int]) -> None:
    now = datetime.now(UTC)
    conn.execute(insert(schema_migrations), [{"version": v, "applied_at": now} for v in versions])
