"""Settings records of the notify package: who mails are from and to, and how to reach SMTP.

The config layer builds these frozen records (resolving the SMTP password from a file, the
environment or systemd credentials); compose and the mailers only read them. Recipients of
every mail come from here and never from feed data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from email.utils import parseaddr
from typing import Literal

from monitor.models import Channel
from monitor.store.records import RoutePolicy

SmtpSecurity = Literal["starttls", "tls", "none"]


@dataclass(frozen=True, slots=True)
class MailSettings:
    """Addresses and header values shared by every mail news-monitor composes."""

    sender: str
    to: tuple[str, ...]
    subject_prefix: str = ""
    list_id: str = "news-monitor.localhost"
    installation: str = ""   # this installation's random id: Message-IDs carry it
    desk: DeskLinks | None = None   # the review desk's links, when one is served

    @property
    def domain(self) -> str:
        """The sender's domain, the right-hand side of every Message-ID we set."""
        return parseaddr(self.sender)[1].rpartition("@")[2] or "news-monitor.invalid"


@dataclass(frozen=True, slots=True)
class DeskLinks:
    """Where the review desk is (``[web] base_url``) and the secret that signs its "Nicht
    relevant" links: every alert, digest entry and webhook story links to the desk."""

    base_url: str
    secret: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class RouteSettings:
    """One route: which events (``policy``) go over which channel to whom.

    email: ``mail`` (alerts, summaries, test) and ``digest_mail`` (the digest; the same
    sender, perhaps other recipients). webhook: ``url`` and the HMAC ``secret``. apprise:
    ``url``, an Apprise URL (it holds tokens, so it is a secret too). Targets come from the
    configuration only, never from feed content.
    """

    name: str
    channel: Channel
    policy: RoutePolicy
    mail: MailSettings
    digest_mail: MailSettings | None = None
    url: str = ""
    secret: str = ""
    timeout: float = 15.0


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    """How to reach the SMTP submission server.

    ``security``: "tls" is implicit TLS (port 465), "starttls" requires STARTTLS (never a
    plain-text fallback), "none" sends in plain text and refuses to send credentials.
    """

    host: str
    port: int = 587
    security: SmtpSecurity = "starttls"
    username: str | None = None
    password: str | None = None
    ca_file: str | None = None
    timeout: float = 30.0
