"""The one exception tree of news-monitor.

Every error a library raises is translated at the stage boundary into one of these,
so callers catch ``MonitorError`` subclasses and never a library's own types::

    MonitorError
     ├── ConfigError            the TOML file is wrong; carries every problem at once
     ├── UsageError             a command names what is not configured (a topic, a feed)
     ├── StoreError             the database cannot be used
     │    └── StoreCorrupt      integrity_check failed
     ├── FetchError             an HTTP fetch failed (url, retry_after)
     │    ├── AddressBlocked    the host resolves to a refused address
     │    ├── ResponseTooLarge  the body passed the size cap (counted while decompressing)
     │    ├── FetchTimeout      connect/read timeout or the overall deadline
     │    ├── TooManyRedirects  more than the redirect cap, or a loop
     │    ├── RedirectRefused   a scheme change (https to http) or a non-http(s) target
     │    ├── HTTPStatusError   4xx/5xx; ``status`` and ``retry_after``
     │    └── TransportFailure  connection refused, reset, TLS, DNS
     ├── ParseError             a feed that cannot be read
     ├── QueryError             a topic query with a syntax error (topic, column, expected)
     └── DeliveryError          mail could not be delivered
          ├── TransientDeliveryError   try again later (4xx, connection, timeout)
          └── PermanentDeliveryError   never retry (5xx, a message that cannot be built)

Errors are data as soon as they leave a stage: the pipeline records them as outcomes.
"""

from __future__ import annotations


class MonitorError(Exception):
    """Base of every error news-monitor raises on purpose."""


class ConfigError(MonitorError):
    """The configuration is invalid; ``problems`` lists every one, each with its key path."""

    def __init__(self, problems: list[str], path: str | None = None, *,
                 warnings: list[str] | None = None) -> None:
        self.problems = list(problems)
        self.path = path
        self.warnings = list(warnings or ())
        where = f"{path}: " if path else ""
        super().__init__(where + "; ".join(self.problems))


class UsageError(MonitorError):
    """A command line asks for something the configuration does not have (exit 2)."""


class StoreError(MonitorError):
    """The database cannot be opened, migrated or written."""


class StoreCorrupt(StoreError):
    """The SQLite file failed ``PRAGMA integrity_check``."""


class FetchError(MonitorError):
    """An HTTP fetch failed. ``kind`` is a short stable word used in logs and metrics."""

    kind = "fetch"

    def __init__(self, message: str, *, url: str = "", retry_after: float | None = None) -> None:
        self.url = url
        self.retry_after = retry_after
        super().__init__(message)


class AddressBlocked(FetchError):
    kind = "blocked"


class ResponseTooLarge(FetchError):
    kind = "too_large"


class FetchTimeout(FetchError):
    kind = "timeout"


class TooManyRedirects(FetchError):
    kind = "redirects"


class RedirectRefused(FetchError):
    kind = "redirect_refused"


class HTTPStatusError(FetchError):
    kind = "http_status"

    def __init__(
        self, message: str, *, status: int, url: str = "", retry_after: float | None = None
    ) -> None:
        self.status = status
        super().__init__(message, url=url, retry_after=retry_after)


class TransportFailure(FetchError):
    kind = "transport"


class ParseError(MonitorError):
    """A feed's bytes could not be read as a feed."""


class QueryError(MonitorError):
    """A topic query does not parse. ``column`` is 1-based."""

    def __init__(self, message: str, *, topic: str = "", column: int = 0,
                 expected: str = "") -> None:
        self.topic = topic
        self.column = column
        self.expected = expected
        super().__init__(message)


class DeliveryError(MonitorError):
    """Mail could not be handed to the SMTP server or written to the Maildir."""


class TransientDeliveryError(DeliveryError):
    """Worth retrying later: connection refused, timeout, a 4xx reply."""


class PermanentDeliveryError(DeliveryError):
    """Never worth retrying: a 5xx reply, a message that cannot be built, TLS refused by policy."""
