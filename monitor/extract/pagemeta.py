"""Page metadata for the extract stage: canonical URL, language, date and byline.

Read from the page head, JSON-LD and the article that holds the h1 only (not the whole
page), so teasers of other stories never lend their byline or date, and trafilatura's scan
of every menu link is avoided. Pure functions over a parsed lxml tree.
"""

from __future__ import annotations

import copy
import functools
import logging
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

log = logging.getLogger(__name__)

DATE_FORMAT = "%Y-%m-%dT%H:%M:%S%z"   # htmldate's output, read back by ``parse_date``


def head_url(tree: Any, url: str) -> str:
    """rel=canonical, else og:url, when absolute http(s) (same site first), else ``url``."""
    found = [*tree.xpath('/html/head/link[@rel="canonical"]/@href'),
             *tree.xpath('/html/head/meta[@property="og:url"]/@content')]
    usable = [c for c in (absolute_url(url, str(href)) for href in found) if c]
    same = [c for c in usable if same_site(c, url)]
    return (same or usable or [url])[0]


def absolute_url(base: str, href: str) -> str:
    """``href`` resolved against ``base`` if that makes an http(s) URL with a host, else ''."""
    try:
        candidate = urljoin(base, href.strip())
        parts = urlsplit(candidate)
        return candidate if parts.scheme in ("http", "https") and parts.hostname else ""
    except ValueError:   # a malformed host such as "http://[::1"
        return ""


def same_site(a: str, b: str) -> bool:
    """Both URLs on the same registrable domain (www.faz.net and faz.net are one site)."""
    from courlan import extract_domain

    domain = extract_domain(a)
    return bool(domain) and domain == extract_domain(b)


def head_language(tree: Any) -> str:
    """The primary language subtag from <html lang>, Content-Language or og:locale."""
    for value in tree.xpath('/html/@lang|/html/head/meta[@http-equiv="content-language"]'
                            '/@content|/html/head/meta[@property="og:locale"]/@content'):
        tag = re.split(r"[-_,;\s]", str(value).strip().lower())[0]
        if tag.isalpha() and 2 <= len(tag) <= 3:
            return tag
    return ""


def parse_date(value: str | None) -> datetime | None:
    """htmldate's ISO string as an aware UTC datetime (a date alone is taken as UTC)."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def metadata_tree(tree: Any) -> Any:
    """The head, JSON-LD and the article (the <article> or <main> with the h1) only.

    Bylines and dates are looked for there, not in menus and teasers of other stories:
    more often right, and a fraction of the cost on large pages.
    """
    from lxml.html import Element

    region = article_region(tree)
    head = tree.find("head")
    if region is None or head is None:
        return tree
    root, body = Element("html"), Element("body")
    root.append(copy.deepcopy(head))
    root.append(body)
    for part in (region, *tree.xpath('//body//script[@type="application/ld+json"]')):
        body.append(copy.deepcopy(part))
    return root


def article_region(tree: Any) -> Any:
    """The first <article> or <main> (in document order) that holds an h1: the outermost
    such ancestor of the first h1 that has one. (An element that starts before that h1 and
    holds a later one holds that h1 too, so none comes earlier.) lxml finds the h1s and
    their ancestors in C; an XPath testing ``.//h1`` under every article and main element
    cost twice as much."""
    for h1 in tree.iter("h1"):
        holders = list(h1.iterancestors("article", "main"))
        if holders:
            return holders[-1]
    return None


# Every attribute value trafilatura's byline XPaths (``trafilatura.xpaths.AUTHOR_XPATHS``)
# test, lower-cased, contains one of these; so does no attribute of most elements.
_BYLINE_MARKS = re.compile(r"author|byl|bbl|username|channel-name|zuozhe|bianji|xiaobian|"
                           r"submitted-by|posted-by|journalist-name|screenname|writer")
_BYLINE_ATTRIBUTES = ("class", "id", "itemprop", "data-testid", "data-component", "rel")


def may_have_byline(tree: Any) -> bool:
    """False only when no element could match trafilatura's byline XPaths, so that
    ``extract_author`` would find none: its costliest steps (a copy of the tree pruned by
    regular-expression XPaths) are skipped on the many pages without a byline element. A
    superset test in one walk: every condition of those XPaths is on an element's tag or on
    one of ``_BYLINE_ATTRIBUTES``, case-insensitively containing one of ``_BYLINE_MARKS``
    (the pruning only removes elements, so it never makes one match)."""
    has_tag, values = _byline_xpaths()
    if has_tag(tree):
        return True          # a mark cannot span two values: none holds a space
    return _BYLINE_MARKS.search(" ".join(values(tree)).lower()) is not None


@functools.cache
def _byline_xpaths() -> tuple[Any, Any]:
    """Whether the tree holds an ``author`` or ``rel`` element, and the values of every
    ``_BYLINE_ATTRIBUTES`` attribute in it: found by lxml in C, where a walk in Python made
    a proxy object of every element (a tenth of an extraction's time)."""
    from lxml import etree

    attributes = " | ".join(f"descendant-or-self::*/@{name}" for name in _BYLINE_ATTRIBUTES)
    return (etree.XPath("boolean(descendant-or-self::author | descendant-or-self::rel)"),
            etree.XPath(attributes, smart_strings=False))


def page_metadata(tree: Any, url: str) -> Any:
    """trafilatura's metadata readers and htmldate, without the costly parts we never use.

    ``with_metadata=True`` would also scan every link for categories, tags and a licence,
    which doubles the cost of a page with a large menu.
    """
    from htmldate import find_date
    from trafilatura import metadata as meta

    tree = metadata_tree(tree)
    found = meta.examine_meta(tree)
    if found.author and " " not in found.author:   # a handle, not a name (as trafilatura)
        found.author = None
    try:
        found = meta.extract_meta_json(tree, found)
    except Exception as exc:  # trafilatura's JSON-LD reader on broken JSON
        log.debug("json-ld unreadable url=%s error=%s", url, exc)
    found.title = found.title or meta.extract_title(tree)
    found.author = found.author or (meta.extract_author(tree) if may_have_byline(tree) else None)
    found.sitename = (found.sitename or meta.extract_sitename(tree) or "").lstrip("@")
    found.date = find_date(tree, url=url, original_date=True, extensive_search=True,
                           outputformat=DATE_FORMAT)
    found.clean_and_trim()
    return found
