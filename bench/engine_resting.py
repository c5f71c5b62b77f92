"""Submit cost against the number of open orders, and submit latency during snapshots.

    python -m bench.engine_submit --resting 100000 [--base 1000] [--measure 5000]
    python -m bench.engine_submit --snapshot [--resting 200000] [--snapshot-every 20000]

The two modes of `bench.engine_submit` that grow the state (issue 8). Same engine as
that benchmark: a real `TradingEngine` on uvloop, a journal file in the default
durability, the simulated venue acknowledging on loop timers, resting GTC limit orders
that never fill (`bench.engine_submit._requests`).

`--resting N`: rest `--base` orders, time `--measure` sequential single-caller submits,
rest up to N, time `--measure` more. The result is both P50s and their ratio (target
<= 1.2): a submit must cost the same with 1,000 and 100,000 orders open.

`--resting N --interleaved`: the same ratio from two engines in one process, one with
`--base` and one with N orders open, timed in alternating blocks of `INTERLEAVE_BLOCK`
submits (each engine settled before the other's block). The sequential mode times the
two states seconds apart, so on a shared machine a change of load between the two
phases moves the ratio as much as the state does (BENCHMARKS: runs of the same code
gave 0.77 to 1.34); alternating blocks expose both states to the same load.

`--snapshot`: rest N orders (default 200,000) with snapshots off, then let 64 callers
submit `--measure` orders each while the engine snapshots every `--snapshot-every`
events through its own trigger. Reported: the P99.9 of those submits (target < 5 ms),
the number of snapshots taken and written, and the longest event-loop stall seen by a
1 ms probe timer (the pause a snapshot puts on everything the loop serves).
"""

from __future__ import annotations

import argparse
import array
import asyncio
import dataclasses
import gc
import itertools
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench._stats import (
    GcPauses,
    base_price,
    environment,
    format_summary,
    latency_summary,
    roomy_limits,
    universe,
)
from bench.engine_submit import _requests, _settle
from realtime.clock import SystemClock
from realtime.domain import OrderRequest, Quote
from realtime.engine import EngineConfig, TradingEngine
from realtime.journal import Durability, Journal
from realtime.venue import SimulatedVenue, SimulatedVenueConfig

ACCOUNT = "bench"
TARGET_RATIO = 1.2
TARGET_SNAPSHOT_P999_US = 5_000.0
NO_SNAPSHOTS = 10**15  # snapshot_every while resting orders are built up
FILL_CALLERS = 64


class LoopLagProbe:
    """A timer that asks to run every `interval_s`; how late it runs is how long
    something else held the loop."""

    def __init__(self, interval_s: float = 0.001) -> None:
        self.interval_s = interval_s
        self.max_lag_ns = 0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        clock = time.perf_counter_ns
        want_ns = int(self.interval_s * 1e9)
        while True:
            start = clock()
            await asyncio.sleep(self.interval_s)
            lag = clock() - start - want_ns
            if lag > self.max_lag_ns:
                self.max_lag_ns = lag

    def __enter__(self) -> LoopLagProbe:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()


async def _rest_until(
    engine: TradingEngine, target: int, reqs: list[Iterator[OrderRequest]], ack_ns: int
) -> int:
    """Submit from FILL_CALLERS tasks until the account has `target` open orders."""
    book = engine.state.account(ACCOUNT)
    missing = target - len(book.open_orders)
    rejected = [0]

    async def caller(it: Iterator[OrderRequest], n: int) -> None:
        for req in itertools.islice(it, n):
            result = await engine.submit(ACCOUNT, req)
            rejected[0] += result.rejection is not None

    if missing > 0:
        share, extra = divmod(missing, len(reqs))
        async with asyncio.TaskGroup() as group:
            for i, it in enumerate(reqs):
                group.create_task(caller(it, share + (i < extra)))
    await _settle(engine, ack_ns)
    return rejected[0]


async def _single(
    engine: TradingEngine, reqs: Iterator[OrderRequest], n: int
) -> tuple[list[int], int]:
    clock_ns = time.perf_counter_ns
    samples = [0] * n
    rejected = 0
    for i in range(n):
        req = next(reqs)
        t0 = clock_ns()
        result = await engine.submit(ACCOUNT, req)
        samples[i] = clock_ns() - t0
        rejected += result.rejection is not None
    return samples, rejected


async def _open_engine(
    args: argparse.Namespace, workdir: Path, capacity: int
) -> tuple[TradingEngine, list[str], dict[str, float]]:
    instruments = universe(args.symbols)
    symbols = list(instruments)
    prices = {s: base_price(i) for i, s in enumerate(symbols)}
    venue = SimulatedVenue(
        instruments,
        SimulatedVenueConfig(
            ack_latency_ns=args.ack_latency_us * 1_000, queue_capacity=capacity + 1_000
        ),
    )
    journal = Journal.open(workdir / "journal.db", durability=Durability(args.durability))
    clock = SystemClock()
    config = EngineConfig(auto_pump=True, snapshot_every=NO_SNAPSHOTS, snapshot_on_close=False)
    engine = await TradingEngine.open(journal, instruments, roomy_limits(), venue, clock, config)
    now = clock.now_ns()
    for s in symbols:
        p = prices[s]
        engine.on_quote(
            Quote(symbol=s, bid=p - 0.01, ask=p + 0.01, bid_size=500, ask_size=500, ts_ns=now)
        )
    await journal.flush()
    # As realtime.service does once the engine has started: what lives until shutdown
    # (the venue's books, the state's maps) leaves the cyclic collector's scans.
    gc.collect()
    gc.freeze()
    return engine, symbols, prices


async def run_resting(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    total = args.resting + 2 * args.measure + args.warmup
    engine, symbols, prices = await _open_engine(args, workdir, total)
    ack_ns = args.ack_latency_us * 1_000
    fillers = [_requests(f"r{c}", symbols, prices, args.seed + 100 + c) for c in range(64)]
    rejected = 0
    try:
        # Warm up the whole path (writer thread, page cache, venue), then cancel the
        # warm-up orders so that exactly --base orders rest when the timing starts.
        warm = _requests("w", symbols, prices, args.seed)
        _, r = await _single(engine, warm, args.warmup)
        rejected += r
        await _settle(engine, ack_ns)
        for order in list(engine.state.account(ACCOUNT).open_orders.values()):
            await engine.cancel(ACCOUNT, order.order_id)
        await _settle(engine, ack_ns)
        rejected += await _rest_until(engine, args.base, fillers, ack_ns)
        base_open = len(engine.state.account(ACCOUNT).open_orders)
        gc.collect()
        with GcPauses() as gc_base:
            samples_base, r = await _single(
                engine, _requests("a", symbols, prices, args.seed + 1), args.measure
            )
        rejected += r
        await _settle(engine, ack_ns)
        rejected += await _rest_until(engine, args.resting, fillers, ack_ns)
        big_open = len(engine.state.account(ACCOUNT).open_orders)
        gc.collect()
        with GcPauses() as gc_big:
            samples_big, r = await _single(
                engine, _requests("b", symbols, prices, args.seed + 2), args.measure
            )
        rejected += r
        await _settle(engine, ack_ns)
    finally:
        await engine.close()
    assert rejected == 0, f"{rejected} orders were rejected"
    print(f"resting orders: {args.symbols} symbols, durability {args.durability}")
    gb, gg = gc_base.summary(), gc_big.summary()
    print(
        f"  gc: {gb['gc_collections']} / {gg['gc_collections']} collections, longest pause "
        f"{gb['gc_max_pause_ms']} / {gg['gc_max_pause_ms']} ms"
    )
    return {
        "benchmark": "engine_submit_resting",
        **_comparison(args, (base_open, big_open), samples_base, samples_big),
        "base_gc_max_pause_ms": gb["gc_max_pause_ms"],
        "resting_gc_max_pause_ms": gg["gc_max_pause_ms"],
    }


def _comparison(
    args: argparse.Namespace,
    opens: tuple[int, int],
    base_samples: list[int],
    big_samples: list[int],
) -> dict[str, Any]:
    """Print both states' latencies and their P50 ratio; the result fields both modes give."""
    base, big = latency_summary(base_samples), latency_summary(big_samples)
    ratio = big["p50_us"] / base["p50_us"]
    print(format_summary(f"  submit with {opens[0]:>7,} open", base))
    print(format_summary(f"  submit with {opens[1]:>7,} open", big))
    met = ratio <= TARGET_RATIO
    print(f"p50 ratio {ratio:.3f} (target <= {TARGET_RATIO}) {'met' if met else 'MISSED'}")
    return {
        "base_open": opens[0],
        "resting_open": opens[1],
        "base_p50_us": base["p50_us"],
        "base_p99_us": base["p99_us"],
        "resting_p50_us": big["p50_us"],
        "resting_p99_us": big["p99_us"],
        "ratio": round(ratio, 3),
        "measure": args.measure,
        "target_met": met,
        "durability": args.durability,
        "seed": args.seed,
        **environment(),
    }


INTERLEAVE_BLOCK = 250


async def run_resting_interleaved(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    ack_ns = args.ack_latency_us * 1_000
    engines: list[TradingEngine] = []
    rejected = 0
    samples: list[list[int]] = [[], []]
    try:
        for name, target in (("base", args.base), ("big", args.resting)):
            (workdir / name).mkdir()
            total = target + args.measure + args.warmup
            engine, symbols, prices = await _open_engine(args, workdir / name, total)
            engines.append(engine)
            # Warm up as run_resting does, then cancel, so exactly `target` orders rest.
            _, r = await _single(engine, _requests("w", symbols, prices, args.seed), args.warmup)
            rejected += r
            await _settle(engine, ack_ns)
            for order in list(engine.state.account(ACCOUNT).open_orders.values()):
                await engine.cancel(ACCOUNT, order.order_id)
            await _settle(engine, ack_ns)
            fillers = [
                _requests(f"r{c}", symbols, prices, args.seed + 100 + c)
                for c in range(FILL_CALLERS)
            ]
            rejected += await _rest_until(engine, target, fillers, ack_ns)
        opens = [len(e.state.account(ACCOUNT).open_orders) for e in engines]
        reqs = [_requests(p, symbols, prices, args.seed + 1 + i) for i, p in enumerate("ab")]
        gc.collect()
        with GcPauses() as gc_pauses:
            done = 0
            while done < args.measure:
                n = min(INTERLEAVE_BLOCK, args.measure - done)
                for i, engine in enumerate(engines):
                    block, r = await _single(engine, reqs[i], n)
                    samples[i].extend(block)
                    rejected += r
                    await _settle(engine, ack_ns)
                done += n
    finally:
        for engine in engines:
            await engine.close()
    assert rejected == 0, f"{rejected} orders were rejected"
    print(
        f"resting orders, interleaved blocks of {INTERLEAVE_BLOCK}: {args.symbols} symbols, "
        f"durability {args.durability}"
    )
    g = gc_pauses.summary()
    print(f"  gc: {g['gc_collections']} collections, longest pause {g['gc_max_pause_ms']} ms")
    return {
        "benchmark": "engine_submit_resting_interleaved",
        **_comparison(args, (opens[0], opens[1]), samples[0], samples[1]),
        "block": INTERLEAVE_BLOCK,
        "gc_max_pause_ms": g["gc_max_pause_ms"],
    }


async def run_snapshot(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    total = args.resting + args.callers * args.measure
    engine, symbols, prices = await _open_engine(args, workdir, total)
    ack_ns = args.ack_latency_us * 1_000
    fillers = [_requests(f"r{c}", symbols, prices, args.seed + 100 + c) for c in range(64)]
    rejected = await _rest_until(engine, args.resting, fillers, ack_ns)
    open_before = len(engine.state.account(ACCOUNT).open_orders)
    snapshots_before = _snapshot_count(engine)
    clock_ns = time.perf_counter_ns
    # Arrays, not lists: 64 x 5,000 samples in lists would be 320,000 more references
    # for every full GC collection to walk, a cost of the harness, not of the engine.
    samples = array.array("q")
    rejections = [0]

    async def caller(reqs: Iterator[OrderRequest]) -> None:
        own = array.array("q", bytes(8 * args.measure))
        for i in range(args.measure):
            req = next(reqs)
            t0 = clock_ns()
            result = await engine.submit(ACCOUNT, req)
            own[i] = clock_ns() - t0
            rejections[0] += result.rejection is not None
        samples.extend(own)

    try:
        gc.collect()
        # The engine's own trigger, from here on (its config is a frozen value).
        engine.config = dataclasses.replace(engine.config, snapshot_every=args.snapshot_every)
        engine._snapshot_seq = engine.journal.last_seq
        with LoopLagProbe() as probe, GcPauses() as gc_pauses:
            start = clock_ns()
            async with asyncio.TaskGroup() as group:
                for c in range(args.callers):
                    group.create_task(caller(_requests(f"s{c}", symbols, prices, args.seed + c)))
            wall = (clock_ns() - start) / 1e9
        await _settle(engine, ack_ns)
        await engine.journal.flush()
        snapshots = _snapshot_count(engine) - snapshots_before
        wal_bytes = _wal_bytes(engine)
    finally:
        await engine.close()
    rejected += rejections[0]
    assert rejected == 0, f"{rejected} orders were rejected"
    summary = latency_summary(samples)
    g = gc_pauses.summary()
    met = summary["p999_us"] < TARGET_SNAPSHOT_P999_US and snapshots > 0
    print(
        f"snapshots: {open_before:,} open orders, {args.callers} callers x {args.measure}, "
        f"snapshot every {args.snapshot_every:,} events: {snapshots} snapshots in {wall:.2f} s"
    )
    print(format_summary("  submit during snapshots", summary))
    print(
        f"  longest loop stall {probe.max_lag_ns / 1e6:.2f} ms; gc longest pause "
        f"{g['gc_max_pause_ms']} ms; WAL file {wal_bytes / 2**20:.1f} MiB at the end"
    )
    print(
        f"p99.9 {summary['p999_us']:.0f} us (target < {TARGET_SNAPSHOT_P999_US:.0f} us) "
        f"{'met' if met else 'MISSED'}"
    )
    return {
        "benchmark": "engine_submit_snapshot",
        "open_orders": open_before,
        "snapshots": snapshots,
        "snapshot_every": args.snapshot_every,
        "p50_us": summary["p50_us"],
        "p99_us": summary["p99_us"],
        "p999_us": summary["p999_us"],
        "max_us": summary["max_us"],
        "max_loop_stall_ms": round(probe.max_lag_ns / 1e6, 3),
        "gc_max_pause_ms": g["gc_max_pause_ms"],
        "wal_bytes": wal_bytes,
        "callers": args.callers,
        "measure": args.measure,
        "target_met": met,
        "durability": args.durability,
        "seed": args.seed,
        **environment(),
    }


def _snapshot_count(engine: TradingEngine) -> int:
    return engine.snapshots_taken


def _wal_bytes(engine: TradingEngine) -> int:
    """The size of the journal's WAL file. SQLite reuses the file after a restart instead of
    shrinking it (only the first commit after a restart truncates it, to journal_size_limit),
    so this is about the most the WAL held: unbounded, it grew with the run."""
    return Path(f"{engine.journal.path}-wal").stat().st_size
