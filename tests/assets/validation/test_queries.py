"""The validation suites' warehouse SQL, pinned per dialect (assets/validation/queries.py).

No QuestDB server runs here: each QuestDB text is the form QuestDB's SQL reference
documents (negative LIMIT over the designated timestamp, count_distinct, string
equality, ISO timestamp literals), and the suites are shown to send exactly these
texts to a QuestDB warehouse (its `query` recorded instead of sent). The DuckDB texts
run on a real DuckDB file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from assets.catalogue import ALL_TABLES
from assets.execution_quality.tables import TCA_ORDERS
from assets.resources import DuckDBWarehouse, JournalSource, QuestDBWarehouse, SqlDialect
from assets.validation import queries
from assets.validation.platform import Platform
from assets.validation.report import VERDICT_HISTORY
from assets.validation.suites.data import _newest, _recent
from assets.warehouse.projections import PROJECTIONS
from assets.warehouse.shipping import distinct_seqs_sql, events_in_table
from assets.warehouse.tables import FILLS, ORDERS, QUOTES, SHIP_LOG

Q, D = SqlDialect.QUESTDB, SqlDialect.DUCKDB
DAY = pd.Timestamp("2026-12-03")


def test_recent_rows_when_questdb_then_negative_limit_else_every_key_descending() -> None:
    assert queries.recent_rows(QUOTES, 50_000, Q) == "SELECT * FROM quotes LIMIT -50000"
    assert queries.recent_rows(QUOTES, 50_000, D) == (
        "SELECT * FROM quotes ORDER BY ts DESC, seq DESC LIMIT 50000"
    )
    assert queries.recent_rows(SHIP_LOG, 10, D) == (
        "SELECT * FROM ship_log ORDER BY ts DESC, table_name DESC, last_seq DESC LIMIT 10"
    )
    assert queries.recent_rows(TCA_ORDERS, 10, Q) == "SELECT * FROM tca_orders LIMIT -10"


def test_newest_timestamp_when_questdb_then_last_row_else_max() -> None:
    assert queries.newest_timestamp(QUOTES, Q) == "SELECT ts AS newest FROM quotes LIMIT -1"
    assert queries.newest_timestamp(SHIP_LOG, D) == "SELECT max(ts) AS newest FROM ship_log"


def test_distinct_seqs_when_questdb_then_count_distinct_else_distinct_subquery() -> None:
    assert distinct_seqs_sql(QUOTES, Q) == "SELECT count_distinct(seq) AS n FROM quotes"
    assert distinct_seqs_sql(QUOTES, D) == (
        "SELECT count(*) AS n FROM (SELECT DISTINCT seq FROM quotes)"
    )


def test_portable_queries_when_built_then_the_same_text_for_both_dialects() -> None:
    assert queries.rows_of_order(ORDERS, "o'1", "count(*) AS n") == (
        "SELECT count(*) AS n FROM orders WHERE order_id = 'o''1'"
    )
    assert queries.rows_of_order(FILLS, "o-1", "fill_id") == (
        "SELECT fill_id FROM fills WHERE order_id = 'o-1'"
    )
    assert queries.latest_days(TCA_ORDERS, "trading_day", 7) == (
        "SELECT DISTINCT trading_day AS day FROM tca_orders ORDER BY day DESC LIMIT 7"
    )
    assert queries.accepted_orders(ORDERS, "validation", DAY, DAY + pd.Timedelta(days=1)) == (
        "SELECT order_id, ts FROM orders WHERE event_type = 'OrderAccepted' AND account = "
        "'validation' AND ts >= '2026-12-03T00:00:00.000000' AND ts < "
        "'2026-12-04T00:00:00.000000'"
    )
    assert queries.orders_of_days(
        TCA_ORDERS, "validation", "trading_day", DAY, DAY + pd.Timedelta(days=1)
    ) == (
        "SELECT order_id FROM tca_orders WHERE account = 'validation' AND trading_day >= "
        "'2026-12-03T00:00:00.000000' AND trading_day < '2026-12-04T00:00:00.000000'"
    )
    assert queries.verdict_history(VERDICT_HISTORY, 200) == (
        "SELECT ts, verdict FROM validation_verdicts ORDER BY ts DESC LIMIT 200"
    )


@pytest.mark.parametrize("table", ALL_TABLES, ids=lambda t: t.name)
def test_questdb_texts_when_built_then_none_uses_what_questdb_lacks(table: Any) -> None:
    texts = [
        queries.recent_rows(table, 10, Q),
        queries.newest_timestamp(table, Q),
        distinct_seqs_sql(table, Q),
    ]
    for text in texts:
        upper = text.upper()
        # IN (subquery) is refused on VARCHAR (questdb#5628); a DATE is milliseconds,
        # not a day; ORDER BY over a whole table is held in RAM.
        assert "IN (SELECT" not in upper and "AS DATE" not in upper
        assert "ORDER BY" not in upper and "HAVING" not in upper and "OFFSET" not in upper


class RecordingQuestDB(QuestDBWarehouse):
    """A QuestDB warehouse whose `query` is recorded, not sent (no server here): it
    answers an empty frame, so the suites' code paths run to the end."""

    def model_post_init(self, context: Any) -> None:
        super().model_post_init(context)
        object.__setattr__(self, "_sent", [])

    @property
    def sent(self) -> list[str]:
        sent: list[str] = object.__getattribute__(self, "_sent")
        return sent

    def query(self, sql: str) -> pd.DataFrame:
        self.sent.append(sql)
        return pd.DataFrame()


def test_suites_when_the_warehouse_is_questdb_then_they_send_its_dialect(
    tmp_path: Path,
) -> None:
    warehouse = RecordingQuestDB(host="127.0.0.1")
    platform = Platform(
        api_url="http://127.0.0.1:1",
        journal=JournalSource(path=str(tmp_path / "journal.db")),
        warehouse=warehouse,
    )
    _recent(platform, QUOTES)
    assert _newest(platform, SHIP_LOG) is None  # no row: nothing shipped
    many_rows = next(p for p in PROJECTIONS if not p.one_row_per_event)
    assert events_in_table(warehouse, many_rows) == 0
    assert warehouse.sent == [
        "SELECT * FROM quotes LIMIT -50000",
        "SELECT ts AS newest FROM ship_log LIMIT -1",
        f"SELECT count_distinct(seq) AS n FROM {many_rows.table.name}",
    ]


def test_duckdb_texts_when_run_then_the_newest_rows_and_timestamp_come_back(
    tmp_path: Path,
) -> None:
    warehouse = DuckDBWarehouse(path=str(tmp_path / "w.duckdb"))
    stamps = pd.to_datetime(["2026-12-03 10:00", "2026-12-03 11:00", "2026-12-03 12:00"])
    frame = pd.DataFrame({c.name: [None] * 3 for c in QUOTES.columns})
    frame["ts"], frame["seq"], frame["symbol"] = stamps, [3, 1, 2], "AAPL"
    frame["bid"], frame["ask"], frame["bid_size"], frame["ask_size"] = 1.0, 1.1, 1, 1
    warehouse.write_frame(QUOTES, frame)
    platform = Platform(
        api_url="http://127.0.0.1:1",
        journal=JournalSource(path=str(tmp_path / "journal.db")),
        warehouse=warehouse,
    )
    try:
        newest_two = warehouse.query(queries.recent_rows(QUOTES, 2, D))
        # by timestamp first (the old text sorted ts ascending: the oldest rows)
        assert list(newest_two["seq"]) == [2, 1]
        assert _newest(platform, QUOTES) == pd.Timestamp("2026-12-03 12:00")
        assert int(warehouse.query(distinct_seqs_sql(QUOTES, D))["n"].iloc[0]) == 3
    finally:
        warehouse.close()
