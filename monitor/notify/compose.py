"""Composing every mail from records (pure): alerts, the over-the-cap summary, the daily
digest and the test mail.

Every ``compose_*`` function takes records and settings and returns an ``OutgoingMail`` with
the raw bytes ready for the outbox; nothing is sent, read from the clock or the network. A
mail is multipart/alternative (a complete plain-text part and an HTML part, rendered from
``templates/<kind>.txt.j2`` and ``.html.j2``) with headers set under ``email.policy.SMTP``;
recipients come only from ``MailSettings``; every value from a feed is cleaned before it
reaches a header, and the generated header set is checked once more.

The digest is composed from a ``DigestData`` record (``notify.digest`` gathers it): per topic
the new and updated stories, source health (a feed's failure in short German words:
``failure_label``) and counts, rendered three ways from the same
context: the plain-text part (also what ``digest --text`` prints), the HTML part, and that
HTML as the standalone archive document. An empty period says so plainly ("Keine neuen
Meldungen") instead of sending an empty-looking mail.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from monitor.errors import PermanentDeliveryError
from monitor.fetch.causes import failure_cause, http_status
from monitor.models import (
    Delta,
    DigestData,
    FeedHealth,
    OutgoingMail,
    TopicDigest,
    public_message_id,
)
from monitor.notify.headers import check_headers, clean_header_value, one_line
from monitor.notify.render import (
    DEFAULT_TZ,
    DeltaView,
    delta_view,
    delta_views,
    local_time,
    make_environment,
)
from monitor.notify.settings import DeskLinks, MailSettings

MailKind = Literal["alert", "summary", "digest", "test"]
SILENT_AFTER = timedelta(days=3)
EXTRACTION_LABELS = {
    "consent_wall": "Consent-Banner statt Artikeltext",
    "paywall": "Bezahlschranke",
    "failed": "Extraktion fehlgeschlagen",
    "timeout": "Extraktion zu langsam (Zeitlimit)",
    "robots": "robots.txt verbietet den Abruf",
}
COUNT_LABELS = {
    "feeds": "Feeds",
    "polls": "Abrufe",
    "entries": "neue Feed-Einträge",
    "articles": "Artikel geprüft",
    "new": "neue Meldungen",
    "updated": "aktualisierte Meldungen",
    "alerts": "Alerts versendet",
    "errors": "Fehler beim Abruf",
    "feeds_failing": "Feeds mit Fehlern",
}
FAILURE_LABELS = {
    "dns": "Name nicht auflösbar (DNS)",
    "no_route": "keine Netzverbindung",
    "refused": "Verbindung abgelehnt",
    "reset": "Verbindung abgebrochen",
    "timeout": "Zeitüberschreitung",
    "tls": "TLS-/Zertifikatsfehler",
    "blocked": "Adresse gesperrt (internes Netz)",
    "too_large": "Antwort zu groß",
    "redirects": "fehlerhafte Weiterleitung",
    "parse": "kein lesbarer Feed",
    "http": "HTTP-Fehler",
    "internal": "interner Fehler",
    "other": "Abruf fehlgeschlagen",
}
HTTP_LABELS = {401: "Zugriff verweigert", 403: "Zugriff verweigert", 404: "nicht gefunden",
               410: "entfernt", 429: "zu viele Anfragen"}


@dataclass(frozen=True, slots=True)
class TopicView:
    """One topic's stories in the digest, as the templates show them."""

    topic: str
    new: tuple[DeltaView, ...]
    updated: tuple[DeltaView, ...]
    margin: tuple[DeltaView, ...] = ()
    backfill: tuple[DeltaView, ...] = ()   # found by backfill: "Nachträglich gefunden"
    held: tuple[DeltaView, ...] = ()       # "Wahrscheinlich nicht relevant" (verdicts)


def compose_alert(delta: Delta, settings: MailSettings, *, now: datetime, message_id: str,
                  source_label: str | None = None) -> OutgoingMail:
    """One alert mail for a new or updated article; an update threads under the first alert."""
    source = source_label or delta.source
    label = "Aktualisiert: " if delta.kind == "updated" else ""
    subject = f"{label}{clean_header_value(delta.title)} — {clean_header_value(source)}"
    context = {"view": delta_view(delta, desk=settings.desk, now=now), "tz": DEFAULT_TZ}
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
    context = {"views": delta_views(deltas, desk=settings.desk, now=now), "topics": topics,
               "tz": DEFAULT_TZ,
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


def compose_digest(data: DigestData, settings: MailSettings, *, now: datetime,
                   message_id: str) -> tuple[OutgoingMail, str]:
    """The digest mail and the standalone HTML document for the archive."""
    context = digest_context(data, desk=settings.desk, now=now)
    text, html = render_pair("digest", context)
    topic = data.topics[0].topic if len(data.topics) == 1 else "news-monitor"
    subject = subject_line(settings, topic, _digest_subject(context))
    mail = build_mail(settings, kind="digest", subject=subject, bodies=(text, html), now=now,
                      message_id=message_id)
    return mail, html


def render_digest_text(data: DigestData) -> str:
    """The plain-text digest, as printed by ``news-monitor digest --text``."""
    return make_environment().get_template("digest.txt.j2").render(digest_context(data))


def render_digest_html(data: DigestData) -> str:
    """The digest as a standalone HTML document, as archived whatever the route's channel."""
    return make_environment().get_template("digest.html.j2").render(digest_context(data))


def digest_context(data: DigestData, *, desk: DeskLinks | None = None,
                   now: datetime | None = None) -> dict[str, Any]:
    """What the digest templates read: topics, totals, source health and counts; with
    ``desk``, each story's links into the review desk (signed at ``now``)."""
    topics = tuple(_topic_view(t, data.timezone, desk, now) for t in data.topics)
    total_new = sum(len(t.new) for t in topics)
    total_updated = sum(len(t.updated) for t in topics)
    total_backfill = sum(len(t.backfill) for t in topics)
    return {
        "tz": data.timezone,
        "start": local_time(data.period_start, data.timezone),
        "end": local_time(data.period_end, data.timezone),
        "day": data.period_end.astimezone(ZoneInfo(data.timezone)).strftime("%d.%m.%Y"),
        "topics": topics,
        "total_new": total_new,
        "total_updated": total_updated,
        "total_backfill": total_backfill,
        "empty": total_new + total_updated + total_backfill == 0,
        "failing": _failing(data.health, data.timezone),
        "silent": _silent(data.health, data.period_end, data.timezone),
        "extraction": _labelled(data.extraction_problems, EXTRACTION_LABELS),
        "counts": _labelled(data.counts, COUNT_LABELS),
    }


def _topic_view(topic: TopicDigest, tz: str, desk: DeskLinks | None,
                now: datetime | None) -> TopicView:
    new = sorted(topic.new, key=lambda d: (-d.score, d.detected_at))
    updated = sorted(topic.updated, key=lambda d: d.detected_at, reverse=True)
    margin = sorted(topic.margin, key=lambda d: (-d.score, d.detected_at))

    def views(deltas: Sequence[Delta], context: int = 25,
              max_changes: int = 40) -> tuple[DeltaView, ...]:
        return delta_views(deltas, tz=tz, context=context, max_changes=max_changes, desk=desk,
                           now=now)

    return TopicView(topic=topic.topic, new=views([d for d in new if not d.backfill]),
                     updated=views(updated, context=6, max_changes=6), margin=views(margin),
                     backfill=views([d for d in new if d.backfill]), held=views(topic.held))


def _failing(health: tuple[FeedHealth, ...], tz: str) -> tuple[dict[str, Any], ...]:
    rows = [h for h in health if h.consecutive_errors > 0]
    return tuple({"name": h.name, "url": h.url, "errors": h.consecutive_errors,
                  "error": failure_label(h.last_status, h.last_error),
                  "since": local_time(h.last_success_at, tz) or "noch nie erfolgreich"}
                 for h in sorted(rows, key=lambda h: (-h.consecutive_errors, h.name)))


def failure_label(kind: str | None, error: str | None) -> str:
    """A feed's recorded failure in short German words (``[Errno -2] ...`` is no one's)."""
    if not kind and not error:
        return "unbekannter Fehler"
    cause = failure_cause(kind, error)
    status = http_status(error) if cause == "http" else None
    if status is None:
        return FAILURE_LABELS.get(cause, FAILURE_LABELS["other"])
    words = HTTP_LABELS.get(status, "Serverfehler" if status >= 500 else "HTTP-Fehler")
    return f"{words} (HTTP {status})"


def _silent(health: tuple[FeedHealth, ...], end: datetime, tz: str) -> tuple[dict[str, Any], ...]:
    rows = [h for h in health if h.consecutive_errors == 0
            and (h.last_new_at is None or end - h.last_new_at >= SILENT_AFTER)]
    return tuple({"name": h.name, "url": h.url,
                  "days": (end - h.last_new_at).days if h.last_new_at else None,
                  "since": local_time(h.last_new_at, tz)}
                 for h in sorted(rows, key=lambda h: h.name))


def _labelled(values: Mapping[str, int], labels: Mapping[str, str]) -> tuple[tuple[str, int], ...]:
    return tuple((labels.get(key, key), count) for key, count in values.items() if count)


def _digest_subject(context: Mapping[str, Any]) -> str:
    if context["empty"]:
        return f"Tagesübersicht {context['day']}: Keine neuen Meldungen"
    return (f"Tagesübersicht {context['day']}: {context['total_new']} neu, "
            f"{context['total_updated']} aktualisiert")


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
    return OutgoingMail(message_id=message_id, kind=kind,
                        recipients=tuple(settings.to), subject=subject, raw=raw)


def _set_headers(msg: EmailMessage, settings: MailSettings, *, subject: str, now: datetime,
                 message_id: str, thread_id: str) -> list[str]:
    headers: dict[str, str] = {
        "From": settings.sender,
        "To": ", ".join(settings.to),
        "Subject": clean_header_value(subject, max_chars=200),
        "Date": format_datetime(now),
        "Message-ID": _angle(_public(message_id, settings)),
        "List-Id": f"news-monitor <{clean_header_value(settings.list_id)}>",
        "Auto-Submitted": "auto-generated",
        "X-Auto-Response-Suppress": "All",
        "Precedence": "bulk",
    }
    if thread_id:
        headers["In-Reply-To"] = _angle(_public(thread_id, settings))
        headers["References"] = _angle(_public(thread_id, settings))
    for name, value in headers.items():
        msg[name] = value
    return list(headers)


def _public(key: str, settings: MailSettings) -> str:
    """The Message-ID receivers see for an outbox key: unique to this installation."""
    return public_message_id(key, settings.installation, settings.domain)


def _angle(message_id: str) -> str:
    """``<id>`` on one line, never shortened (a cut id would break threading)."""
    cleaned = one_line(message_id).replace(" ", "")
    if not cleaned or not cleaned.isascii():
        raise PermanentDeliveryError(f"invalid Message-ID {message_id!r}")
    return cleaned if cleaned.startswith("<") else f"<{cleaned}>"
