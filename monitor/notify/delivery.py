"""Delivery: renders queued alerts when they are sent, summarises folded ones, flushes.

The store queues an alert row (final Message-ID, its event, no bytes) or a fold in the
transaction that records the event; ``flush`` hands pending mail to the transport with
retries and backoff (``notify.outbox``), rendering each alert from its event the first time
it is sent (``render_alert``). Deltas past the hourly cap, and every delta in mode "hourly",
were folded; ``send_hourly_summary`` (called hourly by the service) mails them as one
summary; one process queues an hour's summary, under that hour's job lease. The transport
is SMTP when ``DeliverySettings.smtp`` is set, else a Maildir. The settings are a small
frozen record built by the wiring; the store is reached through the ``DeliveryStore``
protocol; a mail's lease is renewed by the ``LeaseKeeper`` while it is sent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from monitor.leasing import LeaseKeeper
from monitor.models import Delta, OutgoingMail, summary_message_id
from monitor.notify.compose import compose_alert, compose_summary
from monitor.notify.mailer import MaildirMailer, Mailer, SmtpMailer
from monitor.notify.outbox import FlushReport, OutboxStore, flush_outbox
from monitor.notify.settings import MailSettings, SmtpSettings
from monitor.store.records import DeadLetter, JobClaim

log = logging.getLogger(__name__)
SUMMARY_GAP = timedelta(minutes=55)   # at most one summary per hourly run, with slack


@dataclass(frozen=True, slots=True)
class DeliverySettings:
    """What delivery needs: the mail's sender and recipients, SMTP (or else a Maildir), and
    how often a mail's lease is renewed while it is sent."""

    mail: MailSettings
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

    def last_summary_at(self) -> datetime | None: ...

    def folded_deltas(self) -> list[Delta]: ...

    def enqueue_summary(self, mail: OutgoingMail, event_ids: Sequence[int], *,
                        at: datetime) -> bool: ...


def mailer_for(settings: DeliverySettings) -> Mailer:
    """SMTP when configured, else the Maildir."""
    return SmtpMailer(settings.smtp) if settings.smtp else MaildirMailer(settings.maildir)


class Delivery:
    """Renders alerts as they are sent, summarises folded ones, and flushes the outbox."""

    def __init__(self, settings: DeliverySettings, store: DeliveryStore,
                 clock: Callable[[], datetime], mailer: Mailer | None = None,
                 keeper: LeaseKeeper | None = None) -> None:
        self.settings, self.store, self.clock = settings, store, clock
        self.mailer = mailer or mailer_for(settings)
        self.keeper = keeper or LeaseKeeper(store.renew_leases, clock, settings.lease_renewal)

    def render_alert(self, delta: Delta, message_id: str, now: datetime) -> OutgoingMail:
        """The alert mail for one delta, under the Message-ID it was queued with."""
        return compose_alert(delta, self.settings.mail, now=now, message_id=message_id)

    def queue_hourly_summary(self) -> int:
        """Queue one summary of every folded delta not yet summarised; returns how many it
        lists (0 when there are none, or a summary was queued less than an hour ago)."""
        now = self.clock()
        last = self.store.last_summary_at()
        if last is not None and now - last < SUMMARY_GAP:
            return 0
        deltas = self.store.folded_deltas()
        if not deltas:
            return 0
        ids = [d.id for d in deltas]
        mail_id = summary_message_id(ids)
        mail = self._summary(deltas, mail_id, now)
        if not self.store.enqueue_summary(mail, ids, at=now):
            return 0
        log.info("summary_queued message_id=%s deltas=%d", mail_id, len(ids))
        return len(ids)

    def _summary(self, deltas: list[Delta], mail_id: str, now: datetime) -> OutgoingMail:
        """The summary mail, or a dead letter with the reason when it cannot be built."""
        try:
            return compose_summary(deltas, self.settings.mail, now=now, message_id=mail_id)
        except Exception as exc:
            log.exception("mail_unbuildable message_id=%s", mail_id)
            return DeadLetter(message_id=mail_id, kind="summary", recipients=self.settings.mail.to,
                              subject="Sammelmeldung", raw=b"",
                              error=f"cannot build the mail: {type(exc).__name__}: {exc}")

    async def send_hourly_summary(self) -> FlushReport:
        """The hourly job: one process queues the summary of folded deltas (under the job
        lease of this hour), then the outbox is flushed."""
        now = self.clock()
        job = self.store.claim_job(f"summary {now:%Y-%m-%dT%H}", now)
        if job.status != "claimed":
            log.info("summary status=%s job=%r", job.status, job.name)
            return await self.flush()
        try:
            self.queue_hourly_summary()
        except BaseException:
            self.store.release_job(job.id)
            raise
        self.store.finish_job(job.id, self.clock())
        return await self.flush()

    async def flush(self, *, include_waiting: bool = False) -> FlushReport:
        """Deliver what is due; ``include_waiting`` also tries mails still backing off (a user
        running ``poll`` or ``outbox --flush`` wants everything tried now). Failures are
        recorded on each mail, never raised."""
        if include_waiting:
            self.store.reschedule_pending(self.clock())
        report = await flush_outbox(self.store, self.mailer, clock=self.clock,
                                    render=self.render_alert, keeper=self.keeper)
        if report.sent or report.failed or report.dead:
            log.info("outbox sent=%d failed=%d dead=%d", report.sent, report.failed, report.dead)
        return report
