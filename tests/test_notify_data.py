"""Sample records and a collecting SMTP server for the notify tests (no tests here).

The alerts are German, modelled on real reporting about AliExpress Russland; no sentence
is copied from a publisher.
"""

from __future__ import annotations

import contextlib
import email
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from monitor.models import Delta, DigestData, FeedHealth, Hit, TopicDigest, WordDiff
from monitor.notify.settings import MailSettings

T0 = datetime(2024, 3, 12, 8, 15, tzinfo=UTC)
TOPIC = "alibaba-russland"
SETTINGS = MailSettings(
    sender="News Monitor <monitor@example.org>",
    to=("analyst@example.org", "desk@example.org"),
    subject_prefix="Alibaba-Russland",
)
HOSTILE_TITLE = (
    "<script>alert(1)</script> AliExpress & Co. =?UTF-8?Q?=0A?=Bcc: x@example.org"
    " \r\nBcc: y@example.org"
)


def hit(snippet: str, term: str, *, field: str = "text", clause: str = "@alibaba") -> Hit:
    start = snippet.index(term)
    return Hit(clause=clause, field=field, term=term, snippet=snippet,
               marks=((start, start + len(term)),))


def new_delta(**changes: object) -> Delta:
    base = dict(
        id=11, kind="new", topic=TOPIC,
        url="https://www.handelsblatt.com/unternehmen/aliexpress-russland-stellenabbau/100.html",
        title="AliExpress Russland streicht bis zu 40 Prozent der Stellen",
        source="Handelsblatt", published=T0 - timedelta(minutes=20), detected_at=T0,
        score=9.5,
        hits=(
            hit("Das Gemeinschaftsunternehmen von Alibaba, MegaFon und dem Staatsfonds RDIF "
                "baut Personal ab.", "Alibaba", clause="@alibaba"),
            hit("AliExpress Russland streicht bis zu 40 Prozent der Stellen", "AliExpress Russland",
                field="title", clause='"AliExpress Russland"'),
        ),
        summary="Wegen der Sanktionen bricht der Handel über die Plattform ein; betroffen sind "
                "vor allem Bereiche, die vom Westgeschäft abhingen.",
        also_reported_by=("n-tv", "FAZ"), cluster_size=3,
        thread_id="<alert.11.5f2c9a1b@news-monitor.localhost>",
    )
    base.update(changes)
    return Delta(**base)  # type: ignore[arg-type]


def updated_delta(**changes: object) -> Delta:
    diff = WordDiff(
        segments=(
            ("=", "Der Stellenabbau begann vor einem Monat und betrifft laut einem Bericht der "
                  "Zeitung Kommersant"),
            ("-", "bis zu 40 Prozent"),
            ("+", "mehr als 45 Prozent"),
            ("=", "der Beschäftigten. AliExpress Russland wollte sich"),
            ("-", "nicht äußern."),
            ("+", "auf Nachfrage nicht dazu äußern, bestätigte aber Gespräche mit VK."),
        ),
        added_words=15, removed_words=6,
    )
    values: dict[str, object] = dict(id=12, kind="updated", detected_at=T0 + timedelta(hours=3),
                                     diff=diff, score=10.25, also_reported_by=())
    values.update(changes)
    return new_delta(**values)


def digest_data(*, empty: bool = False) -> DigestData:
    topics = (TopicDigest(topic=TOPIC),) if empty else (
        TopicDigest(topic=TOPIC, new=(
            new_delta(id=21, score=5.0, title="VK übernimmt Anteile am Joint Venture mit Alibaba",
                      source="FAZ", also_reported_by=(),
                      url="https://www.faz.net/aktuell/wirtschaft/vk-alibaba-joint-venture-1.html",
                      hits=(hit("Der Internetkonzern VK stockt seine Beteiligung an AliExpress "
                                "Russland auf.", "AliExpress Russland"),)),
            new_delta(),
        ), updated=(updated_delta(),)),
    )
    health = (
        FeedHealth(name="tagesschau-wirtschaft",
                   url="https://www.tagesschau.de/wirtschaft/index~rss2.xml",
                   last_status="http_status", last_error="HTTP 503 Service Unavailable",
                   consecutive_errors=4, last_success_at=T0 - timedelta(hours=7),
                   last_new_at=T0 - timedelta(hours=8)),
        FeedHealth(name="wiwo-unternehmen",
                   url="https://www.wiwo.de/contentexport/feed/rss/unternehmen",
                   last_status="not_modified", last_error=None, consecutive_errors=0,
                   last_success_at=T0, last_new_at=T0 - timedelta(days=5)),
        FeedHealth(name="handelsblatt",
                   url="https://www.handelsblatt.com/contentexport/feed/schlagzeilen",
                   last_status="ok", last_error=None, consecutive_errors=0,
                   last_success_at=T0, last_new_at=T0),
    )
    return DigestData(
        period_start=T0 - timedelta(days=1), period_end=T0 + timedelta(hours=4),
        timezone="Europe/Berlin", topics=topics, health=health,
        extraction_problems={"consent_wall": 2, "paywall": 1, "ok": 0},
        counts={"feeds": 3, "polls": 96, "articles": 41, "new": 0 if empty else 2,
                "updated": 0 if empty else 1},
    )


@dataclass
class Collector:
    """aiosmtpd handler keeping every envelope; ``reply`` replaces the DATA answer."""

    envelopes: list[Any] = field(default_factory=list)
    reply: str = "250 Message accepted for delivery"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.reply.startswith("250"):
            self.envelopes.append(envelope)
        return self.reply

    def messages(self) -> list[EmailMessage]:
        return [email.message_from_bytes(e.content, policy=policy.default)  # type: ignore[misc]
                for e in self.envelopes]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(handler: Collector, port: int | None = None, **kwargs: Any) -> Controller:
    controller = Controller(handler, hostname="127.0.0.1", port=port or free_port(), **kwargs)
    controller.start()
    return controller


@contextlib.contextmanager
def serving(handler: Collector, port: int | None = None, **kwargs: Any) -> Iterator[Controller]:
    """A running aiosmtpd server on 127.0.0.1, stopped on the way out."""
    controller = start(handler, port, **kwargs)
    try:
        yield controller
    finally:
        controller.stop()
