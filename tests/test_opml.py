"""``news-monitor feeds import FILE.opml`` and ``feeds export``: feeds to and from OPML.

Real files with nested outlines and odd encodings (ISO-8859-1 declared, a byte-order mark,
UTF-16, entities), the printed TOML pasted into the config and loaded by ``check-config``,
and the round trip: export, import into an empty config, export again.
"""

from __future__ import annotations

import codecs
import io
import sys
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from monitor.cli import main
from tests.conftest import NewsSite, run_cli, write_config

OPML = '''<?xml version="1.0" encoding="{encoding}"?>
<!DOCTYPE opml [<!ENTITY ressort "Wirtschaft">]>
<opml version="2.0">
 <head><title>Presseschau für den Außenhandel</title></head>
 <body>
  <outline text="Zeitungen &amp; Sender">
   <outline text="Süddeutsche Rundschau &#8211; Märkte" type="rss"
            xmlUrl="https://rundschau.example/rss?ressort=maerkte&amp;format=voll"/>
   <outline text="Kurier &#252;ber &quot;Osthandel&quot;" xmlUrl="https://kurier.example/ost"/>
   <outline text="Regional">
    <outline title="Grenzland &ressort;" xmlUrl="https://grenzland.example/feed"/>
    <outline text="Nur eine Webseite" htmlUrl="https://webseite.example/"/>
   </outline>
  </outline>
  <outline text="Bereits da" xmlUrl="https://bekannt.example/feed.xml"/>
  <outline text="Archiv per FTP" xmlUrl="ftp://archiv.example/feed"/>
  <outline text="Zweiter Kurier" xmlUrl="HTTPS://Kurier.Example/ost/"/>
 </body>
</opml>
'''
KNOWN = {"name": "Bekannt", "url": "https://bekannt.example/feed.xml"}


def encoded(kind: str) -> bytes:
    if kind == "latin-1":
        return OPML.format(encoding="ISO-8859-1").encode("iso-8859-1")
    if kind == "utf-8 with BOM":
        return codecs.BOM_UTF8 + OPML.format(encoding="UTF-8").encode("utf-8")
    return OPML.format(encoding="UTF-16").encode("utf-16")            # with its own BOM


@pytest.mark.parametrize("kind", ["latin-1", "utf-8 with BOM", "utf-16"])
def test_import_prints_toml_for_the_new_feeds_only(tmp_path: Path, kind: str) -> None:
    config = write_config(tmp_path, [KNOWN])
    (tmp_path / "liste.opml").write_bytes(encoded(kind))
    result = run_cli("feeds", "import", "liste.opml", config=config)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("# 3 feeds from liste.opml not configured yet; paste into "
                                    "the config, then run `news-monitor check-config`.\n")
    tables = tomllib.loads(result.stdout)["feeds"]
    assert tables == [
        {"name": "Süddeutsche Rundschau - Märkte",
         "url": "https://rundschau.example/rss?ressort=maerkte&format=voll"},
        {"name": "Kurier über Osthandel", "url": "https://kurier.example/ost"},
        {"name": "Grenzland &ressort", "url": "https://grenzland.example/feed"},
    ]   # an entity the file's DTD declares is never expanded (the ";" is no name character)
    assert "# Zeitungen & Sender / Regional\n[[feeds]]\nname = \"Grenzland &ressort\"" \
        in result.stdout
    assert result.stderr.splitlines() == [
        "3 new, 2 already configured, 1 skipped",
        "    skipped 'ftp://archiv.example/feed': not an http(s) URL"]


def test_imported_toml_pasted_into_the_config_is_valid_and_named_uniquely(
        tmp_path: Path) -> None:
    config = write_config(tmp_path, [KNOWN, {"name": "Kurier über Osthandel",
                                             "url": "https://anderer.example/feed"}])
    (tmp_path / "liste.opml").write_bytes(encoded("latin-1"))
    result = run_cli("feeds", "import", "liste.opml", config=config)
    assert 'name = "Kurier über Osthandel (2)"' in result.stdout
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("[email]", result.stdout + "\n\n[email]"), encoding="utf-8")
    check = run_cli("check-config", config=config)
    assert check.returncode == 0, check.stderr
    assert "feeds:    5 enabled of 5" in check.stdout


def test_export_writes_escaped_opml_and_the_round_trip_holds(tmp_path: Path) -> None:
    feeds = [{"name": "Rundschau & Co", "url": "https://rundschau.example/rss?a=1&b=\"2\""},
             {"name": "Grenzland (Ost)", "url": "https://grenzland.example/feed?q=<ost>"},
             {"name": "Kurier", "url": "https://kurier.example/ost", "enabled": False}]
    first = write_config(tmp_path, feeds)
    exported = run_cli("feeds", "export", config=first)
    assert exported.returncode == 0 and exported.stderr == ""
    assert exported.stdout.startswith("<?xml version='1.0' encoding='utf-8'?>\n<opml")
    assert "&amp;b=&quot;2&quot;" in exported.stdout and "q=&lt;ost&gt;" in exported.stdout
    outlines = ET.fromstring(exported.stdout.encode()).findall("./body/outline")
    assert [(o.get("text"), o.get("xmlUrl")) for o in outlines] == [
        (f["name"], f["url"]) for f in feeds]
    (tmp_path / "export.opml").write_text(exported.stdout, encoding="utf-8")
    again = run_cli("feeds", "import", "export.opml", config=first)
    assert again.stdout.startswith("# 0 feeds") and "0 new, 3 already configured" in again.stderr
    empty = tmp_path / "leer"
    empty.mkdir()
    second = write_config(empty, [])
    (empty / "export.opml").write_text(exported.stdout, encoding="utf-8")
    imported = run_cli("feeds", "import", "export.opml", config=second)
    text = second.read_text(encoding="utf-8")
    second.write_text(text.replace("[email]", imported.stdout + "\n\n[email]"), encoding="utf-8")
    written = run_cli("feeds", "export", "wieder.opml", config=second)
    assert written.stdout == "wrote 3 feeds to wieder.opml\n"
    round_trip = ET.parse(empty / "wieder.opml").getroot().findall("./body/outline")
    assert [(o.get("text"), o.get("xmlUrl")) for o in round_trip] == [
        (f["name"], f["url"]) for f in feeds]


def test_import_never_fetches_what_it_reads(site: NewsSite, tmp_path: Path) -> None:
    listed = site.put("/liste.opml", OPML.format(encoding="UTF-8"), "text/x-opml")
    config = write_config(tmp_path, [KNOWN])
    (tmp_path / "nur-url.opml").write_text(listed, encoding="utf-8")
    result = run_cli("feeds", "import", "nur-url.opml", config=config)
    assert result.returncode == 2
    assert "nur-url.opml: no feeds found" in result.stderr
    include = '<opml version="2.0"><body><outline type="include" url="{}"/></body></opml>'
    (tmp_path / "include.opml").write_text(include.format(listed), encoding="utf-8")
    assert run_cli("feeds", "import", "include.opml", config=config).returncode == 2
    assert site.requests == []


@pytest.mark.parametrize("content, message", [
    (b"<?xml version='1.0' encoding='x-unbekannt'?><opml/>", "unknown encoding 'x-unbekannt'"),
    ("<opml><body><outline text='Grüße'/></body></opml>".encode("latin-1"), "not utf-8 at"),
    (b"", "no feeds found"),
])
def test_unreadable_files_are_usage_errors(tmp_path: Path, content: bytes,
                                           message: str) -> None:
    config = write_config(tmp_path, [KNOWN])
    (tmp_path / "x.opml").write_bytes(content)
    result = run_cli("feeds", "import", "x.opml", config=config)
    assert result.returncode == 2 and message in result.stderr
    assert "Traceback" not in result.stderr
    missing = run_cli("feeds", "import", "fehlt.opml", config=config)
    assert missing.returncode == 2 and "cannot read fehlt.opml" in missing.stderr


def test_feeds_without_an_action_is_still_the_health_table(tmp_path: Path) -> None:
    config = write_config(tmp_path, [KNOWN])
    result = run_cli("feeds", config=config)
    assert result.returncode == 0
    assert result.stdout.splitlines()[0].split() == [
        "feed", "status", "last", "success", "next", "poll", "errors", "entries"]
    assert result.stdout.splitlines()[1].startswith("Bekannt ")


def test_import_reads_standard_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path, [KNOWN])
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(encoded("latin-1"))))
    assert main(["--config", str(config), "feeds", "import", "-"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# 3 feeds from - not configured yet")
    assert 'name = "Kurier über Osthandel"' in out
