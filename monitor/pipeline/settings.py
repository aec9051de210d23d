"""The settings of the pipeline: the feeds to poll and the rules of the article stage.

Small frozen records built once by the wiring (``monitor.app.settings``) from the
configuration; the pipeline reads only these, never the configuration itself. The routes'
policies travel with each article's outcome to the store, which queues or folds each
route's deliveries of the events it records.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from monitor.store.records import RoutePolicy


@dataclass(frozen=True, slots=True)
class FeedSpec:
    """One configured feed as the pipeline needs it."""

    name: str
    url: str
    interval: timedelta = timedelta(minutes=15)
    full_text: bool = True
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class PipelineSettings:
    """What one poll and one article check need to know beyond their inputs."""

    feeds: tuple[FeedSpec, ...] = ()
    first_poll_window: timedelta = timedelta(hours=24)
    page_max_bytes: int = 3 * 1000**2
    articles_in_flight: int = 16
    recheck: tuple[timedelta, ...] = (timedelta(hours=1), timedelta(hours=6),
                                      timedelta(hours=24), timedelta(hours=72))
    min_changed_words: int = 8
    cluster_window: timedelta = timedelta(hours=72)
    routes: tuple[RoutePolicy, ...] = ()   # who hears of events; none: recorded, nobody told
    # Feeds (and re-checks) claimed at a time: a bounded batch, so live processes share the
    # work; more are claimed as polls finish.
    claim_batch: int = 16
    # How long an entry waits for another process that holds its page's claim before it is
    # left pending for the next poll (seconds).
    page_wait: float = 120.0
    _by_name: dict[str, FeedSpec] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {f.name: f for f in reversed(self.feeds)})

    @property
    def enabled_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.feeds if f.enabled)

    def feed(self, name: str) -> FeedSpec | None:
        return self._by_name.get(name)
