"""Parse stage: German feeds in every format and encoding become the entries a user sees."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.errors import ParseError
from monitor.models import ParsedFeed
from monitor.parse.feed import parse_feed

FEEDS = Path(__file__).parent / "fixtures" / "feeds"
FETCHED_AT = datetime(2024, 1, 15, 12, 0, tzinfo=UTC)
RSS = {"Content-Type": "application/rss+xml"}


def parse(name_or_body: str | bytes, headers: dict[str, str] | None = None,
          **kwargs: object) -> ParsedFeed:
    body = name_or_body if isinstance(name_or_body, bytes) else (FEEDS / name_or_body).read_bytes()
    return parse_feed(body, url="https://feeds.example/wirtschaft.xml", headers=headers or RSS,
                      fetched_at=FETCHED_AT, **kwargs)  # type: ignore[arg-type]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_rss20_entries_as_a_user_sees_them() -> None:
    feed = parse("rss20_wirtschaft.xml")
    assert feed.title == "Wirtschaftsblatt – Unternehmen & Märkte"
    assert feed.link == "https://www.wirtschaftsblatt.example/unternehmen/"
    assert feed.warning is None
    first = feed.entries[0]
    assert first.key == "guid:wb-1001"
    assert first.title == "AliExpress Russland baut bis zu 40 Prozent der Stellen ab"
    assert first.link == ("https://www.wirtschaftsblatt.example/unternehmen/"
                          "aliexpress-russland-stellenabbau-a-1001.html?seite=2")
    assert "utm_source=rss" in first.raw_link
    assert first.summary.startswith("Das Gemeinschaftsunternehmen von Alibaba, Mail.ru,")
    assert "track(" not in first.summary and "<" not in first.summary
    assert "Umsätze – „Wir haben keine Aufträge“, sagt" in first.summary
    assert feed.entries[1].title == 'Mail.ru und Alibaba: Joint Venture "AliExpress Russia" startet'


def test_german_dates_and_zones() -> None:
    entries = parse("rss20_wirtschaft.xml").entries
    assert entries[0].published == utc(2018, 10, 23, 8, 15)   # Di, 23 Okt 2018 10:15 +0200
    assert entries[1].published == utc(2022, 3, 7, 7, 0)      # Mo, 7. März 2022 08:00 MEZ
    assert entries[2].published == utc(2018, 10, 22, 22, 0)   # 23. Oktober 2018, Berlin
    assert entries[3].published == utc(2023, 11, 2, 16, 45)   # English, GMT
    assert all(e.has_date for e in entries)


def test_future_date_is_clamped_to_fetch_time() -> None:
    stadtwerke = parse("rss20_wirtschaft.xml").entries[4]
    assert stadtwerke.published == FETCHED_AT
    assert stadtwerke.has_date is True


def test_google_news_link_is_decoded_to_the_publisher() -> None:
    entry = parse("rss20_wirtschaft.xml").entries[3]
    assert entry.raw_link.startswith("https://news.google.com/rss/articles/CBMi")
    assert entry.link == "https://www.notenbank-news.example/konjunktur/schwaches-quartal"


def test_atom_relative_link_updated_and_xhtml_content() -> None:
    feed = parse("atom_handel.xml", {"Content-Type": "application/atom+xml"})
    assert feed.title == "Handel & E-Commerce"
    sanktionen, logistik = feed.entries
    assert sanktionen.link == "https://feeds.example/artikel/sanktionen-haendler"
    assert sanktionen.key == "guid:tag:handel.example,2022:artikel-77"
    assert sanktionen.published == utc(2022, 3, 7, 7, 0)
    assert sanktionen.updated == utc(2022, 3, 8, 8, 30)
    assert sanktionen.summary == ("Seit Kriegsbeginn sind die Bestellungen über "
                                  "AliExpress Russland eingebrochen.")
    assert logistik.published == utc(2022, 3, 6, 14, 0) and logistik.updated is None
    assert logistik.summary == "Rund 800 neue Arbeitsplätze sollen bis 2024 entstehen."


def test_content_location_is_the_base_for_relative_links() -> None:
    headers = {"Content-Type": "application/atom+xml",
               "Content-Location": "https://handel.example/feeds/atom.xml"}
    entry = parse("atom_handel.xml", headers).entries[0]
    assert entry.link == "https://handel.example/artikel/sanktionen-haendler"


def test_rdf_feed() -> None:
    feed = parse("rdf_boerse.rdf", {"Content-Type": "application/rdf+xml"})
    assert feed.title == "Börsenticker"
    megafon = feed.entries[0]
    assert megafon.title == "MegaFon verkauft Anteile am AliExpress-Gemeinschaftsunternehmen"
    assert megafon.link == "https://boerse.example/news/megafon-anteile"
    assert megafon.published == utc(2020, 2, 14, 10, 20)


def test_latin1_charset_only_in_http_header() -> None:
    feed = parse("latin1_header.xml", {"Content-Type": "application/rss+xml; charset=ISO-8859-1"})
    entry = feed.entries[0]
    assert entry.title == "Präsident des Händlerverbands warnt vor Größe der Verluste in Russland"
    assert entry.summary == (
        "Die Größe des Schadens für Exporteure ist noch unklar, sagt der Präsident.")
    assert feed.warning is None  # the header was honoured, not guessed around
    unannounced = parse("latin1_header.xml", {})
    assert unannounced.warning and "declared as utf-8" in unannounced.warning


def test_latin1_declared_in_xml_and_windows_1252() -> None:
    latin = parse("latin1_decl.xml").entries[0]
    assert latin.title.startswith("Präsident") and "Größe" in latin.title
    assert latin.published == utc(2022, 3, 10, 11, 0)          # Do, 10 Mär 2022 12:00 MEZ
    cp1252 = parse("cp1252.xml").entries[0]
    assert cp1252.summary == (
        "„Das kostet uns 2,9 Mio. €“, sagt der Präsident – die Größe überrascht.")


def test_guidless_feed_gives_same_keys_twice() -> None:
    first = parse("guidless.xml")
    later = parse_feed((FEEDS / "guidless.xml").read_bytes(), url="https://feeds.example/x",
                       headers={}, fetched_at=datetime(2024, 2, 1, tzinfo=UTC))
    assert [e.key for e in first.entries] == [e.key for e in later.entries]
    keys = [e.key for e in first.entries]
    assert keys[0] == "link:https://regional.example/wirtschaft/zulieferer-werk"
    assert keys[1].startswith("hash:") and keys[2].startswith("hash:") and keys[1] != keys[2]
    undated = first.entries[1]
    assert undated.has_date is False and undated.published == FETCHED_AT
    assert undated.link == "" and undated.guid is None


def test_identity_link_uses_canonical_link_instead_of_guid() -> None:
    entries = parse("rss20_wirtschaft.xml", identity="link").entries
    assert entries[0].key == ("link:https://www.wirtschaftsblatt.example/unternehmen/"
                              "aliexpress-russland-stellenabbau-a-1001.html?seite=2")
    assert entries[0].guid == "wb-1001"


def test_guid_that_is_a_tracked_link_copy_keys_by_canonical_link() -> None:
    body = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>
    <item><title>Ozon und Wildberries legen zu</title>
    <link>https://markt.example/ozon?utm_source=rss&amp;utm_content=17</link>
    <guid>https://markt.example/ozon?utm_source=rss&amp;utm_content=17</guid></item>
    <item><title>Ohne Permalink</title><guid isPermaLink="false">markt-88</guid></item>
    </channel></rss>"""
    tracked, plain = parse(body).entries
    assert tracked.key == "link:https://markt.example/ozon"
    assert plain.key == "guid:markt-88" and plain.link == ""


def test_truncated_feed_keeps_entries_with_warning() -> None:
    body = (FEEDS / "rss20_wirtschaft.xml").read_bytes()
    cut = body[: body.index(b"<item>", body.index(b"wb-1002")) + 20]
    feed = parse(cut)
    assert feed.warning is not None and feed.warning.startswith("XML error at line")
    assert [e.key for e in feed.entries][:2] == ["guid:wb-1001", "guid:wb-1002"]


@pytest.mark.parametrize(
    ("body", "headers", "message"),
    [
        (b"", RSS, "not a feed: empty body"),
        (b"  \n ", RSS, "not a feed: empty body"),
        ((FEEDS / "page.html").read_bytes(), {"Content-Type": "text/html"},
         "not a feed: HTML page"),
        ((FEEDS / "page.html").read_bytes(), RSS, "not a feed: HTML page"),
        (b"<?xml version='1.0'?><bestellung><nr>4</nr></bestellung>", RSS,
         "not a feed: no RSS, Atom or RDF root element"),
        (b"Wartungsarbeiten bis 14 Uhr", RSS, "XML error at line 1: syntax error"),
    ],
)
def test_not_a_feed_raises_parse_error(body: bytes, headers: dict[str, str], message: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse(body, headers)
    assert str(caught.value) == message


def test_empty_channel_is_a_feed_without_entries() -> None:
    body = b'<rss version="2.0"><channel><title>Ruhiger Tag</title></channel></rss>'
    feed = parse(body)
    assert feed.entries == () and feed.title == "Ruhiger Tag" and feed.warning is None


def test_long_summary_is_capped_at_a_word_boundary() -> None:
    words = "Umsatz " * 2000
    body = (f'<rss version="2.0"><channel><title>T</title><item><title>Lang</title>'
            f"<description>{words}</description></item></channel></rss>").encode()
    summary = parse(body).entries[0].summary
    assert len(summary) <= 5000 and summary.endswith("Umsatz…")


@settings(max_examples=300)
@given(st.text(max_size=120))
def test_plain_text_without_markup_skips_the_parser_and_agrees_with_it(value: str) -> None:
    """A title or teaser without ``<`` or ``&`` is only whitespace-collapsed; for every such
    text that is what the HTML parser gives too, and markup still goes through it."""
    from monitor.parse.feed import _SPACE, _TextCollector, plain_text

    collector = _TextCollector()
    collector.feed(value)
    collector.close()
    assert plain_text(value) == _SPACE.sub(" ", "".join(collector.parts)).strip()
    assert plain_text("<p>Alibaba &amp; VK</p><script>x()</script>") == "Alibaba & VK"
