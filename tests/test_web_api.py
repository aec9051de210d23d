"""The desk's JSON API and Atom feeds (httpx against a real uvicorn on 127.0.0.1): a
Bearer token from the config is required, and the verdict endpoint does what the button
does."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import httpx

from tests import test_web_support as web_support
from tests.test_web_support import (
    STORIES,
    TOKEN,
    LiveDesk,
    digest_text,
    login,
)

live_desk = web_support.live_desk       # the fixture

AUTH = {"Authorization": f"Bearer {TOKEN}"}
ATOM = "{http://www.w3.org/2005/Atom}"


def test_a_token_is_required(live_desk: LiveDesk) -> None:
    with httpx.Client(base_url=live_desk.base) as c:
        for path in ("/api/stories", f"/api/stories/{live_desk.ids['stahl-jv']}"):
            assert c.get(path).status_code == 401
            assert c.get(path, headers={"Authorization": "Bearer falsch"}).status_code == 401
            assert c.get(path, headers={"Authorization": TOKEN}).status_code == 401
        answer = c.post(f"/api/stories/{live_desk.ids['stahl-jv']}/verdict",
                        json={"topic": "joint-ventures", "verdict": "mute"})
        assert answer.status_code == 401 and answer.headers["www-authenticate"] == "Bearer"
        assert c.get("/atom/bahn.xml").status_code == 401
        assert c.get("/atom/bahn.xml", params={"token": "falsch"}).status_code == 401
    assert live_desk.store.verdicts_of(live_desk.ids["stahl-jv"]) == []


def test_stories_and_one_story(live_desk: LiveDesk) -> None:
    with httpx.Client(base_url=live_desk.base, headers=AUTH) as c:
        listed = c.get("/api/stories", params={"topic": "joint-ventures", "kind": "new",
                                               "since": "2026-03-01"}).json()["stories"]
        assert {s["title"] for s in listed} == {STORIES[0].title, STORIES[2].title}
        recent = c.get("/api/stories", params={"since": "90m"}).json()["stories"]
        assert [s["title"] for s in recent] == [STORIES[2].title]
        assert c.get("/api/stories", params={"kind": "alle"}).status_code == 400
        one = c.get(f"/api/stories/{live_desk.ids['bahn-streik']}").json()
        assert one["title"] == STORIES[1].title and one["source"] == "Tagesblatt"
        assert [e["topic"] for e in one["events"]] == ["bahn"] and len(one["revisions"]) == 1
        assert c.get("/api/stories/99999").status_code == 404


def test_the_verdict_endpoint_has_the_effect_of_the_button(live_desk: LiveDesk) -> None:
    article = live_desk.ids["stahl-jv"]
    with httpx.Client(base_url=live_desk.base, headers=AUTH) as c:
        bad = c.post(f"/api/stories/{article}/verdict", json={"topic": "x", "verdict": "egal"})
        assert bad.status_code == 400
        first = c.post(f"/api/stories/{article}/verdict",
                       json={"topic": "joint-ventures", "verdict": "not_relevant"}).json()
        again = c.post(f"/api/stories/{article}/verdict",
                       json={"topic": "joint-ventures", "verdict": "not_relevant"}).json()
        assert (first["recorded"], again["recorded"]) == (True, False)
        listed = c.get("/api/stories", params={"topic": "joint-ventures"}).json()["stories"]
        assert STORIES[0].title not in {s["title"] for s in listed}
    with httpx.Client(base_url=live_desk.base) as browser:
        login(browser, live_desk)
        assert STORIES[0].title not in browser.get("/").text
    [verdict] = live_desk.store.verdicts_of(article)
    assert verdict.user == "api:integration"
    mail = digest_text(live_desk.store, live_desk.parts)
    assert STORIES[2].title in mail and "Wasserstoff" not in mail


def test_the_atom_feed_of_a_topic(live_desk: LiveDesk) -> None:
    with httpx.Client(base_url=live_desk.base) as c:
        answer = c.get("/atom/joint-ventures.xml", params={"token": TOKEN})
        assert c.get("/atom/unbekannt.xml", params={"token": TOKEN}).status_code == 404
    assert answer.headers["content-type"].startswith("application/atom+xml")
    feed = ET.fromstring(answer.content)
    titles = [e.findtext(f"{ATOM}title") for e in feed.iter(f"{ATOM}entry")]
    assert sorted(titles) == sorted([STORIES[0].title, STORIES[2].title])
    links = [link.get("href") for link in feed.iter(f"{ATOM}link")]
    assert f"http://desk.example/stories/{live_desk.ids['chip-jv']}" in links
