"""The daily digest end to end: deltas found by real polls of a local news site on several
days, digests sent through a real SMTP server on 127.0.0.1 (aiosmtpd). A missed or undelivered
digest is caught up by the next one, no delta is in two digests, and the 07:00 Europe/Berlin
schedule and periods stay right across the daylight-saving changes (time-machine)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
import time_machine

from monitor.app.settings import service_settings
from monitor.app.wiring import App, open_app
from monitor.config.model import Config, load_config
from monitor.notify.digest import DigestResult
from monitor.service.daemon import digest_trigger
from tests.conftest import NewsSite, SmtpServer, write_config
from tests.newsroom import JV_PARAGRAPH, LAYOFFS, Item, Story, page, rss

HTML = "text/html; charset=utf-8"
STAKE = Story(
    headline="VK trennt sich von seinem Anteil an AliExpress Russland",
    paragraphs=[
        "Die Internetgruppe VK steigt aus dem Gemeinschaftsunternehmen um AliExpress Russland "
        "aus. Ihren Anteil übernimmt nach Angaben aus Moskau eine Investorengruppe, deren "
        "Namen nicht genannt wurden.",
        "Alibaba bleibt an dem Onlinehändler beteiligt. Der Konzern aus Hangzhou hatte das "
        "Russland-Geschäft nach Beginn des Krieges gegen die Ukraine deutlich zurückgefahren.",
        "Analysten werten den Schritt als weiteres Zeichen dafür, dass sich die Partner des "
        "einst gefeierten Bündnisses auseinanderleben.",
    ],
)


class Newsroom:
    """The Wirtschaftskurier's feed, its pages and a settable clock shared with the app."""

    def __init__(self, site: NewsSite, now: datetime) -> None:
        self.site, self.now = site, now
        self.items: list[Item] = []

    def clock(self) -> datetime:
        return self.now

    def story(self, path: str, story: Story, summary: str) -> None:
        self.site.put(path, page(story), HTML)
        self.items = [i for i in self.items if i.path != path]
        self.items.append(Item(story.headline, path, summary, guid=path, age=timedelta(0)))
        self.site.put("/feed.xml", rss(self.site.url("").rstrip("/"), "Wirtschaftskurier",
                                       self.items, now=self.now))


def load(tmp_path: Path, site: NewsSite, port: int, *, extra: str = "",
         broken: bool = False) -> Config:
    feeds = [{"name": "Wirtschaftskurier", "url": site.url("/feed.xml")}]
    if broken:
        feeds.append({"name": "Börsenbote", "url": site.url("/boersenbote.xml")})
    path = write_config(tmp_path, feeds, smtp_port=port, extra=extra)
    return load_config(path, env={"STATE_DIRECTORY": str(tmp_path / "state")})


def with_app(config: Config, clock: Callable[[], datetime] | None,
             work: Callable[[App], object]) -> object:
    async def run() -> object:
        async with open_app(config, **({"clock": clock} if clock else {})) as app:
            result = work(app)
            if asyncio.iscoroutine(result):
                result = await result
            await app.delivery.flush()
            return result
    return asyncio.run(run())


def poll(config: Config, clock: Callable[[], datetime] | None = None) -> None:
    with_app(config, clock, lambda app: app.pipeline.run_cycle(due_only=False))


def send_digest(app: App) -> object:
    return app.send_digest()


def digest(config: Config, clock: Callable[[], datetime] | None = None) -> DigestResult:
    result = with_app(config, clock, send_digest)
    assert isinstance(result, DigestResult)
    return result


def text(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


def digests(smtp: SmtpServer) -> list[str]:
    return [text(m) for m in smtp.inbox.messages if "Tagesübersicht" in m["Subject"]]


def layoffs_with_jv() -> Story:
    return Story(LAYOFFS.headline, [*LAYOFFS.paragraphs, JV_PARAGRAPH])


def test_undelivered_digest_is_caught_up_by_the_next_with_both_days_and_never_repeated(
        site: NewsSite, smtp: SmtpServer, tmp_path: Path) -> None:
    day = datetime(2026, 1, 12, 6, 0, tzinfo=UTC)           # 07:00 in Berlin (CET)
    news = Newsroom(site, day)
    config = load(tmp_path, site, smtp.port, broken=True)
    digest(config, news.clock)                               # Monday: nothing yet
    news.now = day + timedelta(hours=4)
    news.story("/a/stellen", LAYOFFS, "Personalabbau.")
    poll(config, news.clock)                                 # Monday: the layoffs
    smtp.stop()
    news.now = day + timedelta(days=1)
    missed = digest(config, news.clock)                      # Tuesday's digest cannot go out
    news.now = day + timedelta(days=1, hours=4)
    news.story("/a/stellen", layoffs_with_jv(), "Personalabbau; die Partner schweigen.")
    news.story("/a/vk", STAKE, "VK steigt aus.")
    poll(config, news.clock)                                 # Tuesday: an update, a new story
    smtp.start()
    news.now = day + timedelta(days=2)
    catch_up = digest(config, news.clock)                    # Wednesday
    news.now = day + timedelta(days=3)
    digest(config, news.clock)                               # Thursday: nothing new

    first, caught, last = digests(smtp)
    assert "Keine neuen Meldungen" in first
    assert "Zeitraum: 12.01.2026, 07:00 Uhr bis 14.01.2026, 07:00 Uhr" in caught
    assert "2 neu, 0 aktualisiert" in caught               # the update joins its story's entry
    assert caught.count(LAYOFFS.headline) == 1 and "seitdem aktualisiert" in caught
    assert LAYOFFS.headline in caught and STAKE.headline in caught
    assert "Keine neuen Meldungen" in last and LAYOFFS.headline not in last
    assert "Fehlerhafte Feeds:\r\n  - Börsenbote: " in caught and "404" in caught
    assert catch_up.events == 3 and missed.events == 1
    assert "Zeitraum: 14.01.2026, 07:00 Uhr bis 15.01.2026, 07:00 Uhr" in last
    alerts = [m for m in smtp.inbox.messages if "Tagesübersicht" not in m["Subject"]]
    assert len(alerts) == 3 and len(smtp.inbox.envelopes) == 6   # each mail once


def test_empty_day_sends_a_short_digest_unless_send_empty_is_false(
        site: NewsSite, smtp: SmtpServer, tmp_path: Path) -> None:
    site.put("/feed.xml", rss(site.url("").rstrip("/"), "Wirtschaftskurier", []))
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    digest(load(tmp_path / "a", site, smtp.port))
    [empty] = digests(smtp)
    assert "Keine neuen Meldungen in diesem Zeitraum." in empty
    quiet = load(tmp_path / "b", site, smtp.port, extra="[digest]\nsend_empty = false\n")
    assert with_app(quiet, None, send_digest) is None
    assert len(smtp.inbox.envelopes) == 1
    assert not (tmp_path / "b" / "state" / "digests").exists()


@pytest.mark.parametrize(("saturday", "hours"), [
    (datetime(2026, 3, 28, 12, tzinfo=UTC), 23),     # CET -> CEST on Sunday 29 March
    (datetime(2026, 10, 24, 12, tzinfo=UTC), 25),    # CEST -> CET on Sunday 25 October
])
def test_digest_at_seven_berlin_time_across_daylight_saving(
        saturday: datetime, hours: int, tmp_path: Path, site: NewsSite,
        smtp: SmtpServer) -> None:
    config = load(tmp_path, site, smtp.port)
    trigger = digest_trigger(service_settings(config))   # what the service schedules
    with time_machine.travel(saturday - timedelta(hours=12), tick=False):
        fires = [trigger.get_next_fire_time(None, datetime.now(UTC))]
    for _ in range(2):
        fires.append(trigger.get_next_fire_time(fires[-1], fires[-1] + timedelta(seconds=1)))
    assert [f.strftime("%a %H:%M") for f in fires] == ["Sat 07:00", "Sun 07:00", "Mon 07:00"]
    sat, sun, mon = (f.astimezone(UTC) for f in fires)
    assert (sun - sat, mon - sun) == (timedelta(hours=hours), timedelta(hours=24))
    assert sun.hour == (5 if hours == 23 else 6)             # 07:00 CEST / 07:00 CET in UTC

    news = Newsroom(site, sat)

    def at(moment: datetime, work: Callable[[], object]) -> object:
        news.now = moment
        with time_machine.travel(moment, tick=True):
            return work()

    at(sat, lambda: digest(config))
    at(sun - timedelta(minutes=30), lambda: (news.story("/a/stellen", LAYOFFS, "Abbau."),
                                             poll(config)))
    sunday = at(sun, lambda: digest(config))
    at(sun + timedelta(minutes=30), lambda: (
        news.story("/a/stellen", layoffs_with_jv(), "Abbau; die Partner schweigen."),
        poll(config)))
    monday = at(mon, lambda: digest(config))

    _, sunday_text, monday_text = digests(smtp)
    day = sat.strftime("%d.%m.%Y")
    assert f"Zeitraum: {day}, 07:00 Uhr bis {sun:%d.%m.%Y}, 07:00 Uhr" in sunday_text
    assert f"Zeitraum: {sun:%d.%m.%Y}, 07:00 Uhr bis {mon:%d.%m.%Y}, 07:00 Uhr" in monday_text
    assert "1 neu, 0 aktualisiert" in sunday_text and LAYOFFS.headline in sunday_text
    assert "0 neu, 1 aktualisiert" in monday_text
    assert isinstance(sunday, DigestResult) and isinstance(monday, DigestResult)
    assert (sunday.events, monday.events) == (1, 1)
