"""The messages as people see them: the HTML alert, summary and digest in a real Chromium at
400 px (no sideways scrolling, the headline is the link), and golden files for the texts of
the webhook and Apprise channels."""

from __future__ import annotations

import json
from typing import Any

from monitor.models import Delta, DigestData, OutgoingMail, TopicDigest
from monitor.notify.channels import AppriseChannel, WebhookChannel, webhook_headers
from monitor.notify.compose import compose_alert, compose_digest, compose_summary
from monitor.notify.digest import one_per_story
from monitor.notify.settings import RouteSettings
from monitor.store import RoutePolicy
from tests.browser import horizontal_overflow
from tests.test_notify_compose import assert_golden, parse
from tests.test_notify_compose import parts as mail_parts
from tests.test_notify_data import SETTINGS, T0, new_delta, updated_delta

LONG_URL = ("https://www.handelsblatt.com/unternehmen/handel-konsumgueter/aliexpress-russland-"
            "gemeinschaftsunternehmen-von-alibaba-megafon-vk-und-rdif-streicht-stellen-und-"
            "verlagert-lager-nach-kasachstan/100012345678901234567890.html?utm_source=feed")
LONG_WORDS = ("Gemeinschaftsunternehmensbeteiligungsveräußerungsverhandlungen: "
              "Donaudampfschifffahrtsgesellschaftskapitänsmützenhersteller prüfen")
ROUTE = RouteSettings(name="integration", channel="webhook", policy=RoutePolicy(),
                      mail=SETTINGS, url="https://hooks.example.org/news?token=geheim",
                      secret="s3cr3t")


def parts(mail: OutgoingMail) -> tuple[str, str]:
    return mail_parts(parse(mail))


def _show(page: Any, html: str) -> tuple[int, int]:
    page.set_content(html)
    return horizontal_overflow(page)


def test_alert_summary_and_digest_fit_a_400px_screen(page: Any) -> None:
    wide = new_delta(url=LONG_URL, title=LONG_WORDS)
    update = updated_delta(url=LONG_URL, title=LONG_WORDS)
    alert = parts(compose_alert(wide, SETTINGS, now=T0, message_id="<a@x>"))[1]
    scroll, client = _show(page, alert)
    assert scroll == client == 400
    link = page.locator("h1 a")
    assert link.inner_text() == LONG_WORDS and link.get_attribute("href") == LONG_URL
    for html in (parts(compose_alert(update, SETTINGS, now=T0, message_id="<u@x>"))[1],
                 parts(compose_summary([wide, update], SETTINGS, now=T0,
                                       message_id="<s@x>"))[1],
                 compose_digest(digest_data(wide, update), SETTINGS, now=T0,
                                message_id="<d@x>")[1]):
        assert _show(page, html) == (400, 400)


def digest_data(new: Delta, update: Delta) -> DigestData:
    return DigestData(period_start=T0, period_end=T0, timezone="Europe/Berlin",
                      topics=(TopicDigest("alibaba-russland", new=(new,), updated=(update,)),))


def test_an_update_leads_with_what_changed() -> None:
    text, html = parts(compose_alert(updated_delta(), SETTINGS, now=T0, message_id="<u@x>"))
    assert text.index("Was hat sich geändert?") < text.index("Warum dieser Artikel?")
    assert text.index("Was hat sich geändert?") < text.index("Quelle:")
    assert html.index("Was hat sich geändert?") < html.index("Warum dieser Artikel?")


def test_the_reason_is_plain_words_in_at_most_three_lines_and_the_number_only_in_text() -> None:
    text, html = parts(compose_alert(new_delta(score=9.25), SETTINGS, now=T0,
                                     message_id="<a@x>"))
    why = text.split("Warum dieser Artikel?\n")[1].split("\n-- ")[0].strip().splitlines()
    assert 1 <= len(why) <= 3
    assert not any(mark in "".join(why) for mark in ("@alibaba", '"', "«", "»", "„", "“"))
    assert "Relevanz: stark (9,25)" in text
    assert "Relevanz: stark" in html and "9,25" not in html


def test_a_snippet_never_repeats_the_title_or_the_breadcrumb() -> None:
    delta = new_delta(summary="Startseite \u203a Unternehmen \u203a Handel AliExpress Russland "
                              "streicht bis zu 40 Prozent der Stellen: Der Umsatz bricht ein.")
    text, html = parts(compose_alert(delta, SETTINGS, now=T0, message_id="<a@x>"))
    assert "Startseite" not in text + html and "Handel AliExpress" not in text + html
    assert "<p>Der Umsatz bricht ein.</p>" in html
    assert text.count("streicht bis zu 40 Prozent") == 1


def test_a_story_new_and_updated_in_one_period_is_one_entry_with_its_latest_change() -> None:
    first = new_delta(id=1)
    changes = [updated_delta(id=2), updated_delta(id=3, score=0.5)]
    other = updated_delta(id=4, url="https://example.org/anderes")
    merged = one_per_story([first, *changes, other])
    assert [(d.id, d.kind) for d in merged] == [(1, "new"), (4, "updated")]
    assert merged[0].diff == changes[-1].diff


def test_golden_webhook_document_and_its_signature() -> None:
    message = WebhookChannel(ROUTE).alert(updated_delta(), "<update.12@news-monitor>", T0)
    document = json.loads(message.raw)
    assert_golden("webhook_updated.json",
                  json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True) + "\n")
    headers = webhook_headers(message.raw, "s3cr3t", message.message_id)
    assert headers["X-News-Monitor-Event"] == "updated"
    assert headers["X-News-Monitor-Delivery"] == "update.12@news-monitor"
    assert headers["X-News-Monitor-Signature"].startswith("sha256=")
    assert WebhookChannel(ROUTE).target() == "https://hooks.example.org/news"   # no token


def test_golden_apprise_text() -> None:
    chat = RouteSettings(name="chat", channel="apprise", policy=RoutePolicy(), mail=SETTINGS,
                         url="matrixs://bot:token@matrix.example.org/!raum")
    message = AppriseChannel(chat).alert(new_delta(), "<alert.11@news-monitor>", T0)
    document = json.loads(message.raw)
    assert_golden("apprise_new.txt", f"{document['title']}\n---\n{document['body']}\n")
    assert AppriseChannel(chat).target() == "Apprise matrixs://matrix.example.org"
