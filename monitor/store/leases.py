"""Leases: how one process, among several on one database, takes work for a while.

Owns the claim pattern used for feed polls, article re-checks, outbox mails and jobs: the
candidates are selected (at most ``limit``, in ``order``) and their ``lease_owner`` and
``lease_until`` set in one transaction. On PostgreSQL the candidates are locked with
``FOR UPDATE SKIP LOCKED``, so concurrent claimers each get a different batch instead of
queueing behind one another; SQLite's ``BEGIN IMMEDIATE`` serialises claimers. A lease is
short and renewed while its work runs (``renew``); a process that dies leaves work that is
free again when its lease ends, and ``release_dead`` frees at once the leases of this
host's dead processes.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, Table, or_, select, update

FREE: dict[str, Any] = {"lease_owner": None, "lease_until": None}


def lease_free(table: Table, now: datetime) -> ColumnElement[bool]:
    return or_(table.c.lease_until.is_(None), table.c.lease_until <= now)


def claim(conn: Connection, table: Table, *where: Any, now: datetime, owner: str,
          seconds: float, order: tuple[Any, ...] = (), limit: int | None = None) -> list[int]:
    """Leases the rows matching ``where`` (at most ``limit``, in ``order``); returns ids."""
    candidates = select(table.c.id).where(*where, lease_free(table, now)).order_by(*order)
    if limit is not None:
        candidates = candidates.limit(limit)
    ids = list(conn.scalars(candidates.with_for_update(skip_locked=True)))
    if ids:
        conn.execute(update(table).where(table.c.id.in_(ids))
                     .values(lease_owner=owner, lease_until=now + timedelta(seconds=seconds)))
    return ids


def renew(conn: Connection, table: Table, ids: Sequence[int], *, now: datetime, owner: str,
          seconds: float) -> list[int]:
    """Extends this owner's leases on ``ids``; returns the ids it still held."""
    if not ids:
        return []
    stmt = (update(table).where(table.c.id.in_(list(ids)), table.c.lease_owner == owner)
            .values(lease_until=now + timedelta(seconds=seconds)).returning(table.c.id))
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

    A restarted daemon then polls those feeds and sends those mails at once instead of
    waiting for the leases to end; leases of other hosts' processes end on their own.
    """
    owners = conn.scalars(select(table.c.lease_owner).distinct()
                          .where(table.c.lease_owner.like(f"{host}:%")))
    dead = [o for o in owners if o.rpartition(":")[2].isdigit()
            and not pid_alive(int(o.rpartition(":")[2]))]
    if not dead:
        return 0
    result = conn.execute(update(table).where(table.c.lease_owner.in_(dead)).values(**FREE))
    return int(result.rowcount or 0)
