"""The outbox: deliveries wait here until their receiver (SMTP server, webhook, chat
service) has accepted them.

Owns the ``outbox`` and ``folds`` tables for reading and for the writes of sending. Each row
is one message for one route (``route``, ``channel``).
``insert_mails`` is used inside other transactions (a digest with its mail, a summary with
the marks on its folded alerts), so a mail and what it reports are committed together or
not at all; a ``DeadLetter`` (a mail that could not be built) is stored dead with its
error, so it never blocks the queue. Alert rows are queued by ``save_outcome`` without bytes
(``store.alerts``); ``claim_pending`` hands such a row out with its event's ``Delta`` and
``mark_rendered`` keeps the bytes notify rendered from it, so every retry resends the same
bytes. Sending is claimed under a short lease (``store.leases``), renewed while the mail is
sent, so two processes never send the same row at once; a duplicate Message-ID is ignored,
so nothing is ever queued twice.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, func, or_, select, update

from monitor.models import Delta, OutboxItem, OutgoingMail
from monitor.store.db import StoreBase
from monitor.store.dialect import insert_ignore
from monitor.store.events import OLDEST_FIRST, load_deltas
from monitor.store.leases import FREE, claim
from monitor.store.records import DeadLetter
from monitor.store.schema import events, folds, outbox

log = logging.getLogger(__name__)


class _Conflict(Exception):
    """Another process summarised some of these deltas first; roll back."""


def insert_mails(conn: Connection, mails: Sequence[OutgoingMail], *, at: datetime) -> int:
    """Queues ``mails`` in the caller's transaction; returns how many outbox rows were new."""
    queued = 0
    for mail in mails:
        dead = isinstance(mail, DeadLetter)
        row = {"message_id": mail.message_id, "kind": mail.kind,
               "recipients": json.dumps(list(mail.recipients)), "subject": mail.subject,
               "raw": mail.raw, "status": "dead" if dead else "pending", "attempts": 0,
               "created_at": at, "next_attempt_at": None if dead else at,
               "last_error": mail.error if isinstance(mail, DeadLetter) else None,
               "route": mail.route, "channel": mail.channel}
        stmt = insert_ignore(conn, outbox, ["message_id"]).values(**row)
        queued += conn.scalar(stmt.returning(outbox.c.id)) is not None
    return queued


def _item(row: Row[Any], delta: Delta | None = None) -> OutboxItem:
    return OutboxItem(
        id=row.id, message_id=row.message_id, kind=row.kind,
        recipients=tuple(json.loads(row.recipients)), subject=row.subject, raw=bytes(row.raw),
        status=row.status, attempts=row.attempts, next_attempt_at=row.next_attempt_at,
        last_error=row.last_error, created_at=row.created_at, sent_at=row.sent_at,
        event_id=row.event_id, delta=delta, route=row.route, channel=row.channel)


def _with_deltas(conn: Connection, rows: Sequence[Row[Any]]) -> list[OutboxItem]:
    """The items, each alert not yet rendered with its event's delta (cluster as of now)."""
    wanted = [r.event_id for r in rows if r.event_id is not None and not r.raw]
    found = {d.id: d for d in load_deltas(conn, events.c.id.in_(wanted))} if wanted else {}
    return [_item(r, found.get(r.event_id) if not r.raw else None) for r in rows]


class OutboxMixin(StoreBase):
    def reschedule_pending(self, now: datetime) -> int:
        """Makes every pending mail due now (a user asked to deliver everything waiting)."""
        stmt = (update(outbox).where(outbox.c.status == "pending", outbox.c.next_attempt_at > now)
                .values(next_attempt_at=now).returning(outbox.c.id))
        with self._db.write() as conn:
            return len(conn.scalars(stmt).all())

    def claim_pending(self, now: datetime, *, limit: int = 20) -> list[OutboxItem]:
        due = or_(outbox.c.next_attempt_at.is_(None), outbox.c.next_attempt_at <= now)
        with self._db.write() as conn:
            ids = claim(conn, outbox, outbox.c.status == "pending", due, now=now,
                        owner=self.owner, seconds=self.lease_seconds,
                        order=(outbox.c.next_attempt_at, outbox.c.id), limit=limit)
            rows = conn.execute(select(outbox).where(outbox.c.id.in_(ids))
                                .order_by(outbox.c.id)).all()
            return _with_deltas(conn, rows)

    def mark_rendered(self, item_id: int, *, subject: str, recipients: Sequence[str],
                      raw: bytes) -> None:
        """Keeps the bytes rendered for an alert: every later attempt sends these."""
        self._update(item_id, {"subject": subject, "recipients": json.dumps(list(recipients)),
                               "raw": raw})
        log.info("outbox_rendered id=%d bytes=%d", item_id, len(raw))

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

    def outbox(self, *, status: str | None = None, route: str | None = None,
               event_id: int | None = None) -> list[OutboxItem]:
        query = select(outbox).order_by(outbox.c.id)
        if status is not None:
            query = query.where(outbox.c.status == status)
        if route is not None:
            query = query.where(outbox.c.route == route)
        if event_id is not None:
            query = query.where(outbox.c.event_id == event_id)
        with self._db.read() as conn:
            return [_item(r) for r in conn.execute(query)]

    def outbox_counts(self) -> dict[str, int]:
        """Mails per status (pending, sent, dead), counted without loading them."""
        query = select(outbox.c.status, func.count()).group_by(outbox.c.status)
        with self._db.read() as conn:
            counts = {str(status): int(n) for status, n in conn.execute(query)}
        return {status: counts.get(status, 0) for status in ("pending", "sent", "dead")}

    def retry_dead(self, *, at: datetime) -> int:
        """Requeues dead mails; one without bytes (it could not be built) stays dead."""
        values = {"status": "pending", "attempts": 0, "next_attempt_at": at, **FREE}
        stmt = (update(outbox).where(outbox.c.status == "dead", func.length(outbox.c.raw) > 0)
                .values(**values).returning(outbox.c.id))
        with self._db.write() as conn:
            return len(conn.scalars(stmt).all())

    def folded_routes(self) -> list[str]:
        """The routes with folded deltas waiting for a summary."""
        query = (select(folds.c.route).where(folds.c.summary_message_id.is_(None))
                 .distinct().order_by(folds.c.route))
        with self._db.read() as conn:
            return [str(r) for r in conn.scalars(query)]

    def folded_deltas(self, route: str = "default") -> list[Delta]:
        """The route's deltas folded by its cap or hourly mode and in no summary yet, oldest
        first."""
        waiting = select(folds.c.event_id).where(folds.c.route == route,
                                                 folds.c.summary_message_id.is_(None))
        with self._db.read() as conn:
            return load_deltas(conn, events.c.id.in_(waiting), order=OLDEST_FIRST)

    def enqueue_summary(self, mail: OutgoingMail, event_ids: Sequence[int], *,
                        at: datetime) -> bool:
        """Queues the summary and marks its deltas summarised for its route, in one
        transaction; False (and nothing written) when another process summarised any of them
        first."""
        ids = sorted(set(event_ids))
        try:
            with self._db.write() as conn:
                marked = conn.execute(update(folds).where(
                    folds.c.route == mail.route, folds.c.event_id.in_(ids),
                    folds.c.summary_message_id.is_(None))
                    .values(summary_message_id=mail.message_id)).rowcount
                if marked != len(ids):
                    raise _Conflict
                insert_mails(conn, [mail], at=at)
        except _Conflict:
            log.info("summary_skipped message_id=%s reason=taken", mail.message_id)
            return False
        return True

    def last_summary_at(self, route: str = "default") -> datetime | None:
        query = select(func.max(outbox.c.created_at)).where(outbox.c.kind == "summary",
                                                             outbox.c.route == route)
        with self._db.read() as conn:
            found: datetime | None = conn.scalar(query)
        return found
