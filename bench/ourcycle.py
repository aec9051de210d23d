"""The measured process: opens news-monitor as the service does and runs poll cycles.

Run as ``python -m bench.ourcycle SPEC.json`` by ``bench.scenarios``, so its memory and
CPU are the service's alone (the corpus and the HTTP server live in the parent). It
records RSS at each start-up step (bare interpreter, imports, the lemma table opened by
the first document, the open app before its worker pool starts), starts the worker pool
(its CPU is reported apart: the bare runs leave out importing and warming their library),
then for each phase runs ``pipeline.run_cycle`` and ``delivery.flush`` while sampling the
tree's RSS, probing event-loop lag and charging CPU to stages (``bench.instrument``). Before a
phase marked ``wait`` it prints ``READY <phase>`` and waits for a line on stdin (the
parent publishes the next version of the site meanwhile). The last line on stdout is
``RESULT <json>``.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

from bench import procfs
from bench.instrument import StageClock

LAG_INTERVAL = 0.02


def self_rss() -> float:
    return procfs.status_kb(os.getpid(), "VmRSS") / 1024


async def lag_probe(samples: list[float], stop: asyncio.Event) -> None:
    """Until ``stop``: sleep LAG_INTERVAL and record how much later than asked we woke."""
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        started = loop.time()
        await asyncio.sleep(LAG_INTERVAL)
        samples.append(max(0.0, loop.time() - started - LAG_INTERVAL))


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[math.ceil(0.99 * len(ordered)) - 1] if ordered else 0.0


def instrument(app: Any, clock: StageClock) -> None:
    """Wrap the stages of one open app (see bench.instrument for what each number means)."""
    import monitor.deltas.diff
    import monitor.pipeline.articles
    import monitor.signatures
    from monitor.match.topic import Topic

    # parse_feed and the story signature run in the worker processes (their CPU is in the
    # workers' figure); a wrapper here could not be pickled to them, so "parse" stays 0 and
    # "cluster" is the comparison of signatures in the store only. Nothing is imported here
    # that the service does not import itself (datasketch would add 75 MB).
    clock.patch(monitor.pipeline.articles, "page_document", "match")
    clock.patch(monitor.pipeline.articles, "article_document", "match")
    clock.patch(Topic, "evaluate", "match")
    clock.patch(monitor.signatures.SignatureTable, "best", "cluster")
    for name in ("text_hash", "word_diff", "is_material", "changed_sentences"):
        clock.patch(monitor.deltas.diff, name, "deltas")
    clock.patch_public(app.store, "store")
    clock.patch(app.delivery, "render_alert", "render")
    clock.patch_async(app.fetcher, "fetch", "fetch")
    clock.patch_async(app.extractor, "extract", "extract")


def thread_cpu(before: dict[int, float], after: dict[int, float]) -> dict[str, float]:
    """CPU seconds of the main process's threads during a phase, by thread name (threads
    of one name summed: the pool's queue threads, the store thread); a thread that ended
    during the phase is missing."""
    names = {t.native_id: t.name.split("_")[0].rstrip("-0123456789") or t.name
             for t in threading.enumerate()}
    spent: dict[str, float] = {}
    for tid, seconds in after.items():
        name = names.get(tid, "other")
        spent[name] = spent.get(name, 0.0) + seconds - before.get(tid, 0.0)
    return {k: round(v, 3) for k, v in sorted(spent.items(), key=lambda kv: -kv[1])}


async def measure_phase(app: Any, clock: StageClock, timeout: float | None) -> dict[str, Any]:
    """One cycle plus outbox flush, with CPU per process, peak RSS, lag and stage times.

    A cycle still running after ``timeout`` seconds is cancelled and reported as
    ``timed_out`` with what it had used until then (no flush, no outcomes).
    """
    me = os.getpid()
    clock.reset()
    lags: list[float] = []
    stop = asyncio.Event()
    probe = asyncio.create_task(lag_probe(lags, stop))
    before = procfs.cpu_by_pid(me)
    threads_before = procfs.cpu_by_thread(me)
    with procfs.PeakSampler(me) as sampler:
        started = time.perf_counter()
        try:
            outcomes = await asyncio.wait_for(app.pipeline.run_cycle(due_only=False), timeout)
        except TimeoutError:
            outcomes, timed_out = [], True
        else:
            timed_out = False
        cycle_s = time.perf_counter() - started
        flush = None if timed_out else await app.delivery.flush()
        total_s = time.perf_counter() - started
        stop.set()
        await probe
        cpu = procfs.cpu_delta(before, procfs.cpu_by_pid(me))
        by_thread = thread_cpu(threads_before, procfs.cpu_by_thread(me))
    bench_s = by_thread.get(procfs.SAMPLER, 0.0)     # the bench's own thread, not the service
    return {"timed_out": timed_out, "cycle_s": cycle_s, "flush_s": total_s - cycle_s,
            "wall_s": total_s,
            "cpu_main_s": cpu.get(me, 0.0) - bench_s, "cpu_main_threads_s": by_thread,
            "cpu_bench_s": bench_s,
            "cpu_children_s": sum(v for p, v in cpu.items() if p != me),
            "cpu_s": sum(cpu.values()) - bench_s, "peak_rss_mb": sampler.peak_mb,
            "memory_after": procfs.memory_mb(me), "main_rss_mb": self_rss(),
            "lag_p99_ms": p99(lags) * 1000,
            "lag_max_ms": max(lags, default=0.0) * 1000, "lag_samples": len(lags),
            "stages": clock.report(), "outcomes": summarise(outcomes),
            "mail": str(flush)}


def summarise(outcomes: list[Any]) -> dict[str, int]:
    statuses: dict[str, int] = {}
    for outcome in outcomes:
        statuses[outcome.status] = statuses.get(outcome.status, 0) + 1
    return {**statuses, "new_entries": sum(o.new_entries for o in outcomes),
            "matches": sum(o.matches for o in outcomes),
            "deltas": sum(o.deltas for o in outcomes),
            "articles": sum(1 for o in outcomes for a in o.articles if a.status != "known")}


def wait_for_parent(phase: str) -> None:
    print(f"READY {phase}", flush=True)
    sys.stdin.readline()


async def run(spec: dict[str, Any], startup: dict[str, float]) -> dict[str, Any]:
    from monitor.app.wiring import open_app
    from monitor.config.model import load_config
    from monitor.service.logs import configure_logging

    state = Path(spec["state_dir"])
    log_stream = (state / "monitor.log").open("w", encoding="utf-8")
    configure_logging("INFO", stream=log_stream)
    config = load_config(Path(spec["config"]), {"STATE_DIRECTORY": str(state)})
    clock = StageClock()
    phases: dict[str, Any] = {}
    async with open_app(config) as app:
        await asyncio.sleep(spec.get("settle_s", 1.0))
        startup["open_app_tree"] = procfs.memory_mb(os.getpid())["rss"]
        idle = {"memory": procfs.memory_mb(os.getpid()),
                "processes": procfs.memory_by_process(os.getpid())}
        pool_start = await start_pool(app, spec.get("settle_s", 1.0))
        instrument(app, clock)
        for phase in spec["phases"]:
            if phase.get("wait"):
                wait_for_parent(phase["name"])
            phases[phase["name"]] = await measure_phase(app, clock, phase.get("timeout"))
            if phases[phase["name"]]["timed_out"]:
                break   # the state is half-written: later phases would not mean anything
        await asyncio.sleep(spec.get("settle_after_s", idle_wait()))
        idle_after = procfs.memory_mb(os.getpid())
        idle_after_processes = procfs.memory_by_process(os.getpid())
    log_stream.close()
    return {"startup_rss_mb": startup, "idle": idle, "pool_start_cpu_s": pool_start,
            "idle_after": idle_after,
            "idle_after_processes": idle_after_processes, "phases": phases}


async def start_pool(app: Any, settle_s: float) -> float:
    """Start the worker pool and let it warm up before the first measured cycle; the CPU
    this took, all processes (the forkserver's imports and warm-up extraction).

    The bare-library runs import and warm their library before their clock starts; this is
    the same for the workers, whose pool the service starts on the first cycle's first task.
    The table shows it beside the first cycle, outside the target's CPU."""
    me = os.getpid()
    before = procfs.cpu_by_pid(me)
    app.extractor.start()
    await asyncio.sleep(settle_s)
    return round(sum(procfs.cpu_delta(before, procfs.cpu_by_pid(me)).values()), 3)


def idle_wait() -> float:
    """How long the service needs after its last cycle to be idle: its worker pool stops
    after ``idle_seconds`` without work."""
    from monitor.extract.pool import ExtractOptions

    return ExtractOptions().idle_seconds + 1.5


def main(argv: list[str]) -> int:
    spec = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
    startup = {"interpreter": self_rss()}
    import monitor.app.wiring  # noqa: F401  (the imports the service pays for)

    startup["imports"] = self_rss()
    from monitor.match import prepare_document

    prepare_document(title="AliExpress Russland", summary="", text="Die Händler verkauften.")
    startup["simplemma"] = self_rss()
    result = asyncio.run(run(spec, startup))
    print("RESULT " + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
