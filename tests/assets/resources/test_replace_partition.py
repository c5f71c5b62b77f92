"""`Warehouse.replace_partition`: a window's rows become exactly the frame's, every other
row stays. DuckDB on a real file; QuestDB's choice of partitions to drop on
table_partitions() rows, its row counts answered by a real SQL engine (DuckDB) over the
same rows, since there is no QuestDB server here (checked against one later)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from assets.resources import Column, ColumnType, DuckDBWarehouse, TableSpec, WarehouseError
from assets.resources.questdb_warehouse import partitions_to_drop

DAYS = TableSpec(
    name="day_rows",
    description="rows stamped with their day",
    timestamp="trading_day",
    keys=("name",),
    columns=(
        Column("trading_day", ColumnType.TIMESTAMP),
        Column("name", ColumnType.VARCHAR),
        Column("value", ColumnType.DOUBLE),
    ),
)
D1, D2, D3 = (pd.Timestamp(f"2026-03-0{d}") for d in (1, 2, 3))
ONE_DAY = pd.Timedelta(days=1)


def frame(day: pd.Timestamp, *names: str) -> pd.DataFrame:
    return pd.DataFrame(
        {"trading_day": [day] * len(names), "name": list(names), "value": [1.0] * len(names)}
    )


def counts(warehouse: DuckDBWarehouse) -> dict[str, int]:
    rows = warehouse.query(
        "SELECT strftime(trading_day, '%Y-%m-%d') AS day, count(*) AS n FROM day_rows GROUP BY 1"
    )
    return dict(zip(rows["day"], rows["n"].astype(int), strict=True))


@pytest.fixture
def warehouse(tmp_path: Path) -> DuckDBWarehouse:
    store = DuckDBWarehouse(path=str(tmp_path / "w.duckdb"))
    for day, names in ((D1, "abc"), (D2, "abcd"), (D3, "ab")):
        store.replace_partition([(DAYS, frame(day, *names))], day, day + ONE_DAY)
    return store


def test_replace_when_a_rerun_produces_fewer_rows_then_the_stale_ones_go_and_other_days_stay(
    warehouse: DuckDBWarehouse,
) -> None:
    assert counts(warehouse) == {"2026-03-01": 3, "2026-03-02": 4, "2026-03-03": 2}

    warehouse.replace_partition([(DAYS, frame(D2, "x", "y"))], D2, D2 + ONE_DAY)

    assert counts(warehouse) == {"2026-03-01": 3, "2026-03-02": 2, "2026-03-03": 2}
    names = warehouse.query("SELECT name FROM day_rows WHERE trading_day = '2026-03-02'")
    assert sorted(names["name"]) == ["x", "y"]


def test_replace_when_the_frame_is_empty_then_the_day_is_emptied_and_the_table_stays_valid(
    warehouse: DuckDBWarehouse,
) -> None:
    warehouse.replace_partition([(DAYS, pd.DataFrame())], D1, D1 + ONE_DAY)

    assert counts(warehouse) == {"2026-03-02": 4, "2026-03-03": 2}


def test_replace_when_the_table_does_not_exist_and_the_day_is_empty_then_it_is_created(
    tmp_path: Path,
) -> None:
    store = DuckDBWarehouse(path=str(tmp_path / "fresh.duckdb"))

    store.replace_partition([(DAYS, frame(D1).iloc[0:0])], D1, D1 + ONE_DAY)

    assert store.row_count(DAYS) == 0


def test_replace_when_a_row_lies_outside_the_window_then_refused_and_nothing_changes(
    warehouse: DuckDBWarehouse,
) -> None:
    with pytest.raises(WarehouseError) as caught:
        warehouse.replace_partition([(DAYS, frame(D3, "z"))], D2, D2 + ONE_DAY)

    assert caught.value.code == "ROWS_OUTSIDE_PARTITION"
    assert counts(warehouse) == {"2026-03-01": 3, "2026-03-02": 4, "2026-03-03": 2}


def test_replace_when_a_later_table_fails_then_the_first_is_rolled_back_too(
    warehouse: DuckDBWarehouse,
) -> None:
    bad = frame(D2, "q").assign(value=["not a number"])

    with pytest.raises(WarehouseError):
        warehouse.replace_partition(
            [(DAYS, frame(D2, "p")), (DAYS, bad.astype({"value": object}))], D2, D2 + ONE_DAY
        )

    assert counts(warehouse)["2026-03-02"] == 4


# -- QuestDB: which partitions a window drops -----------------------------------------

TS_TABLE = TableSpec(
    name="ticks",
    description="rows at any time",
    timestamp="ts",
    keys=("name",),
    columns=(Column("ts", ColumnType.TIMESTAMP), Column("name", ColumnType.VARCHAR)),
)


def questdb_partitions(stamps: list[str]) -> tuple[pd.DataFrame, duckdb.DuckDBPyConnection]:
    """What table_partitions() would list for rows at `stamps` under PARTITION BY DAY,
    and a SQL engine holding the same rows to answer the counts."""
    rows = pd.DataFrame(
        {
            "ts": pd.to_datetime(stamps, format="ISO8601"),
            "name": [str(i) for i in range(len(stamps))],
        }
    )
    con = duckdb.connect()
    con.execute("CREATE TABLE ticks AS SELECT * FROM rows")
    by_day = rows.groupby(rows["ts"].dt.strftime("%Y-%m-%d"))["ts"].agg(["min", "max"])
    listed = pd.DataFrame(
        {"name": by_day.index, "minTimestamp": by_day["min"], "maxTimestamp": by_day["max"]}
    ).reset_index(drop=True)
    return listed, con


def drop(stamps: list[str], start: str, end: str) -> list[str]:
    listed, con = questdb_partitions(stamps)
    return partitions_to_drop(
        TS_TABLE,
        listed,
        pd.Timestamp(start),
        pd.Timestamp(end),
        lambda sql: int(con.execute(sql).fetchone()[0]),  # type: ignore[index]
    )


def test_questdb_when_the_window_is_a_utc_day_then_exactly_its_partition_is_dropped() -> None:
    stamps = ["2026-03-01 10:00", "2026-03-02 00:00", "2026-03-02 23:59:59", "2026-03-03 01:00"]

    assert drop(stamps, "2026-03-02", "2026-03-03") == ["2026-03-02"]


def test_questdb_when_the_window_has_no_rows_then_nothing_is_dropped() -> None:
    assert drop(["2026-03-01 10:00", "2026-03-03 01:00"], "2026-03-02", "2026-03-03") == []


def test_questdb_when_a_day_start_shares_a_utc_date_then_it_drops_only_a_partition_it_owns() -> (
    None
):
    # New York days start at 05:00 UTC: each partition holds one day start.
    assert drop(
        ["2026-03-02 05:00", "2026-03-03 05:00"], "2026-03-02 05:00", "2026-03-03 05:00"
    ) == ["2026-03-02"]


def test_questdb_when_dropping_would_lose_another_days_rows_then_partition_shared() -> None:
    # London on 2026-03-29: that day starts 00:00 UTC, the next one 23:00 UTC the same date.
    with pytest.raises(WarehouseError) as caught:
        drop(["2026-03-29 00:00", "2026-03-29 23:00"], "2026-03-29 23:00", "2026-03-30 23:00")

    assert caught.value.code == "PARTITION_SHARED"
    assert "2026-03-29" in str(caught.value)
