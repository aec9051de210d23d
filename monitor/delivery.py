"""Delivery wiring: which mails the deltas cause, which transport carries them, and the flush.

Alert mails are rendered here inside the store transaction that records their deltas (the
store calls ``render_alerts``), so a delta and its mail exist together or not at all. The
transport is SMTP when ``[email.smtp]`` is configured, else a Maildir under the state
directory. ``flush`` hands pending mail to the transport with retries and backoff.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path

from monitor.config import Config
from monitor.models import Delta, OutgoingMail
from monitor.notify.alerts import plan_alerts
from monitor.notify.compose import compose_alert, compose_summary
from monitor.notify.mailer import MaildirMailer, Mailer, SmtpMailer
from monitor.notify.outbox import FlushReport, flush_outbox
from monitor.notify.settings import MailSettings, SmtpSettings
from monitor.store import Store

log = logging.getLogger(__name__)


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
    """Renders alerts for new deltas and flushes the outbox through the transport."""

    def __init__(self, config: Config, store: Store, clock: Callable[[], datetime],
                 mailer: Mailer | None = None) -> None:
        self.config, self.store, self.clock = config, store, clock
        self.settings = mail_settings(config)
        self.mailer = mailer or make_mailer(config)

    def render_alerts(self, deltas: list[Delta]) -> list[OutgoingMail]:
        """The mails for deltas just recorded (called inside the store's transaction)."""
        alerts = self.config.alerts
        if alerts.mode == "off" or not deltas:
            return []
        now = self.clock()
        sent = self.store.alerts_sent_since(now - timedelta(hours=1))
        plan = plan_alerts(deltas, mode=alerts.mode, max_per_hour=alerts.max_per_hour,
                           sent_last_hour=sent)
        mails = [compose_alert(d, self.settings, now=now, message_id=alert_message_id(d))
                 for d in plan.individual]
        if plan.folded:
            ids = ",".join(str(d.id) for d in plan.folded)
            digest = hashlib.sha1(ids.encode()).hexdigest()[:16]
            mails.append(compose_summary(plan.folded, self.settings, now=now,
                                         message_id=f"<summary.{digest}@news-monitor>"))
        return mails

    async def flush(self) -> FlushReport:
        """Deliver what is pending; failures are recorded on each mail, never raised."""
        report = await flush_outbox(self.store, self.mailer, clock=self.clock)
        if report.sent or report.failed or report.dead:
            log.info("outbox sent=%d failed=%d dead=%d", report.sent, report.failed, report.dead)
        return report


def alert_message_id(delta: Delta) -> str:
    """A new story's alert is the thread root; an update gets its own id in that thread."""
    if delta.kind == "new" and delta.thread_id:
        return delta.thread_id
    return f"<update.{delta.id}@news-monitor>"
