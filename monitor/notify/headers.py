"""Cleaning of untrusted header values (titles, sources, topic names from feeds).

Feed data reaches the Subject header, so every value is reduced to one harmless line before
it is set: control characters and line breaks (including Unicode separators) become spaces,
``=?`` sequences are broken up so no RFC 2047 encoded word can be smuggled in (Python 3.11.7
has CVE-2024-6923: an encoded newline is written out raw when a header is folded), and the
length is capped. ``check_headers`` re-parses a generated message as a last line of defence.
"""

from __future__ import annotations

import email
import re
from collections.abc import Iterable
from email import policy

from monitor.errors import PermanentDeliveryError

MAX_HEADER_CHARS = 180
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff]+")
_SPACES = re.compile(r"\s+")


def clean_header_value(value: str, *, max_chars: int = MAX_HEADER_CHARS) -> str:
    """One line of text, safe to place in a header; ``…`` marks a cut."""
    text = one_line(value).replace("=?", "= ?").replace("?=", "? =")
    if len(text) > max_chars:
        text = text[: max_chars - 1].rstrip() + "…"
    return text


def check_headers(raw: bytes, expected: Iterable[str]) -> None:
    """Refuse a generated message whose header names differ from the ones we set.

    Raises PermanentDeliveryError: such a message must never reach the outbox.
    """
    parsed = email.message_from_bytes(raw, policy=policy.default)
    # iterating a Message yields its top-level header names, duplicates included (as .keys())
    found = sorted(name.lower() for name in parsed)
    wanted = sorted(name.lower() for name in expected)
    if found != wanted:
        extra = sorted(set(found) - set(wanted))
        raise PermanentDeliveryError(
            f"refusing a generated message with unexpected headers {extra or found}"
        )


def one_line(value: str) -> str:
    """Text on one line (control characters and line breaks become single spaces)."""
    return _SPACES.sub(" ", _CONTROL.sub(" ", value)).strip()
