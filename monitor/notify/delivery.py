"""Delivery wiring: which mails the deltas cause, which transport carries them, and the flush.

Alert mails are rendered here inside the store transaction that records their deltas (the
store calls ``render_alerts``), so a delta and its mail exist together or not at all; a mail
that cannot be built is stored dead with its error instead of failing the transaction.
Deltas past ``[alerts] max_per_hour``, and every delta in mode "hourly", are recorded as
folded in that same transaction; ``send_hourly_summary`` (called hourly by the service)
mails them as one summary. The transport is SMTP when ``[email.smtp]`` is configured, else
a Maildir under the state directory. ``flush`` hands pending mail to the transport with
retries and backoff.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

from monitor.config.model import Config
from monitor.models import Delta, OutgoingMail, message_id
from monitor.notify.alerts import plan_alerts
from monitor.notify.compose import compose_alert, compose_summary
from monitor.notify.headers import clean_header_value
from monitor.notify.mailer import MaildirMailer, Mailer, SmtpMailer
from monitor.notify.outbox import FlushReport, flush_outbox
from monitor.notify.settings import MailSettings, SmtpSettings
from monitor.store import Store
from monitor.store.outbox import DeadLetter, FoldedAlert

log = logging.getLogger(__name__)
HOUR = timedelta(hours=1)
SUMMARY_GAP = timedelta(minutes=55)   # at most one summary per hourly run, with slack


def mail_settings(config: Config, *, to: Sequence[str] | None = None) -> MailSettings:
    return MailSettings(sender=config.email.sender, to=tuple(to or config.email.to),
                        subject_prefix=config.email.subject_prefix or "")


def smtp_settings(config: Config) -> SmtpSettings | None:
    smtp = config.email.smtp
    if smtp is None:
        return None
    return SmtpSettings(host=smtp.host, port=smtp.port, security=smtp.security,
                        username=smtp.username, password=config.smtp_password,
                        ca_file=str(smtp.ca_file) if smtp.ca_file else None,
                        timeout=smtp.timeout.total_seconds())


def maildir_path(config: Config) -> Path:
    return config.state_dir / "mail"


def make_mailer(config: Config) -> Mailer:
    settings = smtp_settings(config)
    return SmtpMailer(settings) if settings else MaildirMailer(maildir_path(config))


def transport_label(config: Config) -> str:
    smtp = config.email.smtp
    if smtp is None:
        return f"Maildir {maildir_path(config)}"
    return f"SMTP {smtp.host}:{smtp.port} ({smtp.security})"


class Delivery:
    """Renders alerts for new deltas, summarises folded ones, and flushes the outbox."""

    def __init__(self, config: Config, store: Store, clock: Callable[[], datetime],
                 mailer: Mailer | None = None) -> None:
        self.config, self.store, self.clock = config, store, clock
        self.settings = mail_settings(config)
        self.mailer = mailer or make_mailer(config)

    def render_alerts(self, deltas: list[Delta]) -> list[OutgoingMail]:
        """The mails for deltas just recorded (called inside the store's transaction).

        The hourly cap counts alert mails queued in the last hour (not only those already
        sent), so a cycle with many articles cannot exceed it before its first flush.
        """
        alerts = self.config.alerts
        if alerts.mode == "off" or not deltas:
            return []
        now = self.clock()
        queued = self.store.alerts_queued_since(now - HOUR)
        plan = plan_alerts(deltas, mode=alerts.mode, max_per_hour=alerts.max_per_hour,
                           sent_last_hour=queued)
        folded = [FoldedAlert(message_id=alert_message_id(d), kind="alert", recipients=(),
                              subject="", raw=b"", event_id=d.id) for d in plan.folded]
        if folded:
            log.info("alerts_folded count=%d mode=%s queued_last_hour=%d", len(folded),
                     alerts.mode, queued)
        return [self._alert(d, now) for d in plan.individual] + list(folded)

    def _alert(self, delta: Delta, now: datetime) -> OutgoingMail:
        mail_id = alert_message_id(delta)
        return self._built("alert", mail_id, delta.title, lambda: compose_alert(
            delta, self.settings, now=now, message_id=mail_id))

    def _built(self, kind: Literal["alert", "summary"], message_id: str, title: str,
               build: Callable[[], OutgoingMail]) -> OutgoingMail:
        """The composed mail, or a dead letter with the reason when it cannot be built."""
        try:
            return build()
        except Exception as exc:
            log.exception("mail_unbuildable message_id=%s", message_id)
            return DeadLetter(message_id=message_id, kind=kind, recipients=self.settings.to,
                              subject=clean_header_value(title), raw=b"",
                              error=f"cannot build the mail: {type(exc).__name__}: {exc}")

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
        key = hashlib.sha1(",".join(map(str, ids)).encode()).hexdigest()[:16]
        mail_id = message_id("summary", key)
        mail = self._built("summary", mail_id, "Sammelmeldung", lambda: compose_summary(
            deltas, self.settings, now=now, message_id=mail_id))
        if not self.store.enqueue_summary(mail, ids, at=now):
            return 0
        log.info("summary_queued message_id=%s deltas=%d", mail_id, len(ids))
        return len(ids)

    async def send_hourly_summary(self) -> FlushReport:
        """The hourly job: queue the summary of folded deltas, then flush the outbox."""
        self.queue_hourly_summary()
        return await self.flush()

    async def flush(self, *, include_waiting: bool = False) -> FlushReport:
        """Deliver what is due; ``include_waiting`` also tries mails still backing off (a user
        running ``poll`` or ``outbox --flush`` wants everything tried now). Failures are
        recorded on each mail, never raised."""
        if include_waiting:
            self.store.reschedule_pending(self.clock())
        report = await flush_outbox(self.store, self.mailer, clock=self.clock,
                                    lease_seconds=self.lease_seconds)
        if report.sent or report.failed or report.dead:
            log.info("outbox sent=%d failed=%d dead=%d", report.sent, report.failed, report.dead)
        return report

    @property
    def lease_seconds(self) -> float:
        """Long enough for one SMTP session of several commands, each up to the timeout."""
        smtp = self.config.email.smtp
        return 60 + 8 * (smtp.timeout.total_seconds() if smtp else 5)


def alert_message_id(delta: Delta) -> str:
    """A new story's alert is the thread root; an update gets its own id in that thread."""
    if delta.kind == "new" and delta.thread_id:
        return delta.thread_id
    return message_id("update", delta.id)
