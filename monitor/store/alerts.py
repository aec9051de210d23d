"""Deliveries for events just recorded: a delivery row per route, or a fold into the
route's hourly summary.

Owns the routing rule (``plan_alerts``, pure) and its application inside the transaction
that inserts the events (``queue_alerts``): for each route, the events of its topics and
kinds; mode "immediate" queues one delivery per event until the route's hourly cap is
reached and folds the rest; "hourly" folds every event; "digest" and "off" queue nothing.
The cap counts the route's alert rows queued in the last hour that are not dead, read in the
same transaction, so a cycle of many articles cannot exceed it before its first flush. A
delivery row has its final key (``models.route_scoped`` of the alert's Message-ID), its
route and channel, its event and no bytes yet: notify renders it from the event, for the
route's channel, when it is first sent. A folded event waits in ``folds`` for the route's
next hourly summary.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from sqlalchemy import Connection, func, select

from monitor.models import Delta, alert_message_id, route_scoped
from monitor.store.dialect import insert_ignore
from monitor.store.records import RouteMode, RoutePolicy
from monitor.store.schema import folds, outbox
from monitor.store.verdicts import muted_events

log = logging.getLogger(__name__)
HOUR = timedelta(hours=1)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class AlertPlan(Generic[T]):
    individual: tuple[T, ...] = ()
    folded: tuple[T, ...] = ()


def plan_alerts(deltas: Sequence[T], *, mode: RouteMode, max_per_hour: int,
                sent_last_hour: int) -> AlertPlan[T]:
    """Split ``deltas`` (in their given order) into individual alerts and folded ones.

    ``max_per_hour`` counts individual alerts; once it is reached every further delta is
    folded. A cap of 0 therefore folds everything.
    """
    if mode not in ("immediate", "hourly") or not deltas:
        return AlertPlan()
    if mode == "hourly":
        return AlertPlan(folded=tuple(deltas))
    room = max(0, max_per_hour - max(0, sent_last_hour))
    return AlertPlan(individual=tuple(deltas[:room]), folded=tuple(deltas[room:]))


def alerts_queued(conn: Connection, since: datetime, route: str) -> int:
    """The route's alerts queued since ``since`` and not dead: what counts against its cap."""
    query = select(func.count()).select_from(outbox).where(
        outbox.c.kind == "alert", outbox.c.route == route, outbox.c.status != "dead",
        outbox.c.created_at >= since)
    return int(conn.scalar(query) or 0)


def queue_alerts(conn: Connection, deltas: Sequence[Delta], routes: Sequence[RoutePolicy], *,
                 at: datetime) -> int:
    """Queues or folds the deliveries of ``deltas`` for every route, in the caller's
    transaction; returns how many outbox rows were new. A story or outlet muted on the
    review desk (``store.verdicts``), a story held back by the desk's verdicts and a
    ``margin`` event ("Am Rande erwähnt", for the digest) alert no route."""
    if not deltas or not any(route.alerts for route in routes):
        return 0
    muted = muted_events(conn, [d.id for d in deltas])
    wanted = [d for d in deltas
              if d.id not in muted and not d.held and d.kind != "margin"]
    return sum(_queue_route(conn, wanted, route, at) for route in routes if route.alerts)


def _queue_route(conn: Connection, deltas: Sequence[Delta], route: RoutePolicy,
                 at: datetime) -> int:
    mine = [d for d in deltas if route.takes(d.topic, d.kind)]
    if not mine:
        return 0
    queued = alerts_queued(conn, at - HOUR, route.name)
    plan = plan_alerts(mine, mode=route.mode, max_per_hour=route.max_per_hour,
                       sent_last_hour=queued)
    for delta in plan.folded:
        conn.execute(insert_ignore(conn, folds, ["event_id", "route"]).values(
            event_id=delta.id, route=route.name, folded_at=at))
    if plan.folded:
        log.info("alerts_folded route=%s count=%d mode=%s queued_last_hour=%d", route.name,
                 len(plan.folded), route.mode, queued)
    return sum(_queue(conn, delta, route, at) for delta in plan.individual)


def _queue(conn: Connection, delta: Delta, route: RoutePolicy, at: datetime) -> bool:
    key = route_scoped(alert_message_id(delta.kind, delta.thread_id, delta.id), route.name)
    row = {"message_id": key, "kind": "alert", "recipients": json.dumps([]), "subject": "",
           "raw": b"", "status": "pending", "attempts": 0, "created_at": at,
           "next_attempt_at": at, "event_id": delta.id, "route": route.name,
           "channel": route.channel}
    stmt = insert_ignore(conn, outbox, ["message_id"]).values(**row)
    return conn.scalar(stmt.returning(outbox.c.id)) is not None
