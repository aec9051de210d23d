"""WorkerPool: real worker processes fed over pipes by the event loop (``Extractor``'s pool).

The tasks are standard-library functions, so a forkserver worker can load them by name."""

from __future__ import annotations

import asyncio
import functools
import multiprocessing
import operator
import os
import signal
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

import pytest

from monitor.extract.workers import WorkerPool

T = TypeVar("T")


def with_pool(size: int, body: Callable[[WorkerPool], Awaitable[T]]) -> T:
    async def main() -> T:
        pool = WorkerPool(multiprocessing.get_context("forkserver"))
        await asyncio.to_thread(pool.spawn, size)
        try:
            return await body(pool)
        finally:
            pool.kill()
            await asyncio.to_thread(pool.join, 5)
    return asyncio.run(main())


def test_results_come_back_from_the_workers_in_parallel() -> None:
    async def body(pool: WorkerPool) -> tuple[list[Any], float]:
        started = time.perf_counter()
        await asyncio.gather(*(pool.run(functools.partial(time.sleep, 0.5)) for _ in range(2)))
        took = time.perf_counter() - started
        return await asyncio.gather(*(pool.run(os.getpid) for _ in range(4))), took

    pids, took = with_pool(2, body)
    assert took < 0.9                                  # two sleeps at once, not one after another
    assert os.getpid() not in pids and 1 <= len(set(pids)) <= 2


def test_a_tasks_exception_is_raised_here_and_the_worker_goes_on() -> None:
    async def body(pool: WorkerPool) -> tuple[BaseException, Any]:
        with pytest.raises(ZeroDivisionError) as failed:
            await pool.run(functools.partial(operator.truediv, 1, 0))
        return failed.value, await pool.run(functools.partial(operator.add, 2, 3))

    error, after = with_pool(1, body)
    assert any("in the worker process" in note and "ZeroDivisionError" in note
               for note in getattr(error, "__notes__", []))
    assert after == 5


def test_a_result_that_cannot_travel_fails_its_task_only() -> None:
    async def body(pool: WorkerPool) -> tuple[str, int]:
        with pytest.raises(RuntimeError) as failed:
            await pool.run(threading.Lock)
        return str(failed.value), await pool.run(os.getpid)

    message, pid = with_pool(1, body)
    assert "result not picklable" in message and pid != os.getpid()


def test_tasks_and_results_larger_than_a_pipe_travel_whole() -> None:
    big = bytes(range(256)) * 20_000                   # 5 MB: many writes into one pipe

    async def body(pool: WorkerPool) -> tuple[int, bytes]:
        return (await pool.run(functools.partial(len, big)),
                await pool.run(functools.partial(bytes, big)))

    size, echoed = with_pool(1, body)
    assert size == len(big) and echoed == big


def test_shutdown_lets_a_busy_worker_finish_and_stops_them_all() -> None:
    async def body(pool: WorkerPool) -> tuple[Any, list[int | None]]:
        busy = asyncio.create_task(pool.run(functools.partial(operator.add, 20, 22)))
        slow = asyncio.create_task(pool.run(functools.partial(time.sleep, 0.3)))
        await asyncio.sleep(0.1)
        pool.shutdown()
        with pytest.raises(RuntimeError):
            await pool.run(os.getpid)                  # no new tasks
        results = await asyncio.gather(busy, slow)
        deadline = time.monotonic() + 5
        while any(p.is_alive() for p in pool.processes) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        return results, [p.exitcode for p in pool.processes]

    results, codes = with_pool(2, body)
    assert results == [42, None]
    assert codes == [0, 0]                             # they ended on their own


def test_a_dead_worker_breaks_the_pool_and_its_task() -> None:
    async def body(pool: WorkerPool) -> tuple[str, str]:
        running = asyncio.create_task(pool.run(functools.partial(time.sleep, 5)))
        await asyncio.sleep(0.3)
        for process in pool.processes:
            os.kill(process.pid or 0, signal.SIGKILL)
        with pytest.raises(BrokenProcessPool) as lost:
            await running
        with pytest.raises(BrokenProcessPool) as refused:
            await pool.run(os.getpid)
        return str(lost.value), str(refused.value)

    lost, refused = with_pool(1, body)
    assert "ended abruptly" in lost and "ended abruptly" in refused


def test_a_task_waiting_for_a_worker_fails_when_the_pool_shuts_down() -> None:
    async def body(pool: WorkerPool) -> tuple[Any, str]:
        busy = asyncio.create_task(pool.run(functools.partial(time.sleep, 0.3)))
        await asyncio.sleep(0.05)
        waiting = asyncio.create_task(pool.run(os.getpid))     # no idle worker: it waits
        await asyncio.sleep(0.05)
        pool.shutdown()
        with pytest.raises(BrokenProcessPool) as refused:
            await asyncio.wait_for(waiting, 5)
        return await busy, str(refused.value)

    done, message = with_pool(1, body)
    assert done is None and "shut down" in message
