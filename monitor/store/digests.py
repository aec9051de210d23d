"""Digests: which events went into which route's daily digest, and when it was sent.

Owns the ``digests`` and ``digest_items`` tables. ``create_digest`` writes the digest row,
assigns its events for its route and queues its message in one transaction, so an event is
in exactly one digest of each route and a digest never exists without its message.
``last_sent_digest`` reports ``sent_at`` from the digest's outbox row: a digest counts as
sent only once its receiver took it.
A digest whose mail was never sent (still pending, or dead) and is not being sent right now
is *stale*: the next digest takes over its events (``digest_candidates``) and
``create_digest`` removes it and its mail in the same transaction, so a catch-up digest
covers everything since the last digest that was sent and no event reaches two inboxes.
A digest's identity is its route and period (unique together); one process at a time makes
a route's digest under its lease (the job ``digest_lease``), ``create_digest`` checks it
still holds that lease and records the period as made (the job ``digest_job``) in its
transaction, so a second attempt, by any process, finds the period done.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, or_, select

from monitor.models import Delta, OutgoingMail
from monitor.store.db import StoreBase
from monitor.store.dialect import insert_ignore
from monitor.store.events import OLDEST_FIRST, load_deltas
from monitor.store.jobs import mark_done, still_held
from monitor.store.leases import lease_free
from monitor.store.outbox import insert_mails
from monitor.store.records import DigestRow
from monitor.store.schema import digest_items, digests, events, outbox, revisions
from monitor.store.tombstones import chunks
from monitor.store.verdicts import not_dismissed

log = logging.getLogger(__name__)
# extract statuses that fell back to the feed summary (not "ok", not "summary_only")
PROBLEM_STATUSES = ("consent_wall", "paywall", "failed", "timeout", "robots")


def digest_lease(route: str) -> str:
    """The job under whose lease one process at a time makes a digest of ``route``."""
    return f"digest {route}"


def digest_job(route: str, period: str) -> str:
    """The job recording that the digest of ``route`` and ``period`` was made."""
    return f"digest {route} {period}"


def _stale_digest_ids(conn: Connection, now: datetime, route: str) -> list[int]:
    """The route's digests whose message was not sent and is not leased by a sender at
    ``now``."""
    query = (select(digests.c.id)
             .outerjoin(outbox, outbox.c.message_id == digests.c.message_id)
             .where(digests.c.route == route,
                    or_(outbox.c.id.is_(None),
                        (outbox.c.status != "sent") & lease_free(outbox, now))))
    return list(conn.scalars(query))


def _drop_stale(conn: Connection, now: datetime, route: str) -> list[int]:
    """Removes the route's stale digests and their unsent messages; their events become
    undigested for the route."""
    stale = _stale_digest_ids(conn, now, route)
    if stale:
        message_ids = select(digests.c.message_id).where(digests.c.id.in_(stale))
        conn.execute(delete(outbox).where(outbox.c.message_id.in_(message_ids),
                                          outbox.c.status != "sent"))
        conn.execute(delete(digest_items).where(digest_items.c.digest_id.in_(stale)))
        conn.execute(delete(digests).where(digests.c.id.in_(stale)))
        log.info("digests_superseded route=%s ids=%s", route, ",".join(map(str, stale)))
    return stale


class DigestsMixin(StoreBase):
    def digest_candidates(self, until: datetime, route: str = "default",
                          topics: Sequence[str] | None = None) -> list[Delta]:
        """Events the route's digest made at ``until`` covers (of ``topics``, or of every
        topic): those in none of its digests, and those of its stale digests (never sent),
        oldest first."""
        with self._db.read() as conn:
            stale = _stale_digest_ids(conn, until, route)
            taken = select(digest_items.c.event_id).where(
                digest_items.c.route == route, digest_items.c.digest_id.not_in(stale))
            where = [events.c.id.not_in(taken), events.c.detected_at <= until, not_dismissed()]
            if topics is not None:
                where.append(events.c.topic.in_(list(topics)))
            return load_deltas(conn, *where, order=OLDEST_FIRST)

    def last_sent_digest(self, route: str = "default") -> DigestRow | None:
        """The route's newest digest whose message the receiver accepted."""
        return self._last_digest(outbox.c.status == "sent", digests.c.route == route)

    def extraction_problems(self, since: datetime | None, until: datetime) -> dict[str, int]:
        """Revisions stored in the period whose text fell back to the feed summary, by why."""
        query = (select(revisions.c.extract_status, func.count())
                 .where(revisions.c.extract_status.in_(PROBLEM_STATUSES),
                        revisions.c.fetched_at <= until,
                        *([revisions.c.fetched_at > since] if since else []))
                 .group_by(revisions.c.extract_status))
        with self._db.read() as conn:
            return {status: int(count) for status, count in conn.execute(query)}

    def create_digest(self, *, period_start: datetime | None, period_end: datetime,
                      event_ids: Sequence[int], html_path: str, mail: OutgoingMail,
                      route: str = "default", period: str | None = None,
                      lease: int | None = None) -> int | None:
        """Writes the digest, assigns its events, queues its mail and records the period as
        made, in one transaction; None (nothing written) when ``lease`` (the route's
        digest lease) is no longer this process's."""
        with self._db.write() as conn:
            if lease is not None and not still_held(conn, lease, now=period_end,
                                                    owner=self.owner,
                                                    seconds=self.lease_seconds):
                log.warning("digest status=lease_lost route=%s period=%s", route, period)
                return None
            _drop_stale(conn, period_end, route)
            digest_id = int(conn.scalar(insert(digests).values(
                period_start=period_start, period_end=period_end, created_at=period_end,
                html_path=html_path, message_id=mail.message_id, route=route, period=period)
                .returning(digests.c.id)))
            for part in chunks(sorted(set(event_ids))):
                conn.execute(insert_ignore(conn, digest_items, ["route", "event_id"]),
                             [{"route": route, "event_id": i, "digest_id": digest_id}
                              for i in part])
            insert_mails(conn, [mail], at=period_end)
            if period is not None:
                mark_done(conn, digest_job(route, period), period_end)
        log.info("digest_created id=%d route=%s period=%s events=%d message_id=%s", digest_id,
                 route, period, len(event_ids), mail.message_id)
        return digest_id

    def _last_digest(self, *where: Any) -> DigestRow | None:
        query = (select(digests, outbox.c.sent_at)
                 .outerjoin(outbox, outbox.c.message_id == digests.c.message_id)
                 .where(*where).order_by(digests.c.id.desc()).limit(1))
        with self._db.read() as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        return DigestRow(id=row.id, period_start=row.period_start, period_end=row.period_end,
                         created_at=row.created_at, sent_at=row.sent_at, html_path=row.html_path)
