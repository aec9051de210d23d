"""Feed dates in the forms German publishers actually write, turned into aware UTC datetimes.

feedparser's ``*_parsed`` fields cover ISO 8601 and English RFC 822, but they give up on
German names ("Di, 23 Okt 2018 10:15:00 +0200", "Mo, 7. März 2022 08:00 MEZ",
"23. Oktober 2018") and silently read MEZ/MESZ/CET/CEST as UTC. This module owns reading
such day-month-year strings (German or English names, numeric offsets or named zones) and
the rule for turning a date into ``FeedEntry`` fields: a future date is clamped to the fetch
time, and a zone-less date is read as Berlin time, the zone of the feeds we watch. Anything
it does not recognise is left to feedparser's own result (see ``from_struct``).
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

BERLIN = ZoneInfo("Europe/Berlin")

MONTHS: dict[str, int] = {
    "jan": 1, "januar": 1, "january": 1, "jän": 1, "jänner": 1,
    "feb": 2, "februar": 2, "february": 2,
    "mär": 3, "mrz": 3, "märz": 3, "maerz": 3, "mar": 3, "march": 3,
    "apr": 4, "april": 4,
    "mai": 5, "may": 5,
    "jun": 6, "juni": 6, "june": 6,
    "jul": 7, "juli": 7, "july": 7,
    "aug": 8, "august": 8,
    "sep": 9, "sept": 9, "september": 9,
    "okt": 10, "oktober": 10, "oct": 10, "october": 10,
    "nov": 11, "november": 11,
    "dez": 12, "dezember": 12, "dec": 12, "december": 12,
}

ZONES: dict[str, int] = {  # offset in minutes east of UTC
    "z": 0, "gmt": 0, "ut": 0, "utc": 0, "wet": 0,
    "mez": 60, "cet": 60, "bst": 60, "west": 60,
    "mesz": 120, "cest": 120, "eet": 120,
    "eest": 180, "msk": 180,
    "est": -300, "edt": -240, "cst": -360, "cdt": -300,
    "mst": -420, "mdt": -360, "pst": -480, "pdt": -420,
}

_DATE_RE = re.compile(
    r"""^\s*(?:[^\W\d_]{2,10}\.?,?\s+)?          # weekday: Di, | Dienstag, | Tue,
    (?P<day>\d{1,2})\.?\s*                        # 23 | 7.
    (?P<month>[^\W\d_]{3,9})\.?,?\s+              # Okt | März | Oktober | Oct
    (?P<year>\d{4}|\d{2})\b,?                     # 2018 | 18
    (?:\s*(?:um\s+)?(?P<hour>\d{1,2})[:.](?P<minute>\d{2})(?:[:.](?P<second>\d{2}))?
       (?:\s*Uhr)?)?                              # 10:15:00 | 08:00 Uhr
    \s*(?P<zone>[+-]\d{2}:?\d{2}|[^\W\d_]{1,5})?  # +0200 | +02:00 | MEZ | GMT | Z
    \s*$""",
    re.VERBOSE | re.IGNORECASE,
)


def parse_date(raw: str) -> datetime | None:
    """Read a day-month-year date with German or English names; aware UTC, or None."""
    match = _DATE_RE.match(raw)
    if match is None:
        return None
    month = MONTHS.get(match["month"].lower())
    tzinfo = _zone(match["zone"])
    if month is None or tzinfo is None:
        return None
    year = int(match["year"])
    year += 2000 if year < 70 else 1900 if year < 100 else 0
    try:
        local = datetime(
            year, month, int(match["day"]),
            int(match["hour"] or 0), int(match["minute"] or 0), int(match["second"] or 0),
            tzinfo=tzinfo,
        )
    except ValueError:
        return None
    return local.astimezone(UTC)


def _zone(token: str | None) -> timezone | ZoneInfo | None:
    """A numeric offset or a known zone name; no zone at all means Berlin time."""
    if token is None:
        return BERLIN
    if token[0] in "+-":
        digits = token[1:].replace(":", "")
        minutes = int(digits[:2]) * 60 + int(digits[2:])
        if minutes >= 24 * 60:
            return None
        return timezone(timedelta(minutes=-minutes if token[0] == "-" else minutes))
    offset = ZONES.get(token.lower())
    return None if offset is None else timezone(timedelta(minutes=offset))


def from_struct(value: time.struct_time | None) -> datetime | None:
    """feedparser's ``*_parsed`` (a UTC struct_time) as an aware datetime, or None."""
    if value is None:
        return None
    try:
        return datetime(*value[:6], tzinfo=UTC)
    except (TypeError, ValueError, OverflowError):
        return None


def entry_date(raw: str | None, parsed: time.struct_time | None) -> datetime | None:
    """Our reading of the raw string first (it knows German and MEZ); feedparser's second."""
    ours = parse_date(raw) if raw else None
    return ours or from_struct(parsed)


def clamp(value: datetime, fetched_at: datetime) -> datetime:
    """A date after the fetch time is a publisher's mistake: use the fetch time."""
    return min(value, fetched_at)
