"""The address guard end to end: internal addresses as feed URLs, as redirect targets from an
allowed local server, and as article links in a feed, all through the real pipeline.

Unit tests of the guard (tests/test_netguard.py, tests/test_fetch.py) check single
addresses; here every spelling is a configured feed or a link polled in one cycle: each must
end as a refusal on its feed's store row (or a failed article page) without one request
reaching our server, while allowed hosts keep working. The refusals are counted for the
published figures.
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import NewsSite
from tests.hostile.helpers import Cycle, Figures, assert_recorded, hostile_config, poll_cycle
from tests.newsroom import LAYOFFS, Item, rss

# spelling of the host in a URL -> the reason the user reads
VARIANTS = {
    "127.0.0.1": "loopback", "[::1]": "loopback", "0.0.0.0": "unspecified",
    "[::]": "unspecified", "10.0.0.1": "private", "10.255.255.254": "private",
    "172.16.0.1": "private", "172.31.255.254": "private", "192.168.0.1": "private",
    "192.168.255.254": "private", "169.254.169.254": "link-local", "[fe80::1]": "link-local",
    "[fc00::1]": "private", "100.64.0.1": "shared address space (CGNAT)",
    "100.127.255.254": "shared address space (CGNAT)", "[::ffff:127.0.0.1]": "loopback",
    "[::ffff:169.254.169.254]": "link-local", "2130706433": "loopback",
    "0177.0.0.1": "invalid", "0x7f.0.0.1": "loopback", "127.1": "loopback",
    "017700000001": "loopback", "localhost": "loopback",
}
# spellings of loopback that must work once allowed, written as in the URL
ALLOWED = ["127.0.0.1", "localhost", "2130706433", "127.1", "0x7f.0.0.1", "[::ffff:127.0.0.1]"]


def label(host: str) -> str:
    """A feed name for a host (names allow no brackets)."""
    return host.replace("[", "(").replace("]", ")")


def refusal(reason: str) -> str:
    """The regex for the error a user reads when ``reason`` refused a host."""
    if reason == "invalid":  # httpx refuses octal quads (in a URL or a Location header)
        return r"^(invalid URL|RemoteProtocolError: Invalid URL in location header).*" \
               r"Invalid IPv4 address: '0177\.0\.0\.1'"
    return rf"^address \S+ of host \S+ is not allowed \({re.escape(reason)}\)$"


def feeds_for(site: NewsSite, hosts: list[str], entry_host: str) -> list[dict[str, object]]:
    """A feed straight at each host, and one redirected there from ``entry_host``."""
    feeds: list[dict[str, object]] = []
    for n, host in enumerate(hosts):
        target = f"http://{host}:{site.server.port}/geheim.xml"
        site.put(f"/weiter/{n}", "", status=302, headers={"Location": target})
        feeds.append({"name": f"direkt {label(host)}", "url": target, "full_text": False})
        feeds.append({"name": f"umgeleitet {label(host)}", "full_text": False,
                      "url": f"http://{entry_host}:{site.server.port}/weiter/{n}"})
    return feeds


def healthy(site: NewsSite, host: str) -> dict[str, object]:
    site.put("/gesund.xml", rss(f"http://{host}:{site.server.port}", "Wirtschaftskurier",
                                [Item(LAYOFFS.headline, "/artikel/a", "Stellenabbau.")]))
    return {"name": "Gesund", "url": f"http://{host}:{site.server.port}/gesund.xml",
            "full_text": False}


def count_refusals(cycle: Cycle, hosts: list[str]) -> int:
    refused = 0
    for host in hosts:
        for name in (f"direkt {label(host)}", f"umgeleitet {label(host)}"):
            assert_recorded(cycle.outcomes[name], cycle.states[name])
            error = cycle.states[name].last_error or ""
            assert re.search(refusal(VARIANTS[host]), error), (name, error)
            refused += 1
    return refused


def test_internal_addresses_are_refused_as_feeds_and_redirect_targets(
        site: NewsSite, tmp_path: Path, figures: Figures) -> None:
    via_name = [h for h in VARIANTS if h != "localhost"]
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    config = hostile_config(tmp_path / "a", [*feeds_for(site, via_name, "localhost"),
                                             healthy(site, "localhost")], allow=["localhost"])
    cycle = poll_cycle(config)
    refused = count_refusals(cycle, via_name)
    assert cycle.outcomes["Gesund"].status == "ok"
    config = hostile_config(tmp_path / "b", [*feeds_for(site, ["localhost"], "127.0.0.1"),
                                             healthy(site, "127.0.0.1")], allow=["127.0.0.1"])
    cycle = poll_cycle(config)
    refused += count_refusals(cycle, ["localhost"])
    assert cycle.outcomes["Gesund"].status == "ok"
    assert site.hits("/geheim.xml") == []  # nothing reached the server behind a refusal
    assert len(site.hits("/weiter/0")) == 2
    figures.record("address-guard", variants=len(VARIANTS), refused=refused,
                   tried=2 * len(VARIANTS))
    assert refused == 2 * len(VARIANTS)


def test_allowed_spellings_and_allowed_redirects_still_work(site: NewsSite,
                                                            tmp_path: Path) -> None:
    site.put("/geheim.xml", rss("http://127.0.0.1", "Intern", [Item("Intern", "/x", "y")]))
    feeds: list[dict[str, object]] = [
        {"name": f"erlaubt {label(host)}", "url": f"http://{host}:{site.server.port}/geheim.xml",
         "full_text": False} for host in ALLOWED]
    site.put("/weiter-ok", "", status=301,
             headers={"Location": f"http://127.0.0.1:{site.server.port}/geheim.xml"})
    feeds.append({"name": "umgeleitet erlaubt", "full_text": False,
                  "url": f"http://localhost:{site.server.port}/weiter-ok"})
    cycle = poll_cycle(hostile_config(tmp_path, feeds, allow=ALLOWED))
    for name, outcome in cycle.outcomes.items():
        assert outcome.status == "ok", (name, outcome.error)
        assert cycle.states[name].entries_count == 1
    assert len(site.hits("/geheim.xml")) == len(ALLOWED) + 1


def test_article_links_to_internal_addresses_are_never_fetched(
        site: NewsSite, tmp_path: Path, figures: Figures) -> None:
    hosts = [h for h in VARIANTS if h != "localhost"]
    items = [Item(f"{LAYOFFS.headline} ({n})", f"/geheim-artikel/{n}", "Alibaba Russland.",
                 guid=f"intern-{n}") for n in range(len(hosts))]
    body = rss("", "Wirtschaftskurier", items)
    for n, host in enumerate(hosts):
        body = body.replace(f"<link>/geheim-artikel/{n}</link>",
                            f"<link>http://{host}:{site.server.port}/geheim-artikel/{n}</link>")
    site.put("/links.xml", body)
    feed = {"name": "Links", "url": f"http://localhost:{site.server.port}/links.xml"}
    cycle = poll_cycle(hostile_config(tmp_path, [feed], allow=["localhost"]))
    outcome = cycle.outcomes["Links"]
    assert outcome.status == "ok", outcome.error
    assert len(outcome.articles) == len(hosts)
    assert all(a.status in ("failed", "robots") for a in outcome.articles), outcome.articles
    assert not [p for p, _ in site.requests if p.startswith("/geheim-artikel")]
    assert not [p for p, _ in site.requests if p == "/robots.txt"]
    figures.record("address-guard-article-links", refused=len(hosts), tried=len(hosts))
