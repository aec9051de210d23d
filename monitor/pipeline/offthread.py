"""Store calls off the event loop: one thread, so a feed's batch of SQL never holds the loop.

The pipeline's larger writes (a feed's entries, its links, an article's outcome, the polls
that ended together) take milliseconds each; run on the event loop they would delay every
other feed's I/O by as much. ``StoreThread`` runs them, one at a time and in the order
given, in a single thread of this process (SQLite serialises writers anyway, and one
thread never competes with itself for the write lock). The GIL is handed back to the
loop at least every few milliseconds while a call runs.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


class StoreThread:
    """Awaitable store calls, run in one thread of their own."""

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="store")

    async def run(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args, **kwargs))

    def close(self) -> None:
        self._executor.shutdown(wait=False)
