"""Composing mails (pure): headers, hostile feed data, golden renderings of alerts and digest.

Golden files live in tests/golden/; regenerate them only deliberately with
``NEWS_MONITOR_REGEN_GOLDEN=1 pytest tests/test_notify_compose.py`` and review the diff.
"""

from __future__ import annotations

import email
import os
import re
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.errors import PermanentDeliveryError
from monitor.models import Hit, OutgoingMail
from monitor.notify.compose import (
    compose_alert,
    compose_digest,
    compose_summary,
    compose_test,
    render_digest_text,
)
from monitor.notify.headers import check_headers, clean_header_value
from monitor.notify.render import make_environment
from tests.test_notify_data import (
    HOSTILE_TITLE,
    SETTINGS,
    T0,
    digest_data,
    new_delta,
    updated_delta,
)

GOLDEN = Path(__file__).parent / "golden"
CVE_PAYLOAD = "=?UTF-8?Q?=0A?=Bcc: x@example.org"


def parse(mail: OutgoingMail) -> EmailMessage:
    return email.message_from_bytes(mail.raw, policy=policy.default)  # type: ignore[return-value]


def parts(msg: EmailMessage) -> tuple[str, str]:
    text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
    return text.replace("\r\n", "\n"), html.replace("\r\n", "\n")


def normalised(mail: OutgoingMail) -> str:
    """Headers (boundary masked) and both decoded parts, as a reviewable text."""
    msg = parse(mail)
    headers = "\n".join(f"{k}: {v}" for k, v in msg.items())
    headers = re.sub(r'boundary="[^"]+"', 'boundary="<BOUNDARY>"', headers)
    text, html = parts(msg)
    return f"{headers}\n\n--- text/plain ---\n{text}\n--- text/html ---\n{html}"


def assert_golden(name: str, actual: str) -> None:
    path = GOLDEN / name
    if os.environ.get("NEWS_MONITOR_REGEN_GOLDEN"):
        path.write_text(actual, encoding="utf-8")
    assert actual == path.read_text(encoding="utf-8"), f"{name} differs from the golden file"


def test_golden_new_alert() -> None:
    mail = compose_alert(new_delta(), SETTINGS, now=T0,
                         message_id="<alert.11.5f2c9a1b@news-monitor.localhost>")
    assert_golden("alert_new.txt", normalised(mail))


def test_golden_updated_alert() -> None:
    mail = compose_alert(updated_delta(), SETTINGS, now=T0,
                         message_id="<update.12@news-monitor.localhost>")
    assert_golden("alert_updated.txt", normalised(mail))


def test_golden_digest_text_and_html() -> None:
    mail, html = compose_digest(digest_data(), SETTINGS, now=T0, message_id="<digest.1@x>")
    assert_golden("digest.txt", render_digest_text(digest_data()))
    assert_golden("digest.html", html)
    assert parts(parse(mail)) == (render_digest_text(digest_data()), html)


def test_headers_of_an_alert() -> None:
    msg = parse(compose_alert(new_delta(), SETTINGS, now=T0, message_id="alert.1@x"))
    assert msg["From"] == "News Monitor <monitor@example.org>"
    assert msg["To"] == "analyst@example.org, desk@example.org"
    assert msg["Message-ID"] == "<alert.1@x>" and msg["Date"] == "Tue, 12 Mar 2024 08:15:00 +0000"
    assert (msg["Precedence"], msg["X-Auto-Response-Suppress"]) == ("bulk", "All")
    assert msg["In-Reply-To"] is None and msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_charset() for p in msg.iter_parts()] == ["utf-8", "utf-8"]


def test_updated_alert_threads_and_shows_the_diff() -> None:
    msg = parse(compose_alert(updated_delta(), SETTINGS, now=T0, message_id="<u@x>"))
    assert msg["Subject"].startswith("[Alibaba-Russland] Aktualisiert: AliExpress Russland")
    assert msg["In-Reply-To"] == msg["References"] == "<alert.11.5f2c9a1b@news-monitor.localhost>"
    text, html = parts(msg)
    assert "[- bis zu 40 Prozent -] [+ mehr als 45 Prozent +]" in text
    assert "<ins" in html and ">mehr als 45 Prozent</ins>" in html
    assert ">bis zu 40 Prozent</del>" in html


def test_topic_is_the_prefix_without_a_configured_one() -> None:
    bare = SETTINGS.__class__(sender=SETTINGS.sender, to=SETTINGS.to)
    msg = parse(compose_alert(new_delta(), bare, now=T0, message_id="<a@x>", source_label="HB"))
    assert msg["Subject"].startswith("[alibaba-russland] AliExpress")
    assert msg["Subject"].endswith("— HB")


def test_hostile_delta_is_escaped_and_cannot_inject_headers() -> None:
    delta = new_delta(title=HOSTILE_TITLE + " " + CVE_PAYLOAD * 5, url="javascript:alert(1)",
                      source="n-tv\r\nCc: evil@example.org", summary="<img src=x onerror=alert(2)>")
    mail = compose_alert(delta, SETTINGS, now=T0, message_id="<h@x>")
    msg = parse(mail)
    assert sorted(set(msg.keys()) & {"Bcc", "Cc"}) == [] and mail.recipients == SETTINGS.to
    text, html = parts(msg)
    assert "<script>" not in html and "<img" not in html and "&lt;img src=x" in html
    assert "javascript" not in html and "javascript" not in text
    assert "Link entfernt: keine http(s)-Adresse" in html and "Link entfernt" in text
    assert "\nBcc" not in text and "\nCc" not in text


def test_ampersand_is_plain_in_text_and_escaped_in_html() -> None:
    msg = parse(compose_alert(new_delta(title="Alibaba & VK: Joint Venture"), SETTINGS, now=T0,
                              message_id="<amp@x>"))
    text, html = parts(msg)
    assert "Alibaba & VK" in text and "&amp;" not in text and "Alibaba &amp; VK" in html


def test_every_template_is_autoescaped() -> None:
    env = make_environment()
    assert env.autoescape is True
    assert env.from_string("{{ x }}").render(x="<b>") == "&lt;b&gt;"


def test_the_cve_payload_alone_would_inject_and_check_headers_refuses_it() -> None:
    unsafe = EmailMessage(policy=policy.SMTP)
    unsafe["Subject"] = "Ein langer Titel über AliExpress Russland und Sanktionen " + CVE_PAYLOAD
    unsafe["To"] = "analyst@example.org"
    raw = unsafe.as_bytes()
    if b"\nBcc:" in raw:  # the vulnerable stdlib (3.11.7); a fixed one refuses or encodes it
        with pytest.raises(PermanentDeliveryError, match="unexpected headers"):
            check_headers(raw, ["Subject", "To"])
    cleaned = clean_header_value(CVE_PAYLOAD)
    assert "=?" not in cleaned and "\n" not in cleaned


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=300))
def test_any_title_gives_exactly_our_headers(title: str) -> None:
    mail = compose_alert(new_delta(title=title + " =?utf-8?q?=0D=0A?=X: y"), SETTINGS, now=T0,
                         message_id="<p@x>")
    msg = parse(mail)
    assert msg.get_all("To") == ["analyst@example.org, desk@example.org"]
    assert "\n" not in msg["Subject"] and len(msg["Subject"]) <= 200
    assert "X" not in msg   # header names compare case-insensitively: no "x" either


def test_summary_lists_every_folded_delta() -> None:
    deltas = [new_delta(id=n, title=f"Meldung {n} zu AliExpress") for n in range(5)]
    msg = parse(compose_summary(deltas, SETTINGS, now=T0, message_id="<s@x>"))
    assert msg["Subject"] == "[Alibaba-Russland] Sammelmeldung: 5 Meldungen (12.03.2024 09:15)"
    text, html = parts(msg)
    assert all(f"Meldung {n} zu AliExpress" in text and f"Meldung {n} zu AliExpress" in html
               for n in range(5))


def test_test_mail_names_the_transport() -> None:
    msg = parse(compose_test(SETTINGS, now=T0, message_id="<t@x>",
                             transport_label="SMTP mail.example.org:587 (starttls)"))
    assert msg["Subject"] == "[Alibaba-Russland] Testnachricht"
    assert "SMTP mail.example.org:587 (starttls)" in parts(msg)[0]


def test_empty_digest_says_so() -> None:
    mail, html = compose_digest(digest_data(empty=True), SETTINGS, now=T0, message_id="<d@x>")
    assert mail.subject.endswith("Keine neuen Meldungen")
    assert "Keine neuen Meldungen in diesem Zeitraum." in html
    assert "Keine neuen Meldungen" in render_digest_text(digest_data(empty=True))


def test_digest_orders_by_score_and_reports_source_health() -> None:
    text = render_digest_text(digest_data())
    assert text.index("AliExpress Russland streicht") < text.index("VK übernimmt")
    assert "tagesschau-wirtschaft: Serverfehler (HTTP 503) (4 Fehler in Folge" in text
    assert "wiwo-unternehmen: seit 5 Tagen nichts Neues" in text
    assert "Consent-Banner statt Artikeltext: 2" in text and "handelsblatt:" not in text
    assert text.index("== Zustand der Quellen ==") < text.index("== Zahlen ==")


def test_long_message_id_is_kept_whole_and_odd_marks_are_clipped() -> None:
    long_id = "<summary." + ".".join(str(n) for n in range(200)) + "@news-monitor>"
    odd = Hit(clause="@x", field="text", term="VK", snippet="VK und Alibaba",
              marks=((0, 2), (1, 3), (8, 99), (20, 30)))
    msg = parse(compose_alert(new_delta(hits=(odd,)), SETTINGS, now=T0, message_id=long_id))
    assert msg["Message-ID"] == long_id
    assert "*VK* und A*libaba*" in parts(msg)[0]  # overlaps and ends clipped


def test_no_recipients_is_refused() -> None:
    with pytest.raises(PermanentDeliveryError, match="no recipients"):
        compose_test(SETTINGS.__class__(sender="a@example.org", to=()), now=T0,
                     message_id="<t@x>", transport_label="x")
