"""Helpers shared by the benchmarks: percentiles, the JSON result line, fixtures.

Every benchmark prints human-readable lines and then, as its last line, one
JSON object (`emit`), so a script can take `tail -n 1` and parse it.
"""

from __future__ import annotations

import gc
import json
import math
import os
import platform
import sys
import time
from collections.abc import Iterable, Sequence
from typing import Any

from realtime.domain import Instrument
from realtime.limits import RiskLimits, parse_limits

# 2026-11-26 14:30:00 UTC: inside the trading session (used where time is synthetic).
T0_NS = 1_795_703_400_000_000_000


def percentile(sorted_values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile of already sorted values (pct in 0..100)."""
    if not sorted_values:
        raise ValueError("no values")
    if not 0.0 <= pct <= 100.0:
        raise ValueError(f"percentile must be in 0..100, got {pct}")
    rank = max(1, math.ceil(pct / 100.0 * len(sorted_values)))
    return float(sorted_values[rank - 1])


def latency_summary(samples_ns: Iterable[int]) -> dict[str, float]:
    """P50/P90/P99/P99.9/max and mean of per-call latencies, in microseconds."""
    ordered = sorted(samples_ns)
    n = len(ordered)
    if n == 0:
        raise ValueError("no samples")
    return {
        "p50_us": round(percentile(ordered, 50) / 1000.0, 3),
        "p90_us": round(percentile(ordered, 90) / 1000.0, 3),
        "p99_us": round(percentile(ordered, 99) / 1000.0, 3),
        "p999_us": round(percentile(ordered, 99.9) / 1000.0, 3),
        "max_us": round(ordered[-1] / 1000.0, 3),
        "mean_us": round(sum(ordered) / n / 1000.0, 3),
    }


def format_summary(label: str, summary: dict[str, float]) -> str:
    return (
        f"{label}: p50 {summary['p50_us']:.2f} us  p90 {summary['p90_us']:.2f} us  "
        f"p99 {summary['p99_us']:.2f} us  p99.9 {summary['p999_us']:.2f} us  "
        f"max {summary['max_us']:.2f} us  mean {summary['mean_us']:.2f} us"
    )


def timer_overhead_ns(iterations: int = 100_000) -> int:
    """Median cost of one back-to-back `perf_counter_ns` pair: the floor of any sample."""
    clock = time.perf_counter_ns
    samples = []
    for _ in range(iterations):
        start = clock()
        samples.append(clock() - start)
    samples.sort()
    return samples[len(samples) // 2]


class GcPauses:
    """Record garbage-collector pauses (via `gc.callbacks`) while active."""

    def __init__(self) -> None:
        self.pauses_ns: list[tuple[int, int]] = []  # (generation, duration)
        self._start = 0

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._start = time.perf_counter_ns()
        else:
            self.pauses_ns.append((int(info["generation"]), time.perf_counter_ns() - self._start))

    def __enter__(self) -> GcPauses:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._callback)

    def summary(self) -> dict[str, Any]:
        full = [d for g, d in self.pauses_ns if g == 2]
        return {
            "gc_collections": len(self.pauses_ns),
            "gc_gen2_collections": len(full),
            "gc_max_pause_ms": round(max((d for _, d in self.pauses_ns), default=0) / 1e6, 2),
            "gc_total_pause_ms": round(sum(d for _, d in self.pauses_ns) / 1e6, 1),
        }


def environment() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
    }


def emit(result: dict[str, Any]) -> dict[str, Any]:
    """Print the result as one JSON object on the last line of output; return it."""
    sys.stdout.flush()
    print(json.dumps(result, sort_keys=True), flush=True)
    return result


# --- fixtures --------------------------------------------------------------------


def symbols(n: int) -> list[str]:
    return [f"S{i:03d}" for i in range(n)]


def universe(n: int) -> dict[str, Instrument]:
    """`n` tradable instruments with a cent tick and a lot of 1."""
    return {s: Instrument(symbol=s, tick_size=0.01, lot_size=1) for s in symbols(n)}


def base_price(index: int) -> float:
    """A deterministic starting price per symbol, on the cent grid, between 20 and 520."""
    return round(20.0 + (index * 37) % 500 + 0.25, 2)


def roomy_limits(**overrides: Any) -> RiskLimits:
    """Limits that a benchmark's valid orders never hit (rate, exposure, position)."""
    default: dict[str, Any] = {
        "max_order_quantity": 10_000,
        "max_order_notional": 10_000_000.0,
        "max_position": 1_000_000_000,
        "max_gross_exposure": 1e15,
        "starting_cash": 1e15,
        "max_leverage": 4.0,
        "max_orders_per_second": 1e9,
        "order_burst": 1_000_000_000,
        "price_collar_pct": 10.0,
        **overrides,
    }
    return parse_limits({"default": default})
