"""Delivery over routes: renders queued alerts when they are sent, summarises folded ones per
route, flushes the outbox through each route's channel.

The store queues a delivery row per route (final key, its event, no bytes) or a fold in the
transaction that records the event; ``flush`` hands pending messages to their route's
channel (``notify.channels``: email, webhook, Apprise) with retries and backoff
(``notify.outbox``), rendering each alert from its event, for its route's channel, the first
time it is sent (``render_alert``). Deltas past a route's hourly cap, and every delta of a
route in mode "hourly", were folded; ``send_hourly_summary`` (called hourly by the service)
sends each route's folded deltas as one summary; one process queues an hour's summaries,
under that hour's job lease. A delivery for a route no longer configured is dead with that
reason (``outbox --retry-dead`` sends it once the route is back). The settings are a small
frozen record built by the wiring; the store is reached through the ``DeliveryStore``
protocol; a message's lease is renewed by the ``LeaseKeeper`` while it is sent.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from monitor.errors import PermanentDeliveryError
from monitor.leasing import LeaseKeeper
from monitor.models import DEFAULT_ROUTE, Delta, OutgoingMail, route_scoped, summary_message_id
from monitor.notify.channels import Channel, make_channel
from monitor.notify.mailer import MaildirMailer, Mailer, SmtpMailer
from monitor.notify.outbox import FlushReport, OutboxStore, flush_outbox
from monitor.notify.settings import RouteSettings, SmtpSettings
from monitor.store.records import DeadLetter, JobClaim

log = logging.getLogger(__name__)
SUMMARY_GAP = timedelta(minutes=55)   # at most one summary per hourly run, with slack


@dataclass(frozen=True, slots=True)
class DeliverySettings:
    """What delivery needs: the routes, SMTP (or else a Maildir) for the email routes, and
    how often a message's lease is renewed while it is sent."""

    routes: tuple[RouteSettings, ...]
    maildir: Path
    smtp: SmtpSettings | None = None
    lease_renewal: float = 10.0


class DeliveryStore(OutboxStore, Protocol):
    def renew_leases(self, held: Mapping[str, Sequence[int]],
                     now: datetime) -> Mapping[str, Sequence[int]]: ...

    def claim_job(self, name: str, now: datetime) -> JobClaim: ...

    def finish_job(self, job_id: int, now: datetime) -> bool: ...

    def release_job(self, job_id: int) -> None: ...

    def reschedule_pending(self, now: datetime) -> int: ...

    def last_summary_at(self, route: str = DEFAULT_ROUTE) -> datetime | None: ...

    def folded_routes(self) -> list[str]: ...

    def folded_deltas(self, route: str = DEFAULT_ROUTE) -> list[Delta]: ...

    def enqueue_summary(self, mail: OutgoingMail, event_ids: Sequence[int], *,
                        at: datetime) -> bool: ...


def mailer_for(settings: DeliverySettings) -> Mailer:
    """SMTP when configured, else the Maildir."""
    return SmtpMailer(settings.smtp) if settings.smtp else MaildirMailer(settings.maildir)


class Delivery:
    """Renders alerts as they are sent, summarises folded ones, and flushes the outbox, each
    message through its route's channel."""

    def __init__(self, settings: DeliverySettings, store: DeliveryStore,
                 clock: Callable[[], datetime], mailer: Mailer | None = None,
                 keeper: LeaseKeeper | None = None) -> None:
        self.settings, self.store, self.clock = settings, store, clock
        self.mailer = mailer or mailer_for(settings)
        self.keeper = keeper or LeaseKeeper(store.renew_leases, clock, settings.lease_renewal)
        self.channels: dict[str, Channel] = {
            r.name: make_channel(r, self.mailer) for r in settings.routes}

    def channel(self, route: str) -> Channel:
        """The channel of a configured route; PermanentDeliveryError for any other name."""
        found = self.channels.get(route)
        if found is None:
            raise PermanentDeliveryError(f"route {route!r} is not configured (any more)")
        return found

    def render_alert(self, delta: Delta, key: str, now: datetime,
                     route: str = DEFAULT_ROUTE) -> OutgoingMail:
        """The alert for one delta on ``route``, under the key it was queued with; an update
        threads under the route's copy of the story's first alert."""
        scoped = dataclasses.replace(delta, thread_id=route_scoped(delta.thread_id, route))
        return self.channel(route).alert(scoped, key, now)

    async def send(self, message: OutgoingMail) -> str:
        """Hands one rendered message to its route's channel."""
        return await self.channel(message.route).send(message)

    def queue_hourly_summary(self) -> int:
        """Queue one summary per route of its folded deltas not yet summarised; returns how
        many deltas they list (0 when there are none, or a route's summary was queued less
        than an hour ago)."""
        return sum(self._queue_summary(route, self.clock()) for route in self.store.folded_routes())

    def _queue_summary(self, route: str, now: datetime) -> int:
        last = self.store.last_summary_at(route)
        if last is not None and now - last < SUMMARY_GAP:
            return 0
        deltas = self.store.folded_deltas(route)
        if not deltas:
            return 0
        ids = [d.id for d in deltas]
        key = summary_message_id(ids, route)
        if not self.store.enqueue_summary(self._summary(route, deltas, key, now), ids, at=now):
            return 0
        log.info("summary_queued route=%s message_id=%s deltas=%d", route, key, len(ids))
        return len(ids)

    def _summary(self, route: str, deltas: list[Delta], key: str,
                 now: datetime) -> OutgoingMail:
        """The route's summary, or a dead letter with the reason when it cannot be built."""
        try:
            return self.channel(route).summary(deltas, key, now)
        except Exception as exc:
            log.exception("mail_unbuildable route=%s message_id=%s", route, key)
            return DeadLetter(message_id=key, kind="summary", recipients=(), route=route,
                              subject="Sammelmeldung", raw=b"",
                              error=f"cannot build the message: {type(exc).__name__}: {exc}")

    async def send_hourly_summary(self) -> FlushReport:
        """The hourly job: one process queues the summaries of folded deltas (under the job
        lease of this hour, in a thread: store calls and rendering), then the outbox is
        flushed."""
        await asyncio.to_thread(self._summary_job)
        return await self.flush()

    def _summary_job(self) -> None:
        now = self.clock()
        job = self.store.claim_job(f"summary {now:%Y-%m-%dT%H}", now)
        if job.status != "claimed":
            log.info("summary status=%s job=%r", job.status, job.name)
            return
        try:
            self.queue_hourly_summary()
        except BaseException:
            self.store.release_job(job.id)
            raise
        self.store.finish_job(job.id, self.clock())

    async def flush(self, *, include_waiting: bool = False) -> FlushReport:
        """Deliver what is due; ``include_waiting`` also tries messages still backing off (a
        user running ``poll`` or ``outbox --flush`` wants everything tried now). Failures
        are recorded on each message, never raised."""
        if include_waiting:
            await asyncio.to_thread(self.store.reschedule_pending, self.clock())
        report = await flush_outbox(self.store, self, clock=self.clock,
                                    render=self.render_alert, keeper=self.keeper)
        if report.sent or report.failed or report.dead:
            log.info("outbox sent=%d failed=%d dead=%d", report.sent, report.failed, report.dead)
        return report
