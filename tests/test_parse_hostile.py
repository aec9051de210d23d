"""Hostile feeds: entity bombs, external entities, file paths as bodies, random bytes.

What a user must see: the daemon keeps running with bounded time and memory, no local file
content ever appears in an entry, and the only error is ``ParseError``.
"""

from __future__ import annotations

import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.errors import ParseError
from monitor.models import ParsedFeed
from monitor.parse.feed import parse_feed

FEEDS = Path(__file__).parent / "fixtures" / "feeds"
FETCHED_AT = datetime(2024, 1, 15, 12, 0, tzinfo=UTC)
SECRET = "GEHEIM-Vorstandsprotokoll-4711"
ITEM = (b'<rss version="2.0"><channel><title>Ticker</title><item><title>AliExpress &%s;</title>'
        b"<description>Umsatz &%s;</description></item></channel></rss>")


def parse(body: bytes) -> ParsedFeed:
    return parse_feed(body, url="https://feeds.example/x.xml",
                      headers={"Content-Type": "application/rss+xml"}, fetched_at=FETCHED_AT)


def all_text(feed: ParsedFeed) -> str:
    return " ".join(f"{e.title} {e.summary} {e.link} {e.guid}" for e in feed.entries) + feed.title


def billion_laughs(newline: bytes) -> bytes:
    decls = [b'<!ENTITY lol0 "lol">']
    decls += [b'<!ENTITY lol%d "%s">' % (i, b"&lol%d;" % (i - 1) * 10) for i in range(1, 10)]
    doctype = b"<!DOCTYPE rss [" + newline + newline.join(decls) + newline + b"]>"
    return b'<?xml version="1.0"?>\n' + doctype + b"\n" + ITEM % (b"lol9", b"lol9")


def quadratic_blowup() -> bytes:
    doctype = b'<!DOCTYPE rss [\n<!ENTITY a "' + b"A" * 100_000 + b'">\n]>\n'
    body = ITEM % (b"a", b"a")
    return doctype + body.replace(b"&a;</desc", b"&a;" * 20_000 + b"</desc")


@pytest.mark.parametrize(
    "body",
    [billion_laughs(b"\n"), billion_laughs(b""), quadratic_blowup(),
     billion_laughs(b"\n").decode().encode("utf-16")],
    ids=["billion-laughs", "billion-laughs-one-line", "quadratic-blowup", "utf-16"],
)
def test_entity_expansion_is_neutralised(body: bytes) -> None:
    tracemalloc.start()
    start = time.perf_counter()
    try:
        text = all_text(parse(body))
    except ParseError as exc:
        text = str(exc)
    seconds = time.perf_counter() - start
    peak_mb = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    assert "lollollol" not in text and "AAAAAAAAAA" * 10 not in text
    assert len(text) < 20_000
    assert seconds < 5 and peak_mb < 100, (seconds, peak_mb)  # unguarded: 64 s and 6 GB


def test_billion_laughs_entry_is_still_read() -> None:
    feed = parse(billion_laughs(b"\n"))
    assert feed.entries[0].title.startswith("AliExpress")
    assert feed.warning is not None and "undefined entity" in feed.warning


@pytest.mark.parametrize("declaration", [
    b'<!ENTITY xxe SYSTEM "file://PATH">',
    b'<!ENTITY % remote SYSTEM "file://PATH">\n%remote;',
    b"<!ENTITY xxe PUBLIC '-//Angriff//DE' 'file://PATH'>",
])
def test_external_entities_are_not_resolved(tmp_path: Path, declaration: bytes) -> None:
    secret = tmp_path / "geheim.txt"
    secret.write_text(SECRET)
    doctype = b"<!DOCTYPE rss [\n" + declaration.replace(b"PATH", str(secret).encode()) + b"\n]>\n"
    feed = parse(b'<?xml version="1.0"?>\n' + doctype + ITEM % (b"xxe", b"xxe"))
    assert SECRET not in all_text(feed)
    assert feed.entries[0].title.startswith("AliExpress")


def test_external_dtd_is_not_loaded(tmp_path: Path) -> None:
    dtd = tmp_path / "feed.dtd"
    dtd.write_text(f'<!ENTITY xxe "{SECRET}">')
    body = (b'<?xml version="1.0"?>\n<!DOCTYPE rss SYSTEM "file://%s">\n' % str(dtd).encode()
            + ITEM % (b"xxe", b"xxe"))
    assert SECRET not in all_text(parse(body))


def test_body_that_is_a_file_path_is_not_opened(tmp_path: Path) -> None:
    secret = tmp_path / "feed.xml"
    secret.write_bytes(ITEM.replace(b"&%s;", SECRET.encode()))
    with pytest.raises(ParseError) as caught:
        parse(str(secret).encode())
    assert SECRET not in str(caught.value)


def test_body_that_is_a_url_is_not_fetched(httpserver: object) -> None:
    httpserver.expect_request("/feed.xml").respond_with_data(  # type: ignore[attr-defined]
        ITEM.replace(b"&%s;", SECRET.encode()), content_type="application/rss+xml")
    with pytest.raises(ParseError):
        parse(httpserver.url_for("/feed.xml").encode())  # type: ignore[attr-defined]
    assert httpserver.log == []  # type: ignore[attr-defined]


FIXTURES = sorted(p.read_bytes() for p in FEEDS.iterdir() if p.suffix in {".xml", ".rdf"})


@st.composite
def mutated_feed(draw: st.DrawFn) -> bytes:
    body = bytearray(draw(st.sampled_from(FIXTURES)))
    for _ in range(draw(st.integers(1, 8))):
        at = draw(st.integers(0, len(body)))
        action = draw(st.sampled_from(["cut", "insert", "delete"]))
        if action == "cut":
            del body[at:]
        elif action == "insert":
            body[at:at] = draw(st.sampled_from([b"<", b"&", b"]]>", b"\x00", b"\xff\xfe",
                                                b"<!ENTITY x 'y'>", b"&#xD800;", b"<item>",
                                                b"</channel>", b"\xc3", b"<![CDATA["]))
        else:
            del body[at:at + draw(st.integers(1, 200))]
    return bytes(body)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.binary(max_size=2000), mutated_feed()))
def test_any_bytes_give_a_feed_or_parse_error(body: bytes) -> None:
    try:
        feed = parse(body)
    except ParseError as exc:
        assert str(exc)
        return
    for entry in feed.entries:
        assert entry.key.split(":", 1)[0] in {"guid", "link", "hash"}
        assert entry.published <= FETCHED_AT
        assert entry.link == "" or entry.link.startswith(("http://", "https://"))
