"""The DuckDB warehouse's write path: one transaction per write_frames call, last row of a
key wins, however the frames of a table are split across the call."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from assets.resources import Column, ColumnType, DuckDBWarehouse, TableSpec

MARKS = TableSpec(
    name="marks",
    columns=(
        Column("ts", ColumnType.TIMESTAMP, ""),
        Column("seq", ColumnType.LONG, ""),
        Column("note", ColumnType.VARCHAR, ""),
    ),
    keys=("seq",),
    description="test table",
)


def _frame(seqs: list[int], note: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "ts": pd.to_datetime(["2026-11-26T14:30:00"] * len(seqs)),
            "seq": seqs,
            "note": [note] * len(seqs),
        }
    )


def test_write_frames_when_one_table_comes_twice_then_the_later_row_of_a_key_wins(
    tmp_path: Path,
) -> None:
    warehouse = DuckDBWarehouse(path=str(tmp_path / "w.duckdb"))
    warehouse.write_frames([(MARKS, _frame([1, 2], "first")), (MARKS, _frame([2, 3], "second"))])
    rows = warehouse.query("SELECT seq, note FROM marks ORDER BY seq")
    warehouse.close()
    assert rows.to_dict("records") == [
        {"seq": 1, "note": "first"},
        {"seq": 2, "note": "second"},
        {"seq": 3, "note": "second"},
    ]


def test_write_frames_when_repeated_then_rows_are_replaced_not_duplicated(tmp_path: Path) -> None:
    warehouse = DuckDBWarehouse(path=str(tmp_path / "w.duckdb"))
    warehouse.write_frames([(MARKS, _frame([1], "a")), (MARKS, _frame([2], "b"))])
    warehouse.write_frames([(MARKS, _frame([1], "c")), (MARKS, _frame([2], "d"))])
    rows = warehouse.query("SELECT seq, note FROM marks ORDER BY seq")
    warehouse.close()
    assert rows.to_dict("records") == [{"seq": 1, "note": "c"}, {"seq": 2, "note": "d"}]


def test_write_frames_when_object_columns_hold_none_or_mixed_values_then_stored_as_given(
    tmp_path: Path,
) -> None:
    # Object columns reach DuckDB through Arrow; one Arrow cannot type (str and int
    # mixed) through DuckDB's own pandas scan, as before. Either way None is NULL.
    warehouse = DuckDBWarehouse(path=str(tmp_path / "w.duckdb"))
    strings = _frame([1, 2, 3], "x").assign(note=pd.Series(["a", None, "c"], dtype=object))
    mixed = _frame([4, 5], "x").assign(note=pd.Series(["d", 5], dtype=object))
    warehouse.write_frames([(MARKS, strings), (MARKS, mixed)])
    warehouse.write_frame(MARKS, _frame([2], "b"))  # the delete path, through Arrow too
    rows = warehouse.query("SELECT seq, note FROM marks ORDER BY seq")
    warehouse.close()
    assert rows["note"].tolist() == ["a", "b", "c", "d", "5"]
