"""FeatureLimitsChanged ships into feature_limit_changes (issue 9): one row per symbol
whose volatility scaling changed, exactly once, and the other tables still take their
own event types."""

from __future__ import annotations

import asyncio
from pathlib import Path

import dagster as dg
import pandas as pd

from assets.resources import DuckDBWarehouse, QuestDBWarehouse
from assets.warehouse.assets import WAREHOUSE_ASSETS
from assets.warehouse.projections import FEATURE_LIMIT_CHANGES_PROJECTION
from assets.warehouse.shipping import events_in_table
from realtime.events import FeatureScale
from tests.assets.conftest import journal_source
from tests.realtime.harness import T0, open_engine

FEATURE_TS_NS = T0 - 60_000_000_123  # a feature computed a minute before (sub-microsecond part)


def write_journal(path: Path) -> None:
    """Two feature refreshes: AAPL scaled and MSFT stale, then AAPL back to static."""

    async def session() -> None:
        async with open_engine(path) as h:
            h.quote("AAPL", 99.99, 100.01)
            scaled = FeatureScale(
                collar_scale=2.0,
                notional_scale=0.5,
                reason="SCALED",
                volatility=0.42,
                feature_ts_ns=FEATURE_TS_NS,
            )
            stale = FeatureScale(
                collar_scale=1.5, notional_scale=0.75, reason="STALE", volatility=0.3
            )
            changed = await h.engine.set_feature_scales(
                {"AAPL": scaled, "MSFT": stale}, source="risk_features_v1"
            )
            assert changed == 2
            static = FeatureScale(collar_scale=1.0, notional_scale=1.0, reason="STATIC")
            assert await h.engine.set_feature_scales({"AAPL": static}, source="test") == 1

    asyncio.run(session())


def materialize(tmp_path: Path, warehouse: DuckDBWarehouse) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        WAREHOUSE_ASSETS,
        resources={"warehouse": warehouse, "journal": journal_source(tmp_path / "journal.db")},
    )


def test_shipping_when_journal_has_feature_limit_changes_then_one_row_per_symbol_ships(
    tmp_path: Path,
) -> None:
    write_journal(tmp_path / "journal.db")
    warehouse = DuckDBWarehouse(path=str(tmp_path / "warehouse.duckdb"))

    result = materialize(tmp_path, warehouse)

    assert result.success
    assert int(warehouse.query("SELECT count(*) AS n FROM quotes").iat[0, 0]) == 1
    rows = warehouse.query("SELECT * FROM feature_limit_changes ORDER BY seq, symbol")
    assert rows[["symbol", "collar_scale", "notional_scale", "reason", "source"]].to_dict(
        "records"
    ) == [
        {
            "symbol": "AAPL",
            "collar_scale": 2.0,
            "notional_scale": 0.5,
            "reason": "SCALED",
            "source": "risk_features_v1",
        },
        {
            "symbol": "MSFT",
            "collar_scale": 1.5,
            "notional_scale": 0.75,
            "reason": "STALE",
            "source": "risk_features_v1",
        },
        {
            "symbol": "AAPL",
            "collar_scale": 1.0,
            "notional_scale": 1.0,
            "reason": "STATIC",
            "source": "test",
        },
    ]
    # Both symbols of the first refresh carry its seq; the second refresh is a later one.
    seqs = rows["seq"].tolist()
    assert seqs[0] == seqs[1] < seqs[2]
    assert rows["volatility"].iloc[:2].tolist() == [0.42, 0.3]
    assert pd.isna(rows["volatility"].iloc[2])
    assert rows["feature_ts"].iloc[0] == pd.Timestamp(FEATURE_TS_NS // 1000 * 1000, unit="ns")
    assert rows["feature_ts"].iloc[1:].isna().all()
    assert (rows["ts"] >= pd.Timestamp(T0, unit="ns")).all()
    # The data_pipeline suite reconciles events, not rows: two events, three rows.
    assert events_in_table(warehouse, FEATURE_LIMIT_CHANGES_PROJECTION) == 2
    checks = {
        e.check_name: e.passed
        for e in result.get_asset_check_evaluations()
        if e.asset_key.to_user_string() == "feature_limit_changes"
    }
    assert checks == {
        "feature_limit_changes_unique_keys": True,
        "feature_limit_changes_no_seq_gaps": True,
    }


def test_shipping_when_feature_limit_changes_reshipped_then_no_rows_are_added(
    tmp_path: Path,
) -> None:
    write_journal(tmp_path / "journal.db")
    warehouse = DuckDBWarehouse(path=str(tmp_path / "warehouse.duckdb"))
    assert materialize(tmp_path, warehouse).success

    again = materialize(tmp_path, warehouse)
    # And the same rows written a second time (a QuestDB retry) replace themselves.
    projection = FEATURE_LIMIT_CHANGES_PROJECTION
    journal = journal_source(tmp_path / "journal.db")
    for batch in journal.batches(projection.event_types, after_seq=0, upto_seq=journal.head_seq()):
        warehouse.write_frame(
            projection.table, projection.to_frame(batch.select(projection.event_types))
        )

    assert again.success
    assert int(warehouse.query("SELECT count(*) AS n FROM feature_limit_changes").iat[0, 0]) == 3


def test_questdb_when_feature_limit_changes_then_ilp_keys_rows_by_symbol_and_leaves_nulls_out(
    tmp_path: Path,
) -> None:
    write_journal(tmp_path / "journal.db")
    journal = journal_source(tmp_path / "journal.db")
    projection = FEATURE_LIMIT_CHANGES_PROJECTION
    (batch,) = journal.batches(projection.event_types, after_seq=0, upto_seq=journal.head_seq())
    frame = projection.to_frame(batch.select(projection.event_types))

    ilp = QuestDBWarehouse(host="localhost", protocol_version=1).ilp_bytes(projection.table, frame)

    seq = int(frame["seq"].iloc[0])
    ts = str(T0).encode()
    assert ilp.splitlines() == [
        b"feature_limit_changes,symbol=AAPL,reason=SCALED,source=risk_features_v1 "
        + f"seq={seq}i,collar_scale=2.0,notional_scale=0.5,volatility=0.42,".encode()
        + f"feature_ts={FEATURE_TS_NS // 1000}t ".encode()
        + ts,
        b"feature_limit_changes,symbol=MSFT,reason=STALE,source=risk_features_v1 "
        + f"seq={seq}i,collar_scale=1.5,notional_scale=0.75,volatility=0.3 ".encode()
        + ts,
        b"feature_limit_changes,symbol=AAPL,reason=STATIC,source=test "
        + f"seq={seq + 1}i,collar_scale=1.0,notional_scale=1.0 ".encode()
        + ts,
    ]
    # QuestDB's dedup keys carry the symbol: the two rows of one event are both kept.
    assert projection.table.upsert_keys == ("ts", "seq", "symbol")
