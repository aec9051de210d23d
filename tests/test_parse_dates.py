"""German and English feed dates with their zones, read into aware UTC datetimes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from monitor.parse.dates import clamp, parse_date


@pytest.mark.parametrize(
    ("raw", "iso"),
    [
        ("Di, 23 Okt 2018 10:15:00 +0200", "2018-10-23T08:15:00+00:00"),
        ("Mo, 7. März 2022 08:00 MEZ", "2022-03-07T07:00:00+00:00"),
        ("Dienstag, 23. Oktober 2018, 10:15 Uhr", "2018-10-23T08:15:00+00:00"),  # Berlin, CEST
        ("23. Oktober 2018", "2018-10-22T22:00:00+00:00"),
        ("So, 25 Jun 2023 14:00:00 MESZ", "2023-06-25T12:00:00+00:00"),
        ("Sat, 01 Jul 2023 14:00:00 CEST", "2023-07-01T12:00:00+00:00"),
        ("Fr, 01 Dez 2023 09:30:00 CET", "2023-12-01T08:30:00+00:00"),
        ("Mi, 12 Jan 2022 06:30:00 GMT", "2022-01-12T06:30:00+00:00"),
        ("12 Jan 22 06:30 Z", "2022-01-12T06:30:00+00:00"),
        ("Do, 09 Feb 2023 18:00:00 -05:00", "2023-02-09T23:00:00+00:00"),
    ],
)
def test_german_dates(raw: str, iso: str) -> None:
    parsed = parse_date(raw)
    assert parsed is not None and parsed.isoformat() == iso


@pytest.mark.parametrize("raw", ["2018-10-23T10:15:00+02:00", "31 Foo 2020", "30. Februar 2020",
                                 "Di, 23 Okt 2018 10:15:00 XYZ", "gestern", ""])
def test_dates_we_leave_to_feedparser_or_refuse(raw: str) -> None:
    assert parse_date(raw) is None


def test_clamp_keeps_past_and_cuts_future() -> None:
    fetched = datetime(2024, 1, 15, 12, tzinfo=UTC)
    past = datetime(2024, 1, 15, 11, tzinfo=UTC)
    assert clamp(past, fetched) == past
    assert clamp(datetime(2099, 1, 1, tzinfo=UTC), fetched) == fetched
