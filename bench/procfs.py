"""CPU time and memory of a process tree, read from /proc (Linux; no psutil).

Owns the measurements the benchmark reports about "all processes of the service": the
tree below a pid (via ``/proc/<pid>/task/<tid>/children``), CPU seconds per process from
``/proc/<pid>/stat`` (utime + stime, so time spent by worker processes counts while they
are alive), ``VmRSS``/``VmHWM`` from ``/proc/<pid>/status``, ``Pss`` from
``smaps_rollup``, and a sampler thread that keeps the highest total RSS of the tree seen
during a measured stretch (the sum of per-process peaks would overstate it: the peaks of
different processes need not coincide).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")
SAMPLER = "rss-sampler"      # the name of PeakSampler's thread
PROC = Path("/proc")


def tree(pid: int) -> list[int]:
    """``pid`` and every descendant still alive."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for task in (PROC / str(current) / "task").glob("*"):
            try:
                todo += [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                continue
    return found


def _cpu(stat: Path, fields: int) -> float | None:
    """Seconds in the first ``fields`` CPU fields of a ``stat`` file (utime, stime, then
    cutime, cstime); None when the process or thread is gone."""
    try:
        values = stat.read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return sum(int(v) for v in values[11:11 + fields]) / TICKS


def cpu_seconds(pid: int) -> float:
    """User + system CPU of one process (all its threads); 0 when it is gone."""
    return _cpu(PROC / str(pid) / "stat", 2) or 0.0


def cpu_with_reaped(pid: int) -> float:
    """CPU of ``pid`` itself plus that of its children that ended and were waited for (a
    server's finished worker processes); 0 when it is gone."""
    return _cpu(PROC / str(pid) / "stat", 4) or 0.0


def cpu_by_thread(pid: int) -> dict[int, float]:
    """User + system CPU of each live thread of ``pid``, by native thread id."""
    found: dict[int, float] = {}
    for task in (PROC / str(pid) / "task").glob("*"):
        seconds = _cpu(task / "stat", 2)
        if seconds is not None:
            found[int(task.name)] = seconds
    return found


def cpu_by_pid(root: int) -> dict[int, float]:
    """CPU per process of the tree, each with that of its children that ended and were
    waited for: worker processes that exit (recycled, or the pool stopped when idle) are
    reaped by the forkserver, and their CPU would otherwise be lost."""
    return {pid: cpu_with_reaped(pid) for pid in tree(root)}


def cpu_delta(before: dict[int, float], after: dict[int, float]) -> dict[int, float]:
    """CPU used between two snapshots, per pid (a new process counts in full). A process
    that ended meanwhile has its whole CPU in its parent's reaped time, so what it had used
    before is taken off (under the pid ``-1``)."""
    delta = {pid: max(0.0, cpu - before.get(pid, 0.0)) for pid, cpu in after.items()}
    ended = sum(cpu for pid, cpu in before.items() if pid not in after)
    if ended:
        delta[-1] = -ended
    return delta


def _field_kb(path: Path, key: str) -> int:
    """The ``kB`` value of ``key:`` in a /proc text file; 0 when unreadable."""
    try:
        for line in path.read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def status_kb(pid: int, key: str) -> int:
    """A ``kB`` field of /proc/<pid>/status (VmRSS, VmHWM, ...)."""
    return _field_kb(PROC / str(pid) / "status", key)


def pss_kb(pid: int) -> int:
    return _field_kb(PROC / str(pid) / "smaps_rollup", "Pss")


def parent(pid: int) -> int:
    try:
        return int((PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except OSError:
        return 0


def _cmdline(pid: int) -> str:
    try:
        return (PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return "?"


def process_name(pid: int) -> str:
    """A short role: main, forkserver, extract worker, resource_tracker."""
    raw = _cmdline(pid)
    if "forkserver" in raw:
        return "extract worker" if "forkserver" in _cmdline(parent(pid)) else "forkserver"
    if "resource_tracker" in raw:
        return "resource_tracker"
    return raw.strip()[:60]


def memory_mb(root: int) -> dict[str, float]:
    """Total RSS, total PSS and the sum of per-process peaks (VmHWM) of the tree, in MB."""
    pids = tree(root)
    return {"rss": sum(status_kb(p, "VmRSS") for p in pids) / 1024,
            "pss": sum(pss_kb(p) for p in pids) / 1024,
            "hwm_sum": sum(status_kb(p, "VmHWM") for p in pids) / 1024,
            "processes": len(pids)}


def memory_by_process(root: int) -> list[dict[str, object]]:
    return [{"pid": p, "name": process_name(p), "rss_mb": status_kb(p, "VmRSS") / 1024,
             "pss_mb": pss_kb(p) / 1024} for p in tree(root)]


class PeakSampler:
    """A thread that samples the tree's total RSS every ``interval`` seconds, keeping the max."""

    def __init__(self, root: int, interval: float = 0.05) -> None:
        self.root, self.interval = root, interval
        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=SAMPLER, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            total = sum(status_kb(p, "VmRSS") for p in tree(self.root))
            self.peak_kb = max(self.peak_kb, total)
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def peak_mb(self) -> float:
        return self.peak_kb / 1024
