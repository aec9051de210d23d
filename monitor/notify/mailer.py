"""Transports: SMTP submission with aiosmtplib (TLS enforced) and a local Maildir.

A mailer has one coroutine, ``send(mail) -> str``, returning the server's reply (or the
Maildir key) once the message was accepted. SMTP security is never downgraded: "starttls"
requires the server to offer STARTTLS (aiosmtplib's opportunistic default is switched off),
certificates are verified against the system store or ``ca_file``, and credentials are never
sent over plain text. Library errors become Transient/PermanentDeliveryError with a message
a user can act on; ``diagnose`` runs the same steps for ``news-monitor test-email``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import mailbox
import socket
import ssl
from collections.abc import AsyncIterator
from email import policy
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Protocol

import aiosmtplib

from monitor.errors import DeliveryError, PermanentDeliveryError, TransientDeliveryError
from monitor.models import OutgoingMail
from monitor.notify.settings import SmtpSettings

log = logging.getLogger(__name__)
SECURITY_LABELS = {
    "tls": "implicit TLS, certificate verified",
    "starttls": "STARTTLS, certificate verified",
    "none": "no encryption",
}
NO_STARTTLS = "server does not offer STARTTLS; refusing to send in plain text"


class Mailer(Protocol):
    async def send(self, mail: OutgoingMail) -> str: ...


class SmtpMailer:
    """Delivers each mail over one SMTP session (connect, TLS, login, MAIL/RCPT/DATA, QUIT)."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings

    @property
    def where(self) -> str:
        return f"{self.settings.host}:{self.settings.port}"

    async def send(self, mail: OutgoingMail) -> str:
        sender = envelope_sender(mail.raw)
        async with self.session() as client:
            errors, reply = await client.sendmail(sender, list(mail.recipients), mail.raw)
        for rcpt, refusal in errors.items():
            log.warning("smtp_recipient_refused message_id=%s rcpt=%s reply=%s",
                        mail.message_id, rcpt, refusal.message)
        log.info("smtp_sent message_id=%s server=%s recipients=%d", mail.message_id,
                 self.where, len(mail.recipients) - len(errors))
        return reply

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[aiosmtplib.SMTP]:
        """A connected, secured and logged-in client; errors translated on the way out."""
        self._refuse_plain_credentials()
        client = aiosmtplib.SMTP(
            hostname=self.settings.host, port=self.settings.port,
            use_tls=self.settings.security == "tls", start_tls=False,
            tls_context=tls_context(self.settings.ca_file), timeout=self.settings.timeout,
            local_hostname=socket.gethostname(),
        )
        try:
            await client.connect()
            await self._secure(client)
            await self._login(client)
            yield client
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise translate_error(exc, self.where, self.settings) from exc
        finally:
            await _close(client)

    def _refuse_plain_credentials(self) -> None:
        if self.settings.security == "none" and self.settings.username:
            raise PermanentDeliveryError(
                f"{self.where}: refusing to send the SMTP password over an unencrypted "
                "connection (security = \"none\"); use \"starttls\" or \"tls\"")

    async def _secure(self, client: aiosmtplib.SMTP) -> None:
        if self.settings.security != "starttls":
            return
        await client.ehlo()
        if not client.supports_extension("starttls"):
            raise PermanentDeliveryError(f"{self.where}: {NO_STARTTLS}")
        await client.starttls()
        await client.ehlo()

    async def _login(self, client: aiosmtplib.SMTP) -> None:
        if not self.settings.username:
            return
        if client.get_transport_info("sslcontext") is None:
            raise PermanentDeliveryError(f"{self.where}: refusing to log in without TLS")
        await client.login(self.settings.username, self.settings.password or "")


class MaildirMailer:
    """Writes each mail's raw bytes as one file into a Maildir (created when missing)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    async def send(self, mail: OutgoingMail) -> str:
        try:
            key = await asyncio.to_thread(self._add, mail.raw)
        except OSError as exc:
            raise TransientDeliveryError(f"cannot write to Maildir {self.path}: {exc}") from exc
        log.info("maildir_written message_id=%s path=%s key=%s", mail.message_id, self.path, key)
        return f"maildir {self.path} {key}"

    def _add(self, raw: bytes) -> str:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        box = mailbox.Maildir(self.path, create=True)
        return box.add(raw)


def tls_context(ca_file: str | None) -> ssl.SSLContext:
    """A verifying client context: the system store, or only ``ca_file`` when given."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca_file)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def envelope_sender(raw: bytes) -> str:
    """The address of the From header, used as the envelope sender."""
    headers = BytesHeaderParser(policy=policy.default).parsebytes(raw)
    addresses = getattr(headers["From"], "addresses", ())
    if not addresses:
        raise PermanentDeliveryError("message has no From address")
    return str(addresses[0].addr_spec)


async def _close(client: aiosmtplib.SMTP) -> None:
    if client.is_connected:
        with contextlib.suppress(aiosmtplib.SMTPException, OSError):
            await client.quit()
    client.close()


def translate_error(exc: BaseException, where: str, settings: SmtpSettings) -> DeliveryError:
    """An aiosmtplib/OS error as a delivery error with an explanation a user can act on."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        text = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients)
        return _by_code(min(codes, default=550), f"{where}: all recipients refused ({text})")
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return PermanentDeliveryError(
            f"{where}: login as {settings.username!r} refused ({exc.code} {exc.message}); "
            "check the username and the password file")
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return _by_code(exc.code, f"{where}: server replied {exc.code} {exc.message}")
    tls = _tls_cause(exc)
    if tls is not None:
        return PermanentDeliveryError(_tls_explanation(tls, where, settings))
    if isinstance(exc, (TimeoutError, aiosmtplib.SMTPTimeoutError)):
        return TransientDeliveryError(
            f"{where}: no answer within {settings.timeout:g} s "
            "(server down, firewall or wrong host)")
    if isinstance(exc, (ConnectionRefusedError, aiosmtplib.SMTPConnectError)):
        return TransientDeliveryError(
            f"{where}: cannot connect ({_reason(exc)}); is the SMTP server running and the "
            "port right (587 for STARTTLS, 465 for TLS)?")
    return TransientDeliveryError(f"{where}: connection failed ({_reason(exc)})")


def _by_code(code: int, message: str) -> DeliveryError:
    return TransientDeliveryError(message) if 400 <= code < 500 else PermanentDeliveryError(message)


def _tls_cause(exc: BaseException) -> ssl.SSLError | None:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _tls_explanation(err: ssl.SSLError, where: str, settings: SmtpSettings) -> str:
    if isinstance(err, ssl.SSLCertVerificationError):
        trust = f"the CA in {settings.ca_file}" if settings.ca_file else "the system CA store"
        return (f"{where}: TLS certificate not trusted ({err.verify_message}); it is not signed "
                f"by {trust}. Set smtp.ca_file to the CA that signed it; news-monitor never "
                "sends without verifying the certificate")
    hint = ('"tls" (implicit TLS) is usually port 465 and "starttls" port 587'
            if settings.security in ("tls", "starttls") else "")
    return f"{where}: TLS handshake failed ({err.reason or err}); {hint}".rstrip("; ")


def _reason(exc: BaseException) -> str:
    cause = exc.__cause__ or exc.__context__
    text = str(exc) or type(exc).__name__
    return f"{text}: {cause}" if cause is not None and str(cause) not in text else text


async def diagnose(settings: SmtpSettings | None, maildir: Path) -> tuple[bool, str]:
    """Check the delivery path without sending: (ok, explanation for the user)."""
    if settings is None:
        return await _diagnose_maildir(maildir)
    mailer = SmtpMailer(settings)
    try:
        async with mailer.session() as client:
            reply = await client.noop()
    except DeliveryError as exc:
        return False, str(exc)
    login = f", logged in as {settings.username}" if settings.username else ""
    return True, (f"SMTP {mailer.where} reachable ({SECURITY_LABELS[settings.security]}{login}); "
                  f"server says: {reply.code} {reply.message}")


async def _diagnose_maildir(path: Path) -> tuple[bool, str]:
    try:
        await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
        await asyncio.to_thread(mailbox.Maildir, path, create=True)
        probe = path / "tmp" / f".news-monitor-probe-{socket.gethostname()}"
        await asyncio.to_thread(probe.write_bytes, b"")
        await asyncio.to_thread(probe.unlink)
    except OSError as exc:
        return False, f"no SMTP configured and Maildir {path} is not writable: {exc}"
    return True, f"no SMTP configured: mail is written to the Maildir {path}"
