"""The one place that knows which database is underneath: SQLite or PostgreSQL.

Owns engine creation (PostgreSQL: a small connection pool per process; SQLite: parent
directory, WAL, busy_timeout, foreign keys, and pysqlite's own transaction handling
switched off, so that ``begin_sqlite`` emits ``BEGIN``/``BEGIN IMMEDIATE`` itself, as the
SQLAlchemy SQLite documentation prescribes), "insert, ignoring a duplicate" for both
backends, the integrity check, ``optimize``, advisory locks and the migration lock.
Everything else in the store is dialect-neutral Core SQL (``FOR UPDATE SKIP LOCKED`` is
left out by SQLite's compiler).
"""

from __future__ import annotations

import functools
import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Table, create_engine, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.sql.dml import Insert

from monitor.errors import StoreError

BUSY_TIMEOUT_MS = 15_000
# PostgreSQL connections per process: the event loop, the lease renewal and one job in a
# thread each hold one for a transaction at a time, so 3 kept open and 2 more at a peak.
POOL_SIZE, POOL_OVERFLOW = 3, 2
_MIGRATION_LOCK = 727_001             # PostgreSQL advisory lock key for migrations


def create_store_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite files get their directory and connection pragmas."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, pool_size=POOL_SIZE,
                             max_overflow=POOL_OVERFLOW)
    if parsed.database and parsed.database != ":memory:":
        _make_parent(Path(parsed.database).expanduser())
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
    event.listen(engine, "connect", _sqlite_on_connect)   # a pool event: statements pay nothing
    return engine


def _make_parent(path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"store {path}: cannot create its directory: {exc}") from exc


def _sqlite_on_connect(dbapi_connection: Any, connection_record: Any) -> None:
    dbapi_connection.isolation_level = None      # SQLAlchemy emits BEGIN itself
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        _use_wal(cursor)
        cursor.execute("PRAGMA synchronous = NORMAL")
    finally:
        cursor.close()


def _use_wal(cursor: Any) -> None:
    """WAL mode, which the file keeps once set. Setting it needs the file to itself for a
    moment, and SQLite then answers "database is locked" at once, not after its busy
    timeout: two daemons started together on a new file failed so. So it is tried again
    until the busy timeout has passed."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc).lower() or time.monotonic() >= deadline:
                raise
        time.sleep(0.02)


def begin_sqlite(conn: Connection, *, write: bool) -> None:
    """Open SQLite's transaction on a connection SQLAlchemy has just begun: ``BEGIN
    IMMEDIATE`` takes the write lock at once (a writer that only asked for it at its first
    write could fail on a lock held since its reads), ``BEGIN`` reads one snapshot. Done
    here rather than in the documented "begin" event listener: any engine listener makes
    SQLAlchemy dispatch its events on every statement, a fifth of a store call's cost."""
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def is_sqlite(conn: Connection | Engine) -> bool:
    return conn.dialect.name == "sqlite"


def sqlite_path(engine: Engine) -> str | None:
    return engine.url.database if is_sqlite(engine) else None


def insert_ignore(conn: Connection, table: Table, conflict: list[str],
                  returning: str | None = None) -> Insert:
    """INSERT ... ON CONFLICT (conflict) DO NOTHING [RETURNING the column ``returning``],
    for either backend; built once per backend and table (building it cost more than
    running it), so hot paths give the row as execution parameters, not ``.values()``."""
    return _insert_ignore(conn.dialect.name, table, tuple(conflict), returning)


@functools.cache
def _insert_ignore(dialect: str, table: Table, conflict: tuple[str, ...],
                   returning: str | None) -> Insert:
    stmt = (sqlite.insert(table) if dialect == "sqlite" else postgresql.insert(table)
            ).on_conflict_do_nothing(index_elements=list(conflict))
    return stmt if returning is None else stmt.returning(table.c[returning])


def upsert(conn: Connection | str, table: Table, conflict: list[str],
           update: list[str]) -> Insert:
    """INSERT ... ON CONFLICT (conflict) DO UPDATE SET the ``update`` columns, for the
    connection's backend (or one named: "sqlite", "postgresql")."""
    lite = conn == "sqlite" if isinstance(conn, str) else is_sqlite(conn)
    stmt = (sqlite.insert(table) if lite else postgresql.insert(table))
    return stmt.on_conflict_do_update(index_elements=conflict,
                                      set_={c: stmt.excluded[c] for c in update})


def integrity_problems(conn: Connection, *, quick: bool = False) -> list[str]:
    """SQLite's integrity_check (or quick_check) findings; empty when healthy."""
    if not is_sqlite(conn):
        conn.execute(text("SELECT 1"))
        return []
    pragma = "quick_check" if quick else "integrity_check"
    rows = [str(r[0]) for r in conn.exec_driver_sql(f"PRAGMA {pragma}")]
    return [] if rows == ["ok"] else rows


def optimize(conn: Connection) -> None:
    conn.exec_driver_sql("PRAGMA optimize" if is_sqlite(conn) else "ANALYZE")


def advisory_lock(conn: Connection, key: int) -> None:
    """Serialise one kind of write for the rest of the transaction. SQLite's BEGIN IMMEDIATE
    already serialises every writer; PostgreSQL takes a transaction-scoped advisory lock."""
    if not is_sqlite(conn):
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})


def lock_for_migrations(conn: Connection) -> None:
    """Serialise concurrent migrators."""
    advisory_lock(conn, _MIGRATION_LOCK)
