"""The wiring: builds every part from the configuration and closes them again.

This is the one place that knows how a ``Config`` becomes a store, a fetcher, an extractor,
compiled topics, a mailer, the pipeline and the ``LeaseKeeper`` that renews the leases of
their work in progress. Commands and the service open an ``App`` and use its parts; tests
build one on local servers the same way.
"""

from __future__ import annotations

import contextlib
import gc
import random
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from monitor.app.settings import (
    ServiceSettings,
    compile_topics,
    delivery_settings,
    desk_digests,
    digest_settings,
    extract_options,
    fetch_options,
    pipeline_settings,
    service_settings,
    store_settings,
    topic_words,
)
from monitor.config.model import Config, load_config
from monitor.extract.pool import Extractor
from monitor.fetch.client import Fetcher
from monitor.leasing import LeaseKeeper
from monitor.match import Topic
from monitor.match.normalise import Normaliser
from monitor.notify.delivery import Delivery
from monitor.notify.digest import (
    DigestDraft,
    DigestResult,
    DigestSettings,
    DigestSkipped,
    render_digest,
    send_digest,
)
from monitor.notify.settings import RouteSettings
from monitor.pipeline.articles import ArticleProcessor
from monitor.pipeline.feed import Pipeline
from monitor.pipeline.learning import VerdictJudge
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
    keeper: LeaseKeeper

    def digest_routes(self) -> tuple[RouteSettings, ...]:
        """The routes that get the digest, in configured order."""
        return tuple(r for r in self.delivery.settings.routes if "digest" in r.policy.events)

    async def make_digests(self, *, by_hand: bool = False, empty: bool = False
                           ) -> list[tuple[str, DigestResult | DigestSkipped]]:
        """Make and queue the day's digest of every digest route, each under its route's
        lease (``notify.digest``): scheduled, or ``by_hand`` (``digest --send``; ``empty``
        also when nothing is new)."""
        made: list[tuple[str, DigestResult | DigestSkipped]] = []
        for route in self.digest_routes():
            settings = digest_settings(self.config, self.topics, route)
            made.append((route.name, await send_digest(
                self.store, settings, self.clock, by_hand=by_hand, empty=empty,
                keeper=self.keeper, channel=self.delivery.channel(route.name))))
        return made

    async def send_digest(self, *, force: bool = False) -> DigestResult | None:
        """The first route's digest as scheduled, or with ``force`` one now even when
        nothing is new; None when none was queued."""
        made = [m for _, m in await self.make_digests(by_hand=force, empty=force)]
        return made[0] if made and isinstance(made[0], DigestResult) else None

    def desk_digests(self) -> tuple[DigestSettings, ...]:
        """The digest settings of every route that gets the digest (``desk_digests``)."""
        return desk_digests(self.config, self.topics, self.delivery.settings.routes)

    def render_digest(self, now: datetime) -> DigestDraft:
        """The first route's digest a send at ``now`` would queue, as a mail, composed but
        not written anywhere."""
        route = (self.digest_routes() or self.delivery.settings.routes)[0]
        return render_digest(self.store, digest_settings(self.config, self.topics, route), now)

    @contextlib.contextmanager
    def presence(self) -> Iterator[None]:
        """This daemon counts among the live ones while the block runs, so live daemons
        share the feeds (``store.feeds``); its presence is renewed like a lease."""
        job = self.store.join(self.clock())
        try:
            with self.keeper.holding("jobs", [job]):
                yield
        finally:
            self.store.drop_job(job)


def open_store_for(config: Config) -> Store:
    """The store, with the configured feeds synced (an idempotent upsert, so processes may
    start or reload at once) and this host's dead processes' leases freed."""
    settings = store_settings(config)
    if settings.url.startswith("sqlite:///"):
        Path(settings.url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    store = open_store(settings.url, lease_seconds=settings.lease_seconds)
    try:
        store.sync_feeds([(f.name, f.url) for f in config.feeds])
        store.release_stale_leases()
    except BaseException:
        store.close()
        raise
    return store


def settle_heap() -> None:
    """Collect start-up's garbage, then exempt what is left from collection while the app is
    open: the imported modules, the compiled topics and the store's schema live as long as
    it, and every full collection walked all of them again (a tenth of a second in a first
    cycle); the cycles' own objects are collected as before."""
    gc.collect()
    gc.freeze()


@contextlib.asynccontextmanager
async def open_app(config: Config, *, clock: Clock = utcnow,
                   rng: random.Random | None = None) -> AsyncIterator[App]:
    """Build the parts (topics first: a bad query fails before anything is opened)."""
    topics = compile_topics(config)
    extractor = Extractor(extract_options(config))   # its workers start on the first task
    store = open_store_for(config)
    keeper = LeaseKeeper(store.renew_leases, clock, store_settings(config).renewal_seconds)
    try:
        async with Fetcher(fetch_options(config), clock=clock) as fetcher:
            delivery = Delivery(delivery_settings(config, store.installation_id()), store,
                                clock, keeper=keeper)
            settings = pipeline_settings(config)
            lemmas = Normaliser()         # the matcher's and the verdict models' word cache
            judge = VerdictJudge(store, topic_words(config), lemmas=lemmas)
            articles = ArticleProcessor(settings=settings, store=store, fetcher=fetcher,
                                        extractor=extractor, topics=topics, clock=clock,
                                        keeper=keeper, judge=judge, lemmas=lemmas)
            pipeline = Pipeline(settings, store, fetcher, extractor, articles, clock,
                                rng or random.Random(), keeper)
            settle_heap()
            try:
                yield App(config, store, fetcher, extractor, topics, delivery, pipeline,
                          clock, keeper)
            finally:
                gc.unfreeze()             # a closed app's objects may be collected again
                articles.close()          # before the store: its thread may still write
    finally:
        await keeper.aclose()
        await extractor.aclose()
        store.close()
