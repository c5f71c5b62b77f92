"""The execution_quality assets on a day the real engine traded: real journal, real
DuckDB file, real partitioned Dagster materialisations, report files on disk."""

from __future__ import annotations

import math
import shutil
from html.parser import HTMLParser
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from assets.execution_quality.assets import build_execution_quality_assets
from assets.execution_quality.checks import build_execution_quality_checks, identity_check
from assets.execution_quality.report_folder import ReportFolder
from assets.execution_quality.tables import TCA_DAILY, TCA_FILLS, TCA_ORDERS
from assets.instruments import NO_MULTIPLIERS
from assets.resources import DuckDBWarehouse
from tests.assets.execution_quality.journal import DAY, DECISION_O1
from tests.assets.results import check_results

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def shipped(shipped_tca_day: Path, tmp_path: Path) -> DuckDBWarehouse:
    """A private copy of the warehouse holding the engine's day."""
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(shipped_tca_day / "warehouse.duckdb", path)
    return DuckDBWarehouse(path=str(path))


@pytest.fixture
def reports(tmp_path: Path) -> ReportFolder:
    return ReportFolder(path=str(tmp_path / "reports"))


EXECUTION_QUALITY_ASSETS = build_execution_quality_assets(NO_MULTIPLIERS)
EXECUTION_QUALITY_CHECKS = build_execution_quality_checks(NO_MULTIPLIERS)


def materialise(
    warehouse: DuckDBWarehouse,
    reports: ReportFolder,
    day: str = DAY,
    multipliers: dict[str, float] | None = None,
    **kwargs: object,
) -> dg.ExecuteInProcessResult:
    at = multipliers or {}
    return dg.materialize(
        [*build_execution_quality_assets(at), *build_execution_quality_checks(at)],
        partition_key=day,
        resources={"warehouse": warehouse, "tca_reports": reports},
        **kwargs,  # type: ignore[arg-type]
    )


def rows(warehouse: DuckDBWarehouse, table: str, order: str) -> pd.DataFrame:
    return warehouse.query(f"SELECT * FROM {table} ORDER BY {order}")


def test_day_when_engine_traded_then_every_order_and_fill_has_a_tca_row_and_checks_pass(
    shipped: DuckDBWarehouse, reports: ReportFolder
) -> None:
    result = materialise(shipped, reports)

    assert result.success
    assert check_results(result) == {c.check_key.name: True for c in EXECUTION_QUALITY_CHECKS}
    orders = rows(shipped, TCA_ORDERS.name, "order_id").set_index("order_id")
    assert orders["end_status"].to_dict() == {
        "O1": "FILLED",  # market buy
        "O2": "CANCELED",  # 100 of 300 filled, the rest cancelled by the user
        "O3": "CANCELED",  # IOC: 200 of 500, the rest cancelled
        "O4": "REJECTED",  # outside the price collar
        "O5": "EXPIRED",  # DAY order past the session end
        "O6": "OPEN",  # GTC, still working at the day's end
        "O7": "FILLED",
    }
    assert orders["filled_quantity"].to_dict() == {
        "O1": 100,
        "O2": 100,
        "O3": 200,
        "O4": 0,
        "O5": 0,
        "O6": 0,
        "O7": 40,
    }
    assert (orders["trading_day"] == pd.Timestamp(DAY)).all()
    # The fills' fees, as the venue charged them, summed per order.
    fills = rows(shipped, TCA_FILLS.name, "fill_time")
    shipped_fills = rows(shipped, "fills", "seq")
    assert (shipped_fills["fee"] > 0).all()
    assert orders["fees"].to_dict() == pytest.approx(
        shipped_fills.groupby("order_id")["fee"]
        .sum()
        .reindex(orders.index, fill_value=0.0)
        .to_dict(),
        abs=1e-12,
    )
    # O1 is the only order that named its decision price; the rest use the arrival mid.
    sources = orders["decision_price_source"].to_dict()
    assert sources.pop("O1") == "ORDER"
    assert set(sources.values()) == {"ARRIVAL_MID"}
    # O1 bought 100 at the 100.05 ask (a taker: 1 bp of 10,005 = 1.0005, billed as 1.00
    # since the venue bills whole cents) with a decision
    # price of 100.00; the last AAPL quote before it had mid 100.04.
    o1 = orders.loc["O1"]
    assert o1["decision_price"] == DECISION_O1
    assert o1["fees"] == pytest.approx(1.0, abs=1e-12)
    assert o1["arrival_mid"] == pytest.approx(100.04, abs=1e-12)
    assert o1["arrival_slippage_bps"] == pytest.approx(0.01 / 100.04 * 1e4, abs=1e-9)
    # fees 1.00 + delay 100 x (100.04 - 100.00) + execution 100 x (100.05 - 100.04)
    assert o1["is_delay"] == pytest.approx(4.0, abs=1e-9)
    assert o1["implementation_shortfall"] == pytest.approx(1.0 + 4.0 + 1.0, abs=1e-9)
    assert orders.loc["O6", "flags"] == "NO_FILLS,OPEN_AT_CUTOFF"
    assert orders.loc["O6", "opportunity_time"] == pd.Timestamp(DAY) + pd.Timedelta(days=1)
    assert len(fills) == 4 and fills["mid"].notna().all()
    assert fills["markout_bps_60s"].notna().all()
    daily = rows(shipped, TCA_DAILY.name, "group_by, group_value, metric")
    assert set(daily["group_by"]) == {"all", "symbol", "account", "side", "order_type"}
    whole = daily[daily["group_by"] == "all"].set_index("metric")
    assert whole.loc["fill_rate", "n"] == 7


def test_report_when_day_materialised_then_html_has_headline_figures_and_pngs_exist(
    shipped: DuckDBWarehouse, reports: ReportFolder
) -> None:
    result = materialise(shipped, reports)

    metadata = result.asset_materializations_for_node("tca_report")[0].metadata
    path = Path(str(metadata["report_path"].value))
    assert path == reports.resolve(f"{DAY}/index.html")
    page = path.read_text(encoding="utf-8")
    assert f"Execution quality, {DAY}" in page
    assert metadata["orders"].value == 7 and metadata["fills"].value == 4
    arrival = metadata["arrival_slippage_bps"].value
    assert isinstance(arrival, float)
    assert "<th>orders</th><td class='num'>7</td>" in page
    assert f"<th>arrival slippage, bps</th><td class='num'>{arrival:,.4f}</td>" in page
    assert "Implementation shortfall by symbol" in page and "Conventions" in page
    for name in ("slippage_distribution", "markout_curves", "is_decomposition"):
        png = path.parent / f"{name}.png"
        assert png.stat().st_size > 1_000 and png.read_bytes().startswith(PNG_SIGNATURE)
    assert (path.parent / "fill_rate_by_order_type.png").read_bytes().startswith(PNG_SIGNATURE)
    assert "data:image/png;base64," in str(metadata["chart"].value)


def test_day_when_a_symbol_is_50x_then_stored_money_and_weights_are_at_50x_and_checks_pass(
    shipped: DuckDBWarehouse, reports: ReportFolder, tmp_path: Path
) -> None:
    # The same engine day read at 1x, then with AAPL as a 50x contract (MSFT stays 1x).
    at_1x = tmp_path / "at_1x.duckdb"
    shutil.copy(shipped.path, at_1x)
    plain = DuckDBWarehouse(path=str(at_1x))
    materialise(plain, ReportFolder(path=str(tmp_path / "plain")))
    result = materialise(shipped, reports, multipliers={"AAPL": 50.0})

    assert result.success
    assert check_results(result) == {c.check_key.name: True for c in EXECUTION_QUALITY_CHECKS}
    fills = rows(shipped, TCA_FILLS.name, "fill_id")
    k = fills["symbol"].map({"AAPL": 50.0}).fillna(1.0)
    assert (fills["notional"] == fills["price"] * fills["quantity"] * k).all()
    by_symbol = rows(shipped, TCA_DAILY.name, "metric").query("group_by == 'symbol'")
    before = rows(plain, TCA_DAILY.name, "metric").query("group_by == 'symbol'")
    weight = by_symbol.set_index(["group_value", "metric"])["weight"]
    weight_1x = before.set_index(["group_value", "metric"])["weight"]
    assert (weight["AAPL"]["is_bps"] == 50 * weight_1x["AAPL"]["is_bps"]).all()
    assert weight["MSFT"]["is_bps"] == weight_1x["MSFT"]["is_bps"]
    headline = result.asset_materializations_for_node("tca_report")[0].metadata
    headline_1x = materialise(plain, ReportFolder(path=str(tmp_path / "again")))
    traded_1x = headline_1x.asset_materializations_for_node("tca_report")[0].metadata
    aapl = fills[fills["symbol"] == "AAPL"]
    aapl_1x = float((aapl["price"] * aapl["quantity"]).sum())
    assert math.isclose(
        float(headline["traded_notional"].value),  # type: ignore[arg-type]
        float(traded_1x["traded_notional"].value) + 49 * aapl_1x,  # type: ignore[arg-type]
        rel_tol=1e-12,
    )


class _Resources(HTMLParser):
    """Every URL the page would fetch, and the elements that can fetch one."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.fetching_tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"script", "link", "iframe", "object", "embed", "base"}:
            self.fetching_tags.append(tag)
        self.urls += [v or "" for k, v in attrs if k in {"src", "href", "srcset", "data"}]


def test_report_when_opened_then_it_requests_nothing_from_the_network(
    shipped: DuckDBWarehouse, reports: ReportFolder
) -> None:
    materialise(shipped, reports)
    page = reports.resolve(f"{DAY}/index.html").read_text(encoding="utf-8")

    parser = _Resources()
    parser.feed(page)

    assert parser.fetching_tags == []
    assert len(parser.urls) == 4 and all(
        u.startswith("data:image/png;base64,") for u in parser.urls
    )
    style = page[page.index("<style>") : page.index("</style>")]
    assert "url(" not in style and "@import" not in style


def test_day_when_rerun_then_its_rows_are_replaced_and_other_days_untouched(
    shipped: DuckDBWarehouse, reports: ReportFolder
) -> None:
    materialise(shipped, reports)
    first = rows(shipped, TCA_ORDERS.name, "order_id")
    # Another day's row, and a row of this day that a bad run left wrong.
    other = first.head(1).assign(
        order_id="X1",
        trading_day=pd.Timestamp("2026-11-25"),
        submit_time=pd.Timestamp("2026-11-25 15:00"),
    )
    broken = first.head(1).assign(is_bps=999.0)
    # And one the day no longer produces: only replacing the whole day removes it.
    stale = first.head(1).assign(order_id="STALE")
    shipped.write_frames([(TCA_ORDERS, other), (TCA_ORDERS, broken), (TCA_ORDERS, stale)])
    assert shipped.row_count(TCA_ORDERS) == len(first) + 2

    result = materialise(shipped, reports)

    assert result.success
    again = rows(shipped, TCA_ORDERS.name, "order_id")
    day = again[again["trading_day"] == pd.Timestamp(DAY)].reset_index(drop=True)
    pd.testing.assert_frame_equal(day, first)
    assert list(again.loc[again["trading_day"] != pd.Timestamp(DAY), "order_id"]) == ["X1"]
    counts = shipped.query(
        "SELECT count(*) AS n, count(DISTINCT fill_id) AS ids FROM tca_fills"
    ).iloc[0]
    assert counts["n"] == counts["ids"] == 4
    daily = shipped.query(
        "SELECT group_by, group_value, metric, count(*) AS n FROM tca_daily "
        "GROUP BY ALL HAVING count(*) > 1"
    )
    assert daily.empty


def test_day_when_no_orders_then_assets_materialise_empty_and_report_says_so(
    shipped: DuckDBWarehouse, reports: ReportFolder
) -> None:
    result = materialise(shipped, reports, day="2026-11-24")

    assert result.success
    assert all(check_results(result).values())
    metadata = result.asset_materializations_for_node("tca_report")[0].metadata
    assert metadata["orders"].value == 0
    page = Path(str(metadata["report_path"].value)).read_text(encoding="utf-8")
    assert "<th>orders</th><td class='num'>0</td>" in page
    assert shipped.query("SELECT count(*) AS n FROM tca_orders").iloc[0, 0] == 0


def test_is_identity_check_when_a_stored_row_breaks_it_then_the_check_fails(
    shipped: DuckDBWarehouse, reports: ReportFolder
) -> None:
    materialise(shipped, reports)
    row = rows(shipped, TCA_ORDERS.name, "order_id").head(1)
    shipped.write_frame(
        TCA_ORDERS, row.assign(implementation_shortfall=row["implementation_shortfall"] + 0.5)
    )

    # Run on its own (no partition): it checks the newest day with TCA rows.
    identity = identity_check(NO_MULTIPLIERS)
    result = dg.materialize(
        [*EXECUTION_QUALITY_ASSETS, identity],
        resources={"warehouse": shipped, "tca_reports": reports},
        selection=dg.AssetSelection.checks(identity),
        raise_on_error=False,
    )

    evaluation = result.get_asset_check_evaluations()[0]
    assert evaluation.check_name == "tca_orders_is_identity" and not evaluation.passed
    assert evaluation.description == "1 rows break it"
    assert evaluation.metadata["trading_day"].value == DAY
