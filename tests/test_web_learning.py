"""What learning and explanations show on the desk's story page: why a topic did not match
the stored text (``explain``'s words, shortened), and an event held back by the verdicts,
with the reason."""

from __future__ import annotations

import dataclasses
import re

from monitor.models import MatchResult
from monitor.store.records import NewEvent
from tests import test_web_support as web_support
from tests.test_web_http import client
from tests.test_web_support import NOW, STORIES, LiveDesk, login, outcome

live_desk = web_support.live_desk       # the fixture


def test_the_story_page_says_why_a_topic_missed_and_what_was_held_back(
        live_desk: LiveDesk) -> None:
    store, article = live_desk.store, live_desk.ids["bahn-streik"]
    story = STORIES[1]
    base = outcome(article, story, NOW, text=story.text + " Der Konzern wartet ab.")
    held = dataclasses.replace(
        base, matches=(*base.matches, MatchResult("joint-ventures", False, 0.0, ())),
        events=(NewEvent("new", "bahn", 2.0, (), held="ähnlich wie „Tarifstreit im Nahverkehr“ "
                                                    "(als nicht relevant markiert, "
                                                    "Ähnlichkeit 0.41)"),))
    store.save_outcome(held)
    with client(live_desk) as c:
        login(c, live_desk)
        page = c.get(f"/stories/{article}").text
        digest = c.get("/").text
    held_part = digest.split("Wahrscheinlich nicht relevant")[1]
    assert "Grund: ähnlich wie „Tarifstreit im Nahverkehr“" in held_part
    assert story.title in held_part
    assert "joint-ventures</strong>: passt nicht" in page
    assert "Warum nicht: " in page and "Gemeinschaftsunternehmen" in page.split("Warum nicht: ")[1]
    assert "nach Ihren Bewertungen zurückgehalten" in page
    assert "ähnlich wie „Tarifstreit im Nahverkehr“" in page


def test_the_topics_page_proposes_query_changes_from_the_verdicts(live_desk: LiveDesk) -> None:
    store = live_desk.store
    with client(live_desk) as c:
        login(c, live_desk)
        assert "Vorschläge aus den Urteilen" not in c.get("/topics").text
        for story in (STORIES[0], STORIES[2]):     # both now tell of subsidies
            article = live_desk.ids[story.slug]
            store.save_outcome(outcome(article, story, NOW, kind="updated", text=story.text
                                       + " Die Landesregierung fördert das Werk mit Subventionen."))
            store.record_verdict(article, "joint-ventures", "not_relevant", user="anna", at=NOW)
        page = c.get("/topics").text
    assert "Vorschläge aus den Urteilen" in page
    assert re.search(r"<code>NOT \w+</code>: hätte 2 Urteile bestätigt, 0 widersprochen", page)
