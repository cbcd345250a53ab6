"""Timing helpers shared by the benchmarks."""
from __future__ import annotations

import time


def percentile(values: list[float], p: float) -> float:
    """The nearest-rank *p*-th percentile."""
    ordered = sorted(values)
    return ordered[max(0, -(-len(ordered) * p // 100) - 1)]


def timed(function, runs: int, warmup: int = 2) -> list[float]:
    """Seconds of each of *runs* calls of *function*, after *warmup* calls not counted."""
    for _ in range(warmup):
        function()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return times
