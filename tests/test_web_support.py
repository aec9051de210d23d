"""A review desk on a real uvicorn on 127.0.0.1, over a real SQLite store filled with a
few German stories (written for these tests), for the desk's HTTP and browser tests.

``live_desk`` serves the desk in a thread (its own event loop) and answers its base URL,
store and settings; ``login`` logs a client in. No tests here.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path

import httpx
import pytest
import uvicorn

from monitor.app.settings import WebSettings
from monitor.match import compile_topic
from monitor.models import FeedEntry, Hit, MatchResult
from monitor.notify.digest import DigestSettings, render_digest
from monitor.notify.settings import MailSettings
from monitor.store import RoutePolicy, Store
from monitor.store.records import ArticleOutcome, NewEvent
from monitor.web.app import desk_app
from monitor.web.passwords import hash_password
from monitor.web.server import _bind
from monitor.web.state import Desk, DeskParts

NOW = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)
SECRET = "test-secret-für-den-desk-0123456789"
TOKEN = "api-token-0123456789abcdef"
USER, PASSWORD = "anna", "lange-genug-2026"
PASSWORD_HASH = hash_password(PASSWORD)
TOPICS = {"joint-ventures": "Gemeinschaftsunternehmen OR \"Joint Venture\"",
          "bahn": "Bahn AND (Streik OR Tarif)"}
FEED = "wirtschaftskurier"


@dataclass(frozen=True)
class StoryText:
    slug: str
    title: str
    text: str
    topic: str
    source: str = "Wirtschaftskurier"


STORIES = (
    StoryText("stahl-jv", "Stahlkocher gründen Gemeinschaftsunternehmen für grünen Wasserstoff",
              "Duisburg. Zwei Stahlkonzerne bündeln ihre Wasserstoffpläne in einem "
              "Gemeinschaftsunternehmen. Die Anlage soll 2029 den ersten Hochofen versorgen.",
              "joint-ventures"),
    StoryText("bahn-streik", "Lokführer kündigen neuen Streik bei der Bahn an",
              "Frankfurt. Die Gewerkschaft ruft zum Streik auf, nachdem die Tarifgespräche mit "
              "der Bahn ohne Ergebnis endeten. Der Fernverkehr ist ab Donnerstag betroffen.",
              "bahn", "Tagesblatt"),
    StoryText("chip-jv", "Chipfertiger und Autozulieferer planen Joint Venture",
              "Dresden. Ein Halbleiterhersteller und ein Zulieferer wollen gemeinsam Chips für "
              "Elektroautos fertigen; das Joint Venture soll 800 Stellen schaffen.",
              "joint-ventures", "Tagesblatt"),
)
HOSTILE = StoryText("hostile", "<script>window.pwned=1;alert('x')</script>Gemeinschaftsunternehmen "
                    "<b>fett</b>",
                    "Ein Gemeinschaftsunternehmen mit <img src=x onerror=\"window.pwned=2\"> im "
                    "Text.", "joint-ventures", "Feed<script>window.pwned=3</script>")


def url_of(story: StoryText) -> str:
    return f"https://www.wirtschaftskurier.example/unternehmen/{story.slug}.html"


def outcome(article_id: int, story: StoryText, at: datetime, text: str | None = None,
            kind: str = "new", routes: tuple[RoutePolicy, ...] = (),
            url: str | None = None) -> ArticleOutcome:
    body = text or story.text
    hit = Hit(clause="Gemeinschaftsunternehmen", field="text", term="Gemeinschaftsunternehmen",
              snippet=body[:80], marks=())
    return ArticleOutcome(
        article_id=article_id, fetched_at=at, title=story.title, text=body,
        text_hash=hashlib.sha256(body.encode()).hexdigest(), extract_status="ok",
        source=story.source, url=url or url_of(story), summary=body, published=at,
        matches=(MatchResult(story.topic, True, 2.0, (hit,)),),
        events=(NewEvent(kind=kind, topic=story.topic, score=2.0, hits=(hit,)),),  # type: ignore[arg-type]
        routes=routes)


def add_story(store: Store, story: StoryText, at: datetime = NOW - timedelta(hours=2),
              *, url: str | None = None) -> int:
    """A stored, matched story with its feed entry and its ``new`` event; its article id."""
    [feed] = [f for f in store.feed_states() if f.name == FEED]
    link = url or url_of(story)
    entry = FeedEntry(key=f"urn:{story.slug}", guid=f"urn:{story.slug}", link=link,
                      raw_link=link, title=story.title, summary=story.text,
                      published=at, updated=None, has_date=True)
    store.record_entries(feed.id, [entry], at=at)
    ref = store.upsert_article(link, at=at, title=story.title, source=story.source,
                               entry=(feed.id, entry.key))
    store.save_outcome(outcome(ref.id, story, at, url=link))
    return ref.id


def web_settings(**kw: object) -> WebSettings:
    values: dict[str, object] = {
        "listen": "127.0.0.1:0", "base_url": "http://desk.example", "secret": SECRET,
        "users": ((USER, PASSWORD_HASH),), "tokens": (("integration", TOKEN),),
        "public_metrics": False}
    values.update(kw)
    return WebSettings(**values)  # type: ignore[arg-type]


@dataclass
class LiveDesk:
    base: str
    store: Store
    ids: dict[str, int]
    settings: WebSettings
    clock: list[datetime] = field(default_factory=lambda: [NOW])
    parts: DeskParts | None = None

    def url(self, path: str) -> str:
        return self.base + path


def digest_settings(tmp_path: Path) -> DigestSettings:
    return DigestSettings(timezone="Europe/Berlin", send_empty=True, topics=tuple(TOPICS),
                          feeds=(FEED,), mail=MailSettings("desk@example.org",
                                                           ("analyse@example.org",)),
                          archive_dir=tmp_path / "digests")


class _Thread(uvicorn.Server):
    def install_signal_handlers(self) -> None:   # older uvicorn; newer ones skip threads
        pass


@pytest.fixture
def live_desk(store: Store, tmp_path: Path) -> Iterator[LiveDesk]:
    store.sync_feeds([(FEED, "https://www.wirtschaftskurier.example/rss")])
    ids = {s.slug: add_story(store, s, NOW - timedelta(hours=3 - n))
           for n, s in enumerate(STORIES)}
    topics = [compile_topic(name, query, aliases={}) for name, query in TOPICS.items()]
    parts = DeskParts(store, topics, (digest_settings(tmp_path),))
    settings = web_settings()
    clock = [NOW]
    live = LiveDesk("", store, ids, settings, clock, parts)    # a test may swap its parts
    desk = Desk(settings, lambda: live.parts, lambda: (True, "desk"), clock=lambda: clock[0])
    sock = _bind("127.0.0.1:0")
    server = _Thread(uvicorn.Config(desk_app(desk), log_config=None, lifespan="off"))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])),
                              daemon=True)
    thread.start()
    while not server.started:
        threading.Event().wait(0.02)
    host, port = sock.getsockname()[:2]
    try:
        live.base = f"http://{host}:{port}"
        yield live
    finally:
        server.should_exit = True
        thread.join(10)


def digest_text(store: Store, parts: DeskParts | None) -> str:
    """The plain text of the digest mail a send at NOW would queue."""
    assert parts is not None
    raw = render_digest(store, parts.digest, NOW).mail.raw
    mail = message_from_bytes(raw, policy=policy.default)
    body = mail.get_body(("plain",))  # type: ignore[attr-defined]
    assert body is not None
    return str(body.get_content())


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def login(client: httpx.Client, desk: LiveDesk) -> None:
    form = client.get(desk.url("/login"))
    answer = client.post(desk.url("/login"), data={
        "csrf": csrf_of(form.text), "name": USER, "password": PASSWORD, "next": "/"})
    assert answer.status_code == 303, answer.text


def client_for(desk: LiveDesk) -> Callable[[], httpx.Client]:
    return lambda: httpx.Client(base_url=desk.base, follow_redirects=False, timeout=10)
