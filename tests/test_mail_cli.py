"""`news-monitor test-email` as a user runs it: through plain SMTP, STARTTLS with a trustme
CA and a login from the password file, a Maildir, and against servers that refuse."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from aiosmtpd.controller import Controller

from monitor.cli import main
from tests.conftest import Inbox, SmtpServer, free_port, write_config
from tests.test_delivery_e2e import _state_here  # noqa: F401  (autouse: state, env, logging)
from tests.test_notify_smtp import check_login


def send_test_email(capsys: pytest.CaptureFixture[str], path: Path) -> tuple[int, str]:
    code = main(["--config", str(path), "test-email"])
    return code, capsys.readouterr().out


def test_plain_smtp_prints_the_server_answer_and_the_mail_arrives(
        smtp: SmtpServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = send_test_email(capsys, write_config(tmp_path, [], smtp_port=smtp.port))
    assert code == 0, out
    assert f"sent to analyst@example.org via SMTP 127.0.0.1:{smtp.port} (none)" in out
    assert "server answered: Message accepted for delivery" in out
    [mail] = smtp.inbox.messages
    assert "Testnachricht" in mail["Subject"] and mail["To"] == "analyst@example.org"


def test_closed_port_is_explained(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    port = free_port()
    code, out = send_test_email(capsys, write_config(tmp_path, [], smtp_port=port))
    assert code == 1
    assert out.startswith(f"FAILED: 127.0.0.1:{port}: cannot connect")
    assert "is the SMTP server running" in out and "Traceback" not in out


def test_without_smtp_it_writes_to_the_maildir(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    code, out = send_test_email(capsys, write_config(tmp_path, []))
    assert code == 0 and "Maildir" in out, out
    assert len(list((tmp_path / "state" / "mail" / "new").iterdir())) == 1


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def starttls(ca: trustme.CA) -> Iterator[tuple[Inbox, int]]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, tls_context=context,
                            require_starttls=True, authenticator=check_login,
                            auth_require_tls=True)
    controller.start()
    yield inbox, port
    controller.stop()


def starttls_config(tmp_path: Path, port: int, ca_file: Path | None, password: str) -> Path:
    (tmp_path / "smtp-password").write_text(password + "\n", encoding="utf-8")
    ca_line = f'ca_file = "{ca_file}"\n' if ca_file else ""
    return write_config(tmp_path, [], extra=(
        f'[email.smtp]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "starttls"\n'
        f'username = "monitor"\npassword_file = "{tmp_path / "smtp-password"}"\n'
        f'timeout = "5s"\n{ca_line}'))


def test_starttls_with_login_from_the_password_file(
        starttls: tuple[Inbox, int], ca: trustme.CA, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    inbox, port = starttls
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    code, out = send_test_email(capsys, starttls_config(tmp_path, port, ca_file, "geheim"))
    assert code == 0, out
    assert "server answered: Message accepted for delivery" in out
    assert len(inbox.envelopes) == 1

    code, out = send_test_email(capsys, starttls_config(tmp_path, port, ca_file, "falsch"))
    assert code == 1 and "login as 'monitor' refused" in out
    assert "check the username and the password file" in out and "falsch" not in out

    code, out = send_test_email(capsys, starttls_config(tmp_path, port, None, "geheim"))
    assert code == 1 and "TLS certificate not trusted" in out and "smtp.ca_file" in out
    assert len(inbox.envelopes) == 1


def test_server_without_starttls_is_refused_not_used_in_plain_text(
        smtp: SmtpServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = send_test_email(capsys, starttls_config(tmp_path, smtp.port, None, "geheim"))
    assert code == 1 and "does not offer STARTTLS; refusing to send in plain text" in out
    assert smtp.inbox.envelopes == []
