"""The daemon: ``news-monitor run``.

Opens the app, counts itself among the live daemons of the store (``App.presence``: the
feeds are shared among them), installs the periodic jobs (poll due feeds, re-check recent
articles, flush the outbox, the daily digest, the hourly summary, housekeeping; the last
three run in one daemon of several, under a job lease; with ``[web]`` also the desk's
search index), speaks the systemd notify
protocol (READY, STATUS, WATCHDOG from the event loop itself, RELOADING, STOPPING), serves
/metrics and /healthz when configured and the review desk with ``[web]`` (both on uvicorn in
this event loop), reloads the config on SIGHUP (a broken one is refused
and the old one keeps running) and stops gracefully on SIGTERM/SIGINT.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from monitor.app.settings import ServiceSettings
from monitor.app.wiring import App, Setup, load_setup, open_app
from monitor.errors import ConfigError
from monitor.match import Normaliser
from monitor.notify.digest import DigestSkipped
from monitor.service.http import HttpServer, start_http
from monitor.service.metrics import Metrics, measure_loop_lag
from monitor.service.scheduler import Job, Scheduler
from monitor.service.sdnotify import Notifier

if TYPE_CHECKING:
    from monitor.web.state import DeskParts

log = logging.getLogger(__name__)

STOP_TIMEOUT = 8.0


def digest_trigger(settings: ServiceSettings) -> CronTrigger:
    """Daily at ``[digest] time`` in ``[digest] timezone`` (wall-clock time across DST)."""
    when = settings.digest_time
    return CronTrigger(hour=when.hour, minute=when.minute, second=when.second,
                       timezone=settings.digest_timezone)


class Service:
    """One running daemon: its app, scheduler, metrics and systemd notifier."""

    def __init__(self, setup: Setup, env: Mapping[str, str]) -> None:
        self.setup, self.env = setup, env
        self.notifier = Notifier.from_env(env)
        self.metrics = Metrics()
        self.stop_event = asyncio.Event()
        self.reload_event = asyncio.Event()
        self.app: App | None = None
        self._parts: tuple[App, DeskParts] | None = None
        self.scheduler: Scheduler | None = None
        self.normaliser = Normaliser()       # the desk's search index, in the matcher's words

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, self.stop_event.set)
        loop.add_signal_handler(signal.SIGINT, self.stop_event.set)
        loop.add_signal_handler(signal.SIGHUP, self.reload_event.set)
        helpers = [asyncio.create_task(measure_loop_lag(self.metrics, stop=self.stop_event))]
        interval = Notifier.watchdog_interval(self.env)
        if interval:
            helpers.append(asyncio.create_task(
                self.notifier.watchdog_loop(interval, self.stop_event)))
        servers = await self._start_http()
        try:
            while not self.stop_event.is_set():
                await self._run_config()
        finally:
            for task in helpers:
                task.cancel()
            for server in servers:
                server.close()
            for server in servers:
                await server.wait_closed()
            self.notifier.stopping("stopped")
        log.info("service status=stopped")
        return 0

    async def _start_http(self) -> list[HttpServer]:
        """The desk on ``[web] listen`` and the open endpoint on ``[http] listen``."""
        servers = []
        settings = self.setup.service
        if settings.web is not None:
            # The desk's libraries load only when a desk is served: a daemon without [web]
            # keeps them out of its memory.
            from monitor.web.app import desk_app
            from monitor.web.server import serve_asgi
            from monitor.web.state import Desk

            desk = Desk(settings.web, self._desk_parts, self.health, self.metrics.registry,
                        normaliser=self.normaliser)
            servers.append(await serve_asgi(settings.web.listen, desk_app(desk)))
        if settings.listen:
            servers.append(await start_http(settings.listen, self.metrics, self.health))
        return servers

    def _desk_parts(self) -> DeskParts | None:
        """What the desk reads of the running app, made once per app (a reload makes a new
        one)."""
        from monitor.web.state import DeskParts

        app = self.app
        if app is None:
            return None
        if self._parts is None or self._parts[0] is not app:
            self._parts = (app, DeskParts(app.store, app.topics, app.desk_digests()))
        return self._parts[1]

    async def _run_config(self) -> None:
        """Run with the current config until stopped or a good new config is loaded."""
        async with open_app(self.setup.config) as app:
            with app.presence():
                self.app = app
                self.scheduler = Scheduler(app.clock)
                self.scheduler.start(self._jobs(app))
                self.notifier.ready(self._status(app))
                log.info("service status=ready feeds=%d topics=%d owner=%s",
                         self.setup.service.feeds_enabled, len(app.topics), app.store.owner)
                while not await self._next_config():
                    pass
                if self.stop_event.is_set():
                    self.notifier.stopping("finishing work in flight")
                else:
                    self.notifier.reloading()
                await self.scheduler.stop(STOP_TIMEOUT)
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(app.delivery.flush(), STOP_TIMEOUT)
        self.app = None

    async def _next_config(self) -> bool:
        """Wait for a signal: True to stop or switch to a new config, False to go on."""
        stop = asyncio.create_task(self.stop_event.wait())
        reload = asyncio.create_task(self.reload_event.wait())
        await asyncio.wait({stop, reload}, return_when=asyncio.FIRST_COMPLETED)
        stop.cancel()
        reload.cancel()
        if self.stop_event.is_set():
            return True
        self.reload_event.clear()
        return self._reload()

    def _reload(self) -> bool:
        """Load the config again; a broken one is refused and the running one goes on."""
        try:
            self.setup = load_setup(self.setup.path, self.env)
        except ConfigError as exc:
            for problem in exc.problems:
                log.error("reload status=refused problem=%r", problem)
            return False
        log.info("reload status=ok feeds=%d", self.setup.service.feeds_enabled)
        return True

    def _jobs(self, app: App) -> list[Job]:
        settings = self.setup.service
        tick = settings.poll_tick
        jobs = [Job("poll", lambda: self._poll(app), IntervalTrigger(seconds=tick)),
                Job("recheck", lambda: self._recheck(app), IntervalTrigger(seconds=max(tick, 30))),
                Job("flush", lambda: self._flush(app), IntervalTrigger(seconds=max(tick, 15))),
                Job("housekeeping", lambda: self._housekeeping(app), IntervalTrigger(hours=6))]
        if settings.digest_enabled:
            jobs.append(Job("digest", lambda: self._digest(app), digest_trigger(settings),
                            start_now=False))
        if settings.web is not None:
            jobs.append(Job("search-index", lambda: self._index(app), IntervalTrigger(minutes=1)))
        if settings.hourly_summary:
            jobs.append(Job("summary", lambda: self._summary(app),
                            CronTrigger(minute=0, timezone="UTC"), start_now=False))
        return jobs

    async def _summary(self, app: App) -> None:
        """Alerts folded past the hourly cap (or all, in hourly mode) go out as one mail."""
        report = await app.delivery.send_hourly_summary()
        for _ in range(report.sent):
            self.metrics.mail_sent("summary")

    async def _index(self, app: App) -> None:
        """The desk's search index brought up to the newest stored revisions."""
        from monitor.web.searching import refresh

        await asyncio.to_thread(refresh, app.store, self.normaliser)

    async def _poll(self, app: App) -> None:
        outcomes = await app.pipeline.run_cycle(due_only=True)
        for outcome in outcomes:
            self.metrics.observe_poll(outcome.feed, outcome.status, outcome.took_ms / 1000)
            if outcome.error_kind:
                self.metrics.feed_error(outcome.feed, outcome.error_kind)
            self.metrics.new_entries(outcome.feed, outcome.new_entries)
            for article in outcome.articles:
                for topic in article.matched:
                    self.metrics.matched(topic)
        self.metrics.cycle_done(time.time())
        if any(o.deltas for o in outcomes):
            await self._flush(app)
        self._publish_status(app)

    async def _recheck(self, app: App) -> None:
        await app.pipeline.recheck_due()

    async def _flush(self, app: App) -> None:
        report = await app.delivery.flush()
        for _ in range(report.sent):
            self.metrics.mail_sent("any")
        for _ in range(report.failed):
            self.metrics.mail_failed()
        self._publish_status(app)

    async def _digest(self, app: App) -> None:
        """The day's digest of every digest route: made by one daemon (the others find it
        made), then sent."""
        for route, made in await app.make_digests():
            if isinstance(made, DigestSkipped):
                log.info("digest status=%s route=%s period=%s", made.reason, route, made.period)
            else:
                log.info("digest status=queued route=%s period=%s events=%d", route,
                         made.period, made.events)
                self.metrics.digest_sent(time.time())
        await self._flush(app)

    async def _housekeeping(self, app: App) -> None:
        """Retention and optimising, by one daemon per six hours (a job under a lease)."""
        now = app.clock()
        job = await asyncio.to_thread(
            app.store.claim_job, f"housekeeping {now:%Y-%m-%d}T{now.hour // 6 * 6:02d}", now)
        if job.status != "claimed":
            log.info("housekeeping status=%s job=%r", job.status, job.name)
            return
        try:
            with app.keeper.holding("jobs", [job.id]):
                counts = await asyncio.to_thread(app.store.prune,
                                                 now - self.setup.service.retention)
                await asyncio.to_thread(app.store.optimize)
        except BaseException:
            await asyncio.to_thread(app.store.release_job, job.id)
            raise
        await asyncio.to_thread(app.store.finish_job, job.id, app.clock())
        log.info("housekeeping pruned=%s", counts)

    def _status(self, app: App) -> str:
        total, failing = app.store.feed_counts()
        mail = app.store.outbox_counts()
        self.metrics.set_feeds_failing(failing)
        self.metrics.set_outbox(mail["pending"], mail["dead"])
        return (f"{total - failing} feeds ok, {failing} failing; "
                f"{mail['pending']} mails pending, {mail['dead']} dead")

    def _publish_status(self, app: App) -> None:
        self.notifier.status(self._status(app))

    def health(self) -> tuple[bool, str]:
        """200 when the poll job ran recently and the store answers; 503 otherwise."""
        app, scheduler = self.app, self.scheduler
        if app is None or scheduler is None:
            return False, "starting or reloading"
        since = scheduler.seconds_since("poll")
        limit = max(120.0, self.setup.service.poll_tick * 4)
        if since is None or since > limit:
            return False, f"poll job has not finished in {limit:.0f} s"
        if not app.store.integrity_ok():
            return False, "store does not answer"
        return True, f"ok; last poll {since:.0f} s ago"


def run_service(setup: Setup) -> int:
    """Run the daemon until SIGTERM or SIGINT; SIGHUP reloads ``setup.path``."""
    return asyncio.run(Service(setup, os.environ).run())
