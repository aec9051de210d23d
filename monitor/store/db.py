"""Transactions and error translation shared by every part of the store.

Owns ``Database``: the engine, one ``write()`` transaction (BEGIN IMMEDIATE on SQLite) and
one ``read()`` transaction, and the translation of SQLAlchemy/driver errors into
``StoreError``/``StoreCorrupt`` at this boundary. ``StoreBase`` is what each concern's
mixin (feeds, entries, ...) builds on: it holds the database, the lease owner id and how
long a lease lasts before it is renewed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

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

    @contextmanager
    def write(self) -> Iterator[Connection]:
        with self.translated(), self.engine.begin() as conn:
            if self._sqlite:
                begin_sqlite(conn, write=True)
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.translated(), self.engine.begin() as conn:
            if self._sqlite:
                begin_sqlite(conn, write=False)
            yield conn

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
