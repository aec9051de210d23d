"""Canonical URLs, Google News links and host names, as stored and compared."""

from __future__ import annotations

import base64

import pytest

from monitor.urls import canonical_url, decode_google_news, host_of


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("HTTPS://WWW.Handelsblatt.Example:443/unternehmen/aliexpress?b=2&a=1#kommentare",
         "https://www.handelsblatt.example/unternehmen/aliexpress?a=1&b=2"),
        ("http://zeitung.example:80", "http://zeitung.example/"),
        ("http://zeitung.example:8080/a", "http://zeitung.example:8080/a"),
        ("https://z.example/a?utm_source=rss&utm_medium=feed&utm_campaign=x&id=7",
         "https://z.example/a?id=7"),
        ("https://z.example/a?fbclid=1&gclid=2&mc_cid=3&mc_eid=4&wt_mc=5&wt_zmc=6",
         "https://z.example/a"),
        ("https://z.example/a?ref=tw&ref_src=twsrc&cmpid=7&xtor=RSS-8&at_medium=9&at_campaign=10",
         "https://z.example/a"),
        ("https://z.example/bilder?gallery=2&source=dpa&uid=5",  # courlan would drop these
         "https://z.example/bilder?gallery=2&source=dpa&uid=5"),
        ("https://z.example/suche?q=Gr%C3%B6%C3%9Fe+Pr%C3%A4sident",
         "https://z.example/suche?q=Gr%C3%B6%C3%9Fe+Pr%C3%A4sident"),
        ("https://z.example/Börse/Größe", "https://z.example/B%C3%B6rse/Gr%C3%B6%C3%9Fe"),
        ("  https://user:pw@z.example/a  ", "https://z.example/a"),
        ("https://[2001:DB8::1]:443/x", "https://[2001:db8::1]/x"),
        ("mailto:redaktion@z.example", ""),
        ("javascript:alert(1)", ""),
        ("ftp://z.example/datei", ""),
        ("/relativ/ohne/basis", ""),
        ("http://[::1", ""),
        ("https://z.example:99999/", ""),
        ("", ""),
    ],
)
def test_canonical_url(raw: str, expected: str) -> None:
    assert canonical_url(raw) == expected


def test_canonical_url_resolves_against_base() -> None:
    base = "https://wirtschaft.example/feeds/rss.xml"
    assert canonical_url("../artikel/1?utm_term=x", base) == "https://wirtschaft.example/artikel/1"
    assert canonical_url("//cdn.example/a", base) == "https://cdn.example/a"


def test_canonical_url_is_remembered_per_link_not_per_feed() -> None:
    """Links are canonicalised once per process (many feeds carry one page, every poll all
    its entries): an absolute link is the same under any base, a relative one is its base's."""
    link = "HTTPS://Wirtschaft.example/artikel/1?utm_term=x#oben"
    for base in (None, "https://wirtschaft.example/rss.xml", "http://andere.example/feed"):
        assert canonical_url(link, base) == "https://wirtschaft.example/artikel/1"
        assert canonical_url(" https://wirtschaft.example/artikel/1 ", base) == \
            "https://wirtschaft.example/artikel/1"
    assert canonical_url("artikel/2", "https://a.example/feed/") == "https://a.example/feed/artikel/2"
    assert canonical_url("artikel/2", "https://b.example/rss/") == "https://b.example/rss/artikel/2"
    assert canonical_url("artikel/2") == ""


def test_canonical_url_is_idempotent() -> None:
    once = canonical_url("https://Z.example/a b?z=1&a=%20&utm_x=1")
    assert once == "https://z.example/a%20b?a=+&z=1"
    assert canonical_url(once) == once


def _google_news_link(target: str, *, amp: str | None = None) -> str:
    """Build an old-format Google News RSS link the way Google encodes it."""
    payload = b"\x08\x13\x22" + _varint(len(target.encode())) + target.encode()
    if amp:
        payload += b"\xd2\x01" + _varint(len(amp.encode())) + amp.encode()
    token = base64.urlsafe_b64encode(payload).decode().rstrip("=")
    return f"https://news.google.com/rss/articles/{token}?oc=5&hl=de&gl=DE&ceid=DE:de"


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        out.append((value & 0x7F) | (0x80 if value > 0x7F else 0))
        value >>= 7
        if not value:
            return bytes(out)


def test_google_news_old_format_is_decoded() -> None:
    short = "https://www.handel.example/aliexpress-russland-umsatz"
    long = "https://www.finanzen.example/nachrichten/" + "alibaba-mailru-megafon-rdif-" * 6 + "1"
    assert decode_google_news(_google_news_link(short)) == short
    assert len(long) > 127  # a two-byte length
    assert decode_google_news(_google_news_link(long, amp=long + "/amp")) == long


def test_google_news_new_format_and_other_links_are_left_alone() -> None:
    token = base64.urlsafe_b64encode(b"\x08\x13\x22\x40AU_yqLOpaqueTokenOnlyGoogleCanResolve"
                                     b"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").decode().rstrip("=")
    new = f"https://news.google.com/rss/articles/{token}?oc=5"
    assert decode_google_news(new) == new
    for url in ("https://news.google.com/rss/articles/%%%", "https://news.google.com/",
                "https://www.handel.example/rss/articles/CBMiabc", "kein link"):
        assert decode_google_news(url) == url


def test_host_of() -> None:
    assert host_of("https://WWW.Handelsblatt.example:8443/a?b") == "www.handelsblatt.example"
    assert host_of("http://zeitung.example./x") == "zeitung.example"
    assert host_of("kein link") == ""
    assert host_of("http://[::1") == ""


def test_google_news_host_in_any_case_is_decoded() -> None:
    """Links without Google News's host are returned without being split; the check for the
    host ignores case, as host names do."""
    short = "https://www.handel.example/aliexpress-russland-umsatz"
    shouted = _google_news_link(short).replace("news.google.com", "NEWS.Google.COM")
    assert decode_google_news(shouted) == short
