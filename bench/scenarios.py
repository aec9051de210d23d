"""The news-monitor scenarios: first cycle, steady cycle (all 304) and a cycle with new items.

Owns driving ``bench.ourcycle`` child processes against the local site: one child per
run, each with a fresh state directory and config (all feeds on the local server, the
shipped default topic, extraction in worker processes, no politeness delay since every
feed shares one host). The child runs ``first`` and ``steady``, then says READY and the
parent publishes the next version of the feeds (``fraction`` new items on new pages)
before the ``new`` cycle. ``run_scale`` primes 2,000 feeds without page fetches (a
one-second first-poll window makes every entry baseline) and measures the steady cycle.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.generate import Corpus, Generated, advance
from bench.server import Site

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    """How our service is configured for the runs."""

    workers: int = 2
    concurrency: int = 8
    first_poll_window: str = "36500d"


def default_topic_toml() -> str:
    """The [aliases] and [[topics]] tables of the shipped config, as they are."""
    text = (ROOT / "config" / "monitor.toml").read_text(encoding="utf-8")
    found = re.search(r"^\[aliases\]", text, re.MULTILINE)
    return text[found.start():] if found else ""


def write_config(folder: Path, feeds: Sequence[tuple[str, str]], settings: Settings) -> Path:
    lines = [f'[storage]\nurl = "sqlite:///{folder / "state" / "monitor.db"}"\n',
             '[fetch]\nallow_private_hosts = ["127.0.0.1"]\nper_host_delay = "0s"\n'
             f"concurrency = {settings.concurrency}\n"
             f"per_host_concurrency = {min(20, settings.concurrency)}\n"
             f'extract_workers = {settings.workers}\ntimeout = "30s"\ndeadline = "120s"\n',
             f'[alerts]\nfirst_poll_window = "{settings.first_poll_window}"\n',
             '[email]\nfrom = "monitor@example.org"\nto = ["analyst@example.org"]\n']
    lines += [f'[[feeds]]\nname = "{name}"\nurl = "{url}"\n' for name, url in feeds]
    lines.append(default_topic_toml())
    path = folder / "monitor.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def fresh_folder(folder: Path) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "state").mkdir(parents=True)
    return folder


def run_child(folder: Path, feeds: Sequence[tuple[str, str]], phases: list[dict[str, Any]],
              settings: Settings, on_ready: Callable[[str], None]) -> dict[str, Any]:
    """One ``bench.ourcycle`` process; ``on_ready(phase)`` runs before each waiting phase."""
    config = write_config(fresh_folder(folder), feeds, settings)
    spec = folder / "spec.json"
    spec.write_text(json.dumps({"config": str(config), "state_dir": str(folder / "state"),
                                "phases": phases}), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWS_MONITOR")}
    proc = subprocess.Popen([sys.executable, "-m", "bench.ourcycle", str(spec)], cwd=ROOT,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
                            stderr=(folder / "stderr.txt").open("w"))
    assert proc.stdin is not None and proc.stdout is not None
    result: dict[str, Any] | None = None
    for line in proc.stdout:
        if line.startswith("READY "):
            on_ready(line.split()[1])
            proc.stdin.write("go\n")
            proc.stdin.flush()
        elif line.startswith("RESULT "):
            result = json.loads(line[7:])
    proc.wait()
    if result is None:
        tail = (folder / "stderr.txt").read_text(encoding="utf-8")[-3000:]
        raise RuntimeError(f"bench.ourcycle failed (exit {proc.returncode}):\n{tail}")
    return result


def run_cycles(site: Site, first: Corpus, following: Corpus, runs: int, workdir: Path,
               settings: Settings, *, timeout: float | None = None,
               budget: float | None = None) -> list[dict[str, Any]]:
    """Up to ``runs`` children, each: first cycle, steady cycle, cycle with new items.

    A cycle is cancelled after ``timeout`` seconds (and reported as timed out); no new run
    starts when the last one suggests it would end past ``budget`` seconds from the start.
    If a first cycle timed out, one more child measures steady and new cycles after a
    prime that fetches no pages, so those two scenarios are still measured.
    """
    phases = [{"name": "first", "timeout": timeout}, {"name": "steady", "timeout": timeout},
              {"name": "new", "wait": True, "timeout": timeout}]
    results: list[dict[str, Any]] = []
    started = time.perf_counter()
    for run in range(runs):
        one = time.perf_counter()
        result = one_run(site, first, following, workdir / f"ours-{run}", phases, settings)
        results.append(result)
        _progress(f"ours run {run + 1}/{runs}", result)
        took, spent = time.perf_counter() - one, time.perf_counter() - started
        if result["phases"]["first"]["timed_out"] or (budget and spent + took > budget):
            print(f"  (stopping after {run + 1} run(s): time budget)", flush=True)
            break
    if results[0]["phases"]["first"]["timed_out"]:
        primed = Settings(settings.workers, settings.concurrency, first_poll_window="1s")
        fallback = [{"name": "prime", "timeout": timeout}, *phases[1:]]
        extra = one_run(site, first, following, workdir / "ours-primed", fallback, primed)
        _progress("ours primed run (steady/new only)", extra)
        for result in results:
            for name in ("steady", "new"):
                if name in extra["phases"]:
                    result["phases"][name] = {**extra["phases"][name], "after_prime": True}
    return results


def one_run(site: Site, first: Corpus, following: Corpus, folder: Path,
            phases: list[dict[str, Any]], settings: Settings) -> dict[str, Any]:
    site.publish(first.resources())
    site.reset_counts()
    counts: list[dict[int, int]] = []

    def advance(_phase: str) -> None:
        counts.append(dict(site.reset_counts()))
        site.publish(following.resources())

    result = run_child(folder, first.feed_urls(), phases, settings, advance)
    last = dict(site.reset_counts())
    result["requests"] = {"first+steady": counts[0] if counts else last,
                          "new": last if counts else {}}
    return result


def _progress(label: str, result: dict[str, Any]) -> None:
    parts = []
    for name, data in result["phases"].items():
        flag = " (TIMED OUT)" if data["timed_out"] else ""
        parts.append(f"{name} {data['wall_s']:.2f} s{flag}")
    print(f"  {label}: " + ", ".join(parts), flush=True)


def run_scale(site: Site, corpus: Corpus, runs: int, workdir: Path, settings: Settings,
              timeout: float | None = None) -> list[dict[str, Any]]:
    """Prime every feed once (entries become baseline, no pages), then ``runs`` steady cycles."""
    site.publish(corpus.resources())
    quiet = Settings(settings.workers, settings.concurrency, first_poll_window="1s")
    phases = [{"name": "prime", "timeout": timeout}] + [
        {"name": f"steady-{i}", "timeout": timeout} for i in range(runs)]
    result = run_child(workdir / "scale", corpus.feed_urls(), phases, quiet, lambda _p: None)
    _progress("scale", result)
    return [result["phases"][f"steady-{i}"] for i in range(runs)
            if f"steady-{i}" in result["phases"]]


def run_soak(site: Site, gen: Generated, cycles: int, workdir: Path, settings: Settings,
             *, fraction: float = 0.1, timeout: float | None = None) -> dict[str, Any]:
    """One child, many cycles: a prime (entries become baseline, no pages), then ``cycles``
    cycles, before each of which the parent publishes the next version (``fraction`` new
    items a feed, on new pages). Each cycle reports the tree's RSS when it ends."""
    site.publish(gen.corpus.resources())
    quiet = Settings(settings.workers, settings.concurrency, first_poll_window="1s")
    phases = [{"name": "prime", "timeout": timeout}] + [
        {"name": f"soak-{i}", "wait": True, "timeout": timeout} for i in range(cycles)]
    new_pages = max(1, round(len(gen.corpus.pages) * fraction))
    current = [gen]

    def publish_next(phase: str) -> None:
        step = int(phase.split("-")[1]) + 1
        current[0] = advance(current[0], new_pages, fraction, step)
        site.publish(current[0].corpus.resources())

    started = time.perf_counter()
    result = run_child(workdir / "soak", gen.corpus.feed_urls(), phases, quiet, publish_next)
    done = [result["phases"][f"soak-{i}"] for i in range(cycles)
            if f"soak-{i}" in result["phases"]]
    print(f"  soak: {len(done)} cycles in {time.perf_counter() - started:.0f} s", flush=True)
    return {"feeds": len(gen.corpus.feeds), "fraction": fraction, "cycles": done,
            "idle_after": result["idle_after"]}
