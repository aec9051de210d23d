"""APScheduler wiring only: periodic jobs, no overlap, graceful stop.

Each job is a coroutine function run by an ``AsyncIOScheduler`` with ``coalesce`` and
``max_instances=1`` (a slow cycle never piles up). A job's exception is logged and counted,
never the end of the scheduler. The runs in flight are tracked so ``stop`` can let them
finish within a bounded time. What a job does, and when a feed is due, lives elsewhere
(the store keeps all timing state).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Job:
    id: str
    run: Callable[[], Awaitable[object]]
    trigger: BaseTrigger
    start_now: bool = True


class Scheduler:
    """Runs jobs on their triggers; remembers when each last finished."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self._clock = clock
        self._scheduler = AsyncIOScheduler()
        self._running: set[asyncio.Task[object]] = set()
        self.last_finished: dict[str, float] = {}
        self.failures: dict[str, int] = {}

    def start(self, jobs: Sequence[Job]) -> None:
        self.replace(jobs)
        self._scheduler.start()

    def replace(self, jobs: Sequence[Job]) -> None:
        """Install these jobs instead of the current ones (a config reload)."""
        self._scheduler.remove_all_jobs()
        for job in jobs:
            self._scheduler.add_job(
                self._wrap(job), job.trigger, id=job.id, name=job.id, coalesce=True,
                max_instances=1, misfire_grace_time=3600, replace_existing=True,
                **({"next_run_time": self._clock()} if job.start_now else {}))

    def _wrap(self, job: Job) -> Callable[[], Awaitable[None]]:
        async def tracked() -> None:
            task = asyncio.current_task()
            if task is not None:
                self._running.add(task)
            try:
                await job.run()
            except asyncio.CancelledError:
                raise
            except Exception:
                self.failures[job.id] = self.failures.get(job.id, 0) + 1
                log.exception("job=%s status=failed", job.id)
            finally:
                self.last_finished[job.id] = time.monotonic()
                if task is not None:
                    self._running.discard(task)
        return tracked

    async def stop(self, timeout: float) -> bool:
        """Take no new work, let runs in flight finish within ``timeout``; True if they did."""
        self._scheduler.pause()
        pending = set(self._running)
        done = True
        if pending:
            _, still = await asyncio.wait(pending, timeout=timeout)
            for task in still:
                task.cancel()
            done = not still
        self._scheduler.shutdown(wait=False)
        return done

    def seconds_since(self, job_id: str) -> float | None:
        finished = self.last_finished.get(job_id)
        return None if finished is None else time.monotonic() - finished
