"""The wiring: builds every part from the configuration and closes them again.

This is the one place that knows how a ``Config`` becomes a store, a fetcher, an extractor,
compiled topics, a mailer and the pipeline. Commands and the service open an ``App`` and use
its parts; tests build one on local servers the same way.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from monitor.config.model import Config
from monitor.errors import ConfigError, QueryError
from monitor.extract.pages import ExtractOptions, Extractor
from monitor.fetch.client import Fetcher, FetchOptions
from monitor.match import Topic, compile_topic
from monitor.notify.delivery import Delivery
from monitor.pipeline.articles import ArticleProcessor
from monitor.pipeline.feed import Pipeline
from monitor.store import Store, open_store

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


def compile_topics(config: Config) -> list[Topic]:
    """Every enabled topic compiled; all query errors reported at once, as config errors."""
    aliases = {name: list(terms) for name, terms in config.aliases.items()}
    topics, problems = [], []
    for index, topic in enumerate(config.topics):
        try:
            compiled = compile_topic(topic.name, topic.query, aliases=aliases,
                                     **({"min_score": topic.min_score}
                                        if topic.min_score is not None else {}))
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


@dataclass
class App:
    """Everything a command or the service needs, built once from one config."""

    config: Config
    store: Store
    fetcher: Fetcher
    extractor: Extractor
    topics: list[Topic]
    delivery: Delivery
    pipeline: Pipeline
    clock: Clock

    @property
    def state_dir(self) -> Path:
        return self.config.state_dir


def open_store_for(config: Config) -> Store:
    if config.storage.url.startswith("sqlite:///"):
        Path(config.storage.url.removeprefix("sqlite:///")).parent.mkdir(parents=True,
                                                                          exist_ok=True)
    store = open_store(config.storage.url)
    store.sync_feeds([(f.name, f.url) for f in config.feeds])
    store.release_stale_leases()
    return store


@contextlib.asynccontextmanager
async def open_app(config: Config, *, clock: Clock = utcnow,
                   rng: random.Random | None = None) -> AsyncIterator[App]:
    """Build the parts (topics first: a bad query fails before anything is opened)."""
    topics = compile_topics(config)
    extractor = Extractor(extract_options(config))
    extractor.start()   # before the store and client grow the process: workers stay small
    store = open_store_for(config)
    try:
        async with Fetcher(fetch_options(config), clock=clock) as fetcher:
            delivery = Delivery(config, store, clock)
            articles = ArticleProcessor(config=config, store=store, fetcher=fetcher,
                                        extractor=extractor, topics=topics, clock=clock,
                                        render=delivery.render_alerts)
            pipeline = Pipeline(config, store, fetcher, articles, clock,
                                rng or random.Random())
            yield App(config, store, fetcher, extractor, topics, delivery, pipeline, clock)
    finally:
        await extractor.aclose()
        store.close()
