"""The features, stated once: names, types and meanings of every feature column.

feature_repo/ builds its Feast objects (Fields, views, services) from these, the
`features` assets write exactly these columns, and the risk engine reads the
`risk_features_v1` ones by these names. Pure data: no Feast import here.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final, Literal, NamedTuple

DType = Literal["float64", "int64"]

# Every source row: the time the feature values hold at (Feast's event timestamp),
# when it was computed (Feast's created timestamp: the later computation of the same
# event time wins), and the newest input timestamp it used (<= event_timestamp: the
# point-in-time rule, checked by an asset check).
EVENT_TS: Final = "event_timestamp"
CREATED_TS: Final = "computed_at"
DATA_TS: Final = "data_ts"

# Realized volatility is annualised from 1-minute log returns with this many minutes a
# year (252 trading days x 390 minutes): sigma_annual = stdev(r_1m) x sqrt(98_280).
MINUTES_PER_YEAR: Final = 252 * 390

# The alternative-data signals that become features (latest value and its age). A new
# signal in alt_signals is a feature only once it is listed here.
ALT_SIGNALS: Final = ("news_sentiment",)


class Feature(NamedTuple):
    name: str
    dtype: DType
    description: str


class View(NamedTuple):
    name: str  # <what>_fv
    entity: str  # the join key: symbol or account
    source: str  # <what>_source; also the parquet folder's name
    ttl: timedelta  # Feast returns nothing older than this
    features: tuple[Feature, ...]
    description: str

    @property
    def folder(self) -> str:
        return self.source.removesuffix("_source")


SYMBOL_MARKET: Final = View(
    name="symbol_market_fv",
    entity="symbol",
    source="symbol_market_source",
    ttl=timedelta(hours=2),
    description=(
        "Per symbol and minute, from the sampled quotes and the tape: returns, realized "
        "volatility, spreads, activity and book imbalance at the minute's end. Mid prices "
        "are carried forward over minutes without a quote."
    ),
    features=(
        Feature("mid_price", "float64", "last mid (bid+ask)/2 at or before the minute's end"),
        Feature("log_return_1m", "float64", "ln(mid_t / mid_{t-1m})"),
        Feature("log_return_5m", "float64", "ln(mid_t / mid_{t-5m})"),
        Feature("log_return_30m", "float64", "ln(mid_t / mid_{t-30m})"),
        Feature(
            "realized_vol_5m",
            "float64",
            "stdev of the last 5 one-minute log returns x sqrt(98,280): annualised "
            "(252 days x 390 minutes), a fraction (0.2 = 20%)",
        ),
        Feature(
            "realized_vol_30m",
            "float64",
            "stdev of the last 30 one-minute log returns x sqrt(98,280), annualised",
        ),
        Feature("avg_spread_bps_1m", "float64", "mean (ask-bid)/mid x 1e4 of the minute's quotes"),
        Feature("last_spread_bps", "float64", "(ask-bid)/mid x 1e4 of the last quote"),
        Feature("trade_count_1m", "int64", "prints on the tape in the minute"),
        Feature("trade_volume_1m", "int64", "units printed in the minute"),
        Feature("trade_count_5m", "int64", "prints in the last 5 minutes"),
        Feature("trade_volume_5m", "int64", "units printed in the last 5 minutes"),
        Feature(
            "book_imbalance",
            "float64",
            "(bid_size-ask_size)/(bid_size+ask_size) of the last quote, in [-1, 1]",
        ),
    ),
)

# The risk engine reads this narrow view of the same source rather than four features of
# symbol_market_fv: Feast's online read fetches every feature of a view, so a narrow
# view is what keeps the refresh of thousands of symbols cheap.
RISK_FEATURE_NAMES: Final = ("mid_price", "realized_vol_5m", "realized_vol_30m", "last_spread_bps")
SYMBOL_RISK: Final = View(
    name="symbol_risk_fv",
    entity="symbol",
    source=SYMBOL_MARKET.source,
    ttl=SYMBOL_MARKET.ttl,
    description=(
        "What pre-trade risk reads per symbol (volatility scaling of its limits): the "
        "same rows as symbol_market_fv, four of its features."
    ),
    features=tuple(f for f in SYMBOL_MARKET.features if f.name in RISK_FEATURE_NAMES),
)

SYMBOL_ALT: Final = View(
    name="symbol_alt_fv",
    entity="symbol",
    source="symbol_alt_source",
    ttl=timedelta(days=1),
    description=(
        "Per symbol, each alternative-data signal's latest value and its age, stamped at "
        "every minute a new value arrived."
    ),
    features=tuple(
        feature
        for signal in ALT_SIGNALS
        for feature in (
            Feature(signal, "float64", f"latest {signal} value (alt_signals)"),
            Feature(
                f"{signal}_age_s",
                "float64",
                f"seconds from the latest {signal} value's time to the row's time",
            ),
        )
    ),
)

ACCOUNT_ACTIVITY: Final = View(
    name="account_activity_fv",
    entity="account",
    source="account_activity_source",
    ttl=timedelta(days=1),
    description=(
        "Per account and minute with order activity, since the start of the UTC day: "
        "how its orders fared and what it realized."
    ),
    features=(
        Feature("orders_today", "int64", "orders submitted (accepted or rejected) today"),
        Feature("fill_rate", "float64", "share of today's accepted orders with a fill"),
        Feature(
            "order_to_trade_ratio", "float64", "orders submitted per fill today (null: no fill)"
        ),
        Feature("rejection_rate", "float64", "share of today's submissions risk rejected"),
        Feature(
            "realized_pnl_today",
            "float64",
            "realized P&L of today's fills (average cost over the whole history), net of fees",
        ),
    ),
)

VIEWS: Final = (SYMBOL_MARKET, SYMBOL_RISK, SYMBOL_ALT, ACCOUNT_ACTIVITY)


class Service(NamedTuple):
    name: str  # carries its version
    description: str
    features: tuple[tuple[View, tuple[str, ...]], ...]  # (view, feature names); () = all


RISK_FEATURES: Final = Service(
    name="risk_features_v1",
    description="What the realtime risk engine reads for every symbol on its refresh timer.",
    features=((SYMBOL_RISK, ()),),
)

EXECUTION_FEATURES: Final = Service(
    name="execution_features_v1",
    description=(
        "What execution analytics and a later cost model (slippage, fill probability) read "
        "at an order's submit time: the market, the alternative data and the account."
    ),
    features=((SYMBOL_MARKET, ()), (SYMBOL_ALT, ()), (ACCOUNT_ACTIVITY, ())),
)

SERVICES: Final = (RISK_FEATURES, EXECUTION_FEATURES)

# the risk engine's volatility input
VOLATILITY_FEATURE: Final = "realized_vol_30m"


def service_feature_names(service: Service) -> list[str]:
    """The service's features as `get_online_features` names them (`view__feature`
    with full names off: plain names, which are unique across a service's views)."""
    return [
        name
        for view, names in service.features
        for name in (names or tuple(f.name for f in view.features))
    ]
