"""SMTP delivery against a real aiosmtpd server on 127.0.0.1 with trustme certificates."""

from __future__ import annotations

import asyncio
import email
import re
import ssl
from collections.abc import Iterator
from dataclasses import replace
from email import policy
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from monitor.errors import PermanentDeliveryError, TransientDeliveryError
from monitor.notify.compose import compose_alert, compose_test
from monitor.notify.mailer import MaildirMailer, SmtpMailer, diagnose
from monitor.notify.settings import SmtpSettings
from tests.test_notify_data import (
    HOSTILE_TITLE,
    SETTINGS,
    T0,
    Collector,
    free_port,
    new_delta,
    serving,
    start,
)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def ca_file(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


def server_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


def check_login(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"monitor", b"geheim")
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def starttls_server(ca: trustme.CA) -> Iterator[tuple[Collector, Controller]]:
    handler = Collector()
    controller = start(handler, tls_context=server_context(ca), require_starttls=True,
                       authenticator=check_login, auth_require_tls=True)
    yield handler, controller
    controller.stop()


def smtp(controller: Controller, ca_file: str | None, **changes: Any) -> SmtpSettings:
    base = SmtpSettings(host="127.0.0.1", port=controller.port, security="starttls",
                        ca_file=ca_file, timeout=5)
    return replace(base, **changes)


def hostile_alert() -> Any:
    delta = new_delta(title=HOSTILE_TITLE, url="javascript:alert(1)",
                      source="Feed\r\nBcc: z@example.org")
    return compose_alert(delta, SETTINGS, now=T0,
                         message_id="<alert.11.hostile@news-monitor.localhost>")


def test_starttls_delivers_alert_with_both_parts(starttls_server: Any, ca_file: str) -> None:
    handler, controller = starttls_server
    mail = compose_alert(new_delta(), SETTINGS, now=T0,
                         message_id="<alert.11.a@news-monitor.localhost>")
    reply = asyncio.run(SmtpMailer(smtp(controller, ca_file)).send(mail))
    assert "accepted" in reply
    [envelope] = handler.envelopes
    assert envelope.mail_from == "monitor@example.org"
    assert envelope.rcpt_tos == ["analyst@example.org", "desk@example.org"]
    [msg] = handler.messages()
    assert msg["Subject"] == ("[Alibaba-Russland] AliExpress Russland streicht bis zu 40 Prozent "
                              "der Stellen — Handelsblatt")
    assert msg["Message-ID"] == "<alert.11.a@news-monitor.localhost>"
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["List-Id"] == "news-monitor <news-monitor.localhost>"
    text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "Auch berichtet von: n-tv, FAZ" in text and "Titel: AliExpress Russland" in text
    assert "<mark>Alibaba</mark>" in html
    assert "Erkannt: 12.03.2024, 09:15 Uhr" in html  # 08:15 UTC shown as Berlin time (CET)
    assert "Quelle: <strong>Handelsblatt</strong>" in html


def test_login_over_starttls(starttls_server: Any, ca_file: str) -> None:
    handler, controller = starttls_server
    settings = smtp(controller, ca_file, username="monitor", password="geheim")
    asyncio.run(SmtpMailer(settings).send(compose_test(
        SETTINGS, now=T0, message_id="<test.1@x>", transport_label="SMTP")))
    assert len(handler.envelopes) == 1
    wrong = replace(settings, password="falsch")
    with pytest.raises(PermanentDeliveryError, match="login as 'monitor' refused"):
        asyncio.run(SmtpMailer(wrong).send(compose_test(
            SETTINGS, now=T0, message_id="<test.2@x>", transport_label="SMTP")))
    ok, explanation = asyncio.run(diagnose(wrong, Path("/nonexistent")))
    assert not ok and "check the username and the password file" in explanation


def test_hostile_delta_cannot_add_recipients_or_script(starttls_server: Any, ca_file: str) -> None:
    handler, controller = starttls_server
    asyncio.run(SmtpMailer(smtp(controller, ca_file)).send(hostile_alert()))
    [envelope] = handler.envelopes
    assert envelope.rcpt_tos == ["analyst@example.org", "desk@example.org"]
    [msg] = handler.messages()
    assert msg["Bcc"] is None and len(msg.get_all("To")) == 1  # type: ignore[arg-type]
    header_block = envelope.original_content.split(b"\r\n\r\n", 1)[0]
    assert b"\nBcc:" not in header_block and b"\nbcc:" not in header_block.lower()
    html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "javascript:" not in html and "Link entfernt" in html


def test_server_without_starttls_gets_nothing(ca_file: str) -> None:
    handler = Collector()
    with (serving(handler, require_starttls=False) as controller,
          pytest.raises(PermanentDeliveryError, match="does not offer STARTTLS; refusing")):
        asyncio.run(SmtpMailer(smtp(controller, ca_file)).send(hostile_alert()))
    assert handler.envelopes == []


def test_certificate_from_other_ca_is_refused(ca_file: str) -> None:
    handler = Collector()
    untrusted = server_context(trustme.CA())
    with serving(handler, tls_context=untrusted, require_starttls=True) as controller:
        with pytest.raises(PermanentDeliveryError, match="certificate not trusted"):
            asyncio.run(SmtpMailer(smtp(controller, ca_file)).send(hostile_alert()))
        ok, explanation = asyncio.run(diagnose(smtp(controller, ca_file), Path("/nonexistent")))
    assert handler.envelopes == []
    assert not ok and "smtp.ca_file" in explanation


def test_implicit_tls(ca: trustme.CA, ca_file: str) -> None:
    handler = Collector()
    with serving(handler, ssl_context=server_context(ca)) as controller:
        settings = smtp(controller, ca_file, security="tls")
        asyncio.run(SmtpMailer(settings).send(hostile_alert()))
        ok, explanation = asyncio.run(diagnose(settings, Path("/nonexistent")))
    assert len(handler.envelopes) == 1
    assert ok and "implicit TLS" in explanation


def test_connection_refused_is_transient() -> None:
    settings = SmtpSettings(host="127.0.0.1", port=free_port(), timeout=5)
    with pytest.raises(TransientDeliveryError, match="cannot connect"):
        asyncio.run(SmtpMailer(settings).send(hostile_alert()))
    ok, explanation = asyncio.run(diagnose(settings, Path("/nonexistent")))
    assert not ok and "is the SMTP server running" in explanation


def test_550_reply_is_permanent(starttls_server: Any, ca_file: str) -> None:
    handler, controller = starttls_server
    handler.reply = "550 5.7.1 Nachricht abgelehnt"
    with pytest.raises(PermanentDeliveryError, match=re.escape("550 5.7.1 Nachricht abgelehnt")):
        asyncio.run(SmtpMailer(smtp(controller, ca_file)).send(hostile_alert()))


def test_451_reply_is_transient(starttls_server: Any, ca_file: str) -> None:
    handler, controller = starttls_server
    handler.reply = "451 4.3.0 Bitte später erneut versuchen"
    with pytest.raises(TransientDeliveryError, match="451"):
        asyncio.run(SmtpMailer(smtp(controller, ca_file)).send(hostile_alert()))


def test_credentials_never_sent_in_plain_text() -> None:
    handler = Collector()
    with serving(handler, auth_require_tls=False, authenticator=check_login) as controller:
        settings = SmtpSettings(host="127.0.0.1", port=controller.port, security="none",
                                username="monitor", password="geheim", timeout=5)
        with pytest.raises(PermanentDeliveryError, match="unencrypted"):
            asyncio.run(SmtpMailer(settings).send(hostile_alert()))
        plain = replace(settings, username=None, password=None)
        asyncio.run(SmtpMailer(plain).send(hostile_alert()))
    assert len(handler.envelopes) == 1


def test_maildir_writes_one_file_per_mail(tmp_path: Path) -> None:
    box = tmp_path / "Maildir"
    mailer = MaildirMailer(box)
    for number in range(3):
        mail = compose_alert(new_delta(id=number), SETTINGS, now=T0, message_id=f"<a.{number}@x>")
        asyncio.run(mailer.send(mail))
    files = sorted((box / "new").iterdir())
    assert len(files) == 3
    ids = {email.message_from_bytes(f.read_bytes(), policy=policy.default)["Message-ID"]
           for f in files}
    assert ids == {"<a.0@x>", "<a.1@x>", "<a.2@x>"}
    assert asyncio.run(diagnose(None, box))[0]
