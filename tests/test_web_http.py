"""The review desk over HTTP (httpx against a real uvicorn on 127.0.0.1): the login gate,
CSRF, the security headers, verdicts and what they change, signed mail links, search,
feeds, topics, and escaping of feed content."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta

import httpx
from sqlalchemy import select

from monitor.links import verdict_link
from monitor.notify.digest import DigestResult, send_digest
from monitor.store import RoutePolicy
from monitor.store.schema import events, outbox
from tests import test_web_support as web_support
from tests.test_web_support import (
    HOSTILE,
    NOW,
    PASSWORD,
    SECRET,
    STORIES,
    USER,
    LiveDesk,
    add_story,
    csrf_of,
    digest_text,
    login,
    outcome,
)

live_desk = web_support.live_desk       # the fixture


def client(desk: LiveDesk) -> httpx.Client:
    return httpx.Client(base_url=desk.base, follow_redirects=False, timeout=10)


def test_every_page_but_health_needs_a_login(live_desk: LiveDesk) -> None:
    with client(live_desk) as c:
        for path in ("/", "/stories", "/stories/1", "/search?q=Bahn", "/feeds", "/topics",
                     "/digest/2026-03-10", "/metrics"):
            answer = c.get(path)
            assert answer.status_code == 303, path
            assert answer.headers["location"].startswith("/login?next=%2F")
        assert c.get("/healthz").text == "ok desk\n"
        assert c.post("/stories/1/verdict", data={"verdict": "mute"}).status_code == 303


def test_the_security_headers_are_on_every_response(live_desk: LiveDesk) -> None:
    with client(live_desk) as c:
        for answer in (c.get("/login"), c.get("/healthz"), c.get("/"), c.get("/static/desk.css")):
            csp = answer.headers["content-security-policy"]
            assert "default-src 'self'" in csp and "script-src 'self'" in csp
            assert "unsafe-inline" not in csp
            assert answer.headers["x-content-type-options"] == "nosniff"


def test_login_sets_a_hardened_cookie_and_a_wrong_password_is_refused(
        live_desk: LiveDesk) -> None:
    with client(live_desk) as c:
        token = csrf_of(c.get("/login").text)
        wrong = c.post("/login", data={"csrf": token, "name": USER, "password": "falsch"})
        assert wrong.status_code == 401 and "Name oder Passwort falsch" in wrong.text
        right = c.post("/login", data={"csrf": token, "name": USER, "password": PASSWORD,
                                       "next": "/stories"})
        assert (right.status_code, right.headers["location"]) == (303, "/stories")
        cookie = right.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie
        assert c.get("/stories").status_code == 200
        elsewhere = c.post("/login", data={"csrf": csrf_of(c.get("/login").text), "name": USER,
                                           "password": PASSWORD, "next": "//evil.example/"})
        assert elsewhere.headers["location"] == "/"


def test_logins_are_limited_per_address(live_desk: LiveDesk) -> None:
    with client(live_desk) as c:
        token = csrf_of(c.get("/login").text)
        codes = [c.post("/login", data={"csrf": token, "name": USER, "password": "nein"})
                 .status_code for _ in range(6)]
        assert codes == [401] * 5 + [429]
        blocked = c.post("/login", data={"csrf": token, "name": USER, "password": PASSWORD})
        assert blocked.status_code == 429 and "Zu viele Fehlversuche" in blocked.text


def test_a_post_without_the_csrf_token_is_refused(live_desk: LiveDesk) -> None:
    article = live_desk.ids["stahl-jv"]
    with client(live_desk) as c:
        assert c.post("/login", data={"name": USER, "password": PASSWORD}).status_code == 403
        login(c, live_desk)
        refused = c.post(f"/stories/{article}/verdict",
                         data={"topic": "joint-ventures", "verdict": "not_relevant"})
        assert refused.status_code == 403
    assert live_desk.store.verdicts_of(article) == []


def _mark(c: httpx.Client, article: int, topic: str, verdict: str) -> None:
    page = c.get(f"/stories/{article}")
    answer = c.post(f"/stories/{article}/verdict", data={
        "csrf": csrf_of(page.text), "topic": topic, "verdict": verdict, "next": "/"})
    assert answer.status_code == 303


def test_not_relevant_leaves_the_digest_page_the_list_and_the_next_digest_mail(
        live_desk: LiveDesk) -> None:
    article = live_desk.ids["stahl-jv"]
    title = STORIES[0].title
    with client(live_desk) as c:
        login(c, live_desk)
        assert title in c.get("/").text and title in c.get("/stories").text
        _mark(c, article, "joint-ventures", "not_relevant")
        _mark(c, article, "joint-ventures", "not_relevant")        # twice: harmless
        assert title not in c.get("/").text
        assert title not in c.get("/stories").text
        assert title in c.get("/stories?verdict=not_relevant").text
        assert STORIES[2].title in c.get("/").text
    [verdict] = live_desk.store.verdicts_of(article)
    assert (verdict.verdict, verdict.user) == ("not_relevant", USER)
    mail = digest_text(live_desk.store, live_desk.parts)
    assert STORIES[2].title in mail and "Wasserstoff" not in mail


def test_a_muted_story_alerts_no_more(live_desk: LiveDesk) -> None:
    store, article = live_desk.store, live_desk.ids["bahn-streik"]
    with client(live_desk) as c:
        login(c, live_desk)
        _mark(c, article, "bahn", "mute")
    before = len(store.outbox())
    changed = STORIES[1].text + " Die Bahn bietet nun eine Schlichtung an, die Gewerkschaft prüft."
    store.save_outcome(outcome(article, STORIES[1], NOW, text=changed, kind="updated",
                               routes=(RoutePolicy(mode="immediate", max_per_hour=20),)))
    assert len(store.outbox()) == before


def test_a_muted_outlet_alerts_no_more_for_that_topic(live_desk: LiveDesk) -> None:
    store = live_desk.store
    store.record_verdict(live_desk.ids["chip-jv"], "joint-ventures", "mute_outlet", user=USER,
                         at=NOW)
    other = add_story(store, STORIES[2], url="https://www.tagesblatt.example/jv-2.html")
    assert store.outbox() == []
    fresh = store.upsert_article("https://www.tagesblatt.example/jv-3.html", at=NOW,
                                 title="Drittes Joint Venture", source="Tagesblatt")
    saved = store.save_outcome(outcome(fresh.id, STORIES[2], NOW,
                                       url="https://www.tagesblatt.example/jv-3.html",
                                       routes=(RoutePolicy(mode="immediate", max_per_hour=20),)))
    assert saved.mails_queued == 0 and other


def test_the_signed_link_get_changes_nothing_post_records_expired_is_refused(
        live_desk: LiveDesk) -> None:
    article = live_desk.ids["chip-jv"]
    link = verdict_link("http://desk.example", SECRET, article, "joint-ventures",
                        NOW - timedelta(days=1)).removeprefix("http://desk.example")
    with client(live_desk) as c:                                   # no login
        page = c.get(link)
        assert page.status_code == 200 and "Als nicht relevant markieren?" in page.text
        assert live_desk.store.verdicts_of(article) == []
        assert c.post(link, data={}).status_code == 403            # no CSRF token
        done = c.post(link, data={"csrf": csrf_of(page.text)})
        assert done.status_code == 200 and "nicht relevant" in done.text
        again = c.post(link, data={"csrf": csrf_of(page.text)})
        assert again.status_code == 200
    [verdict] = live_desk.store.verdicts_of(article)
    assert (verdict.verdict, verdict.user) == ("not_relevant", "mail-link")
    old = verdict_link("http://desk.example", SECRET, live_desk.ids["stahl-jv"],
                       "joint-ventures", NOW - timedelta(days=15))
    forged = verdict_link("http://desk.example", "ein anderes Geheimnis", article, "bahn", NOW)
    with client(live_desk) as c:
        token = csrf_of(c.get(link).text)
        expired = c.get(old.removeprefix("http://desk.example"))
        assert expired.status_code == 410 and "abgelaufen" in expired.text
        assert c.get(forged.removeprefix("http://desk.example")).status_code == 400
        assert c.post(old.removeprefix("http://desk.example"),
                      data={"csrf": token}).status_code == 410
    assert live_desk.store.verdicts_of(live_desk.ids["stahl-jv"]) == []


def test_search_finds_an_inflected_form_and_marks_it(live_desk: LiveDesk) -> None:
    with client(live_desk) as c:
        login(c, live_desk)
        found = c.get("/search", params={"q": "Gemeinschaftsunternehmens"}).text
        assert STORIES[0].title in found and STORIES[1].title not in found
        assert "<mark>Gemeinschaftsunternehmen</mark>" in found
        assert STORIES[1].title in c.get("/search", params={"q": "Streiks Bahn"}).text
        assert "Nichts gefunden" in c.get("/search", params={"q": "Kohleausstieg"}).text
        filtered = c.get("/search", params={"q": "Gemeinschaftsunternehmen", "topic": "bahn"})
        assert STORIES[0].title not in filtered.text


def test_feed_markup_is_shown_as_text_and_javascript_links_are_not_links(
        live_desk: LiveDesk) -> None:
    article = add_story(live_desk.store, HOSTILE, url="javascript:window.pwned=4")
    with client(live_desk) as c:
        login(c, live_desk)
        for page in (c.get("/").text, c.get(f"/stories/{article}").text,
                     c.get("/stories").text,
                     c.get("/search", params={"q": "Gemeinschaftsunternehmen"}).text):
            assert "<script>window.pwned" not in page and "<img src=x" not in page
            assert 'href="javascript:' not in page
        assert "&lt;script&gt;window.pwned=1" in c.get(f"/stories/{article}").text


def test_a_story_page_shows_revisions_with_their_diff_feeds_and_messages(
        live_desk: LiveDesk) -> None:
    store, article = live_desk.store, live_desk.ids["bahn-streik"]
    changed = STORIES[1].text + " Inzwischen hat die Bahn ein neues Angebot vorgelegt."
    store.save_outcome(outcome(article, STORIES[1], NOW, text=changed, kind="updated",
                               routes=(RoutePolicy(mode="immediate", max_per_hour=20),)))
    with client(live_desk) as c:
        login(c, live_desk)
        page = c.get(f"/stories/{article}").text
    assert "Fassung 1" in page and "Fassung 2" in page
    assert "<ins>Inzwischen hat die Bahn ein neues Angebot vorgelegt.</ins>" in page
    assert "wirtschaftskurier" in page                         # the feed that carried it
    assert "Aktualisiert für bahn" in page and "pending" in page     # its alert, not yet sent
    assert "Warum passend" in page and "Gemeinschaftsunternehmen" in page


def test_feeds_pause_and_resume(live_desk: LiveDesk) -> None:
    with client(live_desk) as c:
        login(c, live_desk)
        page = c.get("/feeds")
        assert "wirtschaftskurier" in page.text and "Pausieren" in page.text
        c.post("/feeds/wirtschaftskurier/pause", data={"csrf": csrf_of(page.text),
                                                       "action": "pause"})
        assert "pausiert" in c.get("/feeds").text
        assert live_desk.store.claim_due_feeds(NOW + timedelta(days=365)) == []
        c.post("/feeds/wirtschaftskurier/pause", data={"csrf": csrf_of(page.text),
                                                       "action": "resume"})
        assert "Fortsetzen" not in c.get("/feeds").text


def test_topics_show_counts_and_the_workbench_dry_run(live_desk: LiveDesk) -> None:
    with client(live_desk) as c:
        login(c, live_desk)
        _mark(c, live_desk.ids["chip-jv"], "joint-ventures", "relevant")
        page = c.get("/topics")
        assert "Gemeinschaftsunternehmen OR" in page.text and "Relevant 1" in page.text
        run = c.post("/topics/dry-run", data={
            "csrf": csrf_of(page.text), "name": "joint-ventures",
            "query": "Gemeinschaftsunternehmen OR Streik", "days": "30"}).text
        assert "Käme hinzu (1)" in run and STORIES[1].title in run
        assert "Fiele weg (1)" in run and STORIES[2].title in run
        assert "query = &#34;Gemeinschaftsunternehmen OR Streik&#34;" in run
        bad = c.post("/topics/dry-run", data={"csrf": csrf_of(page.text), "name": "x",
                                              "query": "(Bahn AND"}).text
        assert 'class="error"' in bad


def test_backfill_finds_stored_stories_for_the_digest_never_an_alert(
        live_desk: LiveDesk) -> None:
    store = live_desk.store
    with client(live_desk) as c:
        login(c, live_desk)
        page = c.get("/topics")
        # "bahn" already has its story; the joint-venture texts mention no Bahn: nothing
        done = c.post("/topics/bahn/backfill", data={"csrf": csrf_of(page.text), "days": "30"})
        assert "Nachträglich gefunden für „bahn“: 0 Meldungen" in done.text
        store.record_verdict(live_desk.ids["stahl-jv"], "joint-ventures", "relevant",
                             user=USER, at=NOW)
        extra = add_story(store, STORIES[0], url="https://www.tagesblatt.example/stahl.html")
        with store._db.write() as conn:                   # a story the topic missed before
            conn.execute(events.delete().where(events.c.article_id == extra))
        done = c.post("/topics/joint-ventures/backfill",
                      data={"csrf": csrf_of(page.text), "days": "30"})
        assert "Nachträglich gefunden für „joint-ventures“: 1 Meldungen" in done.text
        digest = c.get("/").text
    assert "Nachträglich gefunden" in digest
    with store._db.read() as conn:
        assert conn.execute(select(outbox)).all() == []


def test_an_unknown_story_and_a_bad_date_are_404(live_desk: LiveDesk) -> None:
    with client(live_desk) as c:
        login(c, live_desk)
        assert c.get("/stories/99999").status_code == 404
        assert c.get("/digest/kein-datum").status_code == 404
        assert "kein Digest" in c.get("/digest/2026-03-01").text


def test_a_days_digest_shows_what_it_carried(live_desk: LiveDesk) -> None:
    assert live_desk.parts is not None
    made = asyncio.run(send_digest(live_desk.store, live_desk.parts.digest, lambda: NOW,
                                   by_hand=True))
    assert isinstance(made, DigestResult) and made.events == 3
    [mail] = live_desk.store.claim_pending(NOW)
    live_desk.store.mark_sent(mail.id, at=NOW, response="250 ok")  # sent: no longer "next"
    with client(live_desk) as c:
        login(c, live_desk)
        home = c.get("/").text
        day = c.get(f"/digest/{made.period}").text
    assert STORIES[0].title not in home and f'href="/digest/{made.period}"' in home
    assert all(story.title in day for story in STORIES)
    assert f"Digest vom {made.period}" in day


def test_the_next_digest_is_what_every_digest_route_will_carry_each_story_once(
        live_desk: LiveDesk) -> None:
    assert live_desk.parts is not None
    everything = live_desk.parts.digest
    industrie = dataclasses.replace(everything, route="industrie", topics=("joint-ventures",),
                                    topic_filter=("joint-ventures",))
    verkehr = dataclasses.replace(everything, route="verkehr", topics=("bahn",),
                                  topic_filter=("bahn",))
    made = asyncio.run(send_digest(live_desk.store, industrie, lambda: NOW, by_hand=True))
    assert isinstance(made, DigestResult) and made.events == 2
    [mail] = live_desk.store.claim_pending(NOW)
    live_desk.store.mark_sent(mail.id, at=NOW, response="250 ok")
    with client(live_desk) as c:
        login(c, live_desk)
        live_desk.parts = dataclasses.replace(live_desk.parts, digests=(industrie, verkehr))
        split = c.get("/").text
        live_desk.parts = dataclasses.replace(live_desk.parts, digests=(verkehr,))
        alone = c.get("/").text
        live_desk.parts = dataclasses.replace(live_desk.parts,
                                              digests=(industrie, verkehr, everything))
        overlapping = c.get("/").text
    # industrie's digest went out: only verkehr's story is next, whichever route comes first.
    assert STORIES[1].title in split and STORIES[0].title not in split
    assert STORIES[2].title not in split and "0 neu" not in split and "1 neu" in split
    # a route over every topic has sent nothing yet: all three, each listed once.
    assert all(story.title in overlapping for story in STORIES) and "3 neu" in overlapping
    assert overlapping.count(STORIES[1].title) == alone.count(STORIES[1].title)


def test_a_verdict_on_a_story_no_longer_stored_is_a_clear_404_everywhere(
        live_desk: LiveDesk) -> None:
    gone = max(live_desk.ids.values()) + 1000           # removed by retention, say
    link = verdict_link("http://desk.example", SECRET, gone, "joint-ventures",
                        NOW).removeprefix("http://desk.example")
    with client(live_desk) as c:
        confirm = c.get(link)
        assert confirm.status_code == 200 and "nicht mehr gespeichert" in confirm.text
        by_mail = c.post(link, data={"csrf": csrf_of(confirm.text)})
        assert by_mail.status_code == 404 and "nicht mehr gespeichert" in by_mail.text
        login(c, live_desk)
        token = csrf_of(c.get(f"/stories/{live_desk.ids['stahl-jv']}").text)
        by_button = c.post(f"/stories/{gone}/verdict", data={
            "csrf": token, "topic": "joint-ventures", "verdict": "not_relevant"})
        assert by_button.status_code == 404 and "nicht (mehr) gespeichert" in by_button.text
    with httpx.Client(base_url=live_desk.base,
                      headers={"Authorization": f"Bearer {web_support.TOKEN}"}) as api:
        by_api = api.post(f"/api/stories/{gone}/verdict",
                          json={"topic": "joint-ventures", "verdict": "not_relevant"})
        assert by_api.status_code == 404 and "no such story" in by_api.text
    assert all(live_desk.store.verdicts_of(i) == [] for i in live_desk.ids.values())
