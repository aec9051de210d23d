"""When a feed is polled next: the interval after success, capped exponential backoff with
jitter after failure, and never sooner than a server's Retry-After.

Pure functions of their arguments (the random source is passed in), so the schedule is
testable and the state lives in the store, not here. A feed is never disabled for good: the
backoff stops growing at ``cap``.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

DEFAULT_CAP = timedelta(hours=24)


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
    half; a server's Retry-After is a floor (capped at a week, as a hostile value could
    otherwise park the feed for ever).
    """
    exponent = min(max(errors - 1, 0), 30)
    delay = min(cap, interval * (2**exponent))
    delay = delay * rng.uniform(0.5, 1.0) if delay > interval else delay
    if retry_after is not None:
        delay = max(delay, timedelta(seconds=min(retry_after, 7 * 86400)))
    return now + delay
