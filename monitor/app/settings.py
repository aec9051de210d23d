"""The translation of the configuration into the small settings each part reads.

This is the one place that reads a ``Config`` for the parts: each function below turns it
into the frozen record one consumer needs (``FetchOptions`` for the fetch stage,
``ExtractOptions`` for the extract pool, compiled ``Topic`` objects for matching,
``PipelineSettings``, ``ServiceSettings``), so no stage, the pipeline or the service ever
imports ``monitor.config`` or reads a nested key deep inside.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time as dtime
from datetime import timedelta
from typing import Any

from monitor.config.model import Config
from monitor.errors import ConfigError, QueryError
from monitor.extract.pool import ExtractOptions
from monitor.fetch.client import FetchOptions
from monitor.match import Topic, compile_topic
from monitor.pipeline.settings import FeedSpec, PipelineSettings

DEFAULT_POLL_INTERVAL = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class ServiceSettings:
    """What the daemon schedules: the poll tick, the digest time, summaries, housekeeping."""

    feeds_enabled: int
    shortest_interval: timedelta
    listen: str | None
    digest_enabled: bool
    digest_time: dtime
    digest_timezone: str
    hourly_summary: bool
    retention: timedelta

    @property
    def poll_tick(self) -> float:
        """How often the poll job looks for due feeds: a quarter of the shortest interval."""
        return min(30.0, max(1.0, self.shortest_interval.total_seconds() / 4))


def compile_topics(config: Config) -> list[Topic]:
    """Every enabled topic compiled; all query errors reported at once, as config errors."""
    aliases = {name: list(terms) for name, terms in config.aliases.items()}
    topics, problems = [], []
    for index, topic in enumerate(config.topics):
        options: dict[str, Any] = {}
        if topic.min_score is not None:
            options["min_score"] = topic.min_score
        try:
            compiled = compile_topic(topic.name, topic.query, aliases=aliases, **options)
        except QueryError as exc:
            problems.append(f"topics[{index}].query: {exc}")
            continue
        if topic.enabled:
            topics.append(compiled)
    if problems:
        raise ConfigError(problems, str(config.source) if config.source else None)
    return topics


def fetch_options(config: Config) -> FetchOptions:
    fetch = config.fetch
    return FetchOptions(
        user_agent=fetch.user_agent, concurrency=fetch.concurrency,
        per_host_concurrency=fetch.per_host_concurrency,
        per_host_delay=fetch.per_host_delay.total_seconds(),
        connect_timeout=fetch.timeout.total_seconds(), read_timeout=fetch.timeout.total_seconds(),
        deadline=fetch.deadline.total_seconds(), max_bytes=fetch.max_bytes,
        allow_private_hosts=frozenset(fetch.allow_private_hosts), proxy=fetch.proxy)


def extract_options(config: Config) -> ExtractOptions:
    return ExtractOptions(workers=config.fetch.extract_workers,
                          budget_seconds=config.fetch.extract_budget.total_seconds(),
                          max_bytes=config.fetch.page_max_bytes)


def pipeline_settings(config: Config) -> PipelineSettings:
    alerts = config.alerts
    return PipelineSettings(
        feeds=tuple(FeedSpec(name=f.name, url=f.url, interval=f.interval,
                             full_text=f.full_text, enabled=f.enabled) for f in config.feeds),
        first_poll_window=alerts.first_poll_window,
        page_max_bytes=config.fetch.page_max_bytes,
        # Articles in flight at once (fetched page, extraction, matching): bounded, so a
        # first cycle over thousands of entries never holds thousands of pages in memory.
        articles_in_flight=max(4, 2 * config.fetch.concurrency),
        recheck=alerts.recheck, min_changed_words=alerts.min_changed_words,
        cluster_window=alerts.cluster_window)


def service_settings(config: Config) -> ServiceSettings:
    enabled = config.enabled_feeds
    return ServiceSettings(
        feeds_enabled=len(enabled),
        shortest_interval=min((f.interval for f in enabled), default=DEFAULT_POLL_INTERVAL),
        listen=config.http.listen, digest_enabled=config.digest.enabled,
        digest_time=config.digest.time, digest_timezone=config.digest.timezone,
        hourly_summary=config.alerts.mode != "off", retention=config.storage.retention)
