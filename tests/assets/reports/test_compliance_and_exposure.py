"""Each compliance rule fires on a crafted day and stays silent on a clean one; the
exposure figures of a hand-made day."""

from __future__ import annotations

import pandas as pd
import pytest

from assets.reports.compliance import findings
from assets.reports.config import ComplianceRules
from assets.reports.exposure import TOTAL, exposure
from tests.assets.reports.fills_builder import fills

T = pd.Timestamp("2026-03-02 14:30")
RULES = ComplianceRules(
    restricted_symbols=frozenset({"BAD"}),
    restricted_by_account={"bob": frozenset({"TSLA"})},
    order_to_trade_max=3.0,
    price_collar_pct=5.0,
    wash_trade_window_s=5.0,
    cancel_within_s=2.0,
    cancel_burst_orders=3,
    cancel_burst_window_s=10.0,
)


def at(seconds: float) -> pd.Timestamp:
    return T + pd.Timedelta(seconds=seconds)


def event(
    seconds: float,
    kind: str,
    order_id: str,
    account: str | None = "alice",
    symbol: str = "AAPL",
    side: str = "BUY",
    limit: float | None = None,
    reference: float | None = 100.0,
    reason: str | None = None,
) -> dict[str, object]:
    return {
        "ts": at(seconds),
        "seq": int(seconds * 1000),
        "event_type": kind,
        "order_id": order_id,
        "account": account,
        "symbol": symbol,
        "side": side,
        "limit_price": limit,
        "reference_price": reference,
        "reason": reason,
    }


def quotes() -> pd.DataFrame:
    return pd.DataFrame(
        [("AAPL", at(0), 99.99, 100.01), ("MSFT", at(0), 199.99, 200.01)],
        columns=["symbol", "ts", "bid", "ask"],
    )


CLEAN_EVENTS = [
    event(1, "OrderAccepted", "o1", limit=100.00),
    event(2, "OrderAccepted", "o2", side="SELL", symbol="MSFT", limit=200.00, reference=200.0),
    event(30, "OrderCanceled", "o2", account=None, symbol="MSFT"),
]
CLEAN_FILLS = [
    ("f1", str(at(1.5)), "alice/AAPL", "BUY", 10, 100.00),
    ("f2", str(at(20)), "bob/AAPL", "SELL", 10, 100.05),  # too late and another price
]


def run(events: list[dict[str, object]], fill_rows: list[tuple]) -> pd.DataFrame:  # type: ignore[type-arg]
    frame = pd.DataFrame(events)
    day_fills = fills(*fill_rows)
    day_fills["order_id"] = day_fills["fill_id"].str.replace("f", "o", regex=False)
    return findings(frame, day_fills, quotes(), RULES)


def test_compliance_when_the_day_is_clean_then_no_rule_fires() -> None:
    assert run(CLEAN_EVENTS, CLEAN_FILLS).empty


@pytest.mark.parametrize(
    ("extra_events", "extra_fills", "rule", "severity", "orders"),
    [
        (
            [event(3, "OrderAccepted", "o9", symbol="BAD")],
            [("f9", str(at(4)), "alice/BAD", "BUY", 5, 10.0)],
            "RESTRICTED_TRADE",
            "ERROR",
            "o9",
        ),
        (
            [event(3, "OrderAccepted", "o9", account="bob", symbol="TSLA")],
            [("f9", str(at(4)), "bob/TSLA", "BUY", 5, 10.0)],
            "RESTRICTED_TRADE",
            "ERROR",
            "o9",
        ),
        (
            [event(3, "OrderRejected", "o7", reason="PRICE_COLLAR", limit=100.0)],
            [],
            "RISK_REJECTIONS",
            "INFO",
            "o7",
        ),
        (
            [
                event(3 + i, "OrderAccepted", f"m{i}", symbol="MSFT", limit=190.0, reference=200.0)
                for i in range(4)
            ],
            [],
            "ORDER_TO_TRADE",
            "WARNING",
            "m0,m1,m2,m3,o2",
        ),
        ([event(3, "OrderAccepted", "o8", limit=94.0)], [], "PRICE_COLLAR", "WARNING", "o8"),
        (
            [],
            [("f8", str(at(3)), "alice/AAPL", "SELL", 10, 100.00)],
            "SELF_TRADE",
            "WARNING",
            "o1,o8",
        ),
        (
            [],
            [("f8", str(at(3)), "bob/AAPL", "SELL", 10, 100.00)],
            "WASH_TRADE",
            "WARNING",
            "o1,o8",
        ),
        (
            [
                e
                for i in range(3)
                for e in (
                    event(3 + i, "OrderAccepted", f"s{i}", account="carol", limit=100.0),
                    event(3.5 + i, "OrderCanceled", f"s{i}", account=None),
                )
            ],
            [],
            "CANCEL_BURST",
            "WARNING",
            "s0,s1,s2",
        ),
    ],
    ids=[
        "restricted-global",
        "restricted-account",
        "rejections",
        "order-to-trade",
        "collar",
        "self-trade",
        "wash-trade",
        "cancel-burst",
    ],
)
def test_compliance_when_a_rule_is_broken_then_exactly_it_fires_with_its_orders(
    extra_events: list[dict[str, object]],
    extra_fills: list[tuple],  # type: ignore[type-arg]
    rule: str,
    severity: str,
    orders: str,
) -> None:
    found = run(CLEAN_EVENTS + extra_events, CLEAN_FILLS + extra_fills)

    assert found[["rule_id", "severity", "order_ids"]].values.tolist() == [[rule, severity, orders]]


def test_cancel_burst_when_orders_rest_away_from_the_top_then_it_stays_silent() -> None:
    away = [
        e
        for i in range(3)
        for e in (
            event(
                3 + i, "OrderAccepted", f"s{i}", account="carol", limit=99.0
            ),  # below the 99.99 bid
            event(3.5 + i, "OrderCanceled", f"s{i}", account=None),
        )
    ]

    assert run(CLEAN_EVENTS + away, CLEAN_FILLS).empty


def test_exposure_when_long_and_short_then_gross_net_concentration_and_drawdown() -> None:
    day_fills = fills(
        ("a", "2026-03-02 14:30", "A/AAPL", "BUY", 10, 100.0),
        ("b", "2026-03-02 14:31", "A/MSFT", "SELL", 5, 200.0),
    )
    day_quotes = pd.DataFrame(
        [
            ("AAPL", pd.Timestamp("2026-03-02 15:00"), 109.99, 110.01),  # +100
            ("AAPL", pd.Timestamp("2026-03-02 16:00"), 94.99, 95.01),  # -150 from there
        ],
        columns=["symbol", "ts", "bid", "ask"],
    )

    rows = exposure(
        day_fills,
        pd.Timestamp("2026-03-02"),
        pd.Timestamp("2026-03-03"),
        {},
        {"AAPL": 95.0, "MSFT": 200.0},
        day_quotes,
        sample_seconds=60,
    ).set_index("symbol")

    total = rows.loc[TOTAL]
    assert (total["gross"], total["market_value"]) == (1950.0, -50.0)
    assert (total["long_exposure"], total["short_exposure"]) == (950.0, -1000.0)
    assert total["largest_symbol"] == "MSFT"
    assert total["concentration"] == pytest.approx(1000.0 / 1950.0)
    assert (total["equity_high_water"], total["equity_end"]) == pytest.approx((100.0, -50.0))
    assert total["max_drawdown"] == pytest.approx(150.0)
    assert rows.loc["AAPL", "quantity"] == 10 and rows.loc["MSFT", "quantity"] == -5
