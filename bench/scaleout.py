"""The steady cycle of many feeds polled by one, two and three processes on one PostgreSQL.

Owns the scale-out benchmark (``python -m bench --scaleout``): a throwaway PostgreSQL
cluster (``tests/pg.py``; without PostgreSQL it reports why and measures nothing), 2,000
generated feeds on the local server, primed once by one process without fetching pages
(a one-second first-poll window makes every entry baseline), then for each process count
every feed made due again (its validators kept, so each poll is a conditional GET answered
304) and that many ``bench.scalechild`` processes started at one instant, claiming bounded
batches next to each other as daemons do. Reported per process count: the wall time until
every feed was polled, feeds per second in all and per process, the CPU of the processes
and of the database server (its processes, the backends that ended counted through the
postmaster's children time) and the database's share of that CPU; the CPU of the local HTTP
server (this process) is shown apart, as it competes for the same cores. Nothing is
asserted.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from bench import procfs
from bench.generate import generate
from bench.scenarios import ROOT, Settings, fresh_folder, write_config
from bench.server import Site
from tests.pg import Cluster, Unavailable

START_DELAY = 12.0          # seconds for every child to open the app before the common start


def run_scaleout(site: Site, base_url: str, *, feeds: int, pages: int,
                 processes: list[int], settings: Settings, workdir: Path) -> dict[str, Any]:
    try:
        cluster = Cluster.start()
    except Unavailable as exc:
        return {"error": str(exc)}
    try:
        gen = generate(base_url, feeds=feeds, pages=pages)
        site.publish(gen.corpus.resources())
        name = f"bench_{uuid.uuid4().hex[:8]}"
        cluster.execute(f"CREATE DATABASE {name}")
        folder = fresh_folder(workdir / "scaleout")
        quiet = Settings(settings.workers, settings.concurrency, first_poll_window="1s")
        config = write_config(folder, gen.corpus.feed_urls(), quiet)
        config.write_text(config.read_text(encoding="utf-8").replace(
            f'url = "sqlite:///{folder / "state" / "monitor.db"}"',
            f'url = "{cluster.url(name)}"'), encoding="utf-8")
        prime = _round(cluster, config, folder, 1, "prime")
        print(f"  primed {prime['polled']} feeds in {prime['wall_s']:.1f} s", flush=True)
        rounds = []
        for count in processes:
            cluster.execute("UPDATE feeds SET next_poll_at = NULL", dbname=name)
            rounds.append(_round(cluster, config, folder, count, f"n{count}"))
            print(f"  {count} process(es): {rounds[-1]['polled']} feeds in "
                  f"{rounds[-1]['wall_s']:.2f} s", flush=True)
        return {"feeds": feeds, "prime": prime, "rounds": rounds}
    finally:
        cluster.stop()


def _round(cluster: Cluster, config: Path, folder: Path, count: int,
           label: str) -> dict[str, Any]:
    """``count`` children started at one instant; their results and the server's CPU."""
    start_at = time.time() + START_DELAY
    children = [_child(config, folder, f"{label}-{i}", start_at) for i in range(count)]
    server_before, site_before = _server_cpu(cluster), time.process_time()
    results = [_result(proc, folder / f"{label}-{i}.stderr") for i, proc in
               enumerate(children)]
    server_cpu = _server_cpu(cluster) - server_before
    site_cpu = time.process_time() - site_before
    client_cpu = sum(r["cpu_s"] for r in results)
    wall = max(r["wall_s"] for r in results)
    polled = sum(r["polled"] for r in results)
    return {"processes": count, "wall_s": wall, "polled": polled,
            "feeds_per_s": polled / wall if wall else 0.0,
            "per_process": [{"polled": r["polled"], "wall_s": r["wall_s"],
                             "feeds_per_s": r["polled"] / r["wall_s"] if r["wall_s"] else 0.0,
                             "cpu_s": r["cpu_s"], "statuses": r["statuses"]}
                            for r in results],
            "cpu_processes_s": client_cpu, "cpu_database_s": server_cpu,
            "cpu_http_server_s": site_cpu,
            "database_share": server_cpu / (server_cpu + client_cpu)
            if server_cpu + client_cpu else 0.0}


def _child(config: Path, folder: Path, label: str, start_at: float) -> subprocess.Popen[str]:
    spec = folder / f"{label}.json"
    spec.write_text(json.dumps({"config": str(config), "state_dir": str(folder / "state"),
                                "log": str(folder / f"{label}.log"), "start_at": start_at}),
                    encoding="utf-8")
    return subprocess.Popen([sys.executable, "-m", "bench.scalechild", str(spec)], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True,
                            stderr=(folder / f"{label}.stderr").open("w"))


def _result(proc: subprocess.Popen[str], stderr: Path) -> dict[str, Any]:
    out, _ = proc.communicate()
    for line in out.splitlines():
        if line.startswith("RESULT "):
            result: dict[str, Any] = json.loads(line[7:])
            return result
    tail = stderr.read_text(encoding="utf-8")[-3000:]
    raise RuntimeError(f"bench.scalechild failed (exit {proc.returncode}):\n{tail}")


def _server_cpu(cluster: Cluster) -> float:
    """CPU seconds of the database server so far: the postmaster with its ended children,
    and its processes still running."""
    postmaster = cluster.postmaster
    live = [p for p in procfs.tree(postmaster) if p != postmaster]
    return procfs.cpu_with_reaped(postmaster) + sum(procfs.cpu_seconds(p) for p in live)


def render(raw: dict[str, Any]) -> list[str]:
    """The scale-out table."""
    if "error" in raw:
        return [f"Scale-out on PostgreSQL: NOT MEASURED ({raw['error']})"]
    lines = [f"Scale-out: steady cycle of {raw['feeds']} feeds (each a 304) on one PostgreSQL",
             "  procs  wall s  feeds/s  per process: feeds (feeds/s)          "
             "CPU procs s  CPU db s  db share  CPU http s"]
    for r in raw["rounds"]:
        each = ", ".join(f"{p['polled']} ({p['feeds_per_s']:.0f})" for p in r["per_process"])
        lines.append(f"  {r['processes']:>5}  {r['wall_s']:6.2f}  {r['feeds_per_s']:7.0f}  "
                     f"{each:<38} {r['cpu_processes_s']:11.2f}  {r['cpu_database_s']:8.2f}  "
                     f"{r['database_share']:8.0%}  {r.get('cpu_http_server_s', 0.0):10.2f}")
    return lines
