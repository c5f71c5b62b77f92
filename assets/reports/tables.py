"""The warehouse tables of the reports group, declared once.

Every row belongs to one trading day (a calendar day in the configured time
zone), `trading_day`: the UTC instant that day starts, which is also each
table's designated timestamp. So a day's rows are exactly those with that
timestamp, and a re-run of the day replaces them (and only them).
"""

from __future__ import annotations

from typing import Final

from assets.resources import Column, ColumnType, TableSpec

TS, SYM, STR, LONG, DOUBLE = (
    ColumnType.TIMESTAMP,
    ColumnType.SYMBOL,
    ColumnType.VARCHAR,
    ColumnType.LONG,
    ColumnType.DOUBLE,
)

_DAY = Column("trading_day", TS, "the UTC instant the trading day starts (the partition)")

DAILY_PNL: Final = TableSpec(
    name="daily_pnl",
    description="Per account and symbol and trading day: positions, realized, unrealized "
    "and net P&L on the average-cost book (the service's own method).",
    timestamp="trading_day",
    keys=("account", "symbol"),
    columns=(
        _DAY,
        Column("account", SYM),
        Column("symbol", SYM),
        Column("start_quantity", LONG, "signed position at the day's start"),
        Column("start_average_cost", DOUBLE),
        Column("start_mark", DOUBLE, "mark at the day's start (the previous close)"),
        Column("end_quantity", LONG, "signed position at the day's end"),
        Column("end_average_cost", DOUBLE),
        Column("end_mark", DOUBLE, "the last mid of the day (else the first fill price)"),
        Column("mark_source", SYM, "QUOTE or FIRST_FILL"),
        Column("fill_count", LONG),
        Column("bought_quantity", LONG),
        Column("sold_quantity", LONG),
        Column("buy_notional", DOUBLE),
        Column("sell_notional", DOUBLE),
        Column("realized_pnl", DOUBLE, "the day's, gross of fees"),
        Column("fees", DOUBLE, "the day's fill fees (0 where a fill has none)"),
        Column("unrealized_start", DOUBLE, "(start_mark - start_average_cost) * start_quantity"),
        Column("unrealized_pnl", DOUBLE, "(end_mark - end_average_cost) * end_quantity"),
        Column("net_pnl", DOUBLE, "realized + unrealized change - fees"),
        Column("cumulative_realized", DOUBLE, "lifetime realized P&L at the day's end"),
    ),
)


def rollup_table(period: str) -> TableSpec:
    """daily_pnl summed over a week or a month (`period_start` its first day)."""
    return TableSpec(
        name=f"pnl_{period}",
        description=f"daily_pnl rolled up {period}: sums of the days, positions at the "
        "period's start and end.",
        timestamp="period_start",
        keys=("account", "symbol"),
        columns=(
            Column("period_start", TS, "the UTC instant the period's first trading day starts"),
            Column("account", SYM),
            Column("symbol", SYM),
            Column("days", LONG, "trading days with a daily_pnl row"),
            Column("start_quantity", LONG),
            Column("end_quantity", LONG),
            Column("fill_count", LONG),
            Column("realized_pnl", DOUBLE),
            Column("fees", DOUBLE),
            Column("unrealized_change", DOUBLE),
            Column("net_pnl", DOUBLE),
            Column("end_unrealized", DOUBLE),
        ),
    )


TAX_LOTS: Final = TableSpec(
    name="tax_lots",
    description="Lot slices closed on the trading day: gain, holding period, term, wash sales.",
    timestamp="trading_day",
    keys=("slice_id",),
    columns=(
        _DAY,
        Column("slice_id", STR, "<lot id>:<closing fill id>"),
        Column("lot_id", STR),
        Column("account", SYM),
        Column("symbol", SYM),
        Column("direction", SYM, "LONG or SHORT"),
        Column("quantity", LONG),
        Column("open_fill_id", STR),
        Column("open_time", TS),
        Column("open_date", TS, "purchase date (trading time zone), midnight"),
        Column("holding_start", TS, "open date moved back by washed predecessors' days"),
        Column("close_fill_id", STR),
        Column("close_time", TS),
        Column("close_date", TS),
        Column("open_price", DOUBLE),
        Column("close_price", DOUBLE),
        Column("proceeds", DOUBLE),
        Column("cost_basis", DOUBLE),
        Column("gross_gain", DOUBLE, "no fees, no wash adjustment"),
        Column("fees", DOUBLE),
        Column("wash_adjustment", DOUBLE, "disallowed losses carried into this lot's basis"),
        Column("gain", DOUBLE, "proceeds - cost basis"),
        Column("disallowed_loss", DOUBLE, "by the wash-sale rule, as known at the day's end"),
        Column("reportable_gain", DOUBLE, "gain + disallowed loss"),
        Column("days_held", LONG),
        Column("term", SYM, "SHORT or LONG"),
        Column("wash_pending", LONG, "1: a loss whose window is still open at the day's end"),
        Column("relief_method", SYM),
    ),
)

OPEN_TAX_LOTS: Final = TableSpec(
    name="open_tax_lots",
    description="Lots open at the trading day's end, with adjusted basis and holding start.",
    timestamp="trading_day",
    keys=("lot_id",),
    columns=(
        _DAY,
        Column("lot_id", STR),
        Column("account", SYM),
        Column("symbol", SYM),
        Column("direction", SYM),
        Column("quantity", LONG),
        Column("open_fill_id", STR),
        Column("open_time", TS),
        Column("open_date", TS),
        Column("holding_start", TS),
        Column("open_price", DOUBLE),
        Column("fee_per_share", DOUBLE),
        Column("wash_adjustment_per_share", DOUBLE),
        Column("cost_basis", DOUBLE),
        Column("replacement_for", STR, "the loss slice this lot replaced (wash sale)"),
        Column("relief_method", SYM),
    ),
)

WASH_SALES: Final = TableSpec(
    name="wash_sales",
    description="Wash sales determined on the trading day (the later of the loss sale and "
    "the replacement purchase).",
    timestamp="trading_day",
    keys=("wash_id",),
    columns=(
        _DAY,
        Column("wash_id", STR),
        Column("account", SYM),
        Column("symbol", SYM),
        Column("loss_slice_id", STR),
        Column("replacement_lot_id", STR),
        Column("quantity", LONG),
        Column("disallowed_loss", DOUBLE),
        Column("loss_close_time", TS),
        Column("replacement_open_time", TS),
        Column("determined_time", TS),
    ),
)

EXPOSURE: Final = TableSpec(
    name="exposure",
    description="End-of-day exposure per account and symbol, and per account (symbol '*'): "
    "gross, net, long, short, concentration, intraday equity high-water mark and drawdown.",
    timestamp="trading_day",
    keys=("account", "symbol"),
    columns=(
        _DAY,
        Column("account", SYM),
        Column("symbol", SYM, "'*' for the account's total"),
        Column("quantity", LONG, "null on the total row"),
        Column("mark", DOUBLE),
        Column("market_value", DOUBLE, "quantity * mark (net)"),
        Column("gross", DOUBLE, "|quantity| * mark, summed"),
        Column("long_exposure", DOUBLE),
        Column("short_exposure", DOUBLE, "negative"),
        Column("share_of_gross", DOUBLE, "|market value| / the account's gross"),
        Column("positions", LONG, "open positions (total row)"),
        Column("largest_symbol", SYM, "total row: the largest position"),
        Column("concentration", DOUBLE, "total row: largest |market value| / gross"),
        Column("equity_start", DOUBLE, "total row: P&L equity at the day's start"),
        Column("equity_end", DOUBLE),
        Column("equity_high_water", DOUBLE),
        Column("max_drawdown", DOUBLE, "largest fall from a high-water mark (>= 0)"),
    ),
)

COMPLIANCE_FINDINGS: Final = TableSpec(
    name="compliance_findings",
    description="Compliance findings of the trading day: rule, severity, orders involved.",
    timestamp="trading_day",
    keys=("finding_id",),
    columns=(
        _DAY,
        Column("finding_id", STR),
        Column("rule_id", SYM),
        Column("severity", SYM, "ERROR, WARNING or INFO"),
        Column("account", SYM),
        Column("symbol", SYM),
        Column("first_time", TS),
        Column("order_ids", STR, "comma-separated"),
        Column("order_count", LONG, "orders involved"),
        Column("detail", STR),
    ),
)

REPORT_TABLES: Final = (
    DAILY_PNL,
    TAX_LOTS,
    OPEN_TAX_LOTS,
    WASH_SALES,
    EXPOSURE,
    COMPLIANCE_FINDINGS,
    rollup_table("weekly"),
    rollup_table("monthly"),
)
