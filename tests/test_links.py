"""The links mails carry into the desk (monitor/links.py): a story's address, and the
signed "Nicht relevant" link that expires after 14 days."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.links import LinkRefused, VerdictLink, read_verdict_link, story_link, verdict_link

MADE = datetime(2026, 3, 1, 6, 30, tzinfo=UTC)
SECRET = "ein-langes-geheimnis-für-die-links"


def _token(link: str) -> str:
    return link.rsplit("/", 1)[1]


def test_story_link() -> None:
    assert story_link("https://desk.example.org/", 42) == "https://desk.example.org/stories/42"


def test_a_verdict_link_names_its_story_and_topic_until_it_expires() -> None:
    link = verdict_link("https://desk.example.org", SECRET, 42, "Joint Ventures & Übernahmen",
                        MADE)
    assert link.startswith("https://desk.example.org/v/")
    token = _token(link)
    expected = VerdictLink(42, "Joint Ventures & Übernahmen")
    assert read_verdict_link(SECRET, token, MADE) == expected
    assert read_verdict_link(SECRET, token, MADE + timedelta(days=13, hours=23)) == expected
    assert read_verdict_link(SECRET, token, MADE + timedelta(days=14, seconds=1)) == \
        LinkRefused("expired")


def test_a_changed_or_foreign_link_is_refused() -> None:
    token = _token(verdict_link("https://d.example", SECRET, 42, "bahn", MADE))
    changed = token[:5] + ("A" if token[5] != "A" else "B") + token[6:]
    assert read_verdict_link(SECRET, changed, MADE) == LinkRefused("invalid")
    assert read_verdict_link("ein anderes Geheimnis", token, MADE) == LinkRefused("invalid")
    assert read_verdict_link(SECRET, "kein-token", MADE) == LinkRefused("invalid")
