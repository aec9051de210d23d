"""Digests: which events went into which daily digest, and when it was sent.

Owns the ``digests`` table and the events' ``digest_id``. ``create_digest`` writes the
digest row, assigns its events and queues its mail in one transaction, so an event is in
exactly one digest and a digest never exists without its mail. ``last_digest`` reports
``sent_at`` from the digest's outbox row: a digest counts as sent only once SMTP took it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import insert, select, update

from monitor.models import Delta, OutgoingMail
from monitor.store.db import StoreBase
from monitor.store.events import OLDEST_FIRST, load_deltas
from monitor.store.outbox import insert_mails
from monitor.store.records import DigestRow
from monitor.store.schema import digests, events, outbox
from monitor.store.tombstones import chunks

log = logging.getLogger(__name__)


class DigestsMixin(StoreBase):
    def undigested_events(self, until: datetime) -> list[Delta]:
        with self._db.read() as conn:
            return load_deltas(conn, events.c.digest_id.is_(None),
                               events.c.detected_at <= until, order=OLDEST_FIRST)

    def create_digest(self, *, period_start: datetime | None, period_end: datetime,
                      event_ids: Sequence[int], html_path: str, mail: OutgoingMail) -> int:
        with self._db.write() as conn:
            digest_id = int(conn.scalar(insert(digests).values(
                period_start=period_start, period_end=period_end, created_at=period_end,
                html_path=html_path, message_id=mail.message_id).returning(digests.c.id)))
            for part in chunks(sorted(set(event_ids))):
                conn.execute(update(events).values(digest_id=digest_id).where(
                    events.c.id.in_(list(part)), events.c.digest_id.is_(None)))
            insert_mails(conn, [mail], at=period_end)
        log.info("digest_created id=%d events=%d message_id=%s", digest_id, len(event_ids),
                 mail.message_id)
        return digest_id

    def last_digest(self) -> DigestRow | None:
        query = (select(digests, outbox.c.sent_at)
                 .outerjoin(outbox, outbox.c.message_id == digests.c.message_id)
                 .order_by(digests.c.id.desc()).limit(1))
        with self._db.read() as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        return DigestRow(id=row.id, period_start=row.period_start, period_end=row.period_end,
                         created_at=row.created_at, sent_at=row.sent_at, html_path=row.html_path)
