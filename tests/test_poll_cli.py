"""`news-monitor poll` and `feeds` as a user runs them, against a local news site."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import NewsSite, run_cli, write_config
from tests.newsroom import LAYOFFS, OTHER, TRAP, Item, page, rss


def publish(site: NewsSite) -> None:
    base = site.url("")
    site.put("/artikel/aliexpress-stellen", page(LAYOFFS), "text/html; charset=utf-8")
    site.put("/artikel/wasserstoff", page(TRAP), "text/html; charset=utf-8")
    site.put("/artikel/dax", page(OTHER), "text/html; charset=utf-8")
    site.put("/feed.xml", rss(base.rstrip("/"), "Wirtschaftskurier", [
        Item(LAYOFFS.headline, "/artikel/aliexpress-stellen",
             "Das Gemeinschaftsunternehmen baut Personal ab.", guid="wk-1"),
        Item(TRAP.headline, "/artikel/wasserstoff", "Industrie stellt Öfen um.", guid="wk-2"),
        Item(OTHER.headline, "/artikel/dax", "Anleger erleichtert.", guid="wk-3"),
    ]))


def test_poll_twice_second_is_not_modified(site: NewsSite, tmp_path: Path) -> None:
    publish(site)
    config = write_config(tmp_path, [{"name": "Wirtschaftskurier", "url": site.url("/feed.xml")}])
    first = run_cli("poll", config=config)
    assert first.returncode == 0, first.stderr
    assert "new=3 matches=1" in first.stdout, first.stdout + first.stderr
    assert "match alibaba-russland: AliExpress Russland streicht" in first.stdout
    assert "Wasserstoff" not in first.stdout.split("match")[-1]
    second = run_cli("poll", config=config)
    assert second.returncode == 0, second.stderr
    assert "not modified" in second.stdout and "0 new entries" in second.stdout
    feed_requests = site.hits("/feed.xml")
    assert feed_requests[-1].get("If-None-Match") == '"v4"'
    assert "news-monitor/" in feed_requests[-1]["User-Agent"]
    table = run_cli("feeds", config=config)
    assert "Wirtschaftskurier" in table.stdout and "not_modified" in table.stdout


def test_misspelt_key_exits_2_and_names_it(tmp_path: Path) -> None:
    config = write_config(tmp_path, [{"name": "x", "url": "http://127.0.0.1:9/feed",
                                      "intervall": "5m"}])
    result = run_cli("poll", config=config)
    assert result.returncode == 2
    assert 'feeds[0] ("x").intervall: unknown key (did you mean \'interval\'?)' in result.stderr
    assert "Traceback" not in result.stderr
