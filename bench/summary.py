"""What the benchmark table says: the figures, the memory breakdown and the targets.

Owns choosing which raw numbers of a benchmark run become rows of the printed table and
how the issue's targets are computed from them. Raw results come from ``bench.__main__``
as a dict: ``bare`` (feedparser and trafilatura runs), ``ours`` (one dict per
``bench.ourcycle`` child), ``rss2email`` (pairs of runs, empty when not installed) and
``scale`` (steady cycles at 2,000 feeds, when asked for).
"""

from __future__ import annotations

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
    rows.append(("wall: run_cycle + outbox flush (s)", _show(get("wall_s"), "{:.3f}")))
    rows.append(("CPU all processes (s) = main + workers", f"{_show(get('cpu_s'))} = "
                 f"{_show(get('cpu_main_s'))} + {_show(get('cpu_children_s'))}"))
    cpu = [(stage, pick(runs, stage_cpu(name, stage))) for stage in STAGES]
    rows.append(("main CPU by stage (s)", "  ".join(f"{s} {v.median:.2f}" for s, v in cpu if v)
                 + f"  other {_show(pick(runs, attributed(name)))}"))
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
                 ("+ simplemma German lemma data (first prepare_document)",
                  f"+{lemma.median - imports.median:.0f}")]
    for proc in runs[0]["idle"]["processes"]:
        rows.append((f"idle after start-up: {_proc_label(proc['name'])} (pid {proc['pid']})",
                     f"RSS {proc['rss_mb']:.0f}, PSS {proc['pss_mb']:.0f}"))
    rows.append(("idle after start-up, all processes RSS / PSS",
                 f"{_show(pick(runs, lambda r: r['idle']['memory']['rss']), '{:.0f}')} / "
                 f"{_show(pick(runs, lambda r: r['idle']['memory']['pss']), '{:.0f}')}"))
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
    ours, r2e = raw["ours"], raw["rss2email"]
    first_cpu, first_wall = pick(ours, phase("first", "cpu_s")), pick(ours, phase("first",
                                                                                  "wall_s"))
    steady = pick(ours, phase("steady", "wall_s"))
    r2e_first = pick(r2e, lambda r: r["first"]["wall_s"])
    r2e_second = pick(r2e, lambda r: r["second"]["wall_s"])
    idle = pick(ours, lambda r: max(r["idle"]["memory"]["rss"], r["idle_after"]["rss"]))
    peak = pick(ours, lambda r: max(r["phases"][p]["peak_rss_mb"] for p in r["phases"]))
    lag = pick(ours, lambda r: max(r["phases"][p]["lag_p99_ms"] for p in r["phases"]))
    cut = any(r["phases"]["first"]["timed_out"] for r in ours)
    return [
        ratio_target("first cycle CPU / bare-library CPU", first_cpu, floor(raw), "≤ 1.3",
                     lambda x: x <= 1.3, "{v:.1f} s vs {r:.1f} s", bound=cut),
        limit_target("steady cycle wall (200 feeds)", steady, 0.5, "s"),
        ratio_target("steady wall / rss2email second run", steady, r2e_second, "≤ 1",
                     lambda x: x <= 1.0, "{v:.3f} s vs {r:.3f} s"),
        ratio_target("rss2email first run / our first cycle", r2e_first, first_wall, "≥ 2",
                     lambda x: x >= 2.0, "{v:.1f} s vs {r:.1f} s", bound=cut),
        limit_target("idle RSS, all processes", idle, 250, "MB"),
        limit_target("peak RSS, all processes", peak, 400, "MB"),
        limit_target("event-loop lag p99 (worst phase)", lag, 100, "ms"),
    ]


def rows(raw: dict[str, Any]) -> list[tuple[str, str]]:
    out = bare_rows(raw)
    for name, label in PHASES:
        out += phase_rows(raw, name, label)
    return out + memory_rows(raw) + r2e_rows(raw) + scale_rows(raw)


def _show(stat: Stat | None, fmt: str = "{:.2f}") -> str:
    return stat.show(fmt) if stat else "\u2013"  # EN DASH: no figure
