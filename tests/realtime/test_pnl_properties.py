"""P&L invariants over arbitrary trading, through the real engine and venue.

For any sequence of orders and prices:
- each position equals the signed sum of its fills;
- realized + unrealized P&L equals the mark-to-market change in equity
  (cash paid and received for fills, less the fees the venue charged, plus
  positions valued at the marks).
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from realtime.domain import Side
from realtime.pnl import apply_fill
from realtime.venue import FeeSchedule
from tests.realtime.harness import limit, market, open_engine

FEES = FeeSchedule(taker_bps=0.5, maker_per_share=0.001, min_per_fill=0.01)

SYMBOLS = ["AAPL", "MSFT"]

price_moves = st.tuples(st.just("quote"), st.sampled_from(SYMBOLS), st.integers(-300, 300))
orders = st.tuples(
    st.sampled_from(["market", "limit"]),
    st.sampled_from(SYMBOLS),
    st.sampled_from([Side.BUY, Side.SELL]),
    st.integers(1, 400),
    st.integers(-100, 100),  # limit offset from mid, in ticks
)
actions = st.lists(st.one_of(price_moves, orders), min_size=1, max_size=40)


async def play(path: Path, script: list[tuple[object, ...]]) -> int:
    """Play the script, check the invariants, and answer how many fills it produced."""
    async with open_engine(path, fees=FEES) as h:
        mids = {"AAPL": 10_000, "MSFT": 20_000}  # in ticks of 0.01
        for symbol, mid in mids.items():
            h.quote(symbol, (mid - 1) / 100, (mid + 1) / 100, size=250)
        for n, action in enumerate(script):
            if action[0] == "quote":
                _, symbol, move = action
                mids[symbol] = max(1_000, mids[symbol] + move)  # type: ignore[index,operator]
                mid = mids[symbol]  # type: ignore[index]
                h.quote(symbol, (mid - 1) / 100, (mid + 1) / 100, size=250)  # type: ignore[arg-type]
            else:
                kind, symbol, side, quantity, offset = action
                if kind == "market":
                    req = market(f"c{n}", side, quantity, symbol=symbol)  # type: ignore[arg-type]
                else:
                    price = (mids[symbol] + offset) / 100  # type: ignore[index,operator]
                    req = limit(f"c{n}", side, quantity, price, symbol=symbol)  # type: ignore[arg-type]
                await h.submit(req)
            await h.settle()

        state = h.engine.state
        book = state.accounts.get("alice")
        submitted = any(action[0] != "quote" for action in script)
        # Any submitted order, even a rejected one, gives the account a book.
        assert (book is not None) == submitted
        if book is None:
            assert state.orders == {} and state.fill_count == 0
            return 0
        cash = -sum(f.fee for f in book.fills)
        for symbol in SYMBOLS:
            fills = [f for f in book.fills if f.symbol == symbol]
            signed = sum(f.side.sign * f.quantity for f in fills)
            symbol_book = book.symbols.get(symbol)
            held = symbol_book.position.quantity if symbol_book else 0
            assert held == signed
            cash -= sum(f.side.sign * f.quantity * f.price for f in fills)
        marked = sum(
            sb.position.quantity * state.marks[symbol]
            for symbol, sb in book.symbols.items()
            if sb.position.quantity
        )
        equity_change = cash + marked
        total_pnl = book.realized_pnl + book.unrealized_pnl
        assert total_pnl == pytest.approx(equity_change, abs=1e-6 * (1 + abs(equity_change)))
        return len(book.fills)


def test_pnl_when_any_orders_and_prices_then_positions_and_equity_reconcile() -> None:
    # The invariants hold vacuously for a script without fills, so the test also
    # asserts that enough of the examples traded.
    fills_per_example: list[int] = []

    @settings(
        max_examples=60,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(actions)
    def reconcile(script: list[tuple[object, ...]]) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            fills = asyncio.run(play(Path(tmp) / "j.db", script))
        event("filled" if fills else "no fill")
        fills_per_example.append(fills)

    reconcile()
    traded = sum(1 for fills in fills_per_example if fills)
    assert traded >= len(fills_per_example) // 4, (traded, len(fills_per_example))


@given(
    st.lists(st.tuples(st.integers(-500, 500).filter(bool), st.integers(1, 10_000)), max_size=30)
)
@settings(derandomize=True)
def test_apply_fill_when_any_fills_then_realized_plus_unrealized_equals_cash_plus_value(
    fills: list[tuple[int, int]],
) -> None:
    quantity, cost, realized, cash = 0, 0.0, 0.0, 0.0
    for signed, price_ticks in fills:
        price = price_ticks / 100
        quantity, cost, gained = apply_fill(quantity, cost, signed, price)
        realized += gained
        cash -= signed * price
    mark = 42.0
    assert realized + (mark - cost) * quantity == pytest.approx(
        cash + quantity * mark, abs=1e-6 * (1 + abs(cash))
    )
