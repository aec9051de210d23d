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
    digest_items,
    digests,
    events,
    folds,
    jobs,
    meta,
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


def _routes(conn: Connection) -> None:
    """Deliveries per route: ``outbox.route`` and ``.channel``; folds per route (``folds``
    replaces ``alert_folds``); digest membership per route (``digest_items`` replaces
    ``events.digest_id``); the installation's facts (``meta``). What was there belongs to the
    route "default", the one built from [email] and [digest]."""
    inspector = inspect(conn)
    columns = {c["name"] for c in inspector.get_columns(outbox.name)}
    if "route" not in columns:
        conn.execute(text("ALTER TABLE outbox ADD COLUMN route VARCHAR(100) "
                          "NOT NULL DEFAULT 'default'"))
    if "channel" not in columns:
        conn.execute(text("ALTER TABLE outbox ADD COLUMN channel VARCHAR(20) "
                          "NOT NULL DEFAULT 'email'"))
    for table in (folds, digest_items, meta):
        if not inspector.has_table(table.name):
            table.create(conn)
    if inspector.has_table("alert_folds"):
        conn.execute(text("INSERT INTO folds (event_id, route, folded_at, summary_message_id) "
                          "SELECT event_id, 'default', folded_at, summary_message_id "
                          "FROM alert_folds"))
        conn.execute(text("DROP TABLE alert_folds"))
    conn.execute(text("INSERT INTO digest_items (route, event_id, digest_id) "
                      "SELECT d.route, e.id, e.digest_id FROM events e "
                      "JOIN digests d ON d.id = e.digest_id "
                      "WHERE NOT EXISTS (SELECT 1 FROM digest_items i "
                      "WHERE i.route = d.route AND i.event_id = e.id)"))


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


def _held(conn: Connection) -> None:
    """Learning from verdicts: ``events.held``, why a story was held back from alerts."""
    if "held" not in {c["name"] for c in inspect(conn).get_columns(events.name)}:
        conn.execute(text("ALTER TABLE events ADD COLUMN held TEXT"))


MIGRATIONS: tuple[tuple[int, Step], ...] = (
    (1, _baseline),
    (2, _outbox_event),
    (3, _leases_and_digest_identity),
    (4, _routes),
    (5, _desk),
    (6, _held),
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
