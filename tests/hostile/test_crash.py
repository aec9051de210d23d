"""Crash consistency: the real daemon SIGKILLed at seeded random moments, restarted, again.

Stories appear on two local feeds while ``news-monitor run`` polls them every 2 s, fetches
the pages, matches, records deltas and mails alerts to a local SMTP server; at random
moments (during start-up, polls, extraction, sends) it is killed with SIGKILL and started
again. A final clean run drains the outbox. Then: the SQLite file passes
``PRAGMA integrity_check``, every relevant story has exactly one ``new`` event for the
topic, and every alert's Message-ID arrived at least once; duplicates (a kill between the
server's OK and our commit) are counted and can be at most one per kill.
``NEWS_MONITOR_FULL=1`` kills 50 times instead of 5.
"""

from __future__ import annotations

import random
import sqlite3
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import pytest

from monitor.models import public_message_id
from monitor.store import open_store
from tests.conftest import NewsSite, SmtpServer
from tests.hostile.crashlab import EVENTS, Daemon, Newsdesk, query, story_number
from tests.hostile.helpers import Figures, full_run, hostile_config
from tests.newsroom import Item, Story, page, rss

SEED = 4711
TOPIC = "alibaba-russland"
EXTRA = '\n[alerts]\nmax_per_hour = 10000\n\n[digest]\nenabled = false\n'
# A story whose entry or article was committed but never evaluated used to be lost after a
# kill (fixed: such an article is evaluated on the next poll); losses now fail the run.
LOSS_TOLERATED = False


def unevaluated(db: Path, number: int) -> bool:
    """The known-bug signature: story ``number`` has no revision (never evaluated)."""
    rows = query(db, "SELECT COUNT(r.id) FROM entries e LEFT JOIN revisions r "
                     "ON r.article_id = e.article_id WHERE e.key = 'guid:story-" f"{number}'")
    return rows == [(0,)]


def crash_config(tmp_path: Path, desk: Newsdesk, smtp: SmtpServer) -> Path:
    feeds = [{"name": name, "url": desk.site.url(path), "interval": "2s"}
             for name, path in zip(("Wirtschaftskurier", "Boersenblatt"), desk.feeds, strict=True)]
    return hostile_config(tmp_path, feeds, smtp_port=smtp.port, extra=EXTRA)


def run_and_kill(daemon: Daemon, desk: Newsdesk, rng: random.Random) -> None:
    """One life of the daemon: start, maybe publish, die at a random moment."""
    daemon.start()
    if rng.random() < 0.15:
        time.sleep(rng.uniform(0.2, 2.5))  # during start-up, migrations, the first claim
    else:
        daemon.wait_ready()
        for _ in range(rng.choice((0, 1, 1, 2))):
            desk.publish(relevant=rng.random() < 0.8)
        time.sleep(rng.uniform(0.0, 3.0))  # during a poll, an extraction, a send
    daemon.kill()


def settled(config_db: str, site: NewsSite, feeds: Sequence[str], seen: int) -> bool:
    """Every feed polled twice since the final start, and no mail left to send."""
    polls = Counter(path for path, _ in site.requests[seen:])
    if any(polls[path] < 2 for path in feeds):
        return False
    store = open_store(config_db)
    try:
        return not store.outbox(status="pending")
    finally:
        store.close()


def drain(daemon: Daemon, site: NewsSite, feeds: Sequence[str], db: Path,
          timeout: float = 60) -> None:
    """The final clean run: start, wait until polled and sent, stop with SIGTERM."""
    daemon.start()
    daemon.wait_ready()
    seen = len(site.requests)
    deadline = time.monotonic() + timeout
    while not settled(f"sqlite:///{db}", site, feeds, seen):
        assert time.monotonic() < deadline, daemon.tail()
        time.sleep(0.5)
    assert daemon.stop() == 0, daemon.tail()


@pytest.mark.timeout(1800)   # the full run (50 kills) takes minutes
def test_sigkilled_daemon_loses_and_doubles_no_delta_and_no_alert(
        site: NewsSite, smtp: SmtpServer, tmp_path: Path, figures: Figures) -> None:
    kills = 50 if full_run() else 5
    rng = random.Random(SEED)
    desk = Newsdesk(site, random.Random(SEED + 1))
    desk.publish()
    desk.publish(relevant=False)
    config = crash_config(tmp_path, desk, smtp)
    db = tmp_path / "state" / "monitor.db"
    daemon = Daemon(config)
    for _ in range(kills):      # the restarted daemon frees its dead predecessor's leases
        run_and_kill(daemon, desk, rng)
    drain(daemon, site, desk.feeds, db)

    assert query(db, "PRAGMA integrity_check") == [("ok",)]
    news = Counter((story_number(str(url)), topic)
                   for url, topic in query(db, "SELECT url, topic FROM events WHERE kind = 'new'"))
    expected = {(n, TOPIC) for n in desk.relevant}
    alerts = query(db, "SELECT message_id, status FROM outbox WHERE kind = 'alert'")
    inbox = Counter(str(m["Message-ID"]) for m in smtp.inbox.messages)
    [(installation,)] = query(db, "SELECT value FROM meta WHERE name = 'installation_id'")
    lost_mails = [mid for mid, _ in alerts
                  if inbox[public_message_id(str(mid), installation, "example.org")] == 0]
    doubled_mails = sum(count - 1 for count in inbox.values())
    lost = expected - set(news)
    known = {k for k in lost if LOSS_TOLERATED and unevaluated(db, k[0])}
    figures.record("crash", kills=kills, stories=len(desk.published), relevant=len(expected),
                   deltas=sum(news.values()), deltas_lost=len(lost), lost_to_known_bug=len(known),
                   deltas_doubled=sum(c - 1 for c in news.values()), alerts=len(alerts),
                   mails_lost=len(lost_mails), mails_doubled=doubled_mails)
    assert set(news) | known == expected, f"lost {lost - known}, spurious {set(news) - expected}"
    assert max(news.values()) == 1, news
    assert len(alerts) == len(news) and {status for _, status in alerts} == {"sent"}
    assert not lost_mails
    assert doubled_mails <= kills


def long_story(headline: str, lead: str) -> Story:
    """A long article (about 400 KB of text): matching and clustering it take a while."""
    words = [f"{w}{n % 97}" for n in range(60_000)
             for w in ("Lieferkette", "Zoll", "Umsatz", "Lager", "Rubel", "Händler")[n % 6:][:1]]
    paragraphs = [" ".join(words[i:i + 60]) + "." for i in range(0, len(words), 60)]
    return Story(headline, [lead, *paragraphs])


def has_article(db: Path) -> bool:
    try:
        return db.exists() and bool(query(db, "SELECT id FROM articles"))
    except sqlite3.OperationalError:  # the daemon is still creating the schema
        return False


def test_kill_between_article_row_and_outcome_does_not_lose_its_delta(
        site: NewsSite, smtp: SmtpServer, tmp_path: Path) -> None:
    headline, lead = EVENTS[0]
    site.put("/artikel/lang", page(long_story(headline, lead)), "text/html; charset=utf-8")
    site.put("/feed.xml", rss(site.url("").rstrip("/"), "Wirtschaftskurier",
                              [Item(headline, "/artikel/lang", lead, guid="lang")]))
    feeds = [{"name": "Wirtschaftskurier", "url": site.url("/feed.xml"), "interval": "2s"}]
    config = hostile_config(tmp_path, feeds, smtp_port=smtp.port, extra=EXTRA)
    db = tmp_path / "state" / "monitor.db"
    daemon = Daemon(config)
    daemon.start()
    deadline = time.monotonic() + 60
    while not has_article(db):
        assert time.monotonic() < deadline, daemon.tail()
        time.sleep(0.01)
    daemon.kill()
    assert query(db, "SELECT COUNT(*) FROM revisions") == [(0,)]  # killed inside the window
    drain(daemon, site, ["/feed.xml"], db)
    assert query(db, "SELECT topic, kind FROM events") == [(TOPIC, "new")]
    assert len(smtp.inbox.messages) == 1
