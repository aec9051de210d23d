"""What the benchmark table says: the figures, the memory breakdown and the targets.

Owns choosing which raw numbers of a benchmark run become rows of the printed table and
how the issue's targets are computed from them. Raw results come from ``bench.__main__``
as a dict: ``bare`` (feedparser and trafilatura runs), ``ours`` (one dict per
``bench.ourcycle`` child), ``rss2email`` (pairs of runs, empty when not installed) and
``scale`` (steady cycles at 2,000 feeds) and ``soak`` (many cycles with new items, the
tree's RSS after each). The targets are issue 14's; the rss2email ratios are shown for
comparison without a verdict.
"""

from __future__ import annotations

import statistics
from typing import Any

from bench.report import (
    Stat,
    Target,
    attributed,
    limit_target,
    phase,
    pick,
    ratio_target,
    stage_cpu,
)

STAGES = ("parse", "match", "store", "cluster", "deltas", "render")
PHASES = (("first", "first cycle (all new)"), ("steady", "steady cycle (all 304)"),
          ("new", "cycle with 10 % new items"))


def floor(raw: dict[str, Any]) -> Stat | None:
    """Bare feedparser + bare trafilatura CPU, run by run (the CPU floor)."""
    pairs = zip(raw["bare"]["feedparser"], raw["bare"]["trafilatura"], strict=False)
    return Stat.of([fp["cpu_s"] + tr["cpu_s"] for fp, tr in pairs])


def bare_rows(raw: dict[str, Any]) -> list[tuple[str, str]]:
    fp, tr = raw["bare"]["feedparser"], raw["bare"]["trafilatura"]
    if not fp or not tr:
        return [("Bare libraries", "not measured")]
    fp_cpu, tr_cpu = pick(fp, lambda r: r["cpu_s"]), pick(tr, lambda r: r["cpu_s"])
    docs_fp, docs_tr = fp[0]["documents"], tr[0]["documents"]
    rows = [("Bare libraries on the same bytes (CPU seconds, one process)", "")]
    if fp_cpu and tr_cpu:
        rows += [(f"feedparser.parse(bytes) x {docs_fp} feeds", f"{fp_cpu.show()} s  "
                  f"({fp_cpu.median / docs_fp * 1000:.1f} ms/feed)"),
                 (f"trafilatura.extract(html) x {docs_tr} pages", f"{tr_cpu.show()} s  "
                  f"({tr_cpu.median / docs_tr * 1000:.1f} ms/page)"),
                 ("floor = feedparser + trafilatura", f"{floor(raw).show()} s")]  # type: ignore[union-attr]
    sides = [Stat.of([f["cpu_s"] + t["cpu_s"] for f, t in zip(fp, tr, strict=False)
                      if f.get("when", "before") == when]) for when in ("before", "after")]
    if sides[0] and sides[1]:
        rows.append(("floor before / after the news-monitor runs (medians)",
                     f"{sides[0].median:.2f} / {sides[1].median:.2f} s"))
    return rows


def phase_rows(raw: dict[str, Any], name: str, label: str) -> list[tuple[str, str]]:
    runs = raw["ours"]
    get = lambda key: pick(runs, phase(name, key))  # noqa: E731
    data = [r["phases"][name] for r in runs if name in r["phases"]]
    if not data:
        return [(f"news-monitor: {label}", "NOT MEASURED (an earlier cycle timed out)")]
    note = "  TIMED OUT: cancelled at the time limit, figures are partial" \
        if any(d["timed_out"] for d in data) else ""
    note += "  (measured after a prime without pages)" if data[0].get("after_prime") else ""
    rows = [(f"news-monitor: {label}, {len(data)} run(s){note}", "")]
    if name == "first":
        rows.append(("worker pool start before it, CPU (s; not counted)",
                     _show(pick(runs, lambda r: r.get("pool_start_cpu_s")))))
    rows.append(("wall: run_cycle + outbox flush (s)", _show(get("wall_s"), "{:.3f}")))
    rows.append(("CPU all processes (s) = main + workers", f"{_show(get('cpu_s'))} = "
                 f"{_show(get('cpu_main_s'))} + {_show(get('cpu_children_s'))}"))
    cpu = [(stage, pick(runs, stage_cpu(name, stage))) for stage in STAGES]
    rows.append(("main CPU by stage (s)", "  ".join(f"{s} {v.median:.2f}" for s, v in cpu if v)
                 + f"  other {_show(pick(runs, attributed(name)))}"))
    threads = data[0].get("cpu_main_threads_s", {})
    if threads:   # rss-sampler is the bench's own thread: shown, not counted in the CPU
        rows.append(("main CPU by thread (run 1; s)", "  ".join(
            f"{t} {v:.2f}" for t, v in threads.items() if v >= 0.01)))
    rows.append(("peak RSS all processes, sampled (MB)", _show(get("peak_rss_mb"), "{:.0f}")))
    rows.append(("event-loop lag p99 / max (ms)", f"{_show(get('lag_p99_ms'), '{:.0f}')} / "
                 f"{_show(get('lag_max_ms'), '{:.0f}')}"))
    outcome = data[0]["outcomes"]
    rows.append(("outcomes (run 1)", ", ".join(f"{k}={v}" for k, v in outcome.items())))
    calls = data[0]["stages"]["calls"]
    rows.append(("calls (run 1): feeds parsed / pages extracted / store calls",
                 f"{calls.get('parse', 0)} / {calls.get('extract', 0)} / {calls.get('store', 0)}"))
    requests = runs[0].get("requests", {})
    if name != "steady" and not data[0].get("after_prime"):
        rows.append(("HTTP requests served (run 1)", str(requests.get(
            "first+steady" if name == "first" else "new", {}))))
    return rows


def memory_rows(raw: dict[str, Any]) -> list[tuple[str, str]]:
    runs = raw["ours"]
    start = lambda key: pick(runs, lambda r: r["startup_rss_mb"][key])  # noqa: E731
    interp, imports, lemma = start("interpreter"), start("imports"), start("simplemma")
    rows = [("Memory of the service (RSS, MB; PSS counts shared pages once)", "")]
    if interp and imports and lemma:
        rows += [("bare interpreter (main process)", f"{interp.median:.0f}"),
                 ("+ imports (monitor.app and its libraries)",
                  f"+{imports.median - interp.median:.0f}"),
                 ("+ lemma table opened, first document (prepare_document)",
                  f"+{lemma.median - imports.median:.0f}")]
    for proc in runs[0]["idle"]["processes"]:
        rows.append((f"idle after start-up: {_proc_label(proc['name'])} (pid {proc['pid']})",
                     f"RSS {proc['rss_mb']:.0f}, PSS {proc['pss_mb']:.0f}"))
    rows.append(("idle after start-up, all processes RSS / PSS",
                 f"{_show(pick(runs, lambda r: r['idle']['memory']['rss']), '{:.0f}')} / "
                 f"{_show(pick(runs, lambda r: r['idle']['memory']['pss']), '{:.0f}')}"))
    for proc in runs[0].get("idle_after_processes", []):
        rows.append((f"idle after the cycles: {_proc_label(proc['name'])} (pid {proc['pid']})",
                     f"RSS {proc['rss_mb']:.0f}, PSS {proc['pss_mb']:.0f}"))
    rows.append(("idle after the cycles, all processes RSS / PSS",
                 f"{_show(pick(runs, lambda r: r['idle_after']['rss']), '{:.0f}')} / "
                 f"{_show(pick(runs, lambda r: r['idle_after']['pss']), '{:.0f}')}"))
    return rows


def _proc_label(name: str) -> str:
    return "main process" if "bench.ourcycle" in name else name


def r2e_rows(raw: dict[str, Any]) -> list[tuple[str, str]]:
    runs = raw["rss2email"]
    if not runs:
        return [("rss2email 3.14: NOT MEASURED", raw.get("rss2email_error") or "skipped")]
    rows = [(f"rss2email 3.14 (own venv, Maildir), {len(runs)} run(s)", "")]
    for which in ("first", "second"):
        get = lambda key, w=which: pick(runs, lambda r: r[w][key])  # noqa: E731
        rows.append((f"r2e run, {which}: wall s / CPU s / peak RSS MB / mails",
                     f"{_show(get('wall_s'), '{:.3f}')} / {_show(get('cpu_s'))} / "
                     f"{_show(get('peak_rss_mb'), '{:.0f}')} / {runs[0][which]['mails']}"))
    return rows


def scale_rows(raw: dict[str, Any]) -> list[tuple[str, str]]:
    scale = raw.get("scale")
    if not scale:
        return []
    small = pick(raw["ours"], phase("steady", "wall_s"))
    small_cpu = pick(raw["ours"], phase("steady", "cpu_s"))
    big, big_cpu = pick(scale["runs"], lambda r: r["wall_s"]), pick(scale["runs"],
                                                                     lambda r: r["cpu_s"])
    n_small, n_big = raw["feeds"], scale["feeds"]
    rows = [(f"Scale: steady cycle at {n_small} and {n_big} feeds", "")]
    if small and big and small_cpu and big_cpu:
        rows += [(f"{n_small} feeds: wall s / ms per feed / CPU ms per feed",
                  f"{small.median:.3f} / {small.median / n_small * 1000:.2f} / "
                  f"{small_cpu.median / n_small * 1000:.2f}"),
                 (f"{n_big} feeds: wall s / ms per feed / CPU ms per feed",
                  f"{big.show('{:.3f}')} / {big.median / n_big * 1000:.2f} / "
                  f"{big_cpu.median / n_big * 1000:.2f}"),
                 ("per-feed wall cost ratio (1.0 = linear)",
                  f"{(big.median / n_big) / (small.median / n_small):.2f}"),
                 ("lag p99 at scale (ms)", _show(pick(scale["runs"],
                                                       lambda r: r["lag_p99_ms"]), "{:.0f}"))]
    return rows


def targets(raw: dict[str, Any]) -> list[Target]:
    """Issue 14's targets."""
    ours = raw["ours"]
    first_cpu = pick(ours, phase("first", "cpu_s"))
    steady = pick(ours, phase("steady", "wall_s"))
    idle_after = pick(ours, lambda r: r["idle_after"]["rss"])
    peak = pick(ours, lambda r: max(r["phases"][p]["peak_rss_mb"] for p in r["phases"]))
    lag = pick(ours, lambda r: max(r["phases"][p]["lag_p99_ms"] for p in r["phases"]))
    cut = any(r["phases"]["first"]["timed_out"] for r in ours)
    growth = soak_growth(raw.get("soak"), "tree")
    served = raw.get("service") or {}
    return [
        ratio_target("first cycle CPU / bare-library CPU", first_cpu, floor(raw), "≤ 1.5",
                     lambda x: x <= 1.5, "{v:.1f} s vs {r:.1f} s", bound=cut),
        limit_target("steady cycle wall (200 feeds, all 304)", steady, 0.4, "s"),
        limit_target("idle RSS of all processes after the cycles", idle_after, 200, "MB"),
        limit_target("peak RSS, all processes", peak, 300, "MB"),
        limit_target("installed service: idle RSS after the cycle",
                     _one(served, "idle_rss_mb"), 200, "MB"),
        limit_target("installed service: peak RSS", _one(served, "peak_rss_mb"), 300, "MB"),
        limit_target("event-loop lag p99 (worst phase)", lag, 50, "ms"),
        limit_target("soak: RSS growth after the first 5 cycles",
                     Stat.of([growth[1]]) if growth else None, 5, "MB"),
    ]


def comparisons(raw: dict[str, Any]) -> list[tuple[str, str]]:
    """rss2email's figures beside ours, for comparison (no target of issue 14)."""
    ours, r2e = raw["ours"], raw["rss2email"]
    steady, first_wall = pick(ours, phase("steady", "wall_s")), pick(ours, phase("first",
                                                                                 "wall_s"))
    r2e_first = pick(r2e, lambda r: r["first"]["wall_s"])
    r2e_second = pick(r2e, lambda r: r["second"]["wall_s"])
    cut = any(r["phases"]["first"]["timed_out"] for r in ours)
    found = [ratio_target("our steady cycle / rss2email second run", steady, r2e_second, "",
                          lambda x: True, "{v:.3f} s vs {r:.3f} s"),
             ratio_target("rss2email first run / our first cycle", r2e_first, first_wall, "",
                          lambda x: True, "{v:.1f} s vs {r:.1f} s", bound=cut)]
    return [(t.name, f"{t.ratio:.2f}  ({t.detail})" if t.ratio is not None else t.detail)
            for t in found]


def soak_growth(soak: dict[str, Any] | None, which: str) -> tuple[float, float] | None:
    """(MB per cycle, MB in all) after the first five cycles: the median RSS (the whole
    tree, or the main process) of the last ten cycles minus that of cycles 6 to 15, and
    that per cycle between them. Medians, not a slope or last minus first: the workers'
    RSS rises and falls as they are replaced and the pool stops, so single cycles (and a
    least-squares slope) swing with where the dips fall. None with fewer than 4 cycles."""
    rest = (soak or {}).get("cycles", [])[5:]
    if len(rest) < 4:
        return None
    values = [c["memory_after"]["rss"] if which == "tree" else c["main_rss_mb"] for c in rest]
    k = min(10, len(values) // 2)
    growth = statistics.median(values[-k:]) - statistics.median(values[:k])
    return growth / (len(values) - k), growth


def soak_rows(raw: dict[str, Any]) -> list[tuple[str, str]]:
    soak = raw.get("soak")
    if not soak or not soak["cycles"]:
        return [("Soak: NOT MEASURED", "skipped (--soak-cycles 0)")] if soak is None else []
    cycles = soak["cycles"]
    tree = [c["memory_after"]["rss"] for c in cycles]
    main = [c["main_rss_mb"] for c in cycles]
    rows = [(f"Soak: {len(cycles)} cycles of {soak['feeds']} feeds, "
             f"{soak['fraction']:.0%} new items each", "")]
    rows.append(("RSS after cycle 1 / 5 / last: all processes (MB)",
                 " / ".join(f"{tree[i]:.0f}" for i in (0, min(4, len(tree) - 1), -1))))
    rows.append(("RSS after cycle 1 / 5 / last: main process (MB)",
                 " / ".join(f"{main[i]:.0f}" for i in (0, min(4, len(main) - 1), -1))))
    for which, label in (("tree", "all processes"), ("main", "main process")):
        growth = soak_growth(soak, which)
        if growth:
            rows.append((f"growth after cycle 5, {label}: MB per cycle / in all",
                         f"{growth[0]:+.2f} / {growth[1]:+.1f}"))
    wall = sorted(c["wall_s"] for c in cycles)
    rows.append(("cycle wall, median (s); idle RSS after the soak (MB)",
                 f"{wall[len(wall) // 2]:.2f}; {soak['idle_after']['rss']:.0f}"))
    return rows


def rows(raw: dict[str, Any]) -> list[tuple[str, str]]:
    out = bare_rows(raw)
    for name, label in PHASES:
        out += phase_rows(raw, name, label)
    return (out + memory_rows(raw) + service_rows(raw) + r2e_rows(raw) + scale_rows(raw)
            + soak_rows(raw))


def _one(result: dict[str, Any], key: str) -> Stat | None:
    """A single run's figure as a Stat; None when it was not measured."""
    return Stat.of([result[key]]) if key in result else None


def service_rows(raw: dict[str, Any]) -> list[tuple[str, str]]:
    """The service as installed (``bench.service``): one run, its memory only."""
    found = raw.get("service")
    if found is None:
        return []
    head = "the service as installed (news-monitor run), first cycle, 1 run"
    if "error" in found:
        return [(head, ""), ("NOT MEASURED", found["error"].splitlines()[0])]
    out = [(head, ""),
           ("peak RSS all processes, sampled (MB)", f"{found['peak_rss_mb']:.0f}"),
           ("idle after the cycle, all processes RSS / PSS (MB)",
            f"{found['idle_rss_mb']:.0f} / {found['idle_pss_mb']:.0f} "
            f"({found['seconds_to_idle']:.0f} s after start)")]
    for n, proc in enumerate(found["idle_processes"]):
        name = "news-monitor run" if n == 0 else proc["name"]     # the tree's root first
        out.append((f"idle after the cycle: {name} (pid {proc['pid']})",
                    f"RSS {proc['rss_mb']:.0f}, PSS {proc['pss_mb']:.0f}"))
    return out


def _show(stat: Stat | None, fmt: str = "{:.2f}") -> str:
    return stat.show(fmt) if stat else "\u2013"  # EN DASH: no figure
