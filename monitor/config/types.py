"""Value types of the configuration: durations, sizes, URLs, times of day, time zones.

Each is a pydantic-annotated type whose validator turns the TOML spelling ("15m", "10MB",
"07:00", "Europe/Berlin") into a typed value or a ValueError whose text the config layer
shows with the key path. Pure functions, no state.
"""

from __future__ import annotations

import re
from datetime import time as dtime
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BeforeValidator, Field

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$")
_DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb|kib|mib|gib)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {"b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3,
               "kib": 1024, "mib": 1024**2, "gib": 1024**3}


def parse_duration(value: Any) -> timedelta:
    """``"90s"``, ``"15m"``, ``"2h"``, ``"7d"`` (or plain seconds) as a timedelta."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return timedelta(seconds=value)
    match = _DURATION.match(value) if isinstance(value, str) else None
    if not match:
        raise ValueError(f"not a duration: {value!r} (use e.g. \"90s\", \"15m\", \"2h\", \"7d\")")
    return timedelta(seconds=float(match[1]) * _DURATION_UNITS[match[2]])


def parse_size(value: Any) -> int:
    """``"10MB"``, ``"512KiB"`` (or plain bytes) as a number of bytes."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    match = _SIZE.match(value) if isinstance(value, str) else None
    if not match:
        raise ValueError(f"not a size: {value!r} (use e.g. \"10MB\", \"512KiB\")")
    return int(float(match[1]) * _SIZE_UNITS[(match[2] or "b").lower()])


def _positive_duration(value: Any) -> timedelta:
    parsed = parse_duration(value)
    if parsed <= timedelta(0):
        raise ValueError(f"must be longer than zero: {value!r}")
    return parsed


def _http_url(value: Any) -> str:
    if not isinstance(value, str) or urlsplit(value).scheme not in ("http", "https") \
            or not urlsplit(value).hostname:
        raise ValueError("not an http(s) URL")
    return value


def _clock_time(value: Any) -> dtime:
    if isinstance(value, dtime):
        return value
    try:
        return dtime.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"not a time of day: {value!r} (use \"HH:MM\")") from None


def _timezone(value: Any) -> str:
    try:
        ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone: {value!r}") from None
    return str(value)


def _non_negative_duration(value: Any) -> timedelta:
    parsed = parse_duration(value)
    if parsed < timedelta(0):
        raise ValueError(f"must not be negative: {value!r}")
    return parsed


Duration = Annotated[timedelta, BeforeValidator(_positive_duration)]
Pause = Annotated[timedelta, BeforeValidator(_non_negative_duration)]
Size = Annotated[int, BeforeValidator(parse_size), Field(gt=0)]
HttpUrl = Annotated[str, BeforeValidator(_http_url)]
ClockTime = Annotated[dtime, BeforeValidator(_clock_time)]
TimeZoneName = Annotated[str, BeforeValidator(_timezone)]
Name = Annotated[str, Field(min_length=1, max_length=80, pattern=r"^[\w][\w .:/()&+-]*$")]
EmailAddress = Annotated[str, Field(pattern=r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+$")]
