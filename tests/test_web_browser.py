"""The review desk in a real browser: pytest-playwright driving the system's Chromium
(tests/browser.py; skipped with the reason when there is none) against a real uvicorn on
127.0.0.1. The test of today's digest saves the README's screenshot, docs/desk.png."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from monitor.links import verdict_link
from tests import test_web_support as web_support
from tests.browser import horizontal_overflow
from tests.test_web_support import (
    HOSTILE,
    NOW,
    PASSWORD,
    SECRET,
    STORIES,
    USER,
    LiveDesk,
    add_story,
    digest_text,
    outcome,
)

live_desk = web_support.live_desk       # the fixture

SCREENSHOT = Path(__file__).resolve().parents[1] / "docs" / "desk.png"


def log_in(page: Any, desk: LiveDesk, path: str = "/") -> None:
    page.goto(desk.url(path))
    assert "/login?next=" in page.url
    page.fill("input[name=name]", USER)
    page.fill("input[name=password]", PASSWORD)
    page.click("form.login button[type=submit]")
    page.wait_for_url(desk.url(path))


def test_pages_without_login_go_to_the_login_page(page: Any, live_desk: LiveDesk) -> None:
    for path in ("/", "/stories", "/search?q=Bahn", "/topics", "/feeds"):
        response = page.goto(live_desk.url(path))
        assert page.url.startswith(live_desk.url("/login?next=")), path
        assert "default-src 'self'" in response.headers["content-security-policy"]
    assert page.locator("h1").inner_text() == "Anmelden"


def test_log_in_and_read_todays_digest(page: Any, live_desk: LiveDesk) -> None:
    log_in(page, live_desk)
    assert page.locator("h1").inner_text() == "Nächster Digest"
    sections = page.locator("section.topic h2").all_inner_texts()
    assert sections == ["joint-ventures", "bahn"]
    for story in STORIES:
        assert page.get_by_role("link", name=story.title).count() == 1
    scroll, client = horizontal_overflow(page)
    assert scroll == client == 400
    page.set_viewport_size({"width": 960, "height": 900})
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)


def test_a_story_and_its_revisions(page: Any, live_desk: LiveDesk) -> None:
    changed = STORIES[1].text + " Am Abend legte die Bahn ein neues Angebot vor."
    live_desk.store.save_outcome(outcome(live_desk.ids["bahn-streik"], STORIES[1], NOW,
                                         text=changed, kind="updated"))
    log_in(page, live_desk)
    page.get_by_role("link", name=STORIES[1].title).first.click()
    expect(page.locator("h1")).to_have_text(STORIES[1].title)   # waits for the story page
    assert page.locator("details.revision summary").count() == 2
    assert page.locator("details.revision ins").first.inner_text() == \
        "Am Abend legte die Bahn ein neues Angebot vor."
    page.locator("details.revision summary").nth(1).click()
    assert "Fassung 1" in page.locator("details.revision").nth(1).inner_text()
    scroll, client = horizontal_overflow(page)
    assert scroll == client


def test_mark_not_relevant_and_see_it_leave_the_digest(page: Any, live_desk: LiveDesk) -> None:
    log_in(page, live_desk)
    card = page.locator("article.story", has_text=STORIES[0].title)
    card.get_by_role("button", name="Nicht relevant").click()
    # the answer redirects to "/", where the page already is: wait for the story to go
    expect(page.get_by_role("link", name=STORIES[0].title)).to_have_count(0)
    assert page.url == live_desk.url("/")
    assert page.get_by_role("link", name=STORIES[2].title).count() == 1
    mail = digest_text(live_desk.store, live_desk.parts)
    assert STORIES[2].title in mail and STORIES[0].title not in mail


def test_the_signed_link_confirms_before_it_records(page: Any, live_desk: LiveDesk) -> None:
    article = live_desk.ids["chip-jv"]
    link = verdict_link(live_desk.base, SECRET, article, "joint-ventures", NOW - timedelta(days=2))
    page.goto(link)                                               # no login needed
    assert page.locator("h1").inner_text() == "Als nicht relevant markieren?"
    assert live_desk.store.verdicts_of(article) == []             # the GET changed nothing
    page.get_by_role("button", name="Ja, nicht relevant").click()
    expect(page.locator("h1")).to_have_text("Gespeichert")      # waits for the answer page
    assert [v.verdict for v in live_desk.store.verdicts_of(article)] == ["not_relevant"]
    expired = verdict_link(live_desk.base, SECRET, live_desk.ids["stahl-jv"], "joint-ventures",
                           NOW - timedelta(days=15))
    page.goto(expired)
    assert "abgelaufen" in page.locator("p.message").inner_text()
    assert page.get_by_role("button").count() == 0
    assert live_desk.store.verdicts_of(live_desk.ids["stahl-jv"]) == []


def test_search_finds_an_inflected_form(page: Any, live_desk: LiveDesk) -> None:
    log_in(page, live_desk, "/search")
    page.fill("input[name=q]", "Gemeinschaftsunternehmens")
    page.get_by_role("button", name="Suchen").click()
    page.wait_for_url("**q=Gemeinschaftsunternehmens**")   # the click only starts the request
    results = page.locator("li.result")
    expect(results).to_have_count(1)
    assert STORIES[0].title in results.inner_text()
    assert page.locator("li.result mark").first.inner_text() == "Gemeinschaftsunternehmen"


def test_feed_markup_shows_as_text_and_runs_nothing(page: Any, live_desk: LiveDesk) -> None:
    article = add_story(live_desk.store, HOSTILE, url="javascript:window.pwned=4")
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    log_in(page, live_desk)
    assert page.get_by_text("<script>window.pwned=1;alert('x')</script>",
                            exact=False).count() >= 1
    page.goto(live_desk.url(f"/stories/{article}"))
    assert page.locator("h1").inner_text().startswith("<script>")
    assert page.locator("a[href^='javascript:']").count() == 0
    page.goto(live_desk.url("/search?q=Gemeinschaftsunternehmen"))
    assert page.evaluate("typeof window.pwned") == "undefined"
    assert dialogs == []


def test_a_post_without_the_csrf_token_is_refused(page: Any, live_desk: LiveDesk) -> None:
    log_in(page, live_desk)
    article = live_desk.ids["stahl-jv"]
    answer = page.request.post(live_desk.url(f"/stories/{article}/verdict"),
                               form={"topic": "joint-ventures", "verdict": "mute"},
                               max_redirects=0)
    assert answer.status == 403
    assert live_desk.store.verdicts_of(article) == []


def test_every_page_fits_a_narrow_screen(page: Any, live_desk: LiveDesk) -> None:
    log_in(page, live_desk)
    article = live_desk.ids["bahn-streik"]
    for path in ("/", "/stories", f"/stories/{article}", "/search?q=Bahn", "/topics",
                 "/feeds", "/digest/2026-03-01"):
        page.goto(live_desk.url(path))
        scroll, client = horizontal_overflow(page)
        assert scroll == client == 400, path
