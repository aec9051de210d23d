"""Jobs: singleton work under a lease, page claims, and the presence of running daemons.

Owns the ``jobs`` table, one row per name. A job of a period (the digest of a route and a
day, the hourly summary of an hour, housekeeping of a six-hour slot) is claimed by one
process (``claim_job``), renewed while it runs and marked done (``finish_job``), so every
other process, and a second attempt, finds it held or done. An article page about to be
fetched is claimed under its URL's hash (``claim_page``) and the row deleted when released,
so two processes never fetch one page at once. A running daemon keeps a presence row
("process <owner>") renewed; ``live_processes`` lists them, which is how live daemons
share the feeds (``store.feeds``). ``renew_leases`` extends every lease this process holds
on feeds, articles, outbox rows and jobs in one transaction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from sqlalchemy import Connection, Table, bindparam, delete, select, update

from monitor.store.db import StoreBase
from monitor.store.dialect import insert_ignore
from monitor.store.leases import FREE, renew
from monitor.store.records import JobClaim
from monitor.store.schema import articles, feeds, jobs, outbox

PRESENCE = "process "
LEASED: dict[str, Table] = {"feeds": feeds, "articles": articles, "outbox": outbox,
                            "jobs": jobs}


def page_job(url: str) -> str:
    return "page " + hashlib.sha256(url.encode("utf-8")).hexdigest()


def claim_job_row(conn: Connection, name: str, *, now: datetime, owner: str,
                  seconds: float) -> JobClaim:
    """Inserts the job leased to ``owner``, or takes it over when its lease is free; in the
    caller's transaction."""
    until = now + timedelta(seconds=seconds)
    new_id = conn.scalar(insert_ignore(conn, jobs, ["name"], returning="id"),
                         {"name": name, "lease_owner": owner, "lease_until": until})
    if new_id is not None:
        return JobClaim(int(new_id), name, "claimed")
    row = conn.execute(select(jobs).where(jobs.c.name == name).with_for_update()).one()
    if row.done_at is not None:
        return JobClaim(row.id, name, "done", done_at=row.done_at)
    if row.lease_owner not in (None, owner) and row.lease_until > now:
        return JobClaim(row.id, name, "held", owner=row.lease_owner)
    conn.execute(update(jobs).where(jobs.c.id == row.id)
                 .values(lease_owner=owner, lease_until=until))
    return JobClaim(row.id, name, "claimed")


_DROP_HELD = delete(jobs).where(jobs.c.id == bindparam("b_job"),
                                jobs.c.lease_owner == bindparam("b_owner"))   # built once


def drop_held(conn: Connection, job_id: int, owner: str) -> None:
    """Deletes the job row ``owner`` holds (a page claim, a presence row), in the caller's
    transaction; nothing when another process holds it now."""
    conn.execute(_DROP_HELD, {"b_job": job_id, "b_owner": owner})


def mark_done(conn: Connection, name: str, now: datetime) -> None:
    """Records ``name`` as done, in the caller's transaction."""
    conn.execute(insert_ignore(conn, jobs, ["name"]).values(name=name, done_at=now))
    conn.execute(update(jobs).where(jobs.c.name == name).values(done_at=now, **FREE))


def still_held(conn: Connection, job_id: int, *, now: datetime, owner: str,
               seconds: float) -> bool:
    """Fencing: True (and the lease extended) when ``owner`` still holds the job."""
    return bool(renew(conn, jobs, [job_id], now=now, owner=owner, seconds=seconds))


class JobsMixin(StoreBase):
    def claim_job(self, name: str, now: datetime) -> JobClaim:
        with self._db.write() as conn:
            return claim_job_row(conn, name, now=now, owner=self.owner,
                                 seconds=self.lease_seconds)

    def finish_job(self, job_id: int, now: datetime) -> bool:
        """Marks the job done and frees it; False (nothing written) when this process no
        longer holds it."""
        stmt = (update(jobs).where(jobs.c.id == job_id, jobs.c.lease_owner == self.owner)
                .values(done_at=now, **FREE))
        with self._db.write() as conn:
            return bool(conn.execute(stmt).rowcount)

    def release_job(self, job_id: int) -> None:
        """Frees this process's lease on the job without marking it done."""
        with self._db.write() as conn:
            conn.execute(update(jobs).where(jobs.c.id == job_id,
                                            jobs.c.lease_owner == self.owner).values(**FREE))

    def job_done_at(self, name: str) -> datetime | None:
        with self._db.read() as conn:
            found: datetime | None = conn.scalar(select(jobs.c.done_at)
                                                 .where(jobs.c.name == name))
        return found

    def claim_page(self, url: str, now: datetime) -> int | None:
        """The claim on fetching ``url`` now, or None while another process holds it."""
        claimed = self.claim_job(page_job(url), now)
        return claimed.id if claimed.status == "claimed" else None

    def drop_job(self, job_id: int) -> None:
        """Deletes a page claim or a presence row this process holds."""
        with self._db.write() as conn:
            drop_held(conn, job_id, self.owner)

    def join(self, now: datetime) -> int:
        """Announces this daemon among the live ones; keep it renewed, ``drop_job`` it at
        the end."""
        return self.claim_job(PRESENCE + self.owner, now).id

    def live_processes(self, now: datetime) -> list[str]:
        with self._db.read() as conn:
            return live_owners(conn, now)

    def renew_leases(self, held: Mapping[str, Sequence[int]],
                     now: datetime) -> dict[str, list[int]]:
        """Extends this process's leases on the ids held per kind ("feeds", "articles",
        "outbox", "jobs"); returns those it still held (the others were taken over)."""
        with self._db.write() as conn:
            return {kind: renew(conn, LEASED[kind], ids, now=now, owner=self.owner,
                                seconds=self.lease_seconds)
                    for kind, ids in held.items() if ids}


def live_owners(conn: Connection, now: datetime) -> list[str]:
    """The owners of the daemons whose presence is renewed, in a stable order."""
    query = (select(jobs.c.lease_owner).where(jobs.c.name.like(PRESENCE + "%"),
                                              jobs.c.lease_until > now)
             .order_by(jobs.c.lease_owner))
    return [str(owner) for owner in conn.scalars(query)]
