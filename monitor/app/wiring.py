"""The wiring: builds every part from the configuration and closes them again.

This is the one place that knows how a ``Config`` becomes a store, a fetcher, an extractor,
compiled topics, a mailer and the pipeline. Commands and the service open an ``App`` and use
its parts; tests build one on local servers the same way.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from monitor.app.settings import (
    ServiceSettings,
    compile_topics,
    delivery_settings,
    digest_settings,
    extract_options,
    fetch_options,
    pipeline_settings,
    service_settings,
)
from monitor.config.model import Config, load_config
from monitor.extract.pool import Extractor
from monitor.fetch.client import Fetcher
from monitor.match import Topic
from monitor.notify.delivery import Delivery
from monitor.notify.digest import DigestDraft, DigestResult, render_digest, send_digest
from monitor.pipeline.articles import ArticleProcessor
from monitor.pipeline.feed import Pipeline
from monitor.store import Store, open_store

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Setup:
    """A loaded configuration with the service's settings translated from it: what the
    daemon holds between reloads (it reads only ``service``; ``config`` goes back into
    ``open_app``)."""

    config: Config
    service: ServiceSettings
    path: Path


def setup_for(config: Config) -> Setup:
    """The daemon's view of a loaded configuration."""
    return Setup(config, service_settings(config), config.source or Path())


def load_setup(path: Path, env: Mapping[str, str]) -> Setup:
    """Load and check the configuration again (ConfigError with every problem): a reload."""
    return setup_for(load_config(path, env))


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

    async def send_digest(self, *, force: bool = False) -> DigestResult | None:
        """Build and queue the digest of everything since the last one."""
        return await send_digest(self.store, digest_settings(self.config, self.topics),
                                 self.clock, force=force)

    def render_digest(self, now: datetime) -> DigestDraft:
        """The digest a send at ``now`` would queue, composed but not written anywhere."""
        return render_digest(self.store, digest_settings(self.config, self.topics), now)


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
            delivery = Delivery(delivery_settings(config), store, clock)
            settings = pipeline_settings(config)
            articles = ArticleProcessor(settings=settings, store=store, fetcher=fetcher,
                                        extractor=extractor, topics=topics, clock=clock)
            pipeline = Pipeline(settings, store, fetcher, extractor, articles, clock,
                                rng or random.Random())
            yield App(config, store, fetcher, extractor, topics, delivery, pipeline, clock)
    finally:
        await extractor.aclose()
        store.close()
