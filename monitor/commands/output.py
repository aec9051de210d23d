"""What every command does alike: times with their zone, and the names a user typed.

Times are printed in the zone of ``--timezone``, else ``[digest] timezone`` (so command
output and the digest agree), always with the zone's abbreviation: ``2024-03-12 14:05 CET``.
A topic or feed name that is not configured is a ``UsageError`` (exit 2) that lists what is
configured and suggests the closest name.
"""

from __future__ import annotations

import argparse
import difflib
from collections.abc import Iterable, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from monitor.config.model import Config
from monitor.errors import UsageError

TIME_FORMAT = "%Y-%m-%d %H:%M %Z"
LIST_AT_MOST = 8


def display_zone(args: argparse.Namespace, config: Config) -> ZoneInfo:
    """``--timezone``, else the digest's zone."""
    return ZoneInfo(getattr(args, "timezone", None) or config.digest.timezone)


def show_time(value: datetime | None, zone: ZoneInfo, fmt: str = TIME_FORMAT) -> str:
    """``2024-03-12 14:05 CET`` (``-`` for no time)."""
    return value.astimezone(zone).strftime(fmt) if value else "-"


def check_topic(config: Config, name: str | None) -> None:
    """A configured topic's name (enabled or not), else a UsageError."""
    if name is not None:
        _check("topic", [name], [t.name for t in config.topics])


def check_feeds(config: Config, names: Iterable[str] | None, *, enabled: bool = False) -> None:
    """Every name a configured feed (an enabled one with ``enabled``), else a UsageError."""
    wanted = list(names or ())
    _check("feed", wanted, [f.name for f in config.feeds])
    disabled = [n for n in wanted if n not in {f.name for f in config.enabled_feeds}]
    if enabled and disabled:
        raise UsageError(f"feed {_names(disabled)} {'is' if len(disabled) == 1 else 'are'} "
                         "disabled (enabled = false in the config)")


def _check(kind: str, wanted: Sequence[str], known: Sequence[str]) -> None:
    unknown = [n for n in wanted if n not in known]
    if not unknown:
        return
    close = difflib.get_close_matches(unknown[0], known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    if len(known) > LIST_AT_MOST:
        configured = f"{len(known)} configured; `news-monitor {kind}s` lists them"
    else:
        configured = "configured: " + (_names(known) if known else "(none)")
    raise UsageError(f"unknown {kind} {_names(unknown)}{hint}; {configured}")


def _names(names: Sequence[str]) -> str:
    return ", ".join(repr(n) for n in names)
