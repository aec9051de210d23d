"""The parse stage: the bytes of one fetched feed become a ``ParsedFeed`` of plain entries.

feedparser reads RSS 0.9x/1.0/2.0, Atom and RDF. It is handed the fetched bytes wrapped in a
file object (given a str or bytes it would fetch a URL-like string or open a file path), the
response's content-type/location/language headers (so a charset named only in the HTTP
header is honoured), and ``sanitize_html``/``resolve_relative_uris`` switched off: we keep
plain text only, so the HTML we throw away needs no sanitising. Entities are defused by
feedparser (it drops entity declarations that reference other entities, so "billion laughs"
cannot expand) and by the stdlib's expat reader (external entities are never loaded).
This module owns entry identity (``guid:``/``link:``/``hash:`` keys), the plain-text title
and summary, and the dates; URLs are canonicalised by ``monitor.urls``, German dates read by
``monitor.dates``. A document that yields no feed raises ``ParseError``; a damaged one that
still yields entries is returned with ``warning`` set.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
from collections.abc import Mapping
from datetime import datetime
from html.parser import HTMLParser
from typing import Any, Literal

from monitor.errors import ParseError
from monitor.models import FeedEntry, ParsedFeed
from monitor.parse.dates import clamp, entry_date
from monitor.urls import canonical_url, decode_google_news

__all__ = ["parse_feed"]

log = logging.getLogger(__name__)

Identity = Literal["auto", "link"]
SUMMARY_MAX_CHARS = 5000
MAX_ENTRIES = 500          # far above any real feed; a flood is cut before feedparser sees it
PASSED_HEADERS = ("content-type", "content-location", "content-language")
SKIPPED_TAGS = frozenset({"script", "style", "noscript", "template", "iframe", "object"})
INLINE_TAGS = frozenset({"a", "abbr", "b", "code", "em", "i", "mark", "small", "span", "strong",
                         "sub", "sup", "u"})
_HTML_START = re.compile(rb"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html)\b",
                         re.IGNORECASE | re.DOTALL)
_SPACE = re.compile(r"\s+")
_ENTRY_TAG = re.compile(rb"<(?:[\w-]+:)?(?:item|entry)[\s>/]", re.IGNORECASE)
_ENTITY_DECL = re.compile(rb"""<!ENTITY\s(?:[^>"']|"[^"]*"|'[^']*')*>""")
# "ENTITY" as it appears in the encodings feedparser can detect or be told about
_ENTITY_FORMS = tuple(
    "ENTITY".encode(codec) for codec in ("ascii", "utf-16-le", "utf-16-be", "utf-32-le",
                                          "utf-32-be", "cp037")
)


def parse_feed(
    body: bytes,
    *,
    url: str,
    headers: Mapping[str, str],
    fetched_at: datetime,
    identity: Identity = "auto",
) -> ParsedFeed:
    """Parse one feed's bytes; raise ``ParseError`` when they hold no feed at all."""
    if not body.strip():
        raise ParseError("not a feed: empty body")
    cut, dropped = cut_flood(body)
    data = _run_feedparser(defuse_entities(cut), headers)
    warning = _check(data, body, headers)
    if dropped:
        warning = f"more than {MAX_ENTRIES} entries: the rest was not read"
    base = _header(headers, "content-location") or url
    entries = tuple(_entry(raw, base, fetched_at, identity) for raw in data.entries)
    feed = data.feed
    log.debug("parsed feed=%s entries=%d warning=%s", url, len(entries), warning)
    return ParsedFeed(
        title=plain_text(feed.get("title") or "", feed.get("title_detail")),
        link=canonical_url(feed["link"], base) if feed.get("link") else "",
        entries=entries,
        warning=warning,
    )


def cut_flood(body: bytes, limit: int = MAX_ENTRIES) -> tuple[bytes, bool]:
    """``body`` cut before its entry number ``limit + 1``, and whether anything was cut.

    30,000 bare ``<item>`` tags (180 KB) cost feedparser seconds and tens of MB; no real
    feed carries more than a few hundred entries, so the rest is never parsed.
    """
    for count, found in enumerate(_ENTRY_TAG.finditer(body), start=1):
        if count > limit:
            return body[:found.start()], True
    return body, False


def defuse_entities(body: bytes) -> bytes:
    """``body`` without entity declarations, or ``ParseError`` if some cannot be removed.

    feedparser keeps "safe" declarations (text without references) and, once expat has
    rightly refused a quadratic blow-up, its fallback parser expands them without limit:
    100 KB times 20,000 references took 6 GB. Feeds have no use for their own entities.
    """
    if not any(form in body for form in _ENTITY_FORMS):
        return body
    defused = _ENTITY_DECL.sub(lambda m: b"\n" * m[0].count(b"\n"), body)  # keep line numbers
    if any(form in defused for form in _ENTITY_FORMS[1:]) or b"!ENTITY" in defused:
        raise ParseError("not a feed: refused, it declares XML entities we cannot remove")
    return defused


def _run_feedparser(body: bytes, headers: Mapping[str, str]) -> Any:
    import feedparser  # here, not at the top: parsing runs in the worker processes only

    passed = {name: value for name in PASSED_HEADERS if (value := _header(headers, name))}
    try:
        return feedparser.parse(
            io.BytesIO(body),
            response_headers=passed,
            sanitize_html=False,
            resolve_relative_uris=False,
        )
    except Exception as exc:  # feedparser raises assorted errors on hostile input
        raise ParseError(f"not a feed: parser failed ({type(exc).__name__}: {exc})") from exc


def _header(headers: Mapping[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name:
            return str(value)
    return ""


def _check(data: Any, body: bytes, headers: Mapping[str, str]) -> str | None:
    """Raise when nothing feed-like came out; else the tolerated problem, if any."""
    problem = _describe(data.get("bozo_exception"), body) if data.get("bozo") else None
    if data.entries:
        return problem
    if _looks_like_html(body, headers):
        raise ParseError("not a feed: HTML page")
    if problem is not None:
        raise ParseError(problem)
    if not data.get("version"):
        raise ParseError("not a feed: no RSS, Atom or RDF root element")
    return None


def _looks_like_html(body: bytes, headers: Mapping[str, str]) -> bool:
    content_type = _header(headers, "content-type").lower()
    declared_html = "html" in content_type and "xhtml" not in content_type
    return declared_html or _HTML_START.match(body[:4096]) is not None


def _describe(exc: object, body: bytes) -> str:
    line = getattr(exc, "getLineNumber", None)
    message = getattr(exc, "getMessage", None)
    if callable(line) and callable(message):
        added = 0 if body.lstrip(b"\xef\xbb\xbf").startswith(b"<?xml") else 1  # feedparser's
        return f"XML error at line {line() - added}: {message()}"  # own <?xml ...?> line
    return f"feed problem: {exc}"


# feedparser's dictionaries answer ``get`` through their aliases and special keys (a few
# comparisons and, for a missing key, a KeyError raised and caught); for the plain keys read
# here that answer is the dict's own, at a fraction of the cost, ten reads an entry.
_get = dict.get


def _entry(raw: Any, base: str, fetched_at: datetime, identity: Identity) -> FeedEntry:
    guid = str(_get(raw, "id") or "").strip() or None
    raw_link = _raw_link(raw, guid)
    link = canonical_url(decode_google_news(raw_link), base) if raw_link else ""
    title = plain_text(_get(raw, "title", ""), _get(raw, "title_detail"))
    published, updated, has_date = _dates(raw, fetched_at)
    return FeedEntry(
        key=entry_key(guid, link, title, _raw_date(raw), identity, base),
        guid=guid,
        link=link,
        raw_link=raw_link,
        title=title,
        summary=_summary(raw),
        published=published,
        updated=updated,
        has_date=has_date,
    )


def _raw_link(raw: Any, guid: str | None) -> str:
    """The entry's link; not a GUID that feedparser promoted to a link but is no URL."""
    if _get(raw, "guidislink") and not (guid and _is_url(guid)):
        return ""
    return str(_get(raw, "link") or "").strip()


def entry_key(
    guid: str | None, link: str, title: str, raw_date: str, identity: Identity, base: str = ""
) -> str:
    """The entry's stable identity, prefixed by kind so the kinds never collide."""
    if identity == "auto" and guid:
        guid_link = canonical_url(guid, base) if _is_url(guid) else ""
        if not guid_link or guid_link == guid:
            return f"guid:{guid}"
        return f"link:{guid_link}"  # a link copy that canonicalises differently: use that
    if link:
        return f"link:{link}"
    digest = hashlib.sha1(f"{title}\x1f{raw_date}".encode()).hexdigest()
    return f"hash:{digest}"


def _is_url(value: str) -> bool:
    return value.lower().startswith(("http://", "https://"))


def _raw_date(raw: Any) -> str:
    dates = (dict.get(raw, name) for name in ("published", "updated", "created"))
    return str(next((value for value in dates if value), ""))


def _dates(raw: Any, fetched_at: datetime) -> tuple[datetime, datetime | None, bool]:
    """(published, updated, has_date), clamped to the fetch time."""
    published = _date_field(raw, "published")
    updated = _date_field(raw, "updated")
    if published is None:
        published = updated or _date_field(raw, "created")
    if published is None:
        return fetched_at, None, False
    published = clamp(published, fetched_at)
    if updated is not None:
        updated = clamp(updated, fetched_at)
    return published, (updated if updated != published else None), True


def _date_field(raw: Any, name: str) -> datetime | None:
    # dict.get: FeedParserDict.get("updated") would answer with "published" (issue 310)
    return entry_date(dict.get(raw, name), dict.get(raw, f"{name}_parsed"))


def _summary(raw: Any) -> str:
    if summary := _get(raw, "summary"):
        text = plain_text(summary, _get(raw, "summary_detail"))
    elif content := _get(raw, "content"):
        text = plain_text(_get(content[0], "value", ""), content[0])
    else:
        return ""
    return shorten(text, SUMMARY_MAX_CHARS)


def plain_text(value: str, detail: dict[str, Any] | None = None) -> str:
    """Markup removed, entities decoded, whitespace collapsed."""
    if (detail is not None and _get(detail, "type") == "text/plain") or not (
            "<" in value or "&" in value):          # no markup and no entity: nothing to parse
        return _SPACE.sub(" ", value).strip()
    stripper = _TextCollector()
    stripper.feed(value)
    stripper.close()
    return _SPACE.sub(" ", "".join(stripper.parts)).strip()


def shorten(text: str, limit: int) -> str:
    """``text`` cut at a word boundary to at most ``limit`` characters, marked with '…'."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut).rstrip() + "…"


class _TextCollector(HTMLParser):
    """html.parser-based stripping: text kept, script/style dropped, blocks spaced."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in SKIPPED_TAGS:
            self._skipping += 1
        if tag not in INLINE_TAGS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIPPED_TAGS and self._skipping:
            self._skipping -= 1
        if tag not in INLINE_TAGS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)
