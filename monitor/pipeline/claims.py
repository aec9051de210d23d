"""Claims on article pages across processes: one page is fetched by one process at a time.

Before a new entry's page is fetched, the article stage claims the page in the store
(``claim_page_for``, which links the entry to the article instead when it is stored
already: a short lease, renewed through ``monitor.leasing`` while the page is fetched,
extracted, matched and stored, and released with the article's outcome). While another process
holds the claim, the entry waits for that process to store the article (it is then known
here too) or for its claim to end (that process died: this one takes over); after
``page_wait`` seconds it is left pending for the next poll. ``holding`` renews leases
when the wiring handed in a keeper (commands that run briefly may do without).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from monitor.leasing import LeaseKeeper
from monitor.pipeline.offthread import StoreThread

log = logging.getLogger(__name__)
POLL_SECONDS = 0.5
Waited = Literal["known", "deferred"]


class PageStore(Protocol):
    """The store as page claims use it."""

    def claim_page_for(self, feed_id: int, key: str, url: str,
                       now: datetime) -> int | Literal["known"] | None: ...


def holding(keeper: LeaseKeeper | None, kind: str,
            ids: Sequence[int]) -> AbstractContextManager[None]:
    """Renews the leases on ``ids`` while the block runs, when there is a keeper."""
    return keeper.holding(kind, ids) if keeper is not None else contextlib.nullcontext()


@dataclass
class PageClaims:
    store: PageStore
    clock: Callable[[], datetime]
    wait: float
    db: StoreThread

    async def take(self, feed_id: int, key: str, url: str) -> int | Waited:
        """The claim on fetching ``url``; "known" when another process stored its article
        meanwhile (the entry is then linked to it), "deferred" after waiting in vain."""
        deadline = time.monotonic() + self.wait
        while True:
            claim = await self.db.run(self.store.claim_page_for, feed_id, key, url,
                                      self.clock())
            if claim is not None:
                return claim
            if time.monotonic() >= deadline:
                log.info("article url=%s status=deferred reason=page_claimed_elsewhere", url)
                return "deferred"
            await asyncio.sleep(POLL_SECONDS)
