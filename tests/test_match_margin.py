"""Stories that name the topic in passing: polled, never alerted, listed in the digest under
"Am Rande erwähnt" when the topic asks for it (the shipped default topic does)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from tests.conftest import NewsSite, default_topic_toml, run_cli, write_config
from tests.newsroom import LAYOFFS, Item, Story, page, rss

LABELLED = Path(__file__).resolve().parent / "fixtures" / "labelled"


def labelled(article_id: str) -> dict[str, Any]:
    with open(LABELLED / "negatives.toml", "rb") as fh:
        articles = tomllib.load(fh)["article"]
    return next(a for a in articles if a["id"] == article_id)


def story(article: dict[str, Any]) -> Story:
    paragraphs = [p.strip() for p in article["text"].split("\n\n") if p.strip()]
    return Story(headline=article["title"], paragraphs=paragraphs)


WRAP = labelled("marktbericht-asien-morgen")
ROUNDUP = labelled("kurz-notiert-logistik")


def publish(site: NewsSite) -> None:
    base = site.url("").rstrip("/")
    site.put("/artikel/aliexpress-stellen", page(LAYOFFS), "text/html; charset=utf-8")
    site.put("/artikel/boerse-asien", page(story(WRAP)), "text/html; charset=utf-8")
    site.put("/artikel/in-kuerze", page(story(ROUNDUP)), "text/html; charset=utf-8")
    site.put("/feed.xml", rss(base, "Wirtschaftskurier", [
        Item(LAYOFFS.headline, "/artikel/aliexpress-stellen",
             "Das Gemeinschaftsunternehmen baut Personal ab.", guid="wk-1"),
        Item(WRAP["title"], "/artikel/boerse-asien", WRAP["summary"], guid="wk-2"),
        Item(ROUNDUP["title"], "/artikel/in-kuerze", ROUNDUP["summary"], guid="wk-3"),
    ]))


def rows(tmp_path: Path, sql: str) -> list[Any]:
    engine = create_engine(f"sqlite:///{tmp_path / 'state' / 'monitor.db'}")
    with engine.connect() as conn:
        found = list(conn.execute(text(sql)).all())
    engine.dispose()
    return found


def test_passing_mentions_are_listed_in_the_digest_and_never_alerted(
        site: NewsSite, tmp_path: Path) -> None:
    publish(site)
    config = write_config(tmp_path, [{"name": "Wirtschaftskurier",
                                      "url": site.url("/feed.xml")}])
    polled = run_cli("poll", config=config)
    assert polled.returncode == 0, polled.stderr
    assert "new=3 matches=1" in polled.stdout, polled.stdout
    assert "match alibaba-russland: AliExpress Russland streicht" in polled.stdout
    events = rows(tmp_path, "SELECT kind, title FROM events ORDER BY id")
    assert sorted(events) == sorted([("new", LAYOFFS.headline), ("margin", WRAP["title"]),
                                     ("margin", ROUNDUP["title"])])
    alerts = rows(tmp_path, "SELECT e.title FROM outbox o JOIN events e ON e.id = o.event_id")
    assert [a.title for a in alerts] == [LAYOFFS.headline]
    digest = run_cli("digest", "--text", config=config)
    assert digest.returncode == 0, digest.stderr
    new_part, margin_part = digest.stdout.split("Am Rande erwähnt (2, kein Alert):")
    assert LAYOFFS.headline in new_part and "Neu (1):" in new_part
    assert WRAP["title"] not in new_part and ROUNDUP["title"] not in new_part
    listed = margin_part.split("== Zustand der Quellen ==")[0]
    assert WRAP["title"] in listed and ROUNDUP["title"] in listed
    assert site.url("/artikel/boerse-asien") in listed
    preview = tmp_path / "digest.html"
    assert run_cli("digest", "--preview", str(preview), config=config).returncode == 0
    html = preview.read_text(encoding="utf-8")
    assert "<h3>Am Rande erwähnt (2, kein Alert)</h3>" in html
    assert html.index("Am Rande erwähnt") > html.index("AliExpress Russland streicht")
    stored = run_cli("explain", "--topic", "alibaba-russland", "--stored", config=config)
    would, below = stored.stdout.split("unter der Schwelle 3.50 (Am Rande erwähnt):")
    assert LAYOFFS.headline in would and WRAP["title"] in below and ROUNDUP["title"] in below
    assert "1 of 3 stored articles" in below and "2 more name it below its min_score" in below


def test_without_margin_the_digest_does_not_list_them(site: NewsSite, tmp_path: Path) -> None:
    publish(site)
    topic = default_topic_toml().replace("margin = true", "margin = false")
    config = write_config(tmp_path, [{"name": "Wirtschaftskurier",
                                      "url": site.url("/feed.xml")}], topics=False, extra=topic)
    assert run_cli("poll", config=config).returncode == 0
    assert rows(tmp_path, "SELECT kind FROM events WHERE kind = 'margin'") == []
    digest = run_cli("digest", "--text", config=config)
    assert "Am Rande erwähnt" not in digest.stdout and LAYOFFS.headline in digest.stdout
