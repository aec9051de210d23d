"""Transactions and error translation shared by every part of the store.

Owns ``Database``: the engine, one ``write()`` transaction (BEGIN IMMEDIATE on SQLite) and
one ``read()`` transaction, and the translation of SQLAlchemy/driver errors into
``StoreError``/``StoreCorrupt`` at this boundary. ``StoreBase`` is what each concern's
mixin (feeds, entries, ...) builds on: it holds the database, the lease owner id and how
long a lease lasts before it is renewed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from monitor.errors import StoreCorrupt, StoreError
from monitor.store.dialect import begin_sqlite, sqlite_path

log = logging.getLogger(__name__)
_CORRUPT_MARKS = ("not a database", "malformed", "corrupt")


class Database:
    """An engine plus the two kinds of transaction the store uses."""

    def __init__(self, engine: Engine, url: str) -> None:
        self.engine = engine
        self.url = url
        self._sqlite = engine.dialect.name == "sqlite"
        self._local = threading.local()          # .conn: this thread's pinned connection
        self._pinned: list[Connection] = []

    def pin_thread(self) -> None:
        """Give the calling thread a SQLite connection of its own for all its transactions.
        For a thread that makes most of the store calls (the pipeline's store thread):
        taking a pooled connection and handing it back cost a third of a short
        transaction. PostgreSQL keeps its pool, whose check-out pings a connection that the
        server may have dropped."""
        if not self._sqlite or getattr(self._local, "conn", None) is not None:
            return
        try:
            self._local.conn = self.engine.connect()
        except SQLAlchemyError as exc:   # the thread then takes pooled connections
            log.warning("store_pin_failed store=%s error=%s", self.where(), self.error(exc))
            return
        self._pinned.append(self._local.conn)

    def write(self) -> AbstractContextManager[Connection]:
        return self._transaction(write=True)

    def read(self) -> AbstractContextManager[Connection]:
        return self._transaction(write=False)

    @contextmanager
    def _transaction(self, *, write: bool) -> Iterator[Connection]:
        pinned: Connection | None = getattr(self._local, "conn", None)
        with self.translated(), self._begun(pinned) as conn:
            if self._sqlite:
                begin_sqlite(conn, write=write)
            yield conn

    @contextmanager
    def _begun(self, pinned: Connection | None) -> Iterator[Connection]:
        """A transaction on the pinned connection, or on a pooled one when there is none or
        it is in a transaction already (a store call made inside another's)."""
        if pinned is None or pinned.in_transaction():
            with self.engine.begin() as conn:
                yield conn
        else:
            with pinned.begin():
                yield pinned

    @contextmanager
    def translated(self) -> Iterator[None]:
        try:
            yield
        except SQLAlchemyError as exc:
            raise self.error(exc) from exc

    def error(self, exc: SQLAlchemyError) -> StoreError:
        detail = str(exc.orig) if isinstance(exc, DBAPIError) else str(exc)
        return self.damaged(detail) if is_corruption(detail) else StoreError(
            f"store {self.where()} failed: {detail}")

    def damaged(self, detail: str) -> StoreCorrupt:
        return StoreCorrupt(
            f"store {self.where()} is damaged: {detail}; restore a backup or move it away")

    def where(self) -> str:
        return sqlite_path(self.engine) or self.engine.url.render_as_string(hide_password=True)

    def dispose(self) -> None:
        for conn in self._pinned:
            conn.close()
        self._pinned.clear()
        self.engine.dispose()


def is_corruption(detail: str) -> bool:
    lowered = detail.lower()
    return any(mark in lowered for mark in _CORRUPT_MARKS)


class StoreBase:
    """State shared by the store's mixins."""

    _db: Database
    owner: str
    lease_seconds: float

    @property
    def url(self) -> str:
        return self._db.url
