"""The demo's news site: the bundled outlets, feeds and article pages rendered to bytes.

``data/demo.json`` lists the two invented outlets and their articles (title, lead, author,
age in minutes, and for one article the edit that happens during the demo). The feeds
(``templates/atom.xml``, ``templates/rss.xml``) and the pages (``articles/*.html`` inside
each outlet's layout with navigation, sidebar and footer) are Jinja2 templates, rendered
once per state of the site with dates relative to the demo's start, so every item is fresh
on the first poll and unchanged resources keep their ETag between polls.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import format_datetime
from importlib.resources import files
from typing import Any
from zoneinfo import ZoneInfo

import jinja2

DATA = files("monitor.commands.demo") / "data"
BERLIN = ZoneInfo("Europe/Berlin")
CONTENT_TYPES = {"atom": "application/atom+xml; charset=utf-8",
                 "rss": "application/rss+xml; charset=utf-8"}
HTML = "text/html; charset=utf-8"


@dataclass(frozen=True, slots=True)
class Resource:
    """One response of the site: its body, type and a strong ETag derived from the body."""

    body: bytes
    content_type: str

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.body).hexdigest()[:20] + '"'


@dataclass(frozen=True, slots=True)
class FeedInfo:
    name: str
    path: str
    outlet: str


def load_manifest() -> dict[str, Any]:
    """The outlets and articles of ``data/demo.json``."""
    manifest: dict[str, Any] = json.loads((DATA / "demo.json").read_text(encoding="utf-8"))
    return manifest


def feeds(manifest: Mapping[str, Any]) -> list[FeedInfo]:
    return [FeedInfo(o["feed_name"], o["feed_path"], o["name"]) for o in manifest["outlets"]]


def updated_article(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """The article that is edited during the demo."""
    return next(a for a in manifest["articles"] if "update" in a)


def render_site(manifest: Mapping[str, Any], *, base: str, now: datetime,
                updated: bool) -> dict[str, Resource]:
    """Every path of the site; ``updated`` renders the edited version of the one story."""
    env = _environment()
    site: dict[str, Resource] = {"/robots.txt": Resource(
        (DATA / "robots.txt").read_bytes(), "text/plain; charset=utf-8")}
    for outlet in manifest["outlets"]:
        articles = [_article(a, base, now, updated) for a in manifest["articles"]
                    if a["outlet"] == outlet["id"]]
        site[outlet["feed_path"]] = _feed(env, outlet, articles, base)
        for article in articles:
            html = env.get_template(f"articles/{article['slug']}.html").render(
                article=article, layout=outlet["layout"], updated=article["revised"])
            site[article["path"]] = Resource(html.encode("utf-8"), HTML)
    return site


def _feed(env: jinja2.Environment, outlet: Mapping[str, Any],
          articles: list[dict[str, Any]], base: str) -> Resource:
    template = env.get_template(f"templates/{outlet['format']}.xml")
    text = template.render(outlet=outlet, articles=articles, base=base,
                           feed_updated=max(a["updated"] for a in articles))
    return Resource(text.encode("utf-8"), CONTENT_TYPES[outlet["format"]])


def _article(raw: Mapping[str, Any], base: str, now: datetime, updated: bool) -> dict[str, Any]:
    """The template's view of one article: URL and dates filled in, the edit applied."""
    path = f"/{raw['outlet']}/artikel/{raw['slug']}.html"
    published = now - timedelta(minutes=raw["minutes_ago"])
    article = dict(raw, path=path, url=base + path, published=published, updated=published,
                   revised=False)
    if updated and "update" in raw:
        edit = raw["update"]
        article.update(summary=edit["summary"], revised=True,
                       updated=now - timedelta(minutes=edit["minutes_ago"]))
    return article


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("monitor.commands.demo", "data"),
                             autoescape=True, undefined=jinja2.StrictUndefined,
                             keep_trailing_newline=True)
    env.filters["iso"] = lambda d: d.isoformat(timespec="seconds")
    env.filters["rfc822"] = lambda d: format_datetime(d)
    env.filters["german"] = lambda d: d.astimezone(BERLIN).strftime("%d.%m.%Y, %H:%M Uhr")
    return env
