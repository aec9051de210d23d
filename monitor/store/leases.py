"""Leases: how one process, among several on one database, takes work for a while.

Owns the claim pattern used for feed polls, article re-checks and outbox mails: one
conditional UPDATE sets ``lease_owner``/``lease_until`` on rows whose lease is free or
expired and returns their ids. SQLite serialises it with BEGIN IMMEDIATE; on PostgreSQL a
concurrent claimer re-checks the lease condition on the updated row and skips it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, Table, or_, select, update

FREE: dict[str, Any] = {"lease_owner": None, "lease_until": None}


def lease_free(table: Table, now: datetime) -> ColumnElement[bool]:
    return or_(table.c.lease_until.is_(None), table.c.lease_until <= now)


def claim(conn: Connection, table: Table, *where: Any, now: datetime, owner: str,
          seconds: float, order: tuple[Any, ...] = (), limit: int | None = None) -> list[int]:
    """Leases the rows matching ``where`` (at most ``limit``, in ``order``); returns ids."""
    conds = [*where, lease_free(table, now)]
    if limit is not None:
        candidates = select(table.c.id).where(*conds).order_by(*order).limit(limit)
        conds.append(table.c.id.in_(candidates.scalar_subquery()))
    stmt = (update(table).where(*conds)
            .values(lease_owner=owner, lease_until=now + timedelta(seconds=seconds))
            .returning(table.c.id))
    return list(conn.scalars(stmt))
