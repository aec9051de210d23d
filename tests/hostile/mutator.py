"""A seeded mutator for feed documents: byte-level and structure-level damage, reproducible.

``mutate(body, rng)`` applies one to six random operations to a feed's bytes: bit flips,
stray bytes, hostile tokens (broken UTF-8, surrogates, entity declarations, CDATA, control
characters, HTML), cut/duplicated/swapped ranges, and changes that keep the XML mostly
well-formed but wrong (elements duplicated thousands of times, deep nesting, huge text,
renamed elements, lying encoding declarations, re-encoding). ``content_type(rng)`` picks the
Content-Type header a hostile server would send with it. The same seed gives the same bytes,
so a failure names its seed and can be replayed alone.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable

MAX_BODY = 200_000  # big enough to hurt, small enough for 10,000 runs (see test_entry_flood)

TOKENS: tuple[bytes, ...] = (
    b"<", b">", b"&", b"&amp;", b"&#0;", b"&#xD800;", b"&#x110000;", b"&#99999999999;", b"]]>",
    b"<![CDATA[", b"<!--", b"-->", b"\x00", b"\x1b[2J", b"\xff\xfe", b"\xfe\xff",
    b"\xef\xbb\xbf", b"\xc3", b"\xc3\x28", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"<item>",
    b"</item>", b"<entry>", b"</entry>", b"</channel>", b"</rss>", b"<rss version=\"2.0\">",
    b'<?xml version="1.0" encoding="utf-16"?>', b'<?xml version="1.0" encoding="x-bogus"?>',
    b'<!DOCTYPE rss [<!ENTITY a "AliExpress Russland ">]>', b"&a;", b"&unbekannt;",
    b'<!DOCTYPE rss SYSTEM "http://127.0.0.1:9/rss.dtd">',
    b'<!ENTITY % p SYSTEM "file:///etc/passwd">', b"<html><body><h1>Fehler 500</h1>",
    b"<link>javascript:alert(1)</link>", b"<link>http://[::1/kaputt</link>",
    b"<link>http://127.0.0.1:1/intern</link>", b"<guid></guid>",
    b"<guid>" + b"g" * 5000 + b"</guid>",
    b"<pubDate>Mo, 31. Februar 99999 25:61 MEZ</pubDate>", b"<pubDate>-1</pubDate>",
    b"<pubDate>Sat, 01 Jan 0001 00:00:00 +9999</pubDate>",
    b"<updated>9999-12-31T23:59:60Z</updated>",
    b'xmlns:x="', b'<x:y xmlns:x="urn:x">', b"\r", b"\t", b"\x0b\x0c",
    "Straße Öl € Рубль 阿里巴巴".encode(), "Außenhandel".encode("latin-1"),
    b"%s%n%x", b"{{7*7}}", b"\\u0000", b"\xf0\x9f\x92\xa9", b"<script>alert(1)</script>",
    b"<description><![CDATA[<p>AliExpress <b>Russland</b></p>]]></description>",
)
CONTENT_TYPES: tuple[str, ...] = (
    "application/rss+xml; charset=utf-8", "application/atom+xml", "text/xml",
    "text/xml; charset=iso-8859-1", "text/html; charset=utf-8", "application/octet-stream",
    "text/plain; charset=utf-16", "application/json", "text/xml; charset=x-bogus",
    "image/png", "", "application/xml; charset=utf-32", "text/xml; charset=",
)
_TAG = re.compile(rb"<[A-Za-z:_][^<>]{0,60}>")
_ELEMENT = re.compile(rb"<(item|entry)\b[^>]*>.*?</\1>", re.DOTALL)
_TEXT = re.compile(rb">([^<>]{1,400})<")

Op = Callable[[bytearray, random.Random], None]


def _at(body: bytearray, rng: random.Random) -> int:
    return rng.randint(0, len(body))


def flip_bits(body: bytearray, rng: random.Random) -> None:
    for _ in range(rng.randint(1, 8)):
        if body:
            body[rng.randrange(len(body))] ^= 1 << rng.randrange(8)


def stray_bytes(body: bytearray, rng: random.Random) -> None:
    for _ in range(rng.randint(1, 16)):
        at = _at(body, rng)
        body[at:at] = bytes([rng.randrange(256)])


def insert_token(body: bytearray, rng: random.Random) -> None:
    at = _at(body, rng)
    body[at:at] = rng.choice(TOKENS) * rng.choice((1, 1, 1, 2, 50))


def delete_range(body: bytearray, rng: random.Random) -> None:
    at = _at(body, rng)
    del body[at:at + rng.randint(1, 400)]


def truncate(body: bytearray, rng: random.Random) -> None:
    del body[_at(body, rng):]


def duplicate_range(body: bytearray, rng: random.Random) -> None:
    start = _at(body, rng)
    piece = body[start:start + rng.randint(1, 2000)]
    at = _at(body, rng)
    body[at:at] = piece * rng.choice((1, 2, 10))


def swap_ranges(body: bytearray, rng: random.Random) -> None:
    a, b = sorted((_at(body, rng), _at(body, rng)))
    length = min(rng.randint(1, 300), b - a)
    body[a:b + length] = body[b:b + length] + body[a + length:b] + body[a:a + length]


def drop_tag(body: bytearray, rng: random.Random) -> None:
    tags = list(_TAG.finditer(body))
    if tags:
        tag = rng.choice(tags)
        del body[tag.start():tag.end()]


def repeat_element(body: bytearray, rng: random.Random) -> None:
    """One whole item/entry many times: hundreds of entries with the same identity."""
    elements = list(_ELEMENT.finditer(body))
    if elements:
        element = rng.choice(elements)
        times = rng.choice((2, 20, 200))
        body[element.end():element.end()] = element.group() * times


def deep_nesting(body: bytearray, rng: random.Random) -> None:
    depth = rng.choice((100, 2000))
    name = rng.choice((b"a", b"item", b"div", b"x:y"))
    at = _at(body, rng)
    body[at:at] = (b"<" + name + b">") * depth


def huge_text(body: bytearray, rng: random.Random) -> None:
    texts = list(_TEXT.finditer(body))
    if texts:
        text = rng.choice(texts)
        word = rng.choice((b"Sanktionen ", b"&amp;", "ß".encode(), b"A"))
        body[text.start(1):text.end(1)] = word * rng.choice((0, 1000, 20_000))


def rename_elements(body: bytearray, rng: random.Random) -> None:
    old, new = rng.choice(((b"item", b"entry"), (b"channel", b"feed"), (b"title", b"link"),
                           (b"rss", b"html"), (b"link", b"guid"), (b"pubDate", b"updated")))
    body[:] = body.replace(old, new)


def lying_declaration(body: bytearray, rng: random.Random) -> None:
    encoding = rng.choice((b"utf-16", b"utf-32", b"iso-8859-1", b"ebcdic-cp-us", b"x-bogus",
                           b"", b"windows-1251"))
    declaration = b'<?xml version="1.0" encoding="' + encoding + b'"?>'
    match = re.match(rb"\s*<\?xml[^>]*\?>", body)
    body[:match.end() if match else 0] = declaration


def reencode(body: bytearray, rng: random.Random) -> None:
    text = body.decode("utf-8", "replace")
    codec = rng.choice(("utf-16", "utf-16-be", "utf-32", "cp037", "latin-1", "cp1251"))
    body[:] = text.encode(codec, "replace")


OPS: tuple[Op, ...] = (
    flip_bits, stray_bytes, insert_token, insert_token, delete_range, truncate, duplicate_range,
    swap_ranges, drop_tag, drop_tag, repeat_element, deep_nesting, huge_text, rename_elements,
    lying_declaration, reencode,
)


def mutate(body: bytes, rng: random.Random) -> tuple[bytes, list[str]]:
    """The mutated bytes and the names of the operations applied, in order."""
    data = bytearray(body)
    applied: list[str] = []
    for _ in range(rng.choice((1, 1, 2, 2, 3, 4, 6))):
        op = rng.choice(OPS)
        op(data, rng)
        applied.append(op.__name__)
        if len(data) > MAX_BODY:
            del data[MAX_BODY:]
    return bytes(data), applied


def content_type(rng: random.Random, served: str) -> str:
    """Mostly the header the fixture was served with; sometimes a wrong one."""
    return served if rng.random() < 0.6 else rng.choice(CONTENT_TYPES)
