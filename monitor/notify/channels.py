"""Channels: how a route's messages are rendered and handed over (email, webhook, Apprise).

A channel renders each kind of message from records (an alert from its event's ``Delta``, a
summary, a digest from ``DigestData``, a test message) into an ``OutgoingMail`` whose
``raw`` bytes are exactly what will be sent, and sends such a message, returning the
receiver's answer or raising ``TransientDeliveryError`` (worth retrying) or
``PermanentDeliveryError`` (dead). The outbox keeps the rendered bytes, so every retry sends
the same bytes and a webhook's signature stays valid.

- **email**: the mails of ``notify.compose`` over SMTP or into the Maildir.
- **webhook**: a ``POST`` of a JSON document (``"schema": 1``) with the headers
  ``X-News-Monitor-Event``, ``X-News-Monitor-Delivery`` (the message's key, the same on
  every retry: a receiver can drop repeats) and ``X-News-Monitor-Signature:
  sha256=<HMAC-SHA256 of the raw body with the route's secret>``. Redirects are not
  followed, proxies from the environment are ignored; a 2xx is success, 408, 429 and 5xx
  are retried, any other answer is dead with its status and first line.
- **apprise**: a short text (title, outlet, link, the one-line reason) through the
  ``apprise`` library (the optional extra ``news-monitor[apprise]``), with custom plugins
  and persistent storage off.

Targets come only from the route's settings, never from feed content. Nothing here reads
the clock, the store or the configuration.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx

from monitor import __version__
from monitor.errors import PermanentDeliveryError, TransientDeliveryError
from monitor.models import Delta, DigestData, OutgoingMail
from monitor.notify.compose import (
    compose_alert,
    compose_digest,
    compose_summary,
    compose_test,
    local_short,
)
from monitor.notify.mailer import Mailer
from monitor.notify.render import desk_links, reasons, safe_link, score_word
from monitor.notify.settings import RouteSettings

log = logging.getLogger(__name__)
SCHEMA = 1
RETRIED_STATUSES = frozenset({408, 425, 429})
KIND_LABELS = {"new": "Neu", "updated": "Aktualisiert"}


class Channel(Protocol):
    """What the outbox, the summary and the digest need of a route's channel."""

    route: RouteSettings

    def alert(self, delta: Delta, key: str, now: datetime) -> OutgoingMail: ...

    def summary(self, deltas: Sequence[Delta], key: str, now: datetime) -> OutgoingMail: ...

    def digest(self, data: DigestData, key: str, now: datetime) -> OutgoingMail: ...

    def test(self, key: str, now: datetime) -> OutgoingMail: ...

    async def send(self, message: OutgoingMail) -> str: ...

    def target(self) -> str: ...


def make_channel(route: RouteSettings, mailer: Mailer) -> Channel:
    """The channel of ``route``; ``mailer`` is the transport of email routes."""
    if route.channel == "webhook":
        return WebhookChannel(route)
    if route.channel == "apprise":
        return AppriseChannel(route)
    return EmailChannel(route, mailer)


class EmailChannel:
    """Mails: alerts, summaries and the test mail to ``route.mail``, the digest to
    ``route.digest_mail``."""

    def __init__(self, route: RouteSettings, mailer: Mailer) -> None:
        self.route, self.mailer = route, mailer

    def alert(self, delta: Delta, key: str, now: datetime) -> OutgoingMail:
        return self._tag(compose_alert(delta, self.route.mail, now=now, message_id=key))

    def summary(self, deltas: Sequence[Delta], key: str, now: datetime) -> OutgoingMail:
        return self._tag(compose_summary(deltas, self.route.mail, now=now, message_id=key))

    def digest(self, data: DigestData, key: str, now: datetime) -> OutgoingMail:
        mail, _ = compose_digest(data, self.route.digest_mail or self.route.mail, now=now,
                                 message_id=key)
        return self._tag(mail)

    def test(self, key: str, now: datetime) -> OutgoingMail:
        return self._tag(compose_test(self.route.mail, now=now, message_id=key,
                                      transport_label=self.target()))

    async def send(self, message: OutgoingMail) -> str:
        return await self.mailer.send(message)

    def target(self) -> str:
        return ", ".join(self.route.mail.to)

    def _tag(self, mail: OutgoingMail) -> OutgoingMail:
        return dataclasses.replace(mail, route=self.route.name, channel="email")


def story_document(delta: Delta, route: RouteSettings, now: datetime) -> dict[str, Any]:
    """A story as webhooks carry it: plain values only, times in ISO 8601 UTC; with a review
    desk, its page and the signed "Nicht relevant" link."""
    story: dict[str, Any] = {
        "title": delta.title, "url": safe_link(delta.url), "outlet": delta.source,
        "topic": delta.topic, "kind": delta.kind,
        "published": delta.published.isoformat() if delta.published else None,
        "first_seen": delta.detected_at.isoformat(),
        "score": round(delta.score, 4), "relevance": score_word(delta.score),
        "explanation": [r.plain() for r in reasons(delta)],
        "cluster_outlets": [delta.source, *delta.also_reported_by],
    }
    view_url, dismiss_url = desk_links(delta, route.mail.desk, now)
    if view_url:
        story["review_url"], story["not_relevant_url"] = view_url, dismiss_url
    if delta.diff is not None:
        story["diff"] = {"added_words": delta.diff.added_words,
                         "removed_words": delta.diff.removed_words,
                         "title_changed": delta.diff.title_changed}
    return story


class WebhookChannel:
    """JSON documents POSTed to ``route.url``, signed with ``route.secret``."""

    def __init__(self, route: RouteSettings) -> None:
        self.route = route

    def alert(self, delta: Delta, key: str, now: datetime) -> OutgoingMail:
        document = {"event": delta.kind, "topic": delta.topic,
                    "story": story_document(delta, self.route, now)}
        return self._message("alert", key, delta.title, document, now)

    def summary(self, deltas: Sequence[Delta], key: str, now: datetime) -> OutgoingMail:
        document = {"event": "summary",
                    "stories": [story_document(d, self.route, now) for d in deltas]}
        return self._message("summary", key, f"Sammelmeldung: {len(deltas)}", document, now)

    def digest(self, data: DigestData, key: str, now: datetime) -> OutgoingMail:
        topics = [{"topic": t.topic,
                   "new": [story_document(d, self.route, now) for d in t.new],
                   "updated": [story_document(d, self.route, now) for d in t.updated],
                   "margin": [story_document(d, self.route, now) for d in t.margin]}
                  for t in data.topics]
        document = {"event": "digest", "topics": topics,
                    "period_start": data.period_start.isoformat() if data.period_start else None,
                    "period_end": data.period_end.isoformat()}
        return self._message("digest", key, "Tagesübersicht", document, now)

    def test(self, key: str, now: datetime) -> OutgoingMail:
        document = {"event": "test", "text": "Testnachricht von news-monitor"}
        return self._message("test", key, "Testnachricht", document, now)

    def _message(self, kind: str, key: str, subject: str, document: dict[str, Any],
                 now: datetime) -> OutgoingMail:
        body = {"schema": SCHEMA, "id": key.strip("<>"), "route": self.route.name,
                "sent_by": f"news-monitor {__version__}", "created": now.isoformat(),
                **document}
        raw = json.dumps(body, ensure_ascii=False, sort_keys=True).encode("utf-8")
        return OutgoingMail(message_id=key, kind=kind,  # type: ignore[arg-type]
                            recipients=(self.target(),), subject=subject[:200], raw=raw,
                            route=self.route.name, channel="webhook")

    async def send(self, message: OutgoingMail) -> str:
        headers = webhook_headers(message.raw, self.route.secret, message.message_id)
        timeout = httpx.Timeout(self.route.timeout)
        try:
            async with httpx.AsyncClient(timeout=timeout, follow_redirects=False,
                                         trust_env=False) as client:
                reply = await client.post(self.route.url, content=message.raw, headers=headers)
        except httpx.TimeoutException as exc:
            raise TransientDeliveryError(f"webhook {self.target()}: no answer in time "
                                         f"({type(exc).__name__})") from exc
        except httpx.HTTPError as exc:
            raise TransientDeliveryError(f"webhook {self.target()}: cannot connect: "
                                         f"{exc or type(exc).__name__}") from exc
        return _judge(reply, self.target())

    def target(self) -> str:
        """The webhook's address without query or credentials (they may hold tokens)."""
        parts = urlsplit(self.route.url)
        return f"{parts.scheme}://{parts.hostname or ''}{_port(parts.port)}{parts.path}"


def _port(port: int | None) -> str:
    return f":{port}" if port else ""


def webhook_headers(raw: bytes, secret: str, key: str) -> dict[str, str]:
    """The headers of a webhook delivery; the signature covers exactly ``raw``."""
    event = str(json.loads(raw).get("event", "test"))
    signature = hmac.new(secret.encode("utf-8"), raw, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json; charset=utf-8",
            "User-Agent": f"news-monitor/{__version__}",
            "X-News-Monitor-Event": event,
            "X-News-Monitor-Delivery": key.strip("<>"),
            "X-News-Monitor-Signature": f"sha256={signature}"}


def _judge(reply: httpx.Response, target: str) -> str:
    status = reply.status_code
    if 200 <= status < 300:
        return f"HTTP {status}"
    line = _first_line(reply.text)
    detail = f"webhook {target}: HTTP {status}" + (f": {line}" if line else "")
    if status in RETRIED_STATUSES or status >= 500:
        raise TransientDeliveryError(detail)
    raise PermanentDeliveryError(detail)


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()[:200]
    return ""


class AppriseChannel:
    """Short texts to any Apprise URL (Matrix, Slack, Teams, Telegram, ntfy, ...)."""

    def __init__(self, route: RouteSettings) -> None:
        self.route = route

    def alert(self, delta: Delta, key: str, now: datetime) -> OutgoingMail:
        title = f"{KIND_LABELS.get(delta.kind, delta.kind)}: {delta.title}"
        lines = [f"{delta.source} · {delta.topic} · Relevanz: {score_word(delta.score)}",
                 safe_link(delta.url) or "(kein Link)"]
        found = reasons(delta, limit=1)
        if found:
            lines.append(f"Warum: {found[0].plain()}")
        view_url, _ = desk_links(delta, self.route.mail.desk, now)
        if view_url:
            lines.append(f"Ansehen: {view_url}")
        return self._message("alert", key, title, "\n".join(lines))

    def summary(self, deltas: Sequence[Delta], key: str, now: datetime) -> OutgoingMail:
        lines = [_line(d) for d in deltas]
        return self._message("summary", key, f"Sammelmeldung: {len(deltas)} Meldungen "
                             f"({local_short(now)})", "\n".join(lines))

    def digest(self, data: DigestData, key: str, now: datetime) -> OutgoingMail:
        lines: list[str] = []
        for topic in data.topics:
            stories = [*topic.new, *topic.updated]
            if stories:
                lines.append(f"{topic.topic}:")
                lines.extend(_line(d) for d in stories)
        day = data.period_end.astimezone(ZoneInfo(data.timezone)).strftime("%d.%m.%Y")
        new = sum(not d.backfill for t in data.topics for d in t.new)
        updated = sum(len(t.updated) for t in data.topics)
        title = f"Tagesübersicht {day}: {new} neu, {updated} aktualisiert"
        return self._message("digest", key, title, "\n".join(lines) or "Keine neuen Meldungen.")

    def test(self, key: str, now: datetime) -> OutgoingMail:
        return self._message("test", key, "news-monitor: Testnachricht",
                             f"Diese Route ({self.route.name}) erreicht Sie. {local_short(now)}")

    def _message(self, kind: str, key: str, title: str, body: str) -> OutgoingMail:
        raw = json.dumps({"title": title[:250], "body": body[:4000]},
                         ensure_ascii=False).encode("utf-8")
        return OutgoingMail(message_id=key, kind=kind,  # type: ignore[arg-type]
                            recipients=(self.target(),), subject=title[:200], raw=raw,
                            route=self.route.name, channel="apprise")

    async def send(self, message: OutgoingMail) -> str:
        try:
            import apprise
        except ImportError as exc:
            raise PermanentDeliveryError("the apprise channel needs the extra "
                                         "news-monitor[apprise] (pip install apprise)") from exc
        text = json.loads(message.raw)
        notifier = apprise.Apprise(asset=apprise.AppriseAsset(
            plugin_paths=[], storage_mode="memory", secure_logging=True))
        if not notifier.add(self.route.url):
            raise PermanentDeliveryError(f"route {self.route.name}: the Apprise URL is not "
                                         "valid, or its service is unknown")
        with apprise.LogCapture(level=logging.WARNING,  # type: ignore[no-untyped-call]
                                fmt="%(message)s") as captured:
            result = await notifier.async_notify(body=text["body"], title=text["title"],
                                                 body_format=apprise.NotifyFormat.TEXT)
        if result:
            return f"accepted by {self.target()}"
        lines = [line.strip() for line in captured.getvalue().splitlines() if line.strip()]
        raise TransientDeliveryError(f"{self.target()}: " + (lines[-1][:300] if lines
                                                             else "not delivered"))

    def target(self) -> str:
        """The service and host of the Apprise URL; never its tokens."""
        parts = urlsplit(self.route.url)
        return f"Apprise {parts.scheme}://{parts.hostname or '…'}"


def _line(delta: Delta) -> str:
    link = safe_link(delta.url) or "(kein Link)"
    return f"• {KIND_LABELS.get(delta.kind, delta.kind)}: {delta.title} — {delta.source}\n  {link}"

