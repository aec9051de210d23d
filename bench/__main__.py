"""``python -m bench`` (``make bench``): every benchmark in one run, a table, bench/results.json.

Owns the order of a benchmark run and its options. It generates the corpus from a fixed
seed, serves it on 127.0.0.1, measures the bare libraries on the same bytes, runs the
news-monitor scenarios (``bench.scenarios``), rss2email 3.14 in its own virtual
environment (``bench.rss2email_baseline``), optionally the steady cycle at 2,000 feeds,
and the extraction and matching micro-benchmarks (``bench.bench_extract``,
``bench.bench_match``); then prints the table (``bench.summary``) and writes the raw
figures to bench/results.json. Targets are printed as PASS or FAIL, never asserted.
``--scaleout`` runs only the steady cycle in several processes on one PostgreSQL
(``bench.scaleout``; raw figures in bench/.work/results-scaleout.json).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

from bench import bare, service, summary
from bench.generate import SEED, generate, with_new_items
from bench.report import render_rows, render_targets
from bench.rss2email_baseline import Rss2Email, run_rss2email
from bench.scaleout import render as scaleout_table
from bench.scaleout import run_scaleout
from bench.scenarios import Settings, run_cycles, run_scale, run_soak
from bench.server import Site, serve

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work"
RESULTS = HERE / "results.json"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="one run of each, no micro-benches")
    parser.add_argument("--scale", action="store_true",
                        help="also the steady cycle at 2,000 feeds (on by default without "
                        "--quick)")
    parser.add_argument("--no-scale", action="store_true", help="skip the 2,000-feed cycle")
    parser.add_argument("--soak-cycles", type=int,
                        help="cycles of the soak, each with 10 %% new items (default 50, "
                        "quick 15; 0 skips it)")
    parser.add_argument("--soak-feeds", type=int, default=50, help="feeds in the soak")
    parser.add_argument("--scaleout", action="store_true",
                        help="only this: the steady cycle of 2,000 feeds in 1, 2 and 3 "
                        "processes on one PostgreSQL (needs initdb/pg_ctl)")
    parser.add_argument("--scaleout-feeds", type=int, default=2000)
    parser.add_argument("--scaleout-processes", default="1,2,3",
                        help="process counts, comma-separated")
    parser.add_argument("--runs", type=int, help="runs per scenario (default 5, quick 1)")
    parser.add_argument("--r2e-runs", type=int, help="rss2email runs (default 3, quick 1)")
    parser.add_argument("--no-rss2email", action="store_true", help="skip rss2email")
    parser.add_argument("--delay-ms", type=float, default=0.0,
                        help="server delay before every response (imitates the network)")
    parser.add_argument("--workers", type=int, default=2, help="extract_workers")
    parser.add_argument("--concurrency", type=int, default=8,
                        help="fetch.concurrency (8, the service's default: httpcore's pool "
                        "costs grow with connections times waiting requests, "
                        "encode/httpx#3215)")
    parser.add_argument("--cycle-timeout", type=float, default=150.0,
                        help="cancel a cycle after this many seconds (reported as TIMED OUT)")
    parser.add_argument("--budget", type=float, default=240.0,
                        help="start no further news-monitor run past this many seconds "
                        "(rss2email: 0.6 of it)")
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--pages", type=int, default=500)
    args = parser.parse_args(argv)
    args.runs = args.runs or (1 if args.quick else 5)
    args.r2e_runs = args.r2e_runs or (1 if args.quick else 3)
    args.scale = (args.scale or not args.quick) and not args.no_scale
    if args.soak_cycles is None:
        args.soak_cycles = 15 if args.quick else 50
    return args


def bare_runs(raw_feeds: dict[str, bytes], pages: dict[str, bytes], runs: int,
              when: str) -> dict[str, Any]:
    """``runs`` bare runs of each library, each marked ``when`` ("before" or "after" the
    news-monitor runs). The bench makes both: this machine's speed drifts by several per
    cent over minutes, and a floor measured on one side only would carry that into the
    ratio."""
    feeds_dir = bare.write_corpus(raw_feeds, WORK / "corpus" / "feeds", ".xml")
    pages_dir = bare.write_corpus(pages, WORK / "corpus" / "pages", ".html")
    out: dict[str, Any] = {"feedparser": [], "trafilatura": []}
    for run in range(runs):
        out["feedparser"].append({**bare.measure("feedparser", feeds_dir), "when": when})
        out["trafilatura"].append({**bare.measure("trafilatura", pages_dir), "when": when})
        print(f"  bare run {run + 1}/{runs} ({when} ours): feedparser "
              f"{out['feedparser'][-1]['cpu_s']:.2f} s, trafilatura "
              f"{out['trafilatura'][-1]['cpu_s']:.2f} s CPU", flush=True)
    return out


def micro(quick: bool) -> dict[str, Any]:
    """The other engineers' micro-benchmarks, each printing its own report."""
    out: dict[str, Any] = {}
    for name in ("bench_extract", "bench_match"):
        try:
            module = importlib.import_module(f"bench.{name}")
            out[name] = module.run(quick=quick)
        except Exception as exc:  # one broken micro-bench must not lose the main table
            out[name] = {"error": f"{type(exc).__name__}: {exc}"}
        print(f"\n== {name} ==")
        reporter = getattr(sys.modules.get(f"bench.{name}"), "report", None)
        print(reporter(out[name]) if reporter and "error" not in out[name]
              else json.dumps(out[name], indent=1, default=str))
    return out


def run_all(args: argparse.Namespace) -> dict[str, Any]:
    settings = Settings(workers=args.workers, concurrency=args.concurrency)
    raw: dict[str, Any] = {"feeds": args.feeds, "pages": args.pages, "seed": SEED,
                           "settings": vars(args), "cpus": os.cpu_count(),
                           "python": platform.python_version()}
    site = Site(delay=args.delay_ms / 1000)
    with serve(site) as server:
        started = time.perf_counter()
        gen = generate(server.base_url, feeds=args.feeds, pages=args.pages)
        following = with_new_items(gen, 0.1)
        print(f"corpus: {len(gen.corpus.feeds)} feeds, {len(gen.corpus.pages)} pages, "
              f"{sum(map(len, gen.corpus.pages.values())) / 1e6:.1f} MB of HTML "
              f"(generated in {time.perf_counter() - started:.1f} s)", flush=True)
        before = bare_runs(gen.corpus.feeds, gen.corpus.pages, min(args.runs, 3), "before")
        raw["ours"] = run_cycles(site, gen.corpus, following, args.runs, WORK / "runs", settings,
                                 timeout=args.cycle_timeout, budget=args.budget)
        after = bare_runs(gen.corpus.feeds, gen.corpus.pages, min(args.runs, 3), "after")
        raw["bare"] = {lib: before[lib] + after[lib] for lib in before}
        raw["service"] = service.run(site, gen.corpus, WORK / "service", settings)
        print(f"  service as installed: {_service_line(raw['service'])}", flush=True)
        raw["rss2email"], raw["rss2email_error"] = r2e_runs(site, gen.corpus, args)
        if args.scale:
            raw["scale"] = scale(site, server.base_url, args, settings)
        if args.soak_cycles > 0:
            raw["soak"] = soak(site, server.base_url, args, settings)
    if not args.quick:
        raw["micro"] = micro(quick=False)
    return raw


def _service_line(result: dict[str, Any]) -> str:
    if "error" in result:
        return f"NOT MEASURED: {result['error'].splitlines()[0]}"
    return (f"peak {result['peak_rss_mb']:.0f} MB, idle after its first cycle "
            f"{result['idle_rss_mb']:.0f} MB ({result['seconds_to_idle']:.0f} s)")


def r2e_runs(site: Site, corpus: Any, args: argparse.Namespace) -> tuple[list[Any], str | None]:
    if args.no_rss2email:
        return [], "skipped (--no-rss2email)"
    site.publish(corpus.resources())
    r2e = Rss2Email(WORK)
    results = run_rss2email(r2e, corpus.feed_urls(), corpus.base_url, args.r2e_runs, WORK / "runs",
                            budget=args.budget * 0.6)
    if r2e.error:
        print(f"  rss2email could not be installed: {r2e.error}; its ratios are NOT MEASURED",
              flush=True)
    return results, r2e.error


def scale(site: Site, base_url: str, args: argparse.Namespace, settings: Settings) -> Any:
    feeds = args.feeds * 10
    gen = generate(base_url, feeds=feeds, pages=args.pages)
    runs = run_scale(site, gen.corpus, args.runs, WORK / "runs", settings, args.cycle_timeout)
    return {"feeds": feeds, "runs": runs}


def soak(site: Site, base_url: str, args: argparse.Namespace, settings: Settings) -> Any:
    """``soak_cycles`` cycles with 10 % new items on ``soak_feeds`` feeds (pages in
    proportion to the main corpus), the tree's RSS after each."""
    pages = max(10, args.pages * args.soak_feeds // args.feeds)
    gen = generate(base_url, feeds=args.soak_feeds, pages=pages, seed=SEED + 7)
    return run_soak(site, gen, args.soak_cycles, WORK / "runs", settings,
                    timeout=args.cycle_timeout)


def scaleout_only(args: argparse.Namespace) -> int:
    """``--scaleout``: the scale-out bench alone, its table, its raw figures."""
    started = time.perf_counter()
    site = Site(delay=args.delay_ms / 1000)
    with serve(site) as server:
        raw = run_scaleout(site, server.base_url, feeds=args.scaleout_feeds, pages=args.pages,
                           processes=[int(n) for n in args.scaleout_processes.split(",")],
                           settings=Settings(workers=args.workers,
                                             concurrency=args.concurrency),
                           workdir=WORK / "runs")
    raw["elapsed_s"] = time.perf_counter() - started
    out = WORK / "results-scaleout.json"
    out.write_text(json.dumps(raw, indent=1, default=str), encoding="utf-8")
    print("\n" + "\n".join(scaleout_table(raw)))
    print(f"\nraw figures: {out}; total {raw['elapsed_s']:.0f} s")
    return 0


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if args.scaleout:
        return scaleout_only(args)
    started = time.perf_counter()
    raw = run_all(args)
    raw["elapsed_s"] = time.perf_counter() - started
    RESULTS.write_text(json.dumps(raw, indent=1, default=str), encoding="utf-8")
    print("\n" + "\n".join(render_rows(summary.rows(raw))))
    print("\nTargets (ratio = measured / goal's reference; medians)")
    print("\n".join(render_targets(summary.targets(raw))))
    print("\nFor comparison (rss2email fetches no pages and matches nothing; no target)")
    print("\n".join(render_rows(summary.comparisons(raw))))
    shown = RESULTS.relative_to(Path.cwd()) if RESULTS.is_relative_to(Path.cwd()) else RESULTS
    print(f"\nraw figures: {shown}; total {raw['elapsed_s']:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
