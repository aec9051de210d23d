"""The outbox: rendered mails wait here until the SMTP server has accepted them.

Owns the ``outbox`` table. ``insert_mails`` is used inside other transactions too (alerts
with their events, a digest with its mail), so an event and its mail are committed
together or not at all. Sending is claimed under a lease (``lease_owner``/``lease_until``,
one conditional UPDATE), so two processes never send the same row at once; a duplicate
Message-ID is ignored, so re-rendering never queues a mail twice.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, func, or_, select, update

from monitor.models import OutboxItem, OutgoingMail
from monitor.store.db import StoreBase
from monitor.store.dialect import insert_ignore
from monitor.store.leases import FREE, claim
from monitor.store.schema import outbox

log = logging.getLogger(__name__)


def insert_mails(conn: Connection, mails: Sequence[OutgoingMail], *, at: datetime) -> int:
    """Queues ``mails`` in the caller's transaction; returns how many were new."""
    queued = 0
    for mail in mails:
        row = {"message_id": mail.message_id, "kind": mail.kind,
               "recipients": json.dumps(list(mail.recipients)), "subject": mail.subject,
               "raw": mail.raw, "status": "pending", "attempts": 0, "created_at": at,
               "next_attempt_at": at}
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

    def retry_dead(self, *, at: datetime) -> int:
        values = {"status": "pending", "attempts": 0, "next_attempt_at": at, **FREE}
        with self._db.write() as conn:
            return len(conn.scalars(update(outbox).where(outbox.c.status == "dead")
                                    .values(**values).returning(outbox.c.id)).all())

    def alerts_sent_since(self, since: datetime) -> int:
        query = select(func.count()).select_from(outbox).where(
            outbox.c.kind == "alert", outbox.c.status == "sent", outbox.c.sent_at >= since)
        with self._db.read() as conn:
            return int(conn.scalar(query) or 0)
