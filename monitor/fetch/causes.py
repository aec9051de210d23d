"""What a failed fetch means: one stable cause word for every recorded fetch error.

Owns the reading of a failure, as it is recorded on a feed (its kind, such as ``transport``
or ``http_status``, and its message, such as ``cannot resolve host x: [Errno -2] Name or
service not known``), into a cause: ``dns``, ``no_route``, ``refused``, ``reset``,
``timeout``, ``tls``, ``http``, ``blocked``, ``too_large``, ``redirects``, ``parse``,
``internal`` or ``other``. ``dns`` and ``no_route`` are this machine's network rather than one
site: when every feed of a poll fails with one of them, ``shared_network_cause`` names it
and ``NETWORK_HINTS`` says in one line what to check. The words a person reads (English in
the commands and logs, German in the digest) are chosen by their callers. Pure functions.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_KINDS = {"blocked": "blocked", "timeout": "timeout", "too_large": "too_large",
          "redirects": "redirects", "redirect_refused": "redirects", "http_status": "http",
          "parse": "parse", "internal": "internal"}
_PATTERNS = (
    ("dns", re.compile(r"cannot resolve host|name or service not known|temporary failure in "
                       r"name resolution|no address associated|nodename nor servname|"
                       r"\[errno -[235]\]|getaddrinfo failed", re.IGNORECASE)),
    ("no_route", re.compile(r"network is unreachable|no route to host|\[errno 101\]|"
                            r"\[errno 113\]", re.IGNORECASE)),
    ("refused", re.compile(r"connection refused|\[errno 111\]", re.IGNORECASE)),
    ("reset", re.compile(r"connection reset|broken pipe|remoteprotocolerror|"
                         r"server disconnected|\[errno 104\]", re.IGNORECASE)),
    ("timeout", re.compile(r"timed out|timeout", re.IGNORECASE)),
    ("tls", re.compile(r"ssl|tls|certificate", re.IGNORECASE)),
)
NETWORK_CAUSES = frozenset({"dns", "no_route"})
NETWORK_HINTS = {
    "dns": "no host name could be resolved (DNS): check this machine's network connection "
           "and its name server (/etc/resolv.conf), or set [fetch] proxy if the network "
           "needs one",
    "no_route": "no route to any host (network unreachable): check this machine's network "
                "connection and firewall, or set [fetch] proxy if the network needs one",
}
_HTTP_STATUS = re.compile(r"\bHTTP (\d{3})\b")


def failure_cause(kind: str | None, message: str | None) -> str:
    """The cause of one recorded failure (``other`` when nothing tells)."""
    if kind in _KINDS:
        return _KINDS[kind]
    text = message or ""
    for cause, pattern in _PATTERNS:
        if pattern.search(text):
            return cause
    return "other"


def http_status(message: str | None) -> int | None:
    """The status code in an ``HTTP 503 ...`` message, if there is one."""
    found = _HTTP_STATUS.search(message or "")
    return int(found.group(1)) if found else None


def shared_network_cause(failures: Sequence[tuple[str | None, str | None]],
                         total: int) -> str | None:
    """The network cause every one of ``total`` (two or more) polled feeds failed with."""
    if total < 2 or len(failures) != total:
        return None
    causes = {failure_cause(kind, message) for kind, message in failures}
    if len(causes) == 1 and causes <= NETWORK_CAUSES:
        return causes.pop()
    return None
