"""Leases: how one process, among several on one database, takes work for a while.

Owns the claim pattern used for feed polls, article re-checks and outbox mails: one
conditional UPDATE sets ``lease_owner``/``lease_until`` on rows whose lease is free or
expired and returns their ids. SQLite serialises it with BEGIN IMMEDIATE; on PostgreSQL a
concurrent claimer re-checks the lease condition on the updated row and skips it.
"""

from __future__ import annotations

import os
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


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:     # alive, under another user
        return True
    return True


def release_dead(conn: Connection, table: Table, host: str) -> int:
    """Frees the leases this host's dead processes (killed, crashed) left on ``table``.

    Without this a restarted daemon waits for every lease its predecessor held to expire
    (minutes) before it polls those feeds or sends those mails again.
    """
    owners = conn.scalars(select(table.c.lease_owner).distinct()
                          .where(table.c.lease_owner.like(f"{host}:%")))
    dead = [o for o in owners if o.rpartition(":")[2].isdigit()
            and not pid_alive(int(o.rpartition(":")[2]))]
    if not dead:
        return 0
    result = conn.execute(update(table).where(table.c.lease_owner.in_(dead)).values(**FREE))
    return int(result.rowcount or 0)
