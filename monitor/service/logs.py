"""Logging set-up for the daemon and the commands: one line per event, secrets redacted.

Owns the root handler on stderr, its format and the redaction of secrets. A line reads
``2024-05-02T06:30:00.123+00:00 INFO monitor.fetch: fetched feed=handelsblatt status=200``;
under journald (``JOURNAL_STREAM`` names our stream) the timestamp is left to the journal
and a ``<N>`` syslog prefix carries the level, so ``journalctl -p warning`` works. Newlines
in messages are escaped, so text from a feed cannot forge a log line. ``RedactingFilter``
masks the registered secret strings (the SMTP password), ``password=...``-style fields,
credentials in URLs and Authorization headers, in messages and tracebacks alike. Noisy
libraries (httpx, httpcore, APScheduler's executors, trafilatura) are held at WARNING.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import TextIO
from urllib.parse import quote, quote_plus

from monitor.errors import ConfigError

MASK = "***"
MIN_SECRET = 3              # shorter "secrets" would mask ordinary words
QUIET = ("httpx", "httpcore", "apscheduler.executors", "apscheduler.scheduler",
         "trafilatura", "htmldate", "courlan", "charset_normalizer")
SYSLOG_PRIORITY = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4,
                   logging.ERROR: 3, logging.CRITICAL: 2}
KEYED = re.compile(
    r"(?i)(\b[\w.-]*(?:password|passwd|passphrase|secret|token|api[_-]?key))"
    r"(['\"]?\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|[^\s,;&'\"}]+)"
)
AUTHORIZATION = re.compile(
    r"(?i)((?:proxy-)?authorization['\"]?\s*[=:]\s*['\"]?)"
    r"((?:basic|bearer|digest|token|negotiate)\s+)?[^\s'\",}]+"
)
URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s:/@]*:)[^\s/@]+@")


class RedactingFilter(logging.Filter):
    """Masks secrets in a record's message and traceback; never drops a record."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        variants = {v for s in secrets if len(s) >= MIN_SECRET for v in _variants(s)}
        self._secrets = sorted(variants, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        text = AUTHORIZATION.sub(lambda m: m.group(1) + (m.group(2) or "") + MASK, text)
        text = URL_USERINFO.sub(lambda m: m.group(1) + MASK + "@", text)
        return KEYED.sub(lambda m: m.group(1) + m.group(2) + MASK, text)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not raise at the caller
            message = f"{record.msg} args={record.args!r}"
        record.msg = self.redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


class LineFormatter(logging.Formatter):
    """``[timestamp ]LEVEL logger: message`` with newlines in the message escaped."""

    def __init__(self, *, journal: bool) -> None:
        super().__init__()
        self.journal = journal

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage().replace("\r", "\\r").replace("\n", "\\n")
        prefix = f"<{SYSLOG_PRIORITY.get(record.levelno, 6)}>" if self.journal else ""
        stamp = "" if self.journal else self._timestamp(record) + " "
        lines = [f"{prefix}{stamp}{record.levelname} {record.name}: {message}"]
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:  # journald stores each line apart: each keeps the level
            lines += [prefix + line for line in record.exc_text.splitlines()]
        return "\n".join(lines)

    @staticmethod
    def _timestamp(record: logging.LogRecord) -> str:
        moment = datetime.fromtimestamp(record.created, tz=UTC)
        return moment.isoformat(timespec="milliseconds")


class _MonitorHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Marks the handler configure_logging installed, so a second call replaces it."""


def configure_logging(
    level: str = "INFO",
    *,
    stream: TextIO | None = None,
    secrets: Iterable[str] = (),
    env: Mapping[str, str] | None = None,
) -> None:
    """Send every record to ``stream`` (stderr) as one line, redacting ``secrets``."""
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        raise ConfigError([f"logging level {level!r}: expected DEBUG, INFO, WARNING or ERROR"])
    target = sys.stderr if stream is None else stream
    handler = _MonitorHandler(target)
    handler.addFilter(RedactingFilter(secrets))
    journal = is_journal(target, os.environ if env is None else env)
    handler.setFormatter(LineFormatter(journal=journal))
    _install(handler, numeric)


def _install(handler: logging.Handler, level: int) -> None:
    """Replace the handler an earlier call installed; hold noisy libraries at WARNING."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _MonitorHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in QUIET:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))


def is_journal(stream: TextIO, env: Mapping[str, str]) -> bool:
    """True when ``JOURNAL_STREAM`` (``device:inode``) is the file behind ``stream``."""
    expected = env.get("JOURNAL_STREAM", "")
    if not expected:
        return False
    try:
        info = os.fstat(stream.fileno())
    except (AttributeError, OSError, ValueError):
        return False
    return expected == f"{info.st_dev}:{info.st_ino}"


def _variants(secret: str) -> set[str]:
    """The secret as written, and as it appears URL-encoded."""
    return {secret, quote(secret, safe=""), quote_plus(secret, safe="")}
