"""The outbox: rendered mails wait here until the SMTP server has accepted them.

Owns the ``outbox`` and ``alert_folds`` tables. ``insert_mails`` is used inside other
transactions too (alerts with their events, a digest with its mail), so an event and its
mail are committed together or not at all; it also takes two markers from the render
callback: a ``DeadLetter`` (a mail that could not be built: stored dead with its error, so
it never blocks the queue) and a ``FoldedAlert`` (a delta over the hourly cap or in hourly
mode: recorded for the next hourly summary). Sending is claimed under a lease
(``lease_owner``/``lease_until``, one conditional UPDATE), so two processes never send the
same row at once; a duplicate Message-ID is ignored, so re-rendering never queues a mail twice.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, func, or_, select, update

from monitor.models import Delta, OutboxItem, OutgoingMail
from monitor.store.db import StoreBase
from monitor.store.dialect import insert_ignore
from monitor.store.events import OLDEST_FIRST, load_deltas
from monitor.store.leases import FREE, claim
from monitor.store.schema import alert_folds, events, outbox

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DeadLetter(OutgoingMail):
    """A mail that could not be built: kept in the outbox as dead, with the reason."""

    error: str = ""


@dataclass(frozen=True, slots=True)
class FoldedAlert(OutgoingMail):
    """Not a mail: the delta ``event_id`` waits for the next hourly summary."""

    event_id: int = 0


class _Conflict(Exception):
    """Another process summarised some of these deltas first; roll back."""


def insert_mails(conn: Connection, mails: Sequence[OutgoingMail], *, at: datetime) -> int:
    """Queues ``mails`` in the caller's transaction; returns how many outbox rows were new."""
    queued = 0
    for mail in mails:
        if isinstance(mail, FoldedAlert):
            conn.execute(insert_ignore(conn, alert_folds, ["event_id"]).values(
                event_id=mail.event_id, folded_at=at))
            continue
        dead = isinstance(mail, DeadLetter)
        row = {"message_id": mail.message_id, "kind": mail.kind,
               "recipients": json.dumps(list(mail.recipients)), "subject": mail.subject,
               "raw": mail.raw, "status": "dead" if dead else "pending", "attempts": 0,
               "created_at": at, "next_attempt_at": None if dead else at,
               "last_error": mail.error if isinstance(mail, DeadLetter) else None}
        stmt = insert_ignore(conn, outbox, ["message_id"]).values(**row)
        queued += conn.scalar(stmt.returning(outbox.c.id)) is not None
    return queued


def _item(row: Row[Any]) -> OutboxItem:
    return OutboxItem(
        id=row.id, message_id=row.message_id, kind=row.kind,
        recipients=tuple(json.loads(row.recipients)), subject=row.subject, raw=bytes(row.raw),
        status=row.status, attempts=row.attempts, next_attempt_at=row.next_attempt_at,
        last_error=row.last_error, created_at=row.created_at, sent_at=row.sent_at)


class OutboxMixin(StoreBase):
    def enqueue(self, mails: Sequence[OutgoingMail], *, at: datetime) -> int:
        with self._db.write() as conn:
            return insert_mails(conn, mails, at=at)

    def reschedule_pending(self, now: datetime) -> int:
        """Makes every pending mail due now (a user asked to deliver everything waiting)."""
        stmt = (update(outbox).where(outbox.c.status == "pending", outbox.c.next_attempt_at > now)
                .values(next_attempt_at=now).returning(outbox.c.id))
        with self._db.write() as conn:
            return len(conn.scalars(stmt).all())

    def claim_pending(self, now: datetime, *, limit: int = 20,
                      lease_seconds: float = 120) -> list[OutboxItem]:
        due = or_(outbox.c.next_attempt_at.is_(None), outbox.c.next_attempt_at <= now)
        with self._db.write() as conn:
            ids = claim(conn, outbox, outbox.c.status == "pending", due, now=now,
                        owner=self.owner, seconds=lease_seconds,
                        order=(outbox.c.next_attempt_at, outbox.c.id), limit=limit)
            rows = conn.execute(select(outbox).where(outbox.c.id.in_(ids))
                                .order_by(outbox.c.id)).all()
        return [_item(r) for r in rows]

    def mark_sent(self, item_id: int, *, at: datetime, response: str) -> None:
        values = {"status": "sent", "sent_at": at, "response": response, "last_error": None,
                  "attempts": outbox.c.attempts + 1, "next_attempt_at": None, **FREE}
        self._update(item_id, values)
        log.info("outbox_sent id=%d", item_id)

    def mark_failed(self, item_id: int, *, at: datetime, error: str,
                    next_attempt_at: datetime | None, dead: bool) -> None:
        values = {"status": "dead" if dead else "pending", "last_error": error,
                  "attempts": outbox.c.attempts + 1, "next_attempt_at": next_attempt_at,
                  **FREE}
        self._update(item_id, values)
        log.info("outbox_failed id=%d dead=%s at=%s", item_id, dead, at.isoformat())

    def _update(self, item_id: int, values: dict[str, Any]) -> None:
        with self._db.write() as conn:
            conn.execute(update(outbox).where(outbox.c.id == item_id).values(**values))

    def outbox(self, *, status: str | None = None) -> list[OutboxItem]:
        query = select(outbox).order_by(outbox.c.id)
        if status is not None:
            query = query.where(outbox.c.status == status)
        with self._db.read() as conn:
            return [_item(r) for r in conn.execute(query)]

    def outbox_counts(self) -> dict[str, int]:
        """Mails per status (pending, sent, dead), counted without loading them."""
        query = select(outbox.c.status, func.count()).group_by(outbox.c.status)
        with self._db.read() as conn:
            counts = {str(status): int(n) for status, n in conn.execute(query)}
        return {status: counts.get(status, 0) for status in ("pending", "sent", "dead")}

    def retry_dead(self, *, at: datetime) -> int:
        """Requeues dead mails; one that could not be built (no bytes) stays dead."""
        values = {"status": "pending", "attempts": 0, "next_attempt_at": at, **FREE}
        stmt = (update(outbox).where(outbox.c.status == "dead", func.length(outbox.c.raw) > 0)
                .values(**values).returning(outbox.c.id))
        with self._db.write() as conn:
            return len(conn.scalars(stmt).all())

    def alerts_sent_since(self, since: datetime) -> int:
        query = select(func.count()).select_from(outbox).where(
            outbox.c.kind == "alert", outbox.c.status == "sent", outbox.c.sent_at >= since)
        with self._db.read() as conn:
            return int(conn.scalar(query) or 0)

    def alerts_queued_since(self, since: datetime) -> int:
        """Alert mails queued since ``since`` and not dead: what counts against the hourly cap."""
        query = select(func.count()).select_from(outbox).where(
            outbox.c.kind == "alert", outbox.c.status != "dead", outbox.c.created_at >= since)
        with self._db.read() as conn:
            return int(conn.scalar(query) or 0)

    def folded_deltas(self) -> list[Delta]:
        """Deltas folded by the cap or hourly mode and in no summary yet, oldest first."""
        waiting = select(alert_folds.c.event_id).where(alert_folds.c.summary_message_id.is_(None))
        with self._db.read() as conn:
            return load_deltas(conn, events.c.id.in_(waiting), order=OLDEST_FIRST)

    def enqueue_summary(self, mail: OutgoingMail, event_ids: Sequence[int], *,
                        at: datetime) -> bool:
        """Queues the summary and marks its deltas summarised, in one transaction; False (and
        nothing written) when another process summarised any of them first."""
        ids = sorted(set(event_ids))
        try:
            with self._db.write() as conn:
                marked = conn.execute(update(alert_folds).where(
                    alert_folds.c.event_id.in_(ids), alert_folds.c.summary_message_id.is_(None))
                    .values(summary_message_id=mail.message_id)).rowcount
                if marked != len(ids):
                    raise _Conflict
                insert_mails(conn, [mail], at=at)
        except _Conflict:
            log.info("summary_skipped message_id=%s reason=taken", mail.message_id)
            return False
        return True

    def last_summary_at(self) -> datetime | None:
        query = select(func.max(outbox.c.created_at)).where(outbox.c.kind == "summary")
        with self._db.read() as conn:
            return conn.scalar(query)
