"""Submit-to-acknowledgement latency and throughput of the whole engine.

    python -m bench.engine_submit [--single 20000] [--callers 64] [--per-caller 500]

One real `TradingEngine` on a uvloop event loop: a `Journal` file in a temp
directory in the default durability (`Durability.PROCESS`), the
`SimulatedVenue` on the `SystemClock`, `EngineConfig(auto_pump=True)` so the
venue's acknowledgements arrive from loop timers and are journaled as well,
exactly as in production. `engine.submit` returns once the `OrderAccepted`
event has committed (group commit, on the loop thread in PROCESS durability) and the
order has been handed to the venue, so one sample covers pre-trade risk, the
OMS state change, the journal commit round trip and the venue queue.

Orders are limit orders resting 1-4 % away from the market across all
symbols, so the venue acknowledges but does not fill them. Rate, position and
exposure limits are raised and the venue queue is sized so that nothing is
rejected; the run asserts zero rejections.

Phases: (a) one caller awaiting `submit` sequentially; (b) `--callers` asyncio
tasks, each submitting `--per-caller` orders in a loop; throughput is total
orders / wall time of phase (b). `commits` is the number of journal
transactions during phase (b): events / commits is the group-commit factor.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib.metadata
import itertools
import random
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import uvloop

from bench._stats import (
    GcPauses,
    base_price,
    emit,
    environment,
    format_summary,
    latency_summary,
    roomy_limits,
    universe,
)
from realtime.clock import SystemClock
from realtime.domain import OrderRequest, OrderType, Quote, Side, TimeInForce
from realtime.engine import EngineConfig, TradingEngine
from realtime.journal import Durability, Journal
from realtime.venue import SimulatedVenue, SimulatedVenueConfig

UVLOOP_VERSION = importlib.metadata.version("uvloop")
ACCOUNT = "bench"
TARGET_SINGLE_P50_US = 200.0
TARGET_ORDERS_PER_S = 20_000.0


def _requests(
    prefix: str, symbols: list[str], prices: dict[str, float], seed: int
) -> Iterator[OrderRequest]:
    """Endless valid resting limit orders (GTC, so no session end expires them)."""
    rng = random.Random(seed)
    for i in itertools.count():
        symbol = symbols[i % len(symbols)]
        mid = prices[symbol]
        side = Side.BUY if rng.random() < 0.5 else Side.SELL
        away = mid * rng.uniform(0.01, 0.04)
        price = round(mid - away if side is Side.BUY else mid + away, 2)
        yield OrderRequest(
            client_order_id=f"{prefix}-{i}",
            symbol=symbol,
            side=side,
            quantity=rng.randrange(1, 10) * 10,
            order_type=OrderType.LIMIT,
            limit_price=price,
            time_in_force=TimeInForce.GTC,
        )


async def _settle(engine: TradingEngine, ack_latency_ns: int) -> None:
    """Let the venue acknowledge everything sent so far and commit those events."""
    await asyncio.sleep(ack_latency_ns / 1e9 * 2 + 0.01)
    await engine.journal.flush()


async def _run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    instruments = universe(args.symbols)
    symbols = list(instruments)
    prices = {s: base_price(i) for i, s in enumerate(symbols)}
    total_orders = args.warmup + args.single + args.callers * args.per_caller
    venue = SimulatedVenue(
        instruments,
        SimulatedVenueConfig(
            ack_latency_ns=args.ack_latency_us * 1_000, queue_capacity=total_orders + 1_000
        ),
    )
    journal = Journal.open(workdir / "journal.db", durability=Durability(args.durability))
    clock = SystemClock()
    engine = await TradingEngine.open(
        journal, instruments, roomy_limits(), venue, clock, EngineConfig(auto_pump=True)
    )
    rejected = 0
    try:
        now = clock.now_ns()
        for s in symbols:
            p = prices[s]
            engine.on_quote(
                Quote(symbol=s, bid=p - 0.01, ask=p + 0.01, bid_size=500, ask_size=500, ts_ns=now)
            )
        await engine.journal.flush()

        # Warm-up (also brings the writer thread and SQLite page cache up).
        warm = _requests("w", symbols, prices, args.seed)
        for req in itertools.islice(warm, args.warmup):
            result = await engine.submit(ACCOUNT, req)
            rejected += result.rejection is not None
        await _settle(engine, args.ack_latency_us * 1_000)

        # (a) a single caller.
        gc.collect()
        # Requests are made lazily (outside the timed call): a pre-built list would
        # add tens of thousands of live objects to every garbage collection.
        single = _requests("a", symbols, prices, args.seed + 1)
        clock_ns = time.perf_counter_ns
        samples_a = [0] * args.single
        commits_before = engine.journal.commits
        with GcPauses() as gc_a:
            start_a = clock_ns()
            for i in range(args.single):
                req = next(single)
                t0 = clock_ns()
                result = await engine.submit(ACCOUNT, req)
                samples_a[i] = clock_ns() - t0
                rejected += result.rejection is not None
            wall_a = (clock_ns() - start_a) / 1e9
        commits_a = engine.journal.commits - commits_before
        await _settle(engine, args.ack_latency_us * 1_000)

        # (b) concurrent callers.
        gc.collect()
        samples_b: list[int] = []
        rejections_b = [0]

        async def caller(reqs: Iterator[OrderRequest]) -> None:
            own = [0] * args.per_caller
            for i in range(args.per_caller):
                req = next(reqs)
                t0 = clock_ns()
                result = await engine.submit(ACCOUNT, req)
                own[i] = clock_ns() - t0
                rejections_b[0] += result.rejection is not None
            samples_b.extend(own)

        seq_before = engine.journal.last_seq
        commits_before = engine.journal.commits
        with GcPauses() as gc_b:
            start_b = clock_ns()
            async with asyncio.TaskGroup() as group:
                for c in range(args.callers):
                    reqs = _requests(f"b{c}", symbols, prices, args.seed + 2 + c)
                    group.create_task(caller(reqs))
            wall_b = (clock_ns() - start_b) / 1e9
        commits_b = engine.journal.commits - commits_before
        events_b = engine.journal.last_seq - seq_before
        rejected += rejections_b[0]
        await _settle(engine, args.ack_latency_us * 1_000)

        open_orders = len(engine.state.accounts[ACCOUNT].open_orders)
        venue_open = venue.open_order_count
        events_total = engine.journal.last_seq
    finally:
        await engine.close()

    concurrent_orders = args.callers * args.per_caller
    assert rejected == 0, f"{rejected} orders were rejected"
    assert venue_open == open_orders == total_orders, (venue_open, open_orders, total_orders)
    summary_a = latency_summary(samples_a)
    summary_b = latency_summary(samples_b)
    orders_per_s = concurrent_orders / wall_b
    print(
        f"engine: {args.symbols} symbols, durability {args.durability}, venue ack latency "
        f"{args.ack_latency_us} us, uvloop {UVLOOP_VERSION}"
    )
    print(
        f"(a) single caller, {args.single} sequential submits in {wall_a:.2f} s "
        f"({args.single / wall_a:,.0f} orders/s, {commits_a} commits)"
    )
    print(format_summary("    submit latency", summary_a))
    print(
        f"(b) {args.callers} concurrent callers x {args.per_caller} = {concurrent_orders} orders "
        f"in {wall_b:.2f} s: {orders_per_s:,.0f} orders/s"
    )
    print(format_summary("    submit latency", summary_b))
    print(
        f"    journal: {events_b} events in {commits_b} commits "
        f"({events_b / max(commits_b, 1):.1f} events per group commit)"
    )
    gc_sum_a, gc_sum_b = gc_a.summary(), gc_b.summary()
    for label, g in (("(a)", gc_sum_a), ("(b)", gc_sum_b)):
        print(
            f"    gc during {label}: {g['gc_collections']} collections "
            f"({g['gc_gen2_collections']} full), longest pause {g['gc_max_pause_ms']} ms, "
            f"{g['gc_total_pause_ms']} ms in total"
        )
    print(f"all {total_orders} orders accepted and resting at the venue; {events_total} events")
    met_a = summary_a["p50_us"] <= TARGET_SINGLE_P50_US
    met_b = orders_per_s >= TARGET_ORDERS_PER_S
    print(
        f"targets: single p50 <= {TARGET_SINGLE_P50_US:.0f} us {'met' if met_a else 'MISSED'}; "
        f"concurrent >= {TARGET_ORDERS_PER_S:,.0f} orders/s {'met' if met_b else 'MISSED'}"
    )
    return {
        "benchmark": "engine_submit",
        "p50_us": summary_a["p50_us"],
        "p99_us": summary_a["p99_us"],
        "p999_us": summary_a["p999_us"],
        "single_orders_per_s": round(args.single / wall_a),
        "orders_per_s": round(orders_per_s),
        "concurrent_p50_us": summary_b["p50_us"],
        "concurrent_p99_us": summary_b["p99_us"],
        "concurrent_p999_us": summary_b["p999_us"],
        "commits": commits_b,
        "concurrent_events": events_b,
        "events_per_commit": round(events_b / max(commits_b, 1), 2),
        "single": args.single,
        "callers": args.callers,
        "per_caller": args.per_caller,
        "rejected": rejected,
        "durability": args.durability,
        "ack_latency_us": args.ack_latency_us,
        "symbols": args.symbols,
        "single_gc_max_pause_ms": gc_sum_a["gc_max_pause_ms"],
        "concurrent_gc_max_pause_ms": gc_sum_b["gc_max_pause_ms"],
        "concurrent_gc_gen2_collections": gc_sum_b["gc_gen2_collections"],
        "target_met": met_a and met_b,
        "seed": args.seed,
        "uvloop": UVLOOP_VERSION,
        **environment(),
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.engine_submit", description=__doc__)
    parser.add_argument("--single", type=int, default=20_000, help="sequential submits")
    parser.add_argument("--callers", type=int, default=64, help="concurrent callers")
    parser.add_argument("--per-caller", type=int, default=500, help="submits per caller")
    parser.add_argument("--warmup", type=int, default=2_000)
    parser.add_argument("--symbols", type=int, default=50)
    parser.add_argument("--ack-latency-us", type=int, default=200, help="simulated venue")
    parser.add_argument(
        "--durability", choices=[d.value for d in Durability], default=Durability.PROCESS.value
    )
    parser.add_argument("--seed", type=int, default=11)
    # The modes that grow the state live in bench/engine_resting.py.
    parser.add_argument(
        "--resting", type=int, default=None, help="open orders: P50 at --base vs at this many"
    )
    parser.add_argument("--base", type=int, default=1_000, help="--resting: the small state")
    parser.add_argument("--measure", type=int, default=5_000, help="--resting/--snapshot: submits")
    parser.add_argument(
        "--snapshot", action="store_true", help="submit P99.9 during snapshots (--resting 200000)"
    )
    parser.add_argument("--snapshot-every", type=int, default=20_000, help="--snapshot: events")
    parser.add_argument(
        "--interleaved",
        action="store_true",
        help="--resting: two engines (--base and --resting open orders), timed in alternating"
        " blocks, so that machine load drifting between the two phases cancels out",
    )
    args = parser.parse_args(argv)
    if args.snapshot and args.resting is None:
        args.resting = 200_000
    if min(args.single, args.callers, args.per_caller, args.symbols) < 1 or args.warmup < 0:
        parser.error("sizes must be >= 1 (--warmup >= 0)")
    return args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    from bench import engine_resting  # it imports this module's request generator

    args = parse_args(argv)
    with (
        tempfile.TemporaryDirectory(prefix="bench-submit-") as tmp,
        asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner,
    ):
        if args.snapshot:
            result = runner.run(engine_resting.run_snapshot(args, Path(tmp)))
        elif args.resting is not None and args.interleaved:
            result = runner.run(engine_resting.run_resting_interleaved(args, Path(tmp)))
        elif args.resting is not None:
            result = runner.run(engine_resting.run_resting(args, Path(tmp)))
        else:
            result = runner.run(_run(args, Path(tmp)))
    return emit(result)


if __name__ == "__main__":
    main()
