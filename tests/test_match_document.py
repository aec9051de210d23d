"""One rule for what of an article is matched: the pipeline and `explain` agree.

A poll stores a score for a page and its feed entry; `explain` on the same page with the
same entry's teaser, and `explain --stored` over what the poll stored, give the same verdict
and the same score. A consent wall's words never count, whoever builds the document.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monitor.match import article_document, compile_topic, page_document
from monitor.models import Page
from tests.conftest import NewsSite, run_cli, write_config
from tests.newsroom import LAYOFFS, Item, Story, page, rss

TEASER = "Der Umbau bei AliExpress Russland trifft auch die Partner MegaFon und VK."
# The page says Alibaba; only the teaser names the partners: the score depends on both.
PARTNERS = Story(
    headline="Alibaba ordnet sein Russlandgeschäft neu",
    paragraphs=[
        "Der chinesische Onlinehändler Alibaba stellt sein Geschäft in Russland neu auf. "
        "Nach Angaben aus Konzernkreisen in Hangzhou sollen Lager zusammengelegt und "
        "Verträge mit Logistikdienstleistern neu verhandelt werden.",
        "Die Sanktionen gegen Russland hätten den Zahlungsverkehr erschwert, heißt es. "
        "Ein Sprecher wollte sich zu Einzelheiten nicht äußern.",
    ])


def _topic() -> object:
    aliases = {"alibaba": ["alibaba", "aliexpress"], "russland": ["russland", "russ*"],
               "partner": ["megafon", "vk", "mail.ru", "rdif"]}
    return compile_topic("t", "(@alibaba NEAR/15 @russland) OR (@alibaba AND @partner)",
                         aliases=aliases)


def test_a_wall_page_is_matched_on_title_and_teaser_only() -> None:
    wall = Page(url="https://example.org/a", canonical_url="https://example.org/a",
                title="", text="Alibaba Russland Alibaba Russland Cookies akzeptieren",
                status="consent_wall")
    doc = page_document(wall, feed_title="Neues von der Börse", feed_summary="Kurse steigen.")
    ok = page_document(Page(url="u", canonical_url="u", title="", text=wall.text, status="ok"),
                       feed_title="Neues von der Börse", feed_summary="Kurse steigen.")
    topic = _topic()
    assert not topic.evaluate(doc).matched          # type: ignore[attr-defined]
    assert topic.evaluate(ok).matched               # type: ignore[attr-defined]
    same = article_document(title="", feed_title="Neues von der Börse",
                            feed_summary="Kurse steigen.", text=wall.text, status="consent_wall")
    assert topic.evaluate(same).score == topic.evaluate(doc).score  # type: ignore[attr-defined]


@pytest.mark.parametrize("story, teaser", [(PARTNERS, TEASER), (LAYOFFS, "Stellenabbau.")])
def test_poll_explain_and_explain_stored_give_the_same_verdict_and_score(
        site: NewsSite, tmp_path: Path, story: Story, teaser: str) -> None:
    html = page(story)
    site.put("/artikel/1", html, "text/html; charset=utf-8")
    site.put("/feed.xml", rss(site.url("").rstrip("/"), "Wirtschaftskurier",
                              [Item(story.headline, "/artikel/1", teaser, guid="g-1")]))
    config = write_config(tmp_path, [{"name": "Wirtschaftskurier", "url": site.url("/feed.xml")}])
    assert run_cli("poll", config=config).returncode == 0
    polled = json.loads(run_cli("deltas", "--json", config=config).stdout)
    assert len(polled) == 1 and polled[0]["kind"] == "new"

    saved = tmp_path / "seite.html"
    saved.write_text(html, encoding="utf-8")
    explained = run_cli("explain", "--topic", "alibaba-russland", "--file", str(saved),
                        "--summary", teaser, "--feed-title", story.headline, "--json",
                        config=config)
    assert explained.returncode == 0, explained.stderr
    answer = json.loads(explained.stdout)
    stored = run_cli("explain", "--topic", "alibaba-russland", "--stored", "--json",
                     config=config)
    assert stored.returncode == 0, stored.stderr
    [again] = json.loads(stored.stdout)
    assert answer["matched"] is again["matched"] is True
    assert round(answer["score"], 3) == polled[0]["score"] == round(again["score"], 3)
