"""Benchmark: journal -> DuckDB shipping, and QuestDB ILP serialisation.

    python -m bench.warehouse --rows 1000000

Writes a journal of `--rows` events (market data with some order flow: 65 %
quotes, 30 % trades, 5 % order events, a third of them fills) in a temporary
folder, from another process as the realtime service would, then:

1. ships it with the same code the warehouse assets run (`ship` of all five
   tables: verified bulk reads, DuckDB file, exactly-once writes, the final
   checkpoint), timed end to end; rows count each table's rows, so a fill
   counts twice (orders and fills);
2. serialises the frames that were written with the official QuestDB client,
   in the chunks a QuestDB write sends (`Buffer.dataframe` and `bytes(buffer)`,
   ILP protocol version 2), timed.

The last line printed is one JSON object with the figures
(`duckdb_rows_per_s`, `ilp_rows_per_s`, ...).

    python -m bench.warehouse --questdb 'questdb://host:9000?pg_port=8812' --rows 1000000

measures the write path against a live QuestDB instead: a quotes frame of
`--rows` rows is written once through `QuestDBWarehouse.write_ilp` (our path:
conformed frame, chunks of `request_rows`, one transaction each) into
`bench_quotes`, and once with the raw official client (`Sender.dataframe`, its
default auto-flush) into `bench_quotes_raw`, both created with our DDL (WAL,
DEDUP) and dropped at the end; it reports both rates and their ratio
(`questdb_ratio`, ours / raw).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from questdb import Sender

from assets.resources.duckdb_warehouse import DuckDBWarehouse
from assets.resources.journal import JournalSource
from assets.resources.questdb_warehouse import QuestDBWarehouse
from assets.resources.schema import TableSpec
from assets.resources.warehouse import conform
from assets.warehouse.projections import PROJECTIONS
from assets.warehouse.shipping import ship
from assets.warehouse.tables import QUOTES
from orchestration.resources import warehouse_from_url
from realtime.domain import OrderRequest, OrderType, Side, TimeInForce
from realtime.events import (
    Event,
    OrderAccepted,
    OrderAcknowledged,
    OrderFilled,
    PriceSampled,
    TradePrinted,
)
from realtime.journal import Journal

T0 = 1_795_703_400_000_000_000  # 2026-11-26 14:30 UTC
SYMBOLS = ("AAPL", "MSFT", "NVDA", "AMZN", "GOOGL", "META", "TSLA", "ESZ6")


def events(count: int) -> Iterator[Event]:
    orders = 0
    for i in range(count):
        ts = T0 + i * 1_000
        symbol = SYMBOLS[i % len(SYMBOLS)]
        price = 100.0 + (i % 997) * 0.01
        slot = i % 20
        if slot < 13:
            yield PriceSampled(
                ts_ns=ts, symbol=symbol, bid=price, ask=price + 0.01, bid_size=100, ask_size=300
            )
        elif slot < 19:
            yield TradePrinted(ts_ns=ts, symbol=symbol, price=price, size=1 + i % 500)
        else:
            order_id = f"O{orders // 3 + 1}"
            step = orders % 3
            orders += 1
            if step == 0:
                request = OrderRequest(
                    client_order_id=f"c{orders}",
                    symbol=symbol,
                    side=Side.BUY,
                    quantity=100,
                    order_type=OrderType.LIMIT,
                    limit_price=price,
                    time_in_force=TimeInForce.DAY,
                )
                yield OrderAccepted(
                    ts_ns=ts,
                    order_id=order_id,
                    account="alice",
                    request=request,
                    reference_price=price,
                )
            elif step == 1:
                yield OrderAcknowledged(ts_ns=ts, order_id=order_id)
            else:
                yield OrderFilled(
                    ts_ns=ts,
                    order_id=order_id,
                    fill_id=f"F{orders}",
                    account="alice",
                    symbol=symbol,
                    side=Side.BUY,
                    quantity=100,
                    price=price,
                    liquidity="MAKER",
                )


def write_journal(path: Path, count: int) -> None:
    with Journal.open(path) as journal:
        journal.append_many_sync(events(count))


def ship_all(journal: JournalSource, warehouse: DuckDBWarehouse) -> int:
    reports = ship(PROJECTIONS, journal, warehouse, run_id="bench")
    warehouse.close()  # the final checkpoint is part of the cost
    return sum(r.rows for r in reports.values())


def ilp_serialise(frames: list[tuple[TableSpec, pd.DataFrame]]) -> tuple[int, int, float]:
    """ILP of the frames as a QuestDB write would build it (same chunks, same client)."""
    questdb = QuestDBWarehouse(host="localhost", protocol_version=2)
    conformed = [(table, conform(table, frame)) for table, frame in frames if len(frame)]
    rows = size = 0
    started = time.perf_counter()
    with questdb._sender() as sender:  # offline: protocol version pinned, nothing is sent
        for table, frame in conformed:
            for buffer in questdb.ilp_requests(sender, table, frame):
                size += len(bytes(buffer))
            rows += len(frame)
    return rows, size, time.perf_counter() - started


OURS_TABLE = dataclasses.replace(QUOTES, name="bench_quotes")
RAW_TABLE = dataclasses.replace(QUOTES, name="bench_quotes_raw")


def quotes_frame(rows: int) -> pd.DataFrame:
    """A deterministic quotes frame, conformed as a write would send it."""
    i = np.arange(rows, dtype=np.int64)
    price = 100.0 + (i % 997) * 0.01
    frame = pd.DataFrame(
        {
            "ts": (T0 + i * 1_000).view("datetime64[ns]"),
            "seq": i + 1,
            "symbol": np.array(SYMBOLS, dtype=object)[i % len(SYMBOLS)],
            "bid": price,
            "ask": price + 0.01,
            "bid_size": np.full(rows, 100),
            "ask_size": 100 + i % 400,
        }
    )
    return conform(QUOTES, frame)


def raw_conf(questdb: QuestDBWarehouse) -> str:
    """The client configuration a user of the raw client would write: the same
    server and credentials, the client's own defaults for everything else."""
    return questdb.ilp_conf().replace("auto_flush=off;", "")


def compare_write_paths(questdb: QuestDBWarehouse, frame: pd.DataFrame) -> dict[str, Any]:
    """Time our write path and the raw client's on the same conformed frame."""
    started = time.perf_counter()
    questdb.write_ilp([(OURS_TABLE, frame)])
    ours_s = time.perf_counter() - started
    started = time.perf_counter()
    with Sender.from_conf(raw_conf(questdb)) as sender:
        sender.dataframe(frame, table_name=RAW_TABLE.name, symbols=["symbol"], at="ts")
        sender.flush()
    raw_s = time.perf_counter() - started
    rows = len(frame)
    return {
        "questdb_rows": rows,
        "questdb_ours_seconds": round(ours_s, 3),
        "questdb_ours_rows_per_s": round(rows / ours_s),
        "questdb_raw_seconds": round(raw_s, 3),
        "questdb_raw_rows_per_s": round(rows / raw_s),
        "questdb_ratio": round(raw_s / ours_s, 3),
    }


def questdb_main(url: str, rows: int) -> dict[str, Any]:
    questdb = warehouse_from_url(url)
    if not isinstance(questdb, QuestDBWarehouse):
        raise SystemExit(f"--questdb needs a questdb:// URL, not {url!r}")
    frame = quotes_frame(rows)
    drop = [f"DROP TABLE IF EXISTS {t.name}" for t in (OURS_TABLE, RAW_TABLE)]
    with questdb._pg("bench tables") as con:  # DDL is not a verb of the resource
        for statement in drop:
            questdb._execute(con, statement, "bench tables")
    questdb.ensure_schema([OURS_TABLE, RAW_TABLE])  # also checks the server version
    try:
        result = compare_write_paths(questdb, frame)
    finally:
        with questdb._pg("bench tables") as con:
            for statement in drop:
                questdb._execute(con, statement, "bench tables")
    print(
        f"{rows} rows to {questdb.location}: ours {result['questdb_ours_rows_per_s']} rows/s, "
        f"raw client {result['questdb_raw_rows_per_s']} rows/s, ratio {result['questdb_ratio']}"
    )
    return {"benchmark": "warehouse_questdb", **result}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="journal events to ship")
    parser.add_argument(
        "--verify-market-data",
        action="store_true",
        help="also verify the row checksums of quotes and trades (off by default)",
    )
    parser.add_argument(
        "--batch-rows", type=int, help="events per journal batch (JournalSource.batch_rows)"
    )
    parser.add_argument(
        "--duckdb-threads", type=int, help="DuckDB worker threads (DuckDBWarehouse.threads)"
    )
    parser.add_argument(
        "--questdb",
        metavar="URL",
        help="measure the write path against this live QuestDB (questdb://host:9000?...) "
        "beside the raw client, instead of shipping to DuckDB",
    )
    args = parser.parse_args(argv)
    if args.rows < 1:
        parser.error("--rows must be at least 1")
    if args.questdb is not None:
        result = questdb_main(args.questdb, args.rows)
        print(json.dumps(result))
        return result
    with tempfile.TemporaryDirectory(prefix="bench-warehouse-") as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        # Another process writes the journal, as the realtime service does: this one
        # then ships from a clean heap, and the kernel has flushed the pages written.
        writer = multiprocessing.get_context("spawn").Process(
            target=write_journal, args=(folder / "journal.db", args.rows)
        )
        writer.start()
        writer.join()
        if writer.exitcode != 0:
            raise SystemExit(f"writing the journal failed (exit code {writer.exitcode})")
        os.sync()
        print(f"journal of {args.rows} events written in {time.perf_counter() - started:.1f} s")

        # Only the options given: the resources' own defaults are what is measured.
        tuning = {"batch_rows": args.batch_rows} if args.batch_rows else {}
        journal = JournalSource(
            path=str(folder / "journal.db"),
            verify_market_data_checksums=args.verify_market_data,
            **tuning,
        )
        threads = {"threads": args.duckdb_threads} if args.duckdb_threads else {}
        warehouse = DuckDBWarehouse(path=str(folder / "warehouse.duckdb"), **threads)
        started = time.perf_counter()
        shipped = ship_all(journal, warehouse)
        ship_s = time.perf_counter() - started
        print(f"shipped {shipped} rows to DuckDB in {ship_s:.2f} s")

        frames = [(p.table, warehouse.query(f"SELECT * FROM {p.table.name}")) for p in PROJECTIONS]
        ilp_rows, ilp_bytes, ilp_s = ilp_serialise(frames)
        print(f"serialised {ilp_rows} rows ({ilp_bytes / 1e6:.0f} MB of ILP) in {ilp_s:.2f} s")

    result = {
        "benchmark": "warehouse",
        "rows": args.rows,
        "market_data_checksums_verified": args.verify_market_data,
        "batch_rows": journal.batch_rows,
        "duckdb_threads": warehouse.threads,
        "duckdb_rows": shipped,
        "duckdb_seconds": round(ship_s, 3),
        "duckdb_rows_per_s": round(shipped / ship_s),
        "ilp_rows": ilp_rows,
        "ilp_bytes": ilp_bytes,
        "ilp_seconds": round(ilp_s, 3),
        "ilp_rows_per_s": round(ilp_rows / ilp_s),
    }
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
