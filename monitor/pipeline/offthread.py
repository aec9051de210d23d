"""Store calls off the event loop, and memory handed back after a cycle.

The pipeline's larger writes (a feed's entries, its links, an article's outcome, the polls
that ended together) take milliseconds each; run on the event loop they would delay every
other feed's I/O by as much. ``StoreThread`` runs them, one at a time and in the order
given, in a single thread of this process (SQLite serialises writers anyway, and one
thread never competes with itself for the write lock). The GIL is handed back to the
loop at least every few milliseconds while a call runs. Memory the C allocator keeps
after objects are freed across threads (the store thread allocates rows the loop frees)
is handed back to the system after each cycle (``return_free_memory``, glibc's
``malloc_trim``; elsewhere nothing happens), so a long-running daemon stays flat.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


class StoreThread:
    """Awaitable store calls, run in one thread of their own."""

    def __init__(self, initializer: Callable[[], object] | None = None) -> None:
        """``initializer`` runs first in the thread (the store pins a connection to it)."""
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="store",
                                            initializer=initializer)

    async def run(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args, **kwargs))

    def close(self) -> None:
        """End the thread once the calls given to it are done (the store closes after)."""
        self._executor.shutdown(wait=True)


def return_free_memory() -> None:
    """glibc's ``malloc_trim(0)``: free heap pages go back to the system (a few ms)."""
    name = ctypes.util.find_library("c")
    try:
        trim = ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):   # not glibc: nothing to hand back this way
        trim = None
    if trim is not None:
        trim(0)
