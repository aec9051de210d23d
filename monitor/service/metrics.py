"""Prometheus metrics of one news-monitor process, in a registry of its own.

Owns every counter, gauge and histogram the daemon exports (all named ``news_monitor_*``)
and the methods that change them, so callers say what happened (``observe_poll``,
``mail_sent``) and never touch prometheus_client objects. Nothing is registered in
prometheus_client's global registry: two ``Metrics`` in one process (tests, several
daemons) never collide. Also measures event-loop lag: a coroutine that sleeps a fixed
interval and records how late it woke, keeping a recent p99 for the health check.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

NAMESPACE = "news_monitor"
LAG_WINDOW = 600            # recent lag samples kept for the p99 (5 min at 0.5 s)
POLL_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0)
LAG_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """The daemon's metrics; ``render()`` gives the Prometheus text exposition."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._lag: deque[float] = deque(maxlen=LAG_WINDOW)
        self._define_feed_metrics()
        self._define_match_metrics()
        self._define_mail_metrics()
        self._define_loop_metrics()

    def _counter(self, name: str, doc: str, labels: tuple[str, ...] = ()) -> Counter:
        return Counter(name, doc, labels, namespace=NAMESPACE, registry=self.registry)

    def _gauge(self, name: str, doc: str) -> Gauge:
        return Gauge(name, doc, namespace=NAMESPACE, registry=self.registry)

    def _define_feed_metrics(self) -> None:
        self._polls = self._counter("polls_total", "Feed polls by outcome.", ("feed", "status"))
        self._feed_errors = self._counter(
            "feed_errors_total", "Feed poll failures by kind.", ("feed", "kind")
        )
        self._new_entries = self._counter("new_entries_total", "New feed entries.", ("feed",))
        self._poll_duration = Histogram(
            "poll_duration_seconds", "Time to poll one feed.", namespace=NAMESPACE,
            registry=self.registry, buckets=POLL_BUCKETS,
        )
        self._feeds_failing = self._gauge("feeds_failing", "Feeds whose last poll failed.")
        self._last_cycle = self._gauge(
            "last_cycle_timestamp_seconds", "Unix time the last poll cycle finished."
        )

    def _define_match_metrics(self) -> None:
        self._matches = self._counter("matches_total", "Articles matching a topic.", ("topic",))
        self._deltas = self._counter(
            "deltas_total", "Deltas stored (new or updated articles).", ("topic", "kind")
        )

    def _define_mail_metrics(self) -> None:
        self._mail_sent = self._counter("mail_sent_total", "Messages accepted by SMTP.", ("kind",))
        self._mail_failed = self._counter("mail_failed_total", "Failed delivery attempts.")
        self._mail_pending = self._gauge("mail_pending", "Messages waiting in the outbox.")
        self._mail_dead = self._gauge("mail_dead", "Messages given up on.")
        self._last_digest = self._gauge(
            "last_digest_timestamp_seconds", "Unix time the last digest was sent."
        )

    def _define_loop_metrics(self) -> None:
        self._loop_lag = Histogram(
            "loop_lag_seconds", "How late the event loop woke from a timed sleep.",
            namespace=NAMESPACE, registry=self.registry, buckets=LAG_BUCKETS,
        )
        p99 = self._gauge("loop_lag_p99_seconds", f"p99 of the last {LAG_WINDOW} lag samples.")
        p99.set_function(self.loop_lag_p99)

    # -- feeds -------------------------------------------------------------------------
    def observe_poll(self, feed: str, status: str, seconds: float) -> None:
        """One poll of ``feed`` ended with ``status`` (e.g. ok, not_modified, error)."""
        self._polls.labels(feed=feed, status=status).inc()
        self._poll_duration.observe(seconds)

    def feed_error(self, feed: str, kind: str) -> None:
        """A poll failed; ``kind`` is a FetchError.kind or a short word like ``parse``."""
        self._feed_errors.labels(feed=feed, kind=kind).inc()

    def new_entries(self, feed: str, count: int) -> None:
        self._new_entries.labels(feed=feed).inc(count)

    def set_feeds_failing(self, count: int) -> None:
        self._feeds_failing.set(count)

    def cycle_done(self, timestamp: float) -> None:
        """A poll cycle finished at Unix time ``timestamp``."""
        self._last_cycle.set(timestamp)

    # -- matching ----------------------------------------------------------------------
    def matched(self, topic: str, count: int = 1) -> None:
        self._matches.labels(topic=topic).inc(count)

    def delta(self, topic: str, kind: str) -> None:
        """A delta of ``kind`` (new, updated) was stored for ``topic``."""
        self._deltas.labels(topic=topic, kind=kind).inc()

    # -- mail --------------------------------------------------------------------------
    def mail_sent(self, kind: str) -> None:
        self._mail_sent.labels(kind=kind).inc()

    def mail_failed(self) -> None:
        self._mail_failed.inc()

    def set_outbox(self, pending: int, dead: int) -> None:
        self._mail_pending.set(pending)
        self._mail_dead.set(dead)

    def digest_sent(self, timestamp: float) -> None:
        self._last_digest.set(timestamp)

    # -- event loop --------------------------------------------------------------------
    def observe_loop_lag(self, seconds: float) -> None:
        self._loop_lag.observe(seconds)
        self._lag.append(seconds)

    def loop_lag_p99(self) -> float:
        """p99 (nearest rank) of the recent lag samples; 0.0 before the first one."""
        if not self._lag:
            return 0.0
        ordered = sorted(self._lag)
        return ordered[math.ceil(0.99 * len(ordered)) - 1]

    def render(self) -> bytes:
        """The Prometheus text format (version 0.0.4) of every metric."""
        return generate_latest(self.registry)


async def measure_loop_lag(
    metrics: Metrics, interval: float = 0.5, *, stop: asyncio.Event
) -> None:
    """Until ``stop`` is set: sleep ``interval``, record how much later than asked we woke."""
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        started = loop.time()
        await asyncio.sleep(interval)
        metrics.observe_loop_lag(max(0.0, loop.time() - started - interval))
