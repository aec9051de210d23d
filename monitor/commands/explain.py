"""``news-monitor explain``: why does (or doesn't) a page match a topic?

Reads an HTML page or plain text (detected) from a file, a URL or standard input, extracts
it and builds the matched document with the pipeline's own rule (``page_document``: the
feed's title and teaser, given with ``--feed-title`` and ``--summary``, count as they do in
a poll; a wall's words never do), evaluates the topic and prints the explanation, with hits
highlighted on a terminal; ``--json`` prints one object. ``--stored`` is a dry run of the
topic over the articles already stored: how a user tunes a rule without waiting for news.
Exit 0 whether or not it matched; 2 for an unknown topic or unreadable input.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from monitor.app.settings import compile_topics, fetch_options
from monitor.commands import command, duration_ago, opened_store
from monitor.commands.output import check_topic, display_zone, show_time
from monitor.config.model import Config
from monitor.errors import FetchError, UsageError
from monitor.extract.html import extract_html, looks_like_html, text_page
from monitor.fetch.client import Fetcher
from monitor.match import (
    Topic,
    article_document,
    explanation_json,
    page_document,
    render_explanation,
)
from monitor.models import MatchResult, Page


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--topic", required=True, metavar="NAME", help="the topic to evaluate")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--file", metavar="PATH", help="an HTML page or a plain-text file")
    source.add_argument("--url", help="fetch this page (through the same guarded fetcher)")
    source.add_argument("--stored", action="store_true",
                        help="dry run over stored articles: list what would match")
    source.add_argument("stdin", nargs="?", choices=["-"], help="- reads standard input")
    parser.add_argument("--since", default="30d", type=duration_ago,
                        help="with --stored: first seen within this duration (default 30d)")
    parser.add_argument("--summary", default="", metavar="TEXT",
                        help="the feed entry's teaser, matched as a poll matches it")
    parser.add_argument("--feed-title", default="", metavar="TEXT",
                        help="the feed entry's title, used when the page has none")
    parser.add_argument("--json", action="store_true", help="print JSON")


class InputError(Exception):
    """The page or text to explain cannot be read."""


@command("explain", "explain why a page or text does or doesn't match a topic",
         configure=_arguments)
def explain(args: argparse.Namespace, config: Config) -> int:
    check_topic(config, args.topic)
    topic = next((t for t in compile_topics(config) if t.name == args.topic), None)
    if topic is None:
        raise UsageError(f"topic {args.topic!r} is disabled (enabled = false in the config)")
    if args.stored:
        return _stored(args, config, topic)
    try:
        page = _read_page(args, config)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    doc = page_document(page, feed_title=args.feed_title, feed_summary=args.summary)
    result = topic.evaluate(doc, explain=True)
    _print(result, page, as_json=args.json)
    return 0


def _read_page(args: argparse.Namespace, config: Config) -> Page:
    if args.url:
        data, url = asyncio.run(_fetch(config, args.url)), args.url
    elif args.stdin == "-" or args.file == "-":
        data, url = sys.stdin.buffer.read(), ""
    else:
        try:
            data, url = Path(args.file).read_bytes(), Path(args.file).resolve().as_uri()
        except OSError as exc:
            raise InputError(f"cannot read {args.file}: {exc.strerror}") from None
    if not data.strip():
        raise InputError("the input is empty")
    if looks_like_html(data):
        return extract_html(data, url=url, max_bytes=config.fetch.page_max_bytes,
                            feed_title=args.feed_title, feed_summary=args.summary)
    try:
        return text_page(data.decode("utf-8"), url=url)
    except UnicodeDecodeError:
        return text_page(data.decode("latin-1"), url=url)


async def _fetch(config: Config, url: str) -> bytes:
    try:
        async with Fetcher(fetch_options(config)) as fetcher:
            return (await fetcher.fetch(url, max_bytes=config.fetch.page_max_bytes)).body
    except FetchError as exc:
        raise InputError(f"cannot fetch {url}: {exc}") from None


def _print(result: MatchResult, page: Page, *, as_json: bool) -> None:
    if as_json:
        payload = explanation_json(result)
        payload.update({"title": page.title, "url": page.canonical_url or page.url,
                        "extract_status": page.status})
        print(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    print(f"{page.title or '(no title)'}  [{page.status}]")
    print(render_explanation(result, color=sys.stdout.isatty()))


def _stored(args: argparse.Namespace, config: Config, topic: Topic) -> int:
    since = args.since
    with opened_store(config) as store:
        texts = store.stored_texts(since)
    rows = []
    for item in texts:
        result = topic.evaluate(article_document(
            title=item.title, feed_summary=item.summary, text=item.text,
            status=item.extract_status))
        if result.matched:
            rows.append((result, item))
    if args.json:
        print(json.dumps([{**explanation_json(r), "title": i.title, "url": i.url,
                           "source": i.source} for r, i in rows], ensure_ascii=False, indent=2))
        return 0
    for result, item in sorted(rows, key=lambda row: -row[0].score):
        print(f"{result.score:6.2f}  {item.title}  ({item.source})\n        {item.url}")
    print(f"{len(rows)} of {len(texts)} stored articles since "
          f"{show_time(since, display_zone(args, config))} would match {topic.name!r}")
    return 0
