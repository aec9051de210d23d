"""Composing mails from records: alerts, the over-the-cap summary and the test mail (pure).

Every function here takes records and settings and returns an ``OutgoingMail`` with the raw
bytes ready for the outbox; nothing is sent, read from the clock or the network. A mail is
multipart/alternative (a complete plain-text part and an HTML part) with headers set under
``email.policy.SMTP``; recipients come only from ``MailSettings``; every value from a feed is
cleaned before it reaches a header, and the generated header set is checked once more.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from monitor.errors import PermanentDeliveryError
from monitor.models import Delta, OutgoingMail
from monitor.notify.headers import check_headers, clean_header_value, one_line
from monitor.notify.render import DEFAULT_TZ, delta_view, delta_views, make_environment
from monitor.notify.settings import MailSettings

MailKind = Literal["alert", "summary", "digest", "test"]


def compose_alert(delta: Delta, settings: MailSettings, *, now: datetime, message_id: str,
                  source_label: str | None = None) -> OutgoingMail:
    """One alert mail for a new or updated article; an update threads under the first alert."""
    source = source_label or delta.source
    label = "Aktualisiert: " if delta.kind == "updated" else ""
    subject = f"{label}{clean_header_value(delta.title)} — {clean_header_value(source)}"
    context = {"view": delta_view(delta), "tz": DEFAULT_TZ}
    thread = delta.thread_id if delta.kind == "updated" else ""
    return build_mail(settings, kind="alert", subject=subject_line(settings, delta.topic, subject),
                      bodies=render_pair("alert", context), now=now, message_id=message_id,
                      thread_id=thread)


def compose_summary(deltas: Sequence[Delta], settings: MailSettings, *, now: datetime,
                    message_id: str) -> OutgoingMail:
    """One mail listing the alerts that were folded (over the hourly cap, or hourly mode)."""
    topics = sorted({d.topic for d in deltas})
    fallback = topics[0] if len(topics) == 1 else "news-monitor"
    count = len(deltas)
    noun = "Meldung" if count == 1 else "Meldungen"
    subject = f"Sammelmeldung: {count} {noun} ({local_short(now)})"
    context = {"views": delta_views(deltas), "topics": topics, "tz": DEFAULT_TZ,
               "when": local_short(now)}
    return build_mail(settings, kind="summary", subject=subject_line(settings, fallback, subject),
                      bodies=render_pair("summary", context), now=now, message_id=message_id)


def compose_test(settings: MailSettings, *, now: datetime, message_id: str,
                 transport_label: str) -> OutgoingMail:
    """The mail `news-monitor test-email` sends to check the delivery path."""
    context = {"transport": transport_label, "when": local_short(now), "tz": DEFAULT_TZ,
               "recipients": settings.to}
    subject = subject_line(settings, "news-monitor", "Testnachricht")
    return build_mail(settings, kind="test", subject=subject,
                      bodies=render_pair("test", context), now=now, message_id=message_id)


def subject_line(settings: MailSettings, topic: str, text: str) -> str:
    prefix = clean_header_value(settings.subject_prefix or topic, max_chars=60)
    return clean_header_value(f"[{prefix}] {text}", max_chars=200)


def local_short(moment: datetime, tz: str = DEFAULT_TZ) -> str:
    return moment.astimezone(ZoneInfo(tz)).strftime("%d.%m.%Y %H:%M")


def render_pair(name: str, context: Mapping[str, Any]) -> tuple[str, str]:
    """(plain text, HTML) rendered from ``<name>.txt.j2`` and ``<name>.html.j2``."""
    environment = make_environment()
    text = environment.get_template(f"{name}.txt.j2").render(context)
    html = environment.get_template(f"{name}.html.j2").render(context)
    return text, html


def build_mail(settings: MailSettings, *, kind: MailKind, subject: str,
               bodies: tuple[str, str], now: datetime, message_id: str,
               thread_id: str = "") -> OutgoingMail:
    """Assemble, serialise and check one multipart/alternative message."""
    if not settings.to:
        raise PermanentDeliveryError("no recipients configured")
    msg = EmailMessage(policy=policy.SMTP)
    names = _set_headers(msg, settings, subject=subject, now=now, message_id=message_id,
                         thread_id=thread_id)
    text, html = bodies
    msg.set_content(text, subtype="plain", charset="utf-8")
    msg.add_alternative(html, subtype="html", charset="utf-8")
    raw = msg.as_bytes(policy=policy.SMTP)
    check_headers(raw, [*names, "MIME-Version", "Content-Type"])
    return OutgoingMail(message_id=str(msg["Message-ID"]), kind=kind,
                        recipients=tuple(settings.to), subject=subject, raw=raw)


def _set_headers(msg: EmailMessage, settings: MailSettings, *, subject: str, now: datetime,
                 message_id: str, thread_id: str) -> list[str]:
    headers: dict[str, str] = {
        "From": settings.sender,
        "To": ", ".join(settings.to),
        "Subject": clean_header_value(subject, max_chars=200),
        "Date": format_datetime(now),
        "Message-ID": _angle(message_id),
        "List-Id": f"news-monitor <{clean_header_value(settings.list_id)}>",
        "Auto-Submitted": "auto-generated",
        "X-Auto-Response-Suppress": "All",
        "Precedence": "bulk",
    }
    if thread_id:
        headers["In-Reply-To"] = _angle(thread_id)
        headers["References"] = _angle(thread_id)
    for name, value in headers.items():
        msg[name] = value
    return list(headers)


def _angle(message_id: str) -> str:
    """``<id>`` on one line, never shortened (a cut id would break threading)."""
    cleaned = one_line(message_id).replace(" ", "")
    if not cleaned or not cleaned.isascii():
        raise PermanentDeliveryError(f"invalid Message-ID {message_id!r}")
    return cleaned if cleaned.startswith("<") else f"<{cleaned}>"
