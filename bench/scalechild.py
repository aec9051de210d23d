"""One of several processes polling the due feeds of one PostgreSQL store, for the scale-out
bench (``bench.scaleout``).

Run as ``python -m bench.scalechild SPEC.json``. It opens news-monitor as the service does
(the store, the fetcher, the extraction workers), waits for the common start time given in
the spec, then runs ``pipeline.run_cycle(due_only=True)`` until no feed is left to claim,
exactly as a daemon's poll job claims bounded batches next to the other processes. It
reports how many feeds it polled, by status, its wall time from the common start to its
last poll, and the CPU of its process tree, as ``RESULT <json>`` on stdout.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from bench import procfs


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    from monitor.app.wiring import open_app
    from monitor.config.model import load_config
    from monitor.service.logs import configure_logging

    config = load_config(Path(spec["config"]), {"STATE_DIRECTORY": spec["state_dir"]})
    statuses: dict[str, int] = {}
    with Path(spec["log"]).open("w", encoding="utf-8") as log:
        configure_logging("INFO", stream=log)
        async with open_app(config) as app:
            await asyncio.sleep(max(0.0, spec["start_at"] - time.time()))
            before, started = procfs.cpu_by_pid(os.getpid()), time.perf_counter()
            cycles = 0
            while outcomes := await app.pipeline.run_cycle(due_only=True):
                cycles += 1
                for outcome in outcomes:
                    statuses[outcome.status] = statuses.get(outcome.status, 0) + 1
            wall = time.perf_counter() - started
            cpu = procfs.cpu_delta(before, procfs.cpu_by_pid(os.getpid()))
    return {"polled": sum(statuses.values()), "statuses": statuses, "cycles": cycles,
            "wall_s": wall, "cpu_s": sum(cpu.values()), "pid": os.getpid()}


def main(argv: list[str]) -> int:
    spec = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
    print("RESULT " + json.dumps(asyncio.run(run(spec))), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
