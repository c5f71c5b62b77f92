"""Latency of one pre-trade risk check against a realistic engine state.

    python -m bench.risk_check [--iterations 200000] [--symbols 50] [--open-orders 200]

Builds a real engine (journal in a temp directory, simulated venue with zero
ack latency, system clock) and drives it to a realistic state through its
public commands: quotes for every symbol, marketable orders that leave
positions in some symbols, then resting limit orders that stay open. It then
times, call by call with `perf_counter_ns`:

* `engine.check(account, request)`: what a pre-trade check costs the engine,
  i.e. the idempotency lookup, building the `RiskContext` from the indexed
  state (limits, token bucket, account and symbol aggregates, quote cache,
  restricted lists) and `evaluate`;
* bare `realtime.risk.evaluate(request, context)` on a context the engine built.

`--volatility-scaling` scales every symbol's price collar and per-order notional limit
(what online features do, issue 9) before timing; its P50 should stay within 10 % of
a run without it.

The requests are valid (every check passes) and rotate over all symbols. Each
sample includes one `perf_counter_ns` pair (reported as `timer_overhead_ns`).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._stats import (
    base_price,
    emit,
    environment,
    format_summary,
    latency_summary,
    timer_overhead_ns,
    universe,
)
from realtime.clock import SystemClock
from realtime.domain import OrderRequest, OrderType, Quote, Side, TimeInForce
from realtime.engine import EngineConfig, TradingEngine
from realtime.events import FeatureScale
from realtime.journal import Journal
from realtime.limits import SCALED, RiskLimits, parse_limits
from realtime.risk import evaluate
from realtime.venue import FixedBpsSlippage, SimulatedVenue, SimulatedVenueConfig

ACCOUNT = "bench"
TARGET_P50_US = 2.5  # issue 8: including building the risk context
TARGET_P99_US = 25.0


def realistic_limits(open_orders: int = 200) -> RiskLimits:
    """Shaped like config/limits.toml: a default, per-account overrides, restricted lists.

    Exposure and cash grow with the number of open orders so that a run at scale
    (`--open-orders 50000`) is not rejected while it builds its state."""
    scale = max(1.0, open_orders / 200)
    default: dict[str, Any] = {
        "max_order_quantity": 10_000,
        "max_order_notional": 1_000_000.0,
        "max_position": 50_000,
        "max_gross_exposure": 20_000_000.0 * scale,
        "starting_cash": 5_000_000.0 * scale,
        "max_leverage": 4.0,
        "max_orders_per_second": 200.0 * scale,
        "order_burst": int(1_000 * scale),
        "price_collar_pct": 5.0,
        "restricted_symbols": [],
    }
    return parse_limits(
        {
            "restricted_symbols": ["ZZZ1", "ZZZ2"],
            "default": default,
            "accounts": {
                ACCOUNT: {"max_position": 40_000, "restricted_symbols": ["ZZZ3"]},
                "other": {"max_order_notional": 250_000.0},
            },
        }
    )


def _limit(cid: str, symbol: str, side: Side, quantity: int, price: float) -> OrderRequest:
    return OrderRequest(
        client_order_id=cid,
        symbol=symbol,
        side=side,
        quantity=quantity,
        order_type=OrderType.LIMIT,
        limit_price=round(price, 2),
        time_in_force=TimeInForce.DAY,
    )


async def _build_state(
    engine: TradingEngine,
    symbols: list[str],
    prices: dict[str, float],
    n_open: int,
    n_positions: int,
    rng: random.Random,
) -> None:
    now = engine.clock.now_ns()
    for symbol in symbols:
        p = prices[symbol]
        engine.on_quote(
            Quote(
                symbol=symbol, bid=p - 0.01, ask=p + 0.01, bid_size=5_000, ask_size=5_000, ts_ns=now
            )
        )
    # Positions: marketable orders that fill at once against the quote (long and short).
    for i, symbol in enumerate(symbols[:n_positions]):
        side = Side.BUY if i % 3 else Side.SELL
        p = prices[symbol]
        price = p + 0.05 if side is Side.BUY else p - 0.05
        result = await engine.submit(
            ACCOUNT, _limit(f"pos-{i}", symbol, side, rng.randrange(100, 400), price)
        )
        assert result.rejection is None, result.rejection
    engine.pump()
    # Open orders: resting 0.5-3 % away from the market, spread over all symbols.
    for i in range(n_open):
        symbol = symbols[i % len(symbols)]
        side = Side.BUY if rng.random() < 0.5 else Side.SELL
        away = prices[symbol] * rng.uniform(0.005, 0.03)
        price = prices[symbol] - away if side is Side.BUY else prices[symbol] + away
        result = await engine.submit(
            ACCOUNT, _limit(f"open-{i}", symbol, side, rng.randrange(10, 60), price)
        )
        assert result.rejection is None, result.rejection
        if i % 1_000 == 999:
            engine.pump()  # the venue acks what is queued, so large states fit its queue
    # Another account's activity, so the state is not a single-account toy.
    for i in range(20):
        symbol = symbols[i % len(symbols)]
        result = await engine.submit(
            "other", _limit(f"other-{i}", symbol, Side.BUY, 10, prices[symbol] * 0.98)
        )
        assert result.rejection is None, result.rejection
    engine.pump()
    await engine.journal.flush()


def _time_calls(fn: Any, args_list: list[tuple[Any, ...]], iterations: int) -> list[int]:
    clock = time.perf_counter_ns
    samples = [0] * iterations
    k = len(args_list)
    for i in range(iterations):
        args = args_list[i % k]
        start = clock()
        fn(*args)
        samples[i] = clock() - start
    return samples


def _throughput(fn: Any, args_list: list[tuple[Any, ...]], iterations: int) -> float:
    k = len(args_list)
    start = time.perf_counter_ns()
    for i in range(iterations):
        fn(*args_list[i % k])
    elapsed = time.perf_counter_ns() - start
    return iterations / (elapsed / 1e9)


async def _run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    rng = random.Random(args.seed)
    instruments = universe(args.symbols)
    symbols = list(instruments)
    prices = {s: base_price(i) for i, s in enumerate(symbols)}
    venue = SimulatedVenue(
        instruments,
        SimulatedVenueConfig(ack_latency_ns=0, slippage=FixedBpsSlippage(bps=0.0)),
    )
    journal = Journal.open(workdir / "journal.db")
    engine = await TradingEngine.open(
        journal,
        instruments,
        realistic_limits(args.open_orders),
        venue,
        SystemClock(),
        EngineConfig(auto_pump=False, price_sample_interval_ns=0),
    )
    try:
        n_positions = min(args.positions, len(symbols))
        await _build_state(engine, symbols, prices, args.open_orders, n_positions, rng)
        book = engine.state.accounts[ACCOUNT]
        positions = sum(1 for sb in book.symbols.values() if sb.position.quantity)
        print(
            f"state: {len(symbols)} symbols quoted, {len(book.open_orders)} open orders and "
            f"{positions} positions for {ACCOUNT!r}, {len(engine.state.orders)} orders in total, "
            f"{engine.journal.last_seq} journal events"
        )
        assert len(book.open_orders) == args.open_orders, "some open orders filled"
        if args.volatility_scaling:
            # Every symbol's limits scaled (issue 9), through the engine's own journaled
            # command, as the online-features refresh applies them.
            scale = FeatureScale(collar_scale=1.5, notional_scale=0.8, reason=SCALED)
            changed = await engine.set_feature_scales({s: scale for s in symbols}, source="bench")
            assert changed == len(symbols)

        # One valid request per symbol: a buy at the bid, which passes every check.
        requests = [
            _limit(f"chk-{i}", s, Side.BUY, 100, prices[s] - 0.01) for i, s in enumerate(symbols)
        ]
        for req in requests:
            rejection = engine.check(ACCOUNT, req)
            assert rejection is None, rejection
        now = engine.clock.now_ns()
        # The context exactly as submit builds it (without consuming a throttle token).
        contexts = [engine._context(ACCOUNT, req, now, consume=False) for req in requests]
        for req, ctx in zip(requests, contexts, strict=True):
            assert evaluate(req, ctx) is None

        check_args = [(ACCOUNT, req) for req in requests]
        eval_args = list(zip(requests, contexts, strict=True))
        overhead = timer_overhead_ns()
        gc.collect()
        _time_calls(engine.check, check_args, args.warmup)
        check_samples = _time_calls(engine.check, check_args, args.iterations)
        _time_calls(evaluate, eval_args, args.warmup)
        eval_samples = _time_calls(evaluate, eval_args, args.iterations)
        checks_per_s = _throughput(engine.check, check_args, args.iterations)
        evals_per_s = _throughput(evaluate, eval_args, args.iterations)
    finally:
        await engine.close()

    check_summary = latency_summary(check_samples)
    eval_summary = latency_summary(eval_samples)
    print(f"timer overhead (one perf_counter_ns pair): {overhead} ns, included in every sample")
    print(format_summary(f"engine.check  x{args.iterations}", check_summary))
    print(format_summary(f"evaluate      x{args.iterations}", eval_summary))
    print(f"throughput: {checks_per_s:,.0f} engine.check/s, {evals_per_s:,.0f} evaluate/s")
    met = check_summary["p50_us"] <= TARGET_P50_US and check_summary["p99_us"] <= TARGET_P99_US
    print(
        f"target p50 <= {TARGET_P50_US} us, p99 <= {TARGET_P99_US} us: {'met' if met else 'MISSED'}"
    )
    return {
        "benchmark": "risk_check",
        "p50_us": check_summary["p50_us"],
        "p99_us": check_summary["p99_us"],
        "p999_us": check_summary["p999_us"],
        "mean_us": check_summary["mean_us"],
        "evaluate_p50_us": eval_summary["p50_us"],
        "evaluate_p99_us": eval_summary["p99_us"],
        "checks_per_s": round(checks_per_s),
        "evaluate_per_s": round(evals_per_s),
        "iterations": args.iterations,
        "symbols": args.symbols,
        "open_orders": args.open_orders,
        "positions": n_positions,
        "timer_overhead_ns": overhead,
        "target_met": met,
        "volatility_scaling": args.volatility_scaling,
        "seed": args.seed,
        **environment(),
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.risk_check", description=__doc__)
    parser.add_argument("--iterations", type=int, default=200_000)
    parser.add_argument("--warmup", type=int, default=20_000)
    parser.add_argument("--symbols", type=int, default=50)
    parser.add_argument("--open-orders", type=int, default=200)
    parser.add_argument("--positions", type=int, default=20, help="symbols with a position")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--volatility-scaling",
        action="store_true",
        help="every symbol's collar and notional limit scaled by online features",
    )
    args = parser.parse_args(argv)
    if args.iterations < 1 or args.symbols < 1 or args.warmup < 0:
        parser.error("--iterations and --symbols must be >= 1, --warmup >= 0")
    return args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-risk-") as tmp:
        result = asyncio.run(_run(args, Path(tmp)))
    return emit(result)


if __name__ == "__main__":
    main()
