"""Leases kept alive while their work runs: the one renewal loop of a process.

Work claimed from the store (a feed's poll, a re-check, an article page, a mail, a
singleton job, a daemon's presence) carries a short lease. Whoever does the work holds its
ids here (``holding``) for as long as it runs; one task renews every held lease each
``every`` seconds, in one store call run in a thread, and stops when nothing is held. A
lease that another process took over meanwhile is logged (``lease_lost``) and no longer
renewed. The task runs on the event loop on purpose: a process whose loop is stuck, or
that was stopped or killed, renews nothing, and its work is free again when its leases
end. The store is reached only through the ``Renew`` callable the wiring hands in.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime

from monitor.errors import MonitorError

log = logging.getLogger(__name__)

# Extends the leases held per kind ("feeds", "articles", "outbox", "jobs") at a time;
# answers with the ids still held.
Renew = Callable[[Mapping[str, Sequence[int]], datetime], Mapping[str, Sequence[int]]]


class LeaseKeeper:
    """Renews the leases of the work in progress of one process."""

    def __init__(self, renew: Renew, clock: Callable[[], datetime], every: float) -> None:
        self._renew, self._clock, self.every = renew, clock, every
        self._held: defaultdict[str, Counter[int]] = defaultdict(Counter)
        self._task: asyncio.Task[None] | None = None
        self.renewals = 0

    @contextlib.contextmanager
    def holding(self, kind: str, ids: Iterable[int]) -> Iterator[None]:
        """Keeps the leases on ``ids`` renewed while the block runs."""
        held = list(ids)
        self.hold(kind, held)
        try:
            yield
        finally:
            self.release(kind, held)

    def hold(self, kind: str, ids: Iterable[int]) -> None:
        self._held[kind].update(ids)
        self._start()

    def release(self, kind: str, ids: Iterable[int]) -> None:
        counts = self._held[kind]
        for item in ids:
            if counts.get(item, 0) <= 1:
                counts.pop(item, None)
            else:
                counts[item] -= 1

    def held(self) -> dict[str, list[int]]:
        return {kind: sorted(counts) for kind, counts in self._held.items() if counts}

    def _start(self) -> None:
        if self._task is not None and not self._task.done():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:        # used without an event loop: nothing runs long enough
            return
        self._task = loop.create_task(self._run(), name="lease-renewal")

    async def _run(self) -> None:
        while self.held():
            await asyncio.sleep(self.every)
            await self.renew_now()

    async def renew_now(self) -> None:
        """Renews every held lease once; drops (and logs) those another process took."""
        held = self.held()
        if not held:
            return
        try:
            kept = await asyncio.to_thread(self._renew, held, self._clock())
        except MonitorError as exc:     # the database is away: the next round tries again
            log.warning("lease_renewal status=failed error=%r", str(exc))
            return
        self.renewals += 1
        for kind, ids in held.items():
            lost = sorted((set(ids) - set(kept.get(kind, ()))) & set(self._held[kind]))
            if lost:
                log.warning("lease_lost kind=%s ids=%s", kind, ",".join(map(str, lost)))
                for item in lost:
                    self._held[kind].pop(item, None)

    async def aclose(self) -> None:
        """Stops renewing (the leases then end on their own, or their work frees them)."""
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
