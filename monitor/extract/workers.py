"""Worker processes fed by the event loop over pipes: the pool under ``Extractor``.

Owns starting worker processes from a multiprocessing context (the forkserver), handing a
pickled task to an idle worker and reading its pickled result back. Both ends of a
worker's two pipes are served by the event loop itself, with non-blocking reads and writes
(``loop.add_reader``/``add_writer``): no thread of this process stands between a task and
its worker. concurrent.futures' process pool runs two threads for that (a manager and a
queue feeder) and their wake-ups cost about 0.3 ms of CPU a task, here about 0.1 ms.

A worker that dies fails its task with ``BrokenProcessPool`` and the pool takes no more
tasks (its owner replaces it, as with concurrent.futures). ``shutdown`` lets busy workers
finish their task and stops the idle ones; ``kill`` stops them all at once. A task's own
exception is raised again here, with the worker's traceback as a note. Everything but
``spawn`` and ``join`` is called on the event loop's thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import pickle
import struct
import traceback
from collections import deque
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.connection import Connection
from multiprocessing.context import BaseContext
from typing import Any, Protocol

FRAME = struct.Struct("!Q")          # every message: its length, then its pickle
PIPE_BYTES = 1 << 20                 # asked of Linux for each pipe (a page fits whole)
_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)


class _Process(Protocol):
    """What the pool uses of a multiprocessing process."""

    pid: int | None
    sentinel: int
    exitcode: int | None

    def start(self) -> None: ...
    def kill(self) -> None: ...
    def join(self, timeout: float | None = None) -> None: ...
    def is_alive(self) -> bool: ...


# -- the worker's side ---------------------------------------------------------------------

def serve(tasks: Connection, results: Connection,
          initializer: Callable[[], object] | None) -> None:
    """A worker's life: run each task read from ``tasks`` and write its outcome to
    ``results``, until the pool closes ``tasks``."""
    if initializer is not None:
        initializer()
    while (data := _read_frame(tasks.fileno())) is not None:
        _write_frame(results.fileno(), _outcome(data))


def _outcome(data: bytes) -> bytes:
    """The pickled (ok, value, traceback) of one pickled task."""
    try:
        result: tuple[bool, Any, str] = (True, pickle.loads(data)(), "")
    except BaseException as exc:  # the caller's to see, as a raised exception
        result = (False, _portable(exc), "".join(traceback.format_exception(exc)))
    try:
        return pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:  # a result that does not pickle fails its task, not the worker
        return pickle.dumps((False, RuntimeError(f"result not picklable: {exc!r}"), ""))


def _portable(exc: BaseException) -> BaseException:
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    return exc


def _read_frame(fd: int) -> bytes | None:
    header = _read_exactly(fd, FRAME.size)
    return None if header is None else _read_exactly(fd, FRAME.unpack(header)[0])


def _read_exactly(fd: int, size: int) -> bytes | None:
    parts: list[bytes] = []
    while size:
        chunk = os.read(fd, min(size, PIPE_BYTES))
        if not chunk:
            return None
        parts.append(chunk)
        size -= len(chunk)
    return b"".join(parts)


def _write_frame(fd: int, data: bytes) -> None:
    view = memoryview(FRAME.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view):]


# -- the pool's side -----------------------------------------------------------------------

def _widen(fd: int) -> None:
    """Ask for a larger pipe buffer (Linux), so a page goes in one write; else as it is."""
    with contextlib.suppress(OSError):
        fcntl.fcntl(fd, _SETPIPE_SZ, PIPE_BYTES)


class _Worker:
    """One worker process and the parent's ends of its pipes."""

    def __init__(self, process: _Process, tasks: Connection, results: Connection) -> None:
        self.process, self.tasks, self.results = process, tasks, results
        self.out_fd, self.in_fd = tasks.fileno(), results.fileno()
        for fd in (self.out_fd, self.in_fd):
            os.set_blocking(fd, False)
            _widen(fd)
        self.task: asyncio.Future[Any] | None = None
        self.outgoing = memoryview(b"")
        self.incoming = bytearray()
        self.writing = False
        self.retiring = False


class WorkerPool:
    """Worker processes (``spawn``); ``run`` hands one a task and awaits its result."""

    def __init__(self, context: BaseContext,
                 initializer: Callable[[], object] | None = None) -> None:
        self._context, self._initializer = context, initializer
        self._workers: list[_Worker] = []          # alive, as far as the pool knows
        self._processes: list[_Process] = []       # every one it started
        self._idle: list[_Worker] = []
        self._waiting: deque[asyncio.Future[_Worker]] = deque()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._broken = ""
        self._closed = False

    def spawn(self, count: int) -> None:
        """Start ``count`` worker processes (blocking: the first waits for the forkserver)."""
        for _ in range(count):
            task_reader, task_writer = self._context.Pipe(duplex=False)
            result_reader, result_writer = self._context.Pipe(duplex=False)
            process: _Process = self._context.Process(  # type: ignore[attr-defined]
                target=serve, args=(task_reader, result_writer, self._initializer),
                daemon=True)
            process.start()
            task_reader.close()
            result_writer.close()
            worker = _Worker(process, task_writer, result_reader)
            self._processes.append(process)
            self._workers.append(worker)
            self._idle.append(worker)

    @property
    def processes(self) -> list[_Process]:
        """Every worker process the pool started, stopped ones too."""
        return list(self._processes)

    async def run(self, job: Callable[[], Any]) -> Any:
        """``job()`` in a worker: its result, or its exception raised here."""
        if self._closed:
            raise RuntimeError("cannot run a task after the pool was shut down")
        self._attach()
        data = pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL)
        worker = await self._next_idle()
        loop = asyncio.get_running_loop()
        worker.task = loop.create_future()
        worker.outgoing = memoryview(FRAME.pack(len(data)) + data)
        self._flush(worker)
        return await worker.task

    def shutdown(self) -> None:
        """Take no more tasks; idle workers stop now, busy ones after their task (a task
        still waiting for a worker fails with ``BrokenProcessPool``)."""
        self._closed = True
        for worker in list(self._workers):
            worker.retiring = True
            if worker.task is None:
                self._retire(worker)
        self._fail_waiting()

    def kill(self) -> None:
        """Stop every worker now; tasks still running fail with ``BrokenProcessPool``."""
        self._closed = True
        self._broken = self._broken or "the pool was stopped"
        for process in self._processes:
            with contextlib.suppress(OSError, ValueError):
                process.kill()
        for worker in list(self._workers):
            self._retire(worker, BrokenProcessPool(self._broken))
        self._fail_waiting()

    def join(self, timeout: float) -> None:
        """Wait for the stopped workers to exit (blocking; any thread)."""
        for process in self.processes:
            process.join(timeout)

    # -- on the event loop ------------------------------------------------------------------

    def _attach(self) -> None:
        """Watch the workers' result pipes on this loop (the first task: ``spawn`` ran in
        another thread), so a worker's death is seen even while it is idle."""
        if self._broken:
            raise BrokenProcessPool(self._broken)
        if self._loop is not None:
            return
        self._loop = asyncio.get_running_loop()
        for worker in self._workers:
            self._loop.add_reader(worker.in_fd, self._readable, worker)

    async def _next_idle(self) -> _Worker:
        if self._idle:
            return self._idle.pop()
        waiter: asyncio.Future[_Worker] = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        return await waiter

    def _flush(self, worker: _Worker) -> None:
        """Write what is left of the worker's task; the rest when the pipe takes it."""
        try:
            while worker.outgoing:
                worker.outgoing = worker.outgoing[os.write(worker.out_fd, worker.outgoing):]
        except BlockingIOError:
            if not worker.writing and self._loop is not None:
                self._loop.add_writer(worker.out_fd, self._flush, worker)
                worker.writing = True
            return
        except OSError:
            self._died(worker)
            return
        if worker.writing and self._loop is not None:
            self._loop.remove_writer(worker.out_fd)
            worker.writing = False

    def _readable(self, worker: _Worker) -> None:
        alive = True
        try:
            while chunk := os.read(worker.in_fd, PIPE_BYTES):
                worker.incoming += chunk
            alive = False             # end of file: the worker is gone
        except BlockingIOError:
            pass
        except OSError:
            alive = False
        self._deliver(worker)         # a result it wrote before it went still counts
        if not alive:
            self._died(worker)

    def _deliver(self, worker: _Worker) -> None:
        """Hand a complete result to its task; the worker is then free again."""
        buffer = worker.incoming
        if len(buffer) < FRAME.size:
            return
        size = FRAME.unpack_from(buffer)[0]
        if len(buffer) < FRAME.size + size:
            return
        data = bytes(buffer[FRAME.size:FRAME.size + size])
        del buffer[:FRAME.size + size]
        task, worker.task = worker.task, None
        if task is not None and not task.done():
            _settle(task, data)
        if worker.retiring or self._broken:
            self._retire(worker)
        else:
            self._free(worker)

    def _free(self, worker: _Worker) -> None:
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(worker)
                return
        self._idle.append(worker)

    def _died(self, worker: _Worker) -> None:
        if worker not in self._workers:
            return
        self._broken = f"a worker process (pid {worker.process.pid}) ended abruptly"
        self._retire(worker, BrokenProcessPool(self._broken))
        self._fail_waiting()

    def _fail_waiting(self) -> None:
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_exception(BrokenProcessPool(self._broken or "the pool was shut down"))

    def _retire(self, worker: _Worker, error: BaseException | None = None) -> None:
        """Close the parent's ends (an idle worker then exits) and fail its task with
        ``error``; reaped when it exits."""
        if worker not in self._workers:
            return
        self._workers.remove(worker)
        if worker in self._idle:
            self._idle.remove(worker)
        if self._loop is not None:
            self._loop.remove_reader(worker.in_fd)
            if worker.writing:
                self._loop.remove_writer(worker.out_fd)
        worker.tasks.close()
        worker.results.close()
        task, worker.task = worker.task, None
        if task is not None and not task.done():
            task.set_exception(error or BrokenProcessPool("the pool was shut down"))
        self._reap_later(worker.process)

    def _reap_later(self, process: _Process) -> None:
        if self._loop is None or self._loop.is_closed():
            return
        def reap() -> None:
            assert self._loop is not None
            self._loop.remove_reader(process.sentinel)
            process.join(0)
        self._loop.add_reader(process.sentinel, reap)


def _settle(task: asyncio.Future[Any], data: bytes) -> None:
    try:
        ok, value, remote = pickle.loads(data)
    except Exception as exc:
        task.set_exception(RuntimeError(f"a worker's result could not be read: {exc!r}"))
        return
    if ok:
        task.set_result(value)
        return
    if remote:
        value.add_note(f"in the worker process:\n{remote}")
    task.set_exception(value)
