"""Turning raw runs into the printed table: medians, ranges, ratios and PASS/FAIL targets.

Owns the arithmetic and the layout of the benchmark report, nothing else: ``Stat`` is
a median with its min and max over runs, ``summarise`` condenses the raw results of
``bench.__main__`` into named figures, ``targets`` compares them with the issue's goals
(a target whose inputs were not measured is ``NOT MEASURED``, never guessed), and
``render`` prints everything as aligned text.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Stat:
    """Median, min and max of one figure over the runs."""

    median: float
    low: float
    high: float
    n: int

    @classmethod
    def of(cls, values: Sequence[float]) -> Stat | None:
        return cls(statistics.median(values), min(values), max(values), len(values)) \
            if values else None

    def show(self, fmt: str = "{:.2f}") -> str:
        if self.n == 1:
            return fmt.format(self.median)
        # \u2013 EN DASH: the typographic range dash
        return f"{fmt.format(self.median)} [{fmt.format(self.low)}\u2013{fmt.format(self.high)}]"


def pick(runs: Sequence[dict[str, Any]], getter: Callable[[dict[str, Any]], float]) -> Stat | None:
    values = []
    for run in runs:
        try:
            values.append(float(getter(run)))
        except (KeyError, TypeError):
            continue
    return Stat.of(values)


def phase(name: str, key: str) -> Callable[[dict[str, Any]], float]:
    return lambda run: run["phases"][name][key]


def stage_cpu(name: str, stage: str) -> Callable[[dict[str, Any]], float]:
    return lambda run: run["phases"][name]["stages"]["cpu_s"].get(stage, 0.0)


def attributed(name: str) -> Callable[[dict[str, Any]], float]:
    """Main-process CPU not charged to any wrapped stage: HTTP, event loop, logging, glue."""
    def get(run: dict[str, Any]) -> float:
        data = run["phases"][name]
        return data["cpu_main_s"] - sum(data["stages"]["cpu_s"].values())
    return get


@dataclass(frozen=True)
class Target:
    name: str
    ratio: float | None
    goal: str
    passed: bool | None
    detail: str

    @property
    def verdict(self) -> str:
        return "NOT MEASURED" if self.passed is None else ("PASS" if self.passed else "FAIL")


def ratio_target(name: str, value: Stat | None, reference: Stat | None, goal: str,
                 ok: Callable[[float], bool], detail: str, *, bound: bool = False) -> Target:
    """``value / reference`` against ``ok``; with ``bound`` the ratio is only a bound from a
    cycle that timed out: a failing bound is a FAIL, a passing one proves nothing."""
    if value is None or reference is None or reference.median == 0:
        return Target(name, None, goal, None, "not measured")
    ratio = value.median / reference.median
    text = detail.format(v=value.median, r=reference.median)
    if bound:
        return Target(name, ratio, goal, None if ok(ratio) else False,
                      text + " (cycle timed out: bound only)")
    return Target(name, ratio, goal, ok(ratio), text)


def limit_target(name: str, value: Stat | None, limit: float, unit: str) -> Target:
    if value is None:
        return Target(name, None, f"≤ {limit:g} {unit}", None, "not measured")
    return Target(name, value.median / limit, f"≤ {limit:g} {unit}", value.median <= limit,
                  f"{value.median:.3g} {unit}")


def render_rows(rows: Sequence[tuple[str, str]], width: int = 58) -> list[str]:
    return [f"  {label:<{width}} {value}" if value else f"{label}" for label, value in rows]


def render_targets(targets: Sequence[Target]) -> list[str]:
    lines = [f"  {'target':<46} {'ratio':>7}  {'goal':<9} {'verdict':<12} measured"]
    for t in targets:
        ratio = f"{t.ratio:7.2f}" if t.ratio is not None else "      \u2013"  # EN DASH: none
        lines.append(f"  {t.name:<46} {ratio}  {t.goal:<9} {t.verdict:<12} {t.detail}")
    return lines
