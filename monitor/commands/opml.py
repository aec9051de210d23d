"""``news-monitor feeds import FILE.opml`` and ``feeds export [FILE.opml]``: feeds as OPML.

Import reads the file's bytes itself (at most 10 MB; ``-`` is standard input, for a
command run in the service's sandbox), decodes them by their byte-order mark
or XML declaration (listparser parses with an HTML parser that would ignore a declared
ISO-8859-1), and hands listparser only those bytes: never a string, which it would fetch if
it looked like a URL, and never a path. Entities a DTD declares are left as written, never
expanded. It prints ``[[feeds]]`` TOML (every string escaped, every comment one line) for
the feeds whose URL is not configured yet, each under a name the config accepts and no
other feed has; what it skipped, and why, goes to stderr. Export writes the configured
feeds as OPML 2.0 with ElementTree, which escapes every attribute. The two round-trip: an
exported file imports as exactly the configured feeds.
"""

from __future__ import annotations

import codecs
import re
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from monitor.config.model import Config
from monitor.errors import UsageError

MAX_BYTES = 10 * 1000**2
NAME_CHARS = re.compile(r"[^\w .:/()&+-]+")
NOT_IN_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_DECLARED = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
         (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))


@dataclass(frozen=True, slots=True)
class Outline:
    """A feed found in an OPML file: its name in the config, URL and folders."""

    name: str
    url: str
    folders: str


def import_feeds(path: Path, config: Config) -> int:
    import listparser  # here: the service's process, which never reads OPML, stays lean

    found = listparser.parse(_readable(path))
    if not found.feeds:
        raise UsageError(f"{path}: no feeds found (an OPML file lists them as <outline> "
                         "elements with an xmlUrl)")
    new, known, skipped = _sort_out(found.feeds, config)
    print(f"# {len(new)} feed{'s' if len(new) != 1 else ''} from {_one_line(path.name)} not "
          "configured yet; paste into the config, then run `news-monitor check-config`.")
    for outline in new:
        print(_toml_table(outline))
    print(f"{len(new)} new, {known} already configured, {len(skipped)} skipped",
          file=sys.stderr)
    for reason in skipped:
        print(f"    skipped {reason}", file=sys.stderr)
    return 0


def export_feeds(path: Path | None, config: Config) -> int:
    data = opml_bytes(config)
    if path is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return 0
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}") from None
    print(f"wrote {len(config.feeds)} feeds to {path}")
    return 0


def opml_bytes(config: Config) -> bytes:
    """The configured feeds as an OPML 2.0 document in UTF-8."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = "news-monitor feeds"
    ET.SubElement(head, "dateCreated").text = format_datetime(datetime.now(UTC))
    body = ET.SubElement(root, "body")
    for feed in config.feeds:
        ET.SubElement(body, "outline", type="rss", text=_xml_text(feed.name),
                      title=_xml_text(feed.name), xmlUrl=_xml_text(feed.url))
    ET.indent(root)
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True)) + b"\n"


def _xml_text(value: str) -> str:
    return NOT_IN_XML.sub("", value)


def _readable(path: Path) -> bytes:
    """The file's bytes (``-``: standard input's) as UTF-8 with a byte-order mark and
    without a declaration."""
    try:
        if str(path) == "-":
            data = sys.stdin.buffer.read(MAX_BYTES + 1)
        else:
            with path.open("rb") as handle:
                data = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    if len(data) > MAX_BYTES:
        raise UsageError(f"{path}: larger than {MAX_BYTES // 1000**2} MB; not an OPML file")
    return codecs.BOM_UTF8 + _DECLARATION.sub("", _decoded(data, path), count=1).encode()


def _decoded(data: bytes, path: Path) -> str:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data.decode(encoding, errors="replace")
    declared = _DECLARED.match(data)
    encoding = declared.group(1).decode("ascii") if declared else "utf-8"
    try:
        return data.decode(encoding)
    except LookupError:
        raise UsageError(f"{path}: declares an unknown encoding {encoding!r}") from None
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not {encoding} at byte {exc.start} (declare the file's "
                         "encoding in its <?xml ...?> line)") from None


def _sort_out(feeds: Iterable[Any],
              config: Config) -> tuple[list[Outline], int, list[str]]:
    """(feeds to add, how many are configured already, what was skipped and why)."""
    configured = {_url_key(f.url) for f in config.feeds}
    names = {f.name for f in config.feeds}
    new: list[Outline] = []
    known, skipped = 0, []
    for feed in feeds:
        url = str(feed.get("url", "")).strip()
        if not _is_http(url):
            skipped.append(f"{_one_line(url)!r}: not an http(s) URL")
        elif _url_key(url) in configured:
            known += 1
        else:
            configured.add(_url_key(url))
            name = _unique(_name(str(feed.get("title", "")), url), names)
            names.add(name)
            new.append(Outline(name, url, _folders(feed.get("categories", []))))
    return new, known, skipped


def _is_http(url: str) -> bool:
    parts = urlsplit(url)
    return (parts.scheme in ("http", "https") and bool(parts.hostname)
            and not any(ch.isspace() or ord(ch) < 32 for ch in url))


def _url_key(url: str) -> str:
    parts = urlsplit(url.strip())
    return parts._replace(scheme=parts.scheme.lower(),
                          netloc=parts.netloc.lower()).geturl().rstrip("/")


def _name(title: str, url: str) -> str:
    """The title as a name the config accepts; the host when nothing of it is left."""
    cleaned = NAME_CHARS.sub(" ", title.replace("–", "-").replace("—", "-"))
    cleaned = " ".join(cleaned.split()).lstrip(" .:/()&+-")[:80].rstrip()
    return cleaned or (urlsplit(url).hostname or "feed")[:80]


def _unique(name: str, taken: set[str]) -> str:
    candidate, number = name, 1
    while candidate in taken:
        number += 1
        suffix = f" ({number})"
        candidate = name[:80 - len(suffix)].rstrip() + suffix
    return candidate


def _folders(categories: Any) -> str:
    paths = [" / ".join(str(part) for part in path) for path in categories or ()
             if isinstance(path, list)]
    return _one_line("; ".join(paths))


def _one_line(text: str) -> str:
    return " ".join(CONTROL.sub(" ", text).split())


def _toml_table(outline: Outline) -> str:
    folder = f"# {outline.folders}\n" if outline.folders else ""
    return (f"\n{folder}[[feeds]]\nname = {_toml_string(outline.name)}\n"
            f"url = {_toml_string(outline.url)}")


def _toml_string(value: str) -> str:
    """A TOML basic string: backslash, quote and every control character escaped."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + re.sub(r"[\x00-\x1f\x7f]", lambda m: f"\\u{ord(m.group()):04x}", escaped) + '"'
