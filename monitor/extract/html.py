"""The extract stage's pure part: article HTML we fetched ourselves -> a Page.

``extract_html`` is pure and synchronous: it cuts the HTML to a byte cap, decodes and
parses it once, runs trafilatura (comments off, tables on, recall before precision),
reads canonical URL, language, date and byline (``monitor.extract.pagemeta``), and lets
``monitor.extract.walls`` decide whether the text is a consent wall or paywall. It never
raises: every problem becomes a Page whose text is the feed summary, with a status and a
detail saying why (``summary_page``). ``text_page`` and ``looks_like_html`` serve input
that may be plain text. trafilatura's own downloader is never used: HTML comes from our
fetch stage. The worker pool that runs ``extract_html`` is ``monitor.extract.pool``.
"""

from __future__ import annotations

import codecs
import copy
import functools
import re
from typing import Any

from monitor.extract.pagemeta import head_language, head_url, page_metadata, parse_date
from monitor.extract.walls import detect_wall
from monitor.models import ExtractStatus, Page
from monitor.urls import canonical_url

DEFAULT_MAX_BYTES = 3_000_000
HTML_START = re.compile(
    rb"<(?:!doctype\s+html|html|head|body|meta|title|div|p|article|section|span|a|table)[\s>/]"
)
CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.I)
# German reader comments and "more on this" boxes that trafilatura's English-only class
# rules miss inside <article>. Plural "kommentare" only: "Kommentar" marks opinion pieces.
PRUNE_TOKENS = ("kommentare", "leserkommentar", "leser-kommentar", "kommentarbereich",
                "leserstimme", "leserbrief", "lesermeinung", "mehr-zum-thema", "lesetipp",
                "related")
PRUNE_RE = re.compile("|".join(map(re.escape, PRUNE_TOKENS)))
# Only these letters are lowered, as the XPath translate() this replaced did.
_LOWER = str.maketrans("KLMER", "klmer")
_KEPT_TAGS = frozenset({"html", "body", "main", "article"})


def clean_url(url: str) -> str:
    """The canonical form of ``url`` (one definition: ``monitor.urls``), else ``url``."""
    try:
        return str(canonical_url(url)) or url
    except Exception:  # a URL the cleaner rejects is still the URL we fetched
        return url


def summary_page(url: str, title: str, summary: str, status: ExtractStatus,
                 detail: str = "") -> Page:
    """The marked fallback: the feed's title and summary stand in for the article."""
    return Page(url=url, canonical_url=clean_url(url), title=title, text=summary,
                status=status, detail=detail)


def looks_like_html(data: bytes) -> bool:
    """True when ``data`` starts like an HTML document or fragment rather than plain text."""
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith(b"<") and HTML_START.search(head) is not None


def text_page(text: str, *, url: str = "") -> Page:
    """A Page from plain text: the first non-empty line is the title, the rest the text."""
    lines = text.strip().splitlines()
    title = lines[0].strip() if lines else ""
    return Page(url=url, canonical_url=url, title=title,
                text="\n".join(lines[1:]).strip(), status="ok")


def cap_html(html: bytes | str, max_bytes: int) -> bytes | str:
    """Cut the HTML to ``max_bytes`` before any parsing: cost grows with the page."""
    return html[:max_bytes] if max_bytes > 0 else html


def decode_html(data: bytes) -> str:
    """UTF-8 (a character cut by the byte cap is dropped), else the declared charset."""
    try:
        return codecs.getincrementaldecoder("utf-8")().decode(data, final=False)
    except UnicodeDecodeError:
        pass
    declared = CHARSET.search(data[:4096])
    if declared:
        try:
            return data.decode(declared.group(1).decode("ascii"), errors="replace")
        except LookupError:
            pass
    return data.decode("cp1252", errors="replace")


def pruned_copy(tree: Any) -> Any:
    """A copy of the tree without German comment and "more on this" boxes: an element whose
    class or id holds one of ``PRUNE_TOKENS``, unless it is the page, its body, main or
    article, or holds the h1. lxml reads every class and id value (each knows its element),
    Python tests each distinct value once and takes the elements of the matching ones: a
    test of every marked element made a proxy object of each (hundreds a page), and an
    XPath with ``translate()`` on every element cost more than trafilatura itself. No token
    holds a space, so a class and an id never match only together."""
    copied = copy.deepcopy(tree)
    doomed = [el for el in _carrying_marks(copied) if _prunable(el)]
    for el in doomed:
        _delete_keeping_tail(el)
    return copied


def _carrying_marks(tree: Any) -> list[Any]:
    """The elements whose class or id holds a prune token, in document order, once each."""
    values = _marks()(tree)
    hits = {v for v in set(values) if PRUNE_RE.search(v.translate(_LOWER)) is not None}
    if not hits:
        return []
    found: dict[Any, None] = {}
    for value in values:
        if value in hits:
            found[value.getparent()] = None
    return list(found)


@functools.cache
def _marks() -> Any:
    """Every class and id value of a tree, in document order, each with its element."""
    from lxml import etree

    return etree.XPath("descendant-or-self::*/@class | descendant-or-self::*/@id")


def _prunable(el: Any) -> bool:
    marks = el.get("class"), el.get("id")
    if marks == (None, None) or el.tag in _KEPT_TAGS:
        return False
    key = f"{marks[0] or ''} {marks[1] or ''}".translate(_LOWER)
    return PRUNE_RE.search(key) is not None and el.find(".//h1") is None


def _delete_keeping_tail(el: Any) -> None:
    """trafilatura's ``delete_element``: drop the element, keep the text after it."""
    from trafilatura.xml import delete_element

    delete_element(el)


def run_trafilatura(tree: Any, url: str) -> Any:
    """trafilatura's main text on a parsed tree, with news settings; a Document or None.
    The boxes it should skip are pruned first, on a copy (the tree serves metadata too)."""
    import trafilatura

    return trafilatura.bare_extraction(
        pruned_copy(tree), url=url, with_metadata=False, include_comments=False,
        include_tables=True, favor_precision=False, include_images=False,
        include_links=False)


def parse_tree(html: bytes | str) -> Any:
    """The lxml tree of the page, or None when it is not HTML."""
    from trafilatura.utils import load_html

    text = decode_html(html) if isinstance(html, bytes) else html
    return load_html(text.replace("\x00", ""))


def extract_html(html: bytes | str, *, url: str, feed_title: str = "",
                 feed_summary: str = "", max_bytes: int = DEFAULT_MAX_BYTES) -> Page:
    """Main text and metadata of one article page; never raises (see module docstring)."""
    try:
        return _extract(cap_html(html, max_bytes), url, feed_title, feed_summary)
    except Exception as exc:  # trafilatura, lxml or htmldate on hostile input
        detail = f"extraction error: {type(exc).__name__}: {exc}"[:300]
        return summary_page(url, feed_title, feed_summary, "failed", detail)


def _extract(html: bytes | str, url: str, feed_title: str, feed_summary: str) -> Page:
    tree = parse_tree(html)
    if tree is None:
        return summary_page(url, feed_title, feed_summary, "failed", "not an HTML document")
    doc = run_trafilatura(tree, url)
    text = (doc.text or "").strip() if doc is not None else ""
    wall = detect_wall(text, summary=feed_summary, tree=tree)
    canonical = clean_url(head_url(tree, url))
    if wall is not None:   # only a title is wanted from a wall, and only without a feed title
        title = feed_title or (page_metadata(tree, url).title or "").strip()
        return Page(url=url, canonical_url=canonical, title=title, text=feed_summary,
                    status=wall.status, detail=wall.detail)
    info = page_metadata(tree, url)
    page_title = (info.title or "").strip()
    return Page(url=url, canonical_url=canonical, title=page_title or feed_title,
                text=text, status="ok", author=(info.author or "").strip(),
                date=parse_date(info.date), site_name=(info.sitename or "").strip(),
                language=head_language(tree))
