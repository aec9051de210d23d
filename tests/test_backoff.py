"""The poll schedule: interval after success, capped exponential backoff after failure."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from monitor import backoff

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
INTERVAL = timedelta(minutes=15)


def test_success_waits_one_interval_with_small_jitter() -> None:
    rng = random.Random(1)
    delays = [backoff.after_success(NOW, INTERVAL, rng) - NOW for _ in range(50)]
    assert all(INTERVAL <= d <= INTERVAL * 1.1 for d in delays)
    assert len(set(delays)) > 1


def test_failure_backoff_grows_and_is_capped() -> None:
    rng = random.Random(2)
    delays = [backoff.after_failure(NOW, INTERVAL, n, rng) - NOW for n in range(1, 15)]
    assert delays[0] == INTERVAL
    assert delays[3] >= INTERVAL * 4       # 8 intervals, jittered into its upper half
    assert max(delays) <= timedelta(hours=24)
    assert delays[-1] >= timedelta(hours=12)


def test_retry_after_is_a_floor_but_bounded() -> None:
    rng = random.Random(3)
    assert backoff.after_failure(NOW, INTERVAL, 1, rng, retry_after=7200) - NOW \
        == timedelta(hours=2)
    assert backoff.after_failure(NOW, INTERVAL, 1, rng, retry_after=10**9) - NOW \
        == timedelta(days=7)


def test_a_feed_waits_at_least_its_interval_even_when_the_cap_is_close_to_it() -> None:
    rng = random.Random(4)
    interval = timedelta(hours=15)
    delays = [backoff.after_failure(NOW, interval, n, rng) - NOW for n in range(1, 8)]
    assert all(interval <= d <= timedelta(hours=24) for d in delays)
    assert delays[0] == interval


def test_one_rule_for_mail_retries_doubling_from_a_minute_capped_at_six_hours() -> None:
    rng = random.Random(5)
    for attempt, full in ((1, 60), (2, 120), (5, 960), (12, 6 * 3600), (19, 6 * 3600)):
        wait = backoff.delay(attempt, base=60, cap=6 * 3600, rng=rng)
        assert full / 2 <= wait <= full
    waits = {backoff.delay(3, base=60, cap=6 * 3600, rng=rng) for _ in range(20)}
    assert len(waits) > 1                                 # jittered
    assert backoff.delay(3, base=900, cap=86400, rng=rng, floor=900) >= 900
    assert backoff.delay(1, base=900, cap=86400, rng=rng, floor=900) == 900   # no jitter
