"""Read models over the engine's state: what the API's GET routes and streams answer.

Pure functions of `EngineState` (no I/O, no HTTP), so the routes stay a line or two
and a new view is tested without a server. The view types are declared here and
published as OpenAPI schemas by `realtime.api.schemas`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import msgspec

from realtime import events as ev
from realtime.domain import Fill, Order, OrderStatus, TradingState
from realtime.limits import AccountLimits
from realtime.pnl import market_value, unrealized
from realtime.presentation import Precision, round_money
from realtime.state import EngineState
from realtime.views import InstrumentView, instrument_view

if TYPE_CHECKING:
    from realtime.online_features import FeatureRefresher


def order_page(
    state: EngineState,
    account: str,
    *,
    status: OrderStatus | None = None,
    symbol: str | None = None,
    limit: int = 100,
    cursor: int = 0,
) -> tuple[list[Order], int | None]:
    """The account's orders, oldest first, optionally of one status and symbol."""
    book = state.accounts.get(account)
    if book is None:
        return [], None
    return book.orders.page(
        cursor,
        limit,
        lambda o: (status is None or o.status is status) and (symbol is None or o.symbol == symbol),
    )


def fill_page(
    state: EngineState,
    account: str,
    *,
    symbol: str | None = None,
    limit: int = 100,
    cursor: int = 0,
) -> tuple[list[Fill], int | None]:
    """The account's fills, oldest first, optionally of one symbol."""
    book = state.accounts.get(account)
    if book is None:
        return [], None
    return book.fills.page(cursor, limit, lambda f: symbol is None or f.symbol == symbol)


class PositionView(msgspec.Struct):
    """One position; `realized_pnl` is net of the fills' fees. `average_cost` and `mark`
    are prices (the instrument's precision), the rest money in cents: `market_value` and
    the P&L count the contract multiplier (quantity x price x multiplier)."""

    symbol: str
    quantity: int
    average_cost: float
    realized_pnl: float
    mark: float | None
    unrealized_pnl: float
    market_value: float


class PnlView(msgspec.Struct):
    """An account's P&L; `realized_pnl` (and so `total_pnl` and `equity`) is net of fees.
    Money in cents; exposure and notional count each instrument's contract multiplier."""

    account: str
    realized_pnl: float
    unrealized_pnl: float
    total_pnl: float
    equity: float
    gross_exposure: float
    open_notional: float
    positions: list[PositionView]


class TradingStateView(msgspec.Struct):
    global_state: TradingState
    accounts: dict[str, TradingState]


def positions(state: EngineState, account: str, precision: Precision) -> list[PositionView]:
    """Open (or P&L-carrying) positions, by symbol, marked to the latest sampled mid."""
    book = state.accounts.get(account)
    if book is None:
        return []
    views = []
    for symbol, symbol_book in sorted(book.symbols.items()):
        position = symbol_book.position
        if not position.quantity and not position.realized_pnl:
            continue
        mark = state.marks.get(symbol)
        multiplier = state.multipliers.get(symbol, 1.0)
        views.append(
            PositionView(
                symbol=symbol,
                quantity=position.quantity,
                average_cost=precision.price(symbol, position.average_cost),
                realized_pnl=round_money(position.realized_pnl),
                mark=precision.optional_price(symbol, mark),
                unrealized_pnl=round_money(
                    unrealized(position.quantity, position.average_cost, mark, multiplier)
                )
                if mark is not None
                else 0.0,
                market_value=round_money(market_value(position.quantity, mark, multiplier))
                if mark is not None
                else 0.0,
            )
        )
    return views


def pnl(state: EngineState, account: str, precision: Precision) -> PnlView:
    """Realized and unrealized P&L, equity and exposure of one account."""
    book = state.accounts.get(account)
    realized = book.realized_pnl if book else 0.0
    unrealized_pnl = book.unrealized_pnl if book else 0.0
    return PnlView(
        account=account,
        realized_pnl=round_money(realized),
        unrealized_pnl=round_money(unrealized_pnl),
        total_pnl=round_money(realized + unrealized_pnl),
        equity=round_money(state.equity(account)),
        gross_exposure=round_money(book.gross_exposure if book else 0.0),
        open_notional=round_money(book.open_notional if book else 0.0),
        positions=positions(state, account, precision),
    )


def trading_states(state: EngineState) -> TradingStateView:
    """The kill switch: the global state and every known account's own state."""
    accounts: dict[str, TradingState] = {
        a: b.trading_state for a, b in sorted(state.accounts.items())
    }
    return TradingStateView(global_state=state.global_state, accounts=accounts)


def instruments(
    state: EngineState, precision: Precision, account: str | None
) -> list[InstrumentView]:
    """The universe by symbol, with `restricted` and `trading_state` as `account` gets
    them (its own restricted list and kill switch as well as the global ones); for
    None (no key, or an admin key) the global ones."""
    if account is None:
        restricted = state.limits.restricted_symbols
        trading_state: TradingState = state.global_state
    else:
        _, restricted = state.account_limits(account)
        trading_state = state.effective_state(account)
    return [
        instrument_view(
            instrument,
            precision,
            restricted=symbol in restricted,
            trading_state=trading_state.value,
        )
        for symbol, instrument in sorted(state.instruments.items())
    ]


class FeaturesUsed(msgspec.Struct):
    """The online features a check used (issue 9) and the limits they put in force."""

    service: str  # risk_features_v1
    values: dict[str, float | None]
    age_s: float | None  # None: no reading for the symbol
    max_age_s: float  # older than this: the static limits
    reason: str  # SCALED, STALE, MISSING or STATIC
    collar_scale: float
    notional_scale: float
    price_collar_pct: float  # in force for this account and symbol
    max_order_notional: float


def features_used(
    state: EngineState, features: FeatureRefresher | None, account: str, symbol: str
) -> FeaturesUsed | None:
    """What a risk check of `symbol` for `account` used; None when features are off."""
    if features is None:
        return None
    limits = state.effective_limits(account, symbol)
    return FeaturesUsed(
        **features.used_for(symbol),
        price_collar_pct=limits.price_collar_pct,
        max_order_notional=limits.max_order_notional,
    )


class EffectiveLimits(msgspec.Struct):
    digest: str  # what POST /admin/limits/reload answers, to tell a reload took
    restricted_symbols: list[str]  # nobody may trade these
    default: AccountLimits  # for an account without its own table
    accounts: dict[str, AccountLimits]  # every account with an API key, overrides applied


def effective_limits(state: EngineState, accounts: Iterable[str]) -> EffectiveLimits:
    """The limits in force: the default and each of `accounts`' effective limits."""
    limits = state.limits
    return EffectiveLimits(
        digest=limits.digest(),
        restricted_symbols=sorted(limits.restricted_symbols),
        default=limits.default,
        accounts={a: limits.for_account(a) for a in sorted(accounts)},
    )


def event_account(state: EngineState, event: ev.Event) -> str | None:
    """The account an order or fill event belongs to (by its order when it names none)."""
    account = getattr(event, "account", None)
    if isinstance(account, str):
        return account
    order_id = getattr(event, "order_id", None)
    if isinstance(order_id, str):
        order = state.orders.get(order_id)
        return order.account if order is not None else None
    return None


def event_symbol(state: EngineState, event: ev.Event) -> str | None:
    """The symbol an order or fill event is about (by its order when it names none)."""
    symbol = getattr(event, "symbol", None)
    if isinstance(symbol, str):
        return symbol
    request = getattr(event, "request", None)
    if request is not None and isinstance(getattr(request, "symbol", None), str):
        return str(request.symbol)
    order_id = getattr(event, "order_id", None)
    if isinstance(order_id, str):
        order = state.orders.get(order_id)
        return order.symbol if order is not None else None
    return None
