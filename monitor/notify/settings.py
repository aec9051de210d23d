"""Settings records of the notify package: who mails are from and to, and how to reach SMTP.

The config layer builds these frozen records (resolving the SMTP password from a file, the
environment or systemd credentials); compose and the mailers only read them. Recipients of
every mail come from here and never from feed data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

SmtpSecurity = Literal["starttls", "tls", "none"]


@dataclass(frozen=True, slots=True)
class MailSettings:
    """Addresses and header values shared by every mail news-monitor composes."""

    sender: str
    to: tuple[str, ...]
    subject_prefix: str = ""
    list_id: str = "news-monitor.localhost"


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
