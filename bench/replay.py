"""Start-up replay: rebuilding the engine state from a journal.

    python -m bench.replay [--events 1000000] [--snapshot-tail 10000]

Builds a journal of `--events` events in a temp directory with
`Journal.append_many_sync`, shaped like a trading day: a limits event, then
orders that are accepted, acknowledged, partly or completely filled, replaced,
cancelled (request then confirmation) or left open, a few pre-trade
rejections, sampled quotes (PriceSampled), the tape (TradePrinted) and a few
kill-switch changes (TradingStateChanged). Every order follows a legal
lifecycle, so `EngineState.apply` accepts the whole journal (the replay itself
is the check).

Then, each time from a freshly opened journal:

* `rebuild_state(journal, instruments, limits)` with no snapshot: every event
  is read, checksum-verified, decoded and applied (`seconds`);
* the same with a snapshot `--snapshot-tail` events before the end, written
  with `journal.write_snapshot` (the path the engine uses) from the state
  rebuilt up to that seq (`snapshot_seconds`).

Both rebuilt states are compared. The OS page cache is warm (the file was just
written), so this measures CPU cost, not a cold disk read.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import math
import random
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from bench._stats import T0_NS, base_price, emit, environment, roomy_limits, universe
from realtime import events as ev
from realtime.domain import Instrument, OrderRequest, OrderType, Side, TimeInForce, TradingState
from realtime.engine import rebuild_state
from realtime.journal import Journal
from realtime.limits import RiskLimits
from realtime.snapshot_format import encode_snapshot
from realtime.state import EngineState

TARGET_SECONDS = 10.0
TARGET_EVENTS = 1_000_000

T = TypeVar("T")


class _Bag(Generic[T]):
    """A set with O(1) add, remove and uniform random choice."""

    def __init__(self) -> None:
        self._items: list[T] = []
        self._index: dict[int, int] = {}

    def __len__(self) -> int:
        return len(self._items)

    def add(self, item: T) -> None:
        self._index[id(item)] = len(self._items)
        self._items.append(item)

    def remove(self, item: T) -> None:
        i = self._index.pop(id(item))
        last = self._items.pop()
        if last is not item:
            self._items[i] = last
            self._index[id(last)] = i

    def choice(self, rng: random.Random) -> T:
        return self._items[rng.randrange(len(self._items))]


@dataclass(eq=False)
class _Live:
    order_id: str
    account: str
    symbol: str
    side: Side
    quantity: int
    filled: int
    price: float


class DayGenerator:
    """Legal event sequences for many interleaved orders, plus market data."""

    # Relative weights of what happens next (one event each; cancels are two steps).
    WEIGHTS: dict[str, float] = {
        "new": 15.0,
        "ack": 15.0,
        "fill": 11.0,
        "cancel_request": 6.0,
        "cancel_confirm": 6.0,
        "replace": 1.0,
        "reject": 0.5,
        "price": 26.0,
        "trade": 19.5,
        "trading_state": 0.005,
    }
    MAX_LIVE = 3_000

    def __init__(
        self,
        instruments: dict[str, Instrument],
        limits: RiskLimits,
        accounts: int,
        seed: int,
    ) -> None:
        self.rng = random.Random(seed)
        self.limits = limits
        self.symbols = list(instruments)
        self.accounts = [f"acct{i:02d}" for i in range(accounts)]
        self.mids = {s: base_price(i) for i, s in enumerate(self.symbols)}
        self.pending: _Bag[_Live] = _Bag()  # accepted, not yet acknowledged
        self.working: _Bag[_Live] = _Bag()  # acknowledged, open
        self.canceling: _Bag[_Live] = _Bag()  # cancel requested
        self.replacing: _Bag[_Live] = _Bag()  # replace requested: (order, new qty, price)
        self.replace_terms: dict[str, tuple[int, float]] = {}
        self.order_count = 0
        self.fill_count = 0
        self.ts = T0_NS
        self.reducing: set[str] = set()
        kinds = list(self.WEIGHTS)
        total = sum(self.WEIGHTS.values())
        acc = 0.0
        self._cumulative: list[tuple[float, str]] = []
        for kind in kinds:
            acc += self.WEIGHTS[kind] / total
            self._cumulative.append((acc, kind))

    def _pick_kind(self) -> str:
        r = self.rng.random()
        for bound, kind in self._cumulative:
            if r < bound:
                return kind
        return self._cumulative[-1][1]

    def events(self, n: int) -> Iterator[ev.Event]:
        yield ev.RiskLimitsChanged(
            ts_ns=self.ts,
            digest=self.limits.digest(),
            source="startup",
            actor="system",
            limits_json=self.limits.to_json().decode(),
        )
        for symbol in self.symbols:
            yield self._price(symbol)
        produced = 1 + len(self.symbols)
        while produced < n:
            self.ts += self.rng.randrange(1_000, 40_000_000)
            event = self._next_event()
            if event is not None:
                produced += 1
                yield event

    def _next_event(self) -> ev.Event | None:
        kind = self._pick_kind()
        live = len(self.pending) + len(self.working) + len(self.canceling) + len(self.replacing)
        if kind == "new":
            if live < self.MAX_LIVE:
                return self._new()
            # At capacity: retire an order instead (confirm a cancel, else request one).
            return self._cancel_confirm() if self.canceling else self._cancel_request()
        if kind == "ack":
            return self._ack() if self.pending else self._new()
        if kind == "fill":
            return self._fill()
        if kind == "cancel_request":
            return self._cancel_request()
        if kind == "cancel_confirm":
            return self._cancel_confirm()
        if kind == "replace":
            return self._replace()
        if kind == "reject":
            return self._reject()
        if kind == "price":
            return self._price(self.rng.choice(self.symbols))
        if kind == "trade":
            return self._trade()
        return self._trading_state()

    # --- orders --------------------------------------------------------------

    def _request(self, cid: str) -> tuple[OrderRequest, float]:
        rng = self.rng
        symbol = rng.choice(self.symbols)
        mid = self.mids[symbol]
        side = Side.BUY if rng.random() < 0.5 else Side.SELL
        offset = mid * rng.uniform(-0.002, 0.01)  # mostly passive, some marketable
        price = round(mid - offset if side is Side.BUY else mid + offset, 2)
        tif = TimeInForce.DAY if rng.random() < 0.8 else TimeInForce.GTC
        req = OrderRequest(
            client_order_id=cid,
            symbol=symbol,
            side=side,
            quantity=rng.randrange(1, 50) * 10,
            order_type=OrderType.LIMIT,
            limit_price=price,
            time_in_force=tif,
        )
        return req, mid

    def _new(self) -> ev.Event:
        self.order_count += 1
        order_id = f"O{self.order_count}"
        account = self.rng.choice(self.accounts)
        req, mid = self._request(f"c{self.order_count}")
        assert req.limit_price is not None
        self.pending.add(
            _Live(order_id, account, req.symbol, req.side, req.quantity, 0, req.limit_price)
        )
        return ev.OrderAccepted(
            ts_ns=self.ts, order_id=order_id, account=account, request=req, reference_price=mid
        )

    def _reject(self) -> ev.Event:
        self.order_count += 1
        req, _ = self._request(f"c{self.order_count}")
        return ev.OrderRejected(
            ts_ns=self.ts,
            order_id=f"O{self.order_count}",
            account=self.rng.choice(self.accounts),
            request=req,
            reason="MAX_ORDER_NOTIONAL",
            detail="notional exceeds the maximum",
        )

    def _ack(self) -> ev.Event:
        order = self.pending.choice(self.rng)
        self.pending.remove(order)
        self.working.add(order)
        return ev.OrderAcknowledged(ts_ns=self.ts, order_id=order.order_id)

    def _fill(self) -> ev.Event | None:
        if not self.working:
            return self._new() if self.pending else None
        order = self.working.choice(self.rng)
        leaves = order.quantity - order.filled
        if self.rng.random() < 0.5:
            quantity = leaves  # completes the order
        else:
            quantity = max(10, (self.rng.randrange(1, leaves + 1) // 10) * 10)
            quantity = min(quantity, leaves)
        order.filled += quantity
        if order.filled == order.quantity:
            self.working.remove(order)
        self.fill_count += 1
        return ev.OrderFilled(
            ts_ns=self.ts,
            order_id=order.order_id,
            fill_id=f"F{self.fill_count}",
            account=order.account,
            symbol=order.symbol,
            side=order.side,
            quantity=quantity,
            price=order.price,
            liquidity="MAKER" if self.rng.random() < 0.7 else "TAKER",
        )

    def _cancel_request(self) -> ev.Event | None:
        if not self.working:
            return None
        order = self.working.choice(self.rng)
        self.working.remove(order)
        self.canceling.add(order)
        return ev.CancelRequested(ts_ns=self.ts, order_id=order.order_id)

    def _cancel_confirm(self) -> ev.Event | None:
        if not self.canceling:
            return self._cancel_request()
        order = self.canceling.choice(self.rng)
        self.canceling.remove(order)
        return ev.OrderCanceled(ts_ns=self.ts, order_id=order.order_id, reason="USER")

    def _replace(self) -> ev.Event | None:
        if self.replacing:  # finish one in flight first
            order = self.replacing.choice(self.rng)
            self.replacing.remove(order)
            quantity, price = self.replace_terms.pop(order.order_id)
            order.quantity, order.price = quantity, price
            self.working.add(order)
            return ev.OrderReplaced(
                ts_ns=self.ts, order_id=order.order_id, quantity=quantity, limit_price=price
            )
        if not self.working:
            return None
        order = self.working.choice(self.rng)
        self.working.remove(order)
        self.replacing.add(order)
        quantity = order.filled + self.rng.randrange(1, 50) * 10
        price = round(order.price * (0.999 if order.side is Side.BUY else 1.001), 2)
        self.replace_terms[order.order_id] = (quantity, price)
        return ev.ReplaceRequested(
            ts_ns=self.ts, order_id=order.order_id, quantity=quantity, limit_price=price
        )

    # --- market and controls ---------------------------------------------------

    def _price(self, symbol: str) -> ev.Event:
        mid = self.mids[symbol]
        mid = max(1.0, round(mid * (1.0 + self.rng.gauss(0.0, 0.0005)), 2))
        self.mids[symbol] = mid
        return ev.PriceSampled(
            ts_ns=self.ts,
            symbol=symbol,
            bid=round(mid - 0.01, 2),
            ask=round(mid + 0.01, 2),
            bid_size=self.rng.randrange(1, 50) * 100,
            ask_size=self.rng.randrange(1, 50) * 100,
        )

    def _trade(self) -> ev.Event:
        symbol = self.rng.choice(self.symbols)
        return ev.TradePrinted(
            ts_ns=self.ts, symbol=symbol, price=self.mids[symbol], size=self.rng.randrange(1, 500)
        )

    def _trading_state(self) -> ev.Event:
        account = self.rng.choice(self.accounts)
        if account in self.reducing:
            self.reducing.discard(account)
            state = TradingState.ACTIVE
        else:
            self.reducing.add(account)
            state = TradingState.REDUCING
        return ev.TradingStateChanged(
            ts_ns=self.ts, account=account, state=state, actor="risk-desk", reason="bench"
        )


def _build(path: Path, generator: DayGenerator, n: int) -> tuple[int, dict[str, int]]:
    counts: dict[str, int] = {}

    def counted() -> Iterator[ev.Event]:
        for event in generator.events(n):
            name = type(event).__name__
            counts[name] = counts.get(name, 0) + 1
            yield event

    with Journal.open(path) as journal:
        last = journal.append_many_sync(counted())
    return last, counts


async def _write_snapshot(path: Path, state: EngineState) -> int:
    journal = Journal.open(path)
    try:
        payload = encode_snapshot(state.snapshot())
        await journal.write_snapshot(state.last_seq, payload)
    finally:
        await journal.aclose()
    return len(payload)


def _state_digest(state: EngineState) -> dict[str, Any]:
    return {
        "last_seq": state.last_seq,
        "orders": state.order_count,
        "fills": state.fill_count,
        "open": sum(len(b.open_orders) for b in state.accounts.values()),
        "positions": sorted(
            (a, s, sb.position.quantity)
            for a, b in state.accounts.items()
            for s, sb in b.symbols.items()
            if sb.position.quantity
        ),
        "realized": {a: b.realized_pnl for a, b in state.accounts.items()},
        "open_notional": {a: b.open_notional for a, b in state.accounts.items()},
        "states": {a: b.trading_state for a, b in state.accounts.items()},
    }


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    for key, value in a.items():
        other = b[key]
        if isinstance(value, dict):
            if value.keys() != other.keys():
                return False
            for k, v in value.items():
                if isinstance(v, float):
                    if not math.isclose(v, other[k], rel_tol=1e-9, abs_tol=1e-6):
                        return False
                elif v != other[k]:
                    return False
        elif value != other:
            return False
    return True


def _timed_rebuild(
    path: Path, instruments: dict[str, Instrument], limits: RiskLimits
) -> tuple[EngineState, float, float]:
    gc.collect()
    start = time.perf_counter()
    journal = Journal.open(path)
    opened = time.perf_counter()
    try:
        state = rebuild_state(journal, instruments, limits)
        done = time.perf_counter()
    finally:
        journal.close()
    return state, opened - start, done - opened


def _run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    instruments = universe(args.symbols)
    limits = roomy_limits()
    path = workdir / "journal.db"
    generator = DayGenerator(instruments, limits, args.accounts, args.seed)

    start = time.perf_counter()
    last_seq, counts = _build(path, generator, args.events)
    build_seconds = time.perf_counter() - start
    size_mb = sum(p.stat().st_size for p in workdir.glob("journal.db*")) / 1e6
    print(
        f"built {last_seq:,} events in {build_seconds:.2f} s "
        f"({last_seq / build_seconds:,.0f} events/s, {size_mb:.0f} MB on disk)"
    )
    print(
        "  mix: "
        + ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1]))
    )

    # (1) no snapshot
    runs: list[float] = []
    state: EngineState | None = None
    open_seconds = 0.0
    for _ in range(args.repeat):
        del state
        state, open_seconds, seconds = _timed_rebuild(path, instruments, limits)
        runs.append(seconds)
    assert state is not None
    seconds = min(runs)
    full = _state_digest(state)
    print(
        f"rebuild without snapshot: {seconds:.2f} s ({last_seq / seconds:,.0f} events/s; "
        f"runs {', '.join(f'{r:.2f}' for r in runs)} s; Journal.open {open_seconds * 1e3:.0f} ms) "
        f"-> {full['orders']:,} orders, {full['fills']:,} fills, {full['open']:,} open"
    )
    del state
    gc.collect()

    # (2) snapshot near the end, written through Journal.write_snapshot.
    tail = min(args.snapshot_tail, last_seq)
    snap_seq = last_seq - tail
    partial = EngineState(instruments, limits)
    with Journal.open(path) as journal:
        apply = partial.apply
        for seq, _ts, event in journal.read(limit=snap_seq):
            apply(event, seq)
    snapshot_bytes = asyncio.run(_write_snapshot(path, partial))
    del partial, apply
    snap_runs: list[float] = []
    snap_state: EngineState | None = None
    for _ in range(args.repeat):
        del snap_state
        snap_state, _, snap_seconds = _timed_rebuild(path, instruments, limits)
        snap_runs.append(snap_seconds)
    assert snap_state is not None
    snapshot_seconds = min(snap_runs)
    consistent = _same(full, _state_digest(snap_state))
    print(
        f"rebuild with a snapshot at seq {snap_seq:,} ({tail:,} events after it, snapshot "
        f"{snapshot_bytes / 1e6:.1f} MB): {snapshot_seconds:.2f} s "
        f"(runs {', '.join(f'{r:.2f}' for r in snap_runs)} s); same state: {consistent}"
    )
    assert consistent, "the snapshot rebuild differs from the full replay"

    target = TARGET_SECONDS * args.events / TARGET_EVENTS
    met = seconds <= target
    print(
        f"target <= {target:.2f} s for {args.events:,} events "
        f"(10 s per million): {'met' if met else 'MISSED'}"
    )
    return {
        "benchmark": "replay",
        "events": last_seq,
        "seconds": round(seconds, 3),
        "events_per_s": round(last_seq / seconds),
        "build_seconds": round(build_seconds, 3),
        "open_seconds": round(open_seconds, 3),
        "snapshot_seconds": round(snapshot_seconds, 3),
        "snapshot_seq": snap_seq,
        "snapshot_tail_events": tail,
        "snapshot_bytes": snapshot_bytes,
        "journal_mb": round(size_mb, 1),
        "orders": full["orders"],
        "fills": full["fills"],
        "open_orders": full["open"],
        "mix": counts,
        "repeat": args.repeat,
        "target_met": met,
        "seed": args.seed,
        **environment(),
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.replay", description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument(
        "--snapshot-tail", type=int, default=10_000, help="events after the snapshot"
    )
    parser.add_argument("--symbols", type=int, default=50)
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=1, help="timed rebuilds; the best counts")
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args(argv)
    if args.events < args.symbols + 2 or args.repeat < 1 or args.snapshot_tail < 0:
        parser.error("--events must exceed --symbols + 1; --repeat >= 1; --snapshot-tail >= 0")
    return args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-replay-") as tmp:
        result = _run(args, Path(tmp))
    return emit(result)


if __name__ == "__main__":
    main()
