"""Alerts for events just recorded: an outbox row each, or a fold into the hourly summary.

Owns the alert policy's rule (``plan_alerts``, pure) and its application inside the
transaction that inserts the events (``queue_alerts``): mode "immediate" queues one alert
per event until the hourly cap is reached and folds the rest; "hourly" folds every event;
"off" queues nothing. The cap counts alert rows queued in the last hour that are not dead,
read in the same transaction, so a cycle of many articles cannot exceed it before its first
flush. An alert row has its final Message-ID, its event and no bytes yet: notify renders it
from the event when it is first sent. A folded event waits in ``alert_folds`` for the next
hourly summary.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from sqlalchemy import Connection, func, select

from monitor.models import Delta, alert_message_id
from monitor.store.dialect import insert_ignore
from monitor.store.records import AlertMode, AlertPolicy
from monitor.store.schema import alert_folds, outbox
from monitor.store.verdicts import muted_events

log = logging.getLogger(__name__)
HOUR = timedelta(hours=1)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class AlertPlan(Generic[T]):
    individual: tuple[T, ...] = ()
    folded: tuple[T, ...] = ()


def plan_alerts(deltas: Sequence[T], *, mode: AlertMode, max_per_hour: int,
                sent_last_hour: int) -> AlertPlan[T]:
    """Split ``deltas`` (in their given order) into individual alerts and folded ones.

    ``max_per_hour`` counts individual alert mails; once it is reached every further delta
    is folded. A cap of 0 therefore folds everything.
    """
    if mode == "off" or not deltas:
        return AlertPlan()
    if mode == "hourly":
        return AlertPlan(folded=tuple(deltas))
    room = max(0, max_per_hour - max(0, sent_last_hour))
    return AlertPlan(individual=tuple(deltas[:room]), folded=tuple(deltas[room:]))


def alerts_queued(conn: Connection, since: datetime) -> int:
    """Alert mails queued since ``since`` and not dead: what counts against the hourly cap."""
    query = select(func.count()).select_from(outbox).where(
        outbox.c.kind == "alert", outbox.c.status != "dead", outbox.c.created_at >= since)
    return int(conn.scalar(query) or 0)


def queue_alerts(conn: Connection, deltas: Sequence[Delta], policy: AlertPolicy | None, *,
                 at: datetime) -> int:
    """Queues or folds the alerts of ``deltas`` in the caller's transaction; returns how many
    outbox rows were new."""
    if policy is None or policy.mode == "off" or not deltas:
        return 0
    muted = muted_events(conn, [d.id for d in deltas])     # the desk's "mute" verdicts
    deltas = [d for d in deltas if d.id not in muted]
    queued = alerts_queued(conn, at - HOUR)
    plan = plan_alerts(deltas, mode=policy.mode, max_per_hour=policy.max_per_hour,
                       sent_last_hour=queued)
    for delta in plan.folded:
        conn.execute(insert_ignore(conn, alert_folds, ["event_id"]).values(
            event_id=delta.id, folded_at=at))
    if plan.folded:
        log.info("alerts_folded count=%d mode=%s queued_last_hour=%d", len(plan.folded),
                 policy.mode, queued)
    return sum(_queue(conn, delta, at) for delta in plan.individual)


def _queue(conn: Connection, delta: Delta, at: datetime) -> bool:
    row = {"message_id": alert_message_id(delta.kind, delta.thread_id, delta.id),
           "kind": "alert", "recipients": json.dumps([]), "subject": "", "raw": b"",
           "status": "pending", "attempts": 0, "created_at": at, "next_attempt_at": at,
           "event_id": delta.id}
    stmt = insert_ignore(conn, outbox, ["message_id"]).values(**row)
    return conn.scalar(stmt.returning(outbox.c.id)) is not None
