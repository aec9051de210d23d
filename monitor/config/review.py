"""A valid file can still leave the service with nothing to do: the review says so.

Owns the findings about a configuration as a whole, read from the raw TOML so they are
reported next to any other problem: an empty file, no (enabled) feeds, no (enabled) topics,
mail to the starter file's placeholder address. A finding is an *error* where the service
could do nothing (``check-config`` exits 2) and a *warning* where it works but not as meant
(mail to the placeholder lands in the local Maildir). Loading never fails for a finding
alone: commands such as ``feeds import`` must work on an empty file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

PLACEHOLDER_TO = "analyst@localhost"
PLACEHOLDER_FROM = "news-monitor@localhost"


@dataclass(frozen=True, slots=True)
class Finding:
    severity: Literal["error", "warning"]
    key: str
    text: str

    def __str__(self) -> str:
        return f"{self.key}: {self.text}"


def review(raw: Mapping[str, Any]) -> list[Finding]:
    """Everything that makes this file useless (errors) or surprising (warnings)."""
    if not raw:
        return [Finding("error", "(file)", "empty: there is nothing to watch; add [[feeds]] "
                        "and [[topics]] (config/monitor.toml in the repository is a "
                        "commented starter)")]
    return _feeds(raw) + _topics(raw) + _placeholders(raw)


def _tables(raw: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    items = raw.get(key)
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []


def _table(raw: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = raw.get(key)
    return value if isinstance(value, dict) else {}


def _feeds(raw: Mapping[str, Any]) -> list[Finding]:
    return _section(raw, "feeds", "no feeds configured: the service would poll nothing; add "
                    "[[feeds]] tables (`news-monitor feeds import FILE.opml` writes them from "
                    "a feed reader's export)",
                    "every feed is disabled (enabled = false): the service would poll nothing")


def _topics(raw: Mapping[str, Any]) -> list[Finding]:
    return _section(raw, "topics", "no topics configured: nothing can match, so no alert is "
                    "ever sent and each digest lists only feed health; add [[topics]] tables",
                    "every topic is disabled (enabled = false): nothing can match")


def _section(raw: Mapping[str, Any], key: str, missing: str, disabled: str) -> list[Finding]:
    """An error when the list of tables ``key`` is empty or every one is disabled."""
    items = _tables(raw, key)
    if not items:
        return [Finding("error", key, missing)]
    if not any(item.get("enabled", True) is not False for item in items):
        return [Finding("error", key, disabled)]
    return []


def _placeholders(raw: Mapping[str, Any]) -> list[Finding]:
    email, digest = _table(raw, "email"), _table(raw, "digest")
    smtp = isinstance(email.get("smtp"), dict)
    findings = []
    for key, addresses in (("email.to", email.get("to", [PLACEHOLDER_TO])),
                           ("digest.to", digest.get("to", []))):
        if isinstance(addresses, list) and PLACEHOLDER_TO in addresses:
            findings.append(_placeholder_to(key, smtp))
    if smtp and email.get("from", PLACEHOLDER_FROM) == PLACEHOLDER_FROM:
        findings.append(Finding("warning", "email.from", f"{PLACEHOLDER_FROM!r} is the starter "
                                "file's placeholder; many SMTP servers refuse it: set the "
                                "sender address of your mail account"))
    return findings


def _placeholder_to(key: str, smtp: bool) -> Finding:
    if smtp:
        return Finding("error", key, f"{PLACEHOLDER_TO!r} is the starter file's placeholder: "
                       "over SMTP the mail would reach no one; set your own address")
    return Finding("warning", key, f"{PLACEHOLDER_TO!r} is the starter file's placeholder: "
                   "mail only lands in the local Maildir; set your own address before "
                   "adding [email.smtp]")
