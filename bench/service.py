"""The service as it is installed: ``news-monitor run`` on the first corpus, measured from outside.

Owns the one figure the in-process runs (``bench.ourcycle``, which opens the app itself)
cannot give: the memory of the real service process tree, with the scheduler, the metrics
endpoint and the command line the service loads, and with workers that re-run the installed
command's script when they start (multiprocessing does so). The command is pip's
``news-monitor`` script beside the interpreter, as systemd starts it. Its first cycle is over
when its log says the worker pool stopped for lack of work; the tree's RSS is read then, and
its highest total, sampled from this process, over the whole run. Then it is stopped as
systemd stops it (SIGTERM).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench import procfs
from bench.generate import Corpus
from bench.scenarios import Settings, fresh_folder, write_config
from bench.server import Site

IDLE_MARK = "extract_pool_stop reason=idle"   # the pool stopped: the first cycle's work is done


def run(site: Site, corpus: Corpus, folder: Path, settings: Settings,
        timeout: float = 120.0) -> dict[str, Any]:
    """The service's peak and idle RSS over its first cycle, or ``{"error": why}``."""
    command = Path(sys.executable).parent / "news-monitor"
    if not command.exists():
        return {"error": f"{command} is not installed"}
    site.publish(corpus.resources())
    config = write_config(fresh_folder(folder), corpus.feed_urls(), settings)
    log = folder / "service.log"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("NEWS_MONITOR")},
           "STATE_DIRECTORY": str(folder / "state")}
    with log.open("w", encoding="utf-8") as sink:
        proc = subprocess.Popen([str(command), "--config", str(config), "run"], cwd=folder,
                                env=env, stdout=sink, stderr=subprocess.STDOUT)
    try:
        return _measure(proc, log, timeout)
    finally:
        _stop(proc)


def _measure(proc: subprocess.Popen[bytes], log: Path, timeout: float) -> dict[str, Any]:
    started = time.monotonic()
    with procfs.PeakSampler(proc.pid) as sampler:
        while IDLE_MARK not in log.read_text(encoding="utf-8", errors="replace"):
            if proc.poll() is not None or time.monotonic() - started > timeout:
                tail = log.read_text(encoding="utf-8", errors="replace")[-2000:]
                return {"error": f"no idle pool after {time.monotonic() - started:.0f} s "
                                 f"(exit {proc.poll()}):\n{tail}"}
            time.sleep(0.2)
        idle_s = time.monotonic() - started
        idle = procfs.memory_mb(proc.pid)
        processes = procfs.memory_by_process(proc.pid)
    return {"peak_rss_mb": sampler.peak_mb, "idle_rss_mb": idle["rss"],
            "idle_pss_mb": idle["pss"], "idle_processes": processes, "seconds_to_idle": idle_s}


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
