"""Composing the daily digest (pure): per topic the new and updated stories, source health, counts.

The digest is built from a ``DigestData`` record the caller assembled from the store. It is
rendered three ways from the same context: the plain-text part (also what ``digest --text``
prints), the HTML part, and the same HTML as a standalone document for the archive. An empty
period says so plainly ("Keine neuen Meldungen") instead of sending an empty-looking mail.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from monitor.models import DigestData, FeedHealth, OutgoingMail, TopicDigest
from monitor.notify.compose import build_mail, render_pair, subject_line
from monitor.notify.render import DeltaView, delta_views, local_time, make_environment
from monitor.notify.settings import MailSettings

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


@dataclass(frozen=True, slots=True)
class TopicView:
    topic: str
    new: tuple[DeltaView, ...]
    updated: tuple[DeltaView, ...]


def compose_digest(data: DigestData, settings: MailSettings, *, now: datetime,
                   message_id: str) -> tuple[OutgoingMail, str]:
    """The digest mail and the standalone HTML document for the archive."""
    context = digest_context(data)
    text, html = render_pair("digest", context)
    topic = data.topics[0].topic if len(data.topics) == 1 else "news-monitor"
    subject = subject_line(settings, topic, _subject(context))
    mail = build_mail(settings, kind="digest", subject=subject, bodies=(text, html), now=now,
                      message_id=message_id)
    return mail, html


def render_digest_text(data: DigestData) -> str:
    """The plain-text digest, as printed by ``news-monitor digest --text``."""
    return make_environment().get_template("digest.txt.j2").render(digest_context(data))


def digest_context(data: DigestData) -> dict[str, Any]:
    topics = tuple(_topic_view(t, data.timezone) for t in data.topics)
    total_new = sum(len(t.new) for t in topics)
    total_updated = sum(len(t.updated) for t in topics)
    return {
        "tz": data.timezone,
        "start": local_time(data.period_start, data.timezone),
        "end": local_time(data.period_end, data.timezone),
        "day": data.period_end.astimezone(ZoneInfo(data.timezone)).strftime("%d.%m.%Y"),
        "topics": topics,
        "total_new": total_new,
        "total_updated": total_updated,
        "empty": total_new + total_updated == 0,
        "failing": _failing(data.health, data.timezone),
        "silent": _silent(data.health, data.period_end, data.timezone),
        "extraction": _labelled(data.extraction_problems, EXTRACTION_LABELS),
        "counts": _labelled(data.counts, COUNT_LABELS),
    }


def _topic_view(topic: TopicDigest, tz: str) -> TopicView:
    new = sorted(topic.new, key=lambda d: (-d.score, d.detected_at))
    updated = sorted(topic.updated, key=lambda d: d.detected_at, reverse=True)
    return TopicView(topic=topic.topic, new=delta_views(new, tz=tz),
                     updated=delta_views(updated, tz=tz, context=6, max_changes=6))


def _failing(health: tuple[FeedHealth, ...], tz: str) -> tuple[dict[str, Any], ...]:
    rows = [h for h in health if h.consecutive_errors > 0]
    return tuple({"name": h.name, "url": h.url, "errors": h.consecutive_errors,
                  "error": h.last_error or h.last_status or "unbekannter Fehler",
                  "since": local_time(h.last_success_at, tz) or "noch nie erfolgreich"}
                 for h in sorted(rows, key=lambda h: (-h.consecutive_errors, h.name)))


def _silent(health: tuple[FeedHealth, ...], end: datetime, tz: str) -> tuple[dict[str, Any], ...]:
    rows = [h for h in health if h.consecutive_errors == 0
            and (h.last_new_at is None or end - h.last_new_at >= SILENT_AFTER)]
    return tuple({"name": h.name, "url": h.url,
                  "days": (end - h.last_new_at).days if h.last_new_at else None,
                  "since": local_time(h.last_new_at, tz)}
                 for h in sorted(rows, key=lambda h: h.name))


def _labelled(values: Mapping[str, int], labels: Mapping[str, str]) -> tuple[tuple[str, int], ...]:
    return tuple((labels.get(key, key), count) for key, count in values.items() if count)


def _subject(context: Mapping[str, Any]) -> str:
    if context["empty"]:
        return f"Tagesübersicht {context['day']}: Keine neuen Meldungen"
    return (f"Tagesübersicht {context['day']}: {context['total_new']} neu, "
            f"{context['total_updated']} aktualisiert")
