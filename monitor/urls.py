"""Canonical article URLs: one spelling per article, whatever feed or campaign linked it.

``canonical_url`` makes a link absolute, lower-cases scheme and host, drops the default
port, the fragment and user info, strips tracking parameters (utm_*, fbclid, Webtrekk's
wt_mc, AT Internet's xtor/at_*, ...) and sorts what remains; anything that is not http(s)
becomes ''. The tracker list is our own, not courlan's ``clean_url``: courlan's pattern also
removes parameters such as ``gallery``, ``glossary``, ``source`` or ``uid`` (it matches any
name starting with ``ga``/``gl``), which would merge distinct articles under one key.
``decode_google_news`` recovers the publisher's URL from Google News RSS links whose
payload still embeds it; the newer "AU_yqL" payloads are only resolvable by asking Google,
which a parser must not do, so those links are returned unchanged. ``host_of`` gives the
lower-cased host name used for politeness and source names.
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
from urllib.parse import SplitResult, parse_qsl, quote, urlencode, urljoin, urlsplit, urlunsplit

TRACKING_PARAMS = frozenset({
    "fbclid", "gclid", "gclsrc", "dclid", "msclkid", "yclid", "twclid", "ttclid", "igshid",
    "mc_cid", "mc_eid", "wt_mc", "wt_zmc", "wt.mc_id", "wt_cc1", "ref", "ref_src", "ref_url",
    "referrer", "cmpid", "xtor", "xtref", "ocid", "icid", "smid", "sara_ecid", "gepc",
    "_ga", "_gl", "_hsenc", "_hsmi", "mkt_tok", "spm", "soc_src", "soc_trk", "ito",
})
TRACKING_PREFIXES = ("utm_", "at_", "pk_", "mtm_", "itm_", "ns_", "oly_", "vero_", "wt_")
DEFAULT_PORTS = {"http": 80, "https": 443}
GOOGLE_NEWS_HOST = "news.google.com"
_GN_PATH = re.compile(r"^/(?:rss/)?(?:articles|read)/(?P<payload>[A-Za-z0-9_-]+)")
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"
_ABSOLUTE = ("http://", "https://")
CANONICAL_CACHE = 4096     # links remembered per process (about 1 MB)


def canonical_url(url: str, base: str | None = None) -> str:
    """The one spelling of ``url`` we store and compare; '' when it is not an http(s) URL."""
    link = url.strip()
    if base and not link.startswith(_ABSOLUTE):   # an absolute link is its own, whatever base
        try:
            link = urljoin(base, link)
        except ValueError:
            return ""
    return _canonical(link)


@functools.lru_cache(maxsize=CANONICAL_CACHE)
def _canonical(link: str) -> str:
    """``canonical_url`` of an absolute (or base-less) link, remembered: every poll of a
    changed feed spells out all its entries' links again, and many feeds link one page."""
    try:
        parts = urlsplit(link)
        port = parts.port
    except ValueError:
        return ""
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    if scheme not in DEFAULT_PORTS or not host:
        return ""
    netloc = _netloc(host, port, scheme)
    path = quote(parts.path, safe=_PATH_SAFE) or "/"
    return urlunsplit((scheme, netloc, path, _clean_query(parts.query), ""))


def _netloc(host: str, port: int | None, scheme: str) -> str:
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    if port is None or port == DEFAULT_PORTS[scheme]:
        return host
    return f"{host}:{port}"


def _clean_query(query: str) -> str:
    pairs = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if not is_tracking(k)]
    return urlencode(sorted(pairs))


def is_tracking(name: str) -> bool:
    """Whether a query parameter only says who sent the reader, not what they read."""
    lowered = name.lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)


def host_of(url: str) -> str:
    """The lower-cased host name of ``url`` without port or trailing dot; '' if none."""
    try:
        host = urlsplit(url.strip()).hostname
    except ValueError:
        return ""
    return (host or "").rstrip(".")


def decode_google_news(url: str) -> str:
    """The publisher's URL inside a Google News RSS link, or ``url`` unchanged.

    Older links (``/rss/articles/CBMi...``) are base64url of a small protobuf message whose
    length-delimited field holds the target URL; we read it. Newer ones carry an opaque
    "AU_yqL..." token that only Google's servers can resolve: returned as they are.
    """
    if GOOGLE_NEWS_HOST not in url.lower():     # most links: no need to split them
        return url
    parts = _split(url)
    if parts is None or (parts.hostname or "").lower() != GOOGLE_NEWS_HOST:
        return url
    match = _GN_PATH.match(parts.path)
    if match is None:
        return url
    for field in _proto_strings(_b64decode(match["payload"])):
        if field.startswith((b"http://", b"https://")):
            return field.decode("utf-8", "replace")
    return url


def _split(url: str) -> SplitResult | None:
    try:
        return urlsplit(url.strip())
    except ValueError:
        return None


def _b64decode(payload: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    except (binascii.Error, ValueError):
        return b""


def _proto_strings(data: bytes) -> list[bytes]:
    """The length-delimited fields of a protobuf message, read leniently (top level only)."""
    fields: list[bytes] = []
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        wire = key & 7
        if wire == 0:
            _, pos = _varint(data, pos)
        elif wire == 2:
            length, pos = _varint(data, pos)
            fields.append(data[pos:pos + length])
            pos += length
        else:  # fixed-width or group fields never carry the URL; stop reading
            break
    return fields


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while pos < len(data):
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80 or shift > 63:
            break
    return value, pos
