"""Retry delays: capped exponential backoff with jitter, for feed polls and for mail.

``delay`` is the one rule: doubling from a base per failure in a row, at most a cap, spread
into the upper half of that (so retries of many feeds or mails do not move in step), never
below a floor. Feeds use it with their interval as base and floor (``after_failure``: a
failing feed is never polled sooner than its interval; a server's Retry-After is a further
floor, capped at a week); the outbox uses it for mail retries. Pure functions of their
arguments (the random source is passed in), so schedules are testable and the state lives
in the store, not here. A feed is never disabled for good: the backoff stops growing at
``cap``.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

DEFAULT_CAP = timedelta(hours=24)
RETRY_AFTER_CAP = timedelta(days=7)


def delay(attempt: int, *, base: float, cap: float, rng: random.Random,
          floor: float = 0.0) -> float:
    """Seconds to wait after ``attempt`` failures in a row (1 for the first): ``base`` doubled
    per further failure up to ``cap``, jittered to 50-100 % of that but never below ``floor``;
    a delay at or below ``floor`` is kept as it is, without jitter."""
    capped = min(cap, base * 2.0 ** min(max(attempt - 1, 0), 30))
    if capped <= floor:
        return capped
    return max(floor, capped * rng.uniform(0.5, 1.0))


def after_success(now: datetime, interval: timedelta, rng: random.Random) -> datetime:
    """The next poll: one interval later, spread by up to 10 % so feeds do not move in step."""
    return now + interval * (1 + rng.uniform(0, 0.1))


def after_failure(
    now: datetime,
    interval: timedelta,
    errors: int,
    rng: random.Random,
    *,
    retry_after: float | None = None,
    cap: timedelta = DEFAULT_CAP,
) -> datetime:
    """The next poll after ``errors`` consecutive failures (1 for the first).

    The delay doubles from one interval per failure up to ``cap``, with jitter in its upper
    half but never below the interval; a server's Retry-After is a floor (capped at a week,
    as a hostile value could otherwise park the feed for ever).
    """
    seconds = interval.total_seconds()
    wait = timedelta(seconds=delay(errors, base=seconds, cap=cap.total_seconds(), rng=rng,
                                   floor=seconds))
    if retry_after is not None:
        wait = max(wait, timedelta(seconds=min(retry_after, RETRY_AFTER_CAP.total_seconds())))
    return now + wait
