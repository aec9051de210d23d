"""Stage timing from outside the product: wrappers that charge CPU time to named stages.

Owns attributing the main process's CPU to pipeline stages without touching product
code. Synchronous functions (feedparser via ``parse_feed``, the match functions, every
store method, clustering, alert rendering) are wrapped so the calling thread's CPU time
(``time.thread_time``) goes to a stage; nested wrapped calls are charged exclusively (the
signature comparison inside ``save_outcome`` counts as cluster, not store). Coroutines
(fetch, extract) are timed in wall-clock seconds and counted, since their CPU is spread
over the event loop, the HTTP client and, for extraction, the worker processes.
"""

from __future__ import annotations

import functools
import threading
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any


class StageClock:
    """CPU seconds (exclusive) and call counts per stage; wall seconds for async stages."""

    def __init__(self) -> None:
        self.cpu: defaultdict[str, float] = defaultdict(float)
        self.calls: defaultdict[str, int] = defaultdict(int)
        self.wall: defaultdict[str, float] = defaultdict(float)
        self.detail: defaultdict[str, float] = defaultdict(float)
        self._local = threading.local()
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self.cpu.clear()
            self.calls.clear()
            self.wall.clear()
            self.detail.clear()

    def _stack(self) -> list[list[float]]:
        if not hasattr(self._local, "stack"):
            self._local.stack = []
        return self._local.stack  # type: ignore[no-any-return]

    def timed(self, stage: str, func: Callable[..., Any],
              detail: str | None = None) -> Callable[..., Any]:
        """``func`` charging its own thread CPU to ``stage`` (minus nested stages).

        With ``detail``, the same exclusive CPU is also added to ``detail`` (one method of
        a stage, such as ``store.save_outcome``), for the breakdown in results.json.
        """

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            stack = self._stack()
            frame = [time.thread_time(), 0.0]
            stack.append(frame)
            try:
                return func(*args, **kwargs)
            finally:
                stack.pop()
                spent = time.thread_time() - frame[0]
                if stack:
                    stack[-1][1] += spent
                with self._lock:
                    self.cpu[stage] += spent - frame[1]
                    self.calls[stage] += 1
                    if detail is not None:
                        self.detail[detail] += spent - frame[1]

        return wrapper

    def timed_async(self, stage: str,
                    func: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        """Coroutine ``func`` with its wall time (start to result) added to ``stage``."""

        @functools.wraps(func)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await func(*args, **kwargs)
            finally:
                self.wall[stage] += time.perf_counter() - started
                self.calls[stage] += 1

        return wrapper

    def patch(self, owner: Any, name: str, stage: str, detail: str | None = None) -> None:
        """Replace ``owner.name`` (module, class or instance attribute) by a timed version."""
        setattr(owner, name, self.timed(stage, getattr(owner, name), detail))

    def patch_async(self, owner: Any, name: str, stage: str) -> None:
        setattr(owner, name, self.timed_async(stage, getattr(owner, name)))

    def patch_public(self, obj: Any, stage: str) -> None:
        """Every public method of the instance ``obj``."""
        for name in dir(obj):
            if not name.startswith("_") and callable(getattr(obj, name)):
                self.patch(obj, name, stage, f"{stage}.{name}")

    def report(self) -> dict[str, dict[str, float]]:
        return {"cpu_s": dict(self.cpu), "calls": dict(self.calls), "wall_s": dict(self.wall),
                "detail_cpu_s": dict(sorted(self.detail.items(), key=lambda kv: -kv[1]))}
