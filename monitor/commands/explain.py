"""``news-monitor explain``: why does (or doesn't) a page match a topic?

Reads an HTML page or plain text (detected) from a file, a URL or standard input, extracts
it and builds the matched document with the pipeline's own rule (``page_document``: the
feed's title and teaser, given with ``--feed-title`` and ``--summary``, count as they do in
a poll; a wall's words never do), evaluates the topic and prints the explanation, with hits
highlighted on a terminal, and for a miss what is missing (``monitor.match.misses``: the
failed part of the query, or the small parts of the score); ``--json`` prints one object.
``--stored`` is a dry run of the topic over the articles already stored (with those the
query finds but the score keeps under ``min_score``): how a user tunes a rule without
waiting for news. Exit 0 whether or not it matched; 2 for an unknown topic or
unreadable input, such as a PDF, an image or other binary data.
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
    Diagnosis,
    Topic,
    article_document,
    diagnose,
    diagnosis_json,
    explanation_json,
    page_document,
    render_diagnosis,
    render_explanation,
)
from monitor.models import Page

# What a file that is neither HTML nor text starts with, and what it then is.
MAGIC = (
    (b"%PDF-", "a PDF document"), (b"PK\x03\x04", "a ZIP archive or an office document"),
    (b"\xd0\xcf\x11\xe0", "an old office document"), (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"), (b"GIF8", "a GIF image"), (b"RIFF", "a media file"),
    (b"\x1f\x8b", "gzip-compressed data"), (b"BZh", "bzip2-compressed data"),
    (b"\xfd7zXZ", "xz-compressed data"), (b"\x7fELF", "a program"), (b"MZ", "a program"),
    (b"SQLite format 3", "an SQLite database"),
)
BOMS = ((b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"), (b"\xef\xbb\xbf", "utf-8-sig"))
CONTROL = bytes(c for c in range(32) if c not in b"\t\n\r\f\v")


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
    _print(diagnose(topic, doc), page, as_json=args.json)
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
    return text_page(_decode(data, args.url or args.file or "standard input"), url=url)


def _decode(data: bytes, source: str) -> str:
    """Plain text in UTF-8 (with or without a byte order mark), UTF-16 with one, or
    Latin-1; anything else is refused with what it seems to be."""
    for bom, encoding in BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError:
                break
    kind = _binary_kind(data)
    if kind:
        raise InputError(f"{source} is {kind}, not an HTML page or plain text; explain reads "
                         "HTML or text (save the article as HTML or copy its text into a file)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _binary_kind(data: bytes) -> str | None:
    """What ``data`` seems to be if it is not text: by its first bytes, or binary data when
    its start holds NUL bytes or many control characters."""
    for magic, kind in MAGIC:
        if data.startswith(magic):
            return kind
    sample = data[:8192]
    controls = sum(sample.count(c) for c in CONTROL)
    return "binary data" if b"\x00" in sample or controls > len(sample) // 20 else None


async def _fetch(config: Config, url: str) -> bytes:
    try:
        async with Fetcher(fetch_options(config)) as fetcher:
            return (await fetcher.fetch(url, max_bytes=config.fetch.page_max_bytes)).body
    except FetchError as exc:
        raise InputError(f"cannot fetch {url}: {exc}") from None


def _print(diagnosis: Diagnosis, page: Page, *, as_json: bool) -> None:
    result = diagnosis.result
    if as_json:
        payload = explanation_json(result)
        payload.update({"title": page.title, "url": page.canonical_url or page.url,
                        "extract_status": page.status, **diagnosis_json(diagnosis)})
        print(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    print(f"{page.title or '(no title)'}  [{page.status}]")
    print(render_explanation(result, color=sys.stdout.isatty()))
    for line in render_diagnosis(diagnosis):
        print(line)


def _stored(args: argparse.Namespace, config: Config, topic: Topic) -> int:
    since = args.since
    with opened_store(config) as store:
        texts = store.stored_texts(since)
    rows, below = [], []
    for item in texts:
        result = topic.evaluate(article_document(
            title=item.title, feed_summary=item.summary, text=item.text,
            status=item.extract_status))
        if result.matched:
            rows.append((result, item))
        elif result.score > 0:      # the query holds, the score falls short
            below.append((result, item))
    if args.json:
        print(json.dumps([{**explanation_json(r), "title": i.title, "url": i.url,
                           "source": i.source} for r, i in rows], ensure_ascii=False, indent=2))
        return 0
    for result, item in sorted(rows, key=lambda row: -row[0].score):
        print(f"{result.score:6.2f}  {item.title}  ({item.source})\n        {item.url}")
    if below:
        where = "Am Rande erwähnt" if topic.margin else "nicht gemeldet"
        print(f"unter der Schwelle {topic.min_score:.2f} ({where}):")
        for result, item in sorted(below, key=lambda row: -row[0].score):
            print(f"{result.score:6.2f}  {item.title}  ({item.source})")
    print(f"{len(rows)} of {len(texts)} stored articles since "
          f"{show_time(since, display_zone(args, config))} would match {topic.name!r}"
          + (f"; {len(below)} more name it below its min_score" if below else ""))
    return 0
