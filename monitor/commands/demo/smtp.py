"""The demo's local SMTP server: accepts every message on 127.0.0.1 and files it in a Maildir.

aiosmtpd's ``SMTP`` protocol runs on the demo's own event loop (``loop.create_server`` on
port 0: a free port without a race, and no thread to leave behind). Each message is added
to a Maildir, where a user opens it with any mail reader (``mutt -f DIR``), and kept parsed
in ``received`` so the demo can tell what arrived.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import logging
import mailbox
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

log = logging.getLogger(__name__)


@dataclass
class MaildirHandler:
    """aiosmtpd handler: every message goes into ``maildir`` and ``received``."""

    maildir: mailbox.Maildir
    received: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session,
                          envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        key = self.maildir.add(raw)
        message = email.message_from_bytes(raw, policy=email.policy.default)
        self.received.append(message)
        log.info("demo_smtp_received key=%s to=%s subject=%r", key,
                 ",".join(envelope.rcpt_tos), str(message.get("Subject", "")))
        return "250 OK: filed in the Maildir"


@dataclass(frozen=True, slots=True)
class SmtpSink:
    host: str
    port: int
    path: Path
    handler: MaildirHandler

    @property
    def received(self) -> list[EmailMessage]:
        return self.handler.received


@contextlib.asynccontextmanager
async def smtp_sink(path: Path, *, host: str = "127.0.0.1") -> AsyncIterator[SmtpSink]:
    """Listen on ``host`` at a free port until the block ends."""
    handler = MaildirHandler(mailbox.Maildir(path, create=True))
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _protocol(handler), host, 0)
    port = int(server.sockets[0].getsockname()[1])
    log.info("demo_smtp_started host=%s port=%d maildir=%s", host, port, path)
    try:
        yield SmtpSink(host, port, path, handler)
    finally:
        server.close()
        await server.wait_closed()


def _protocol(handler: Any) -> SMTP:
    return SMTP(handler, hostname="news-monitor-demo", enable_SMTPUTF8=True,
                decode_data=False, timeout=30)
