"""bench.warehouse: its arguments, and the QuestDB mode's two write paths against a
real local ILP/HTTP server (no QuestDB here: the PG-wire DDL part needs one)."""

from __future__ import annotations

import pytest

from assets.resources import QuestDBWarehouse
from bench import warehouse
from bench._service import free_port
from tests.assets.resources.test_questdb_warehouse import IlpServer


def test_compare_write_paths_when_one_frame_then_ours_and_raw_send_the_same_rows() -> None:
    frame = warehouse.quotes_frame(1_000)
    with IlpServer(accept=10) as server:
        # Protocol 1 (text): binary doubles could hold newline bytes.
        questdb = QuestDBWarehouse(host="127.0.0.1", http_port=server.port, protocol_version=1)

        result = warehouse.compare_write_paths(questdb, frame)

    ours, raw = server.bodies
    assert ours.startswith(b"bench_quotes,symbol=AAPL ")
    assert raw.startswith(b"bench_quotes_raw,symbol=AAPL ")
    # Same frame, same client: the lines differ only in the table name.
    assert ours.replace(b"bench_quotes,", b"bench_quotes_raw,") == raw
    assert ours.count(b"\n") == 1_000
    assert result["questdb_rows"] == 1_000
    assert result["questdb_ratio"] > 0  # raw seconds / our seconds: ours relative to raw


def test_raw_conf_when_built_then_it_keeps_server_and_auth_but_the_client_defaults() -> None:
    questdb = QuestDBWarehouse(host="qdb", http_port=9000, protocol_version=2, token="t")

    assert warehouse.raw_conf(questdb) == "http::addr=qdb:9000;protocol_version=2;token=t;"


def test_main_when_questdb_url_is_not_questdb_then_exits_with_a_message() -> None:
    with pytest.raises(SystemExit, match="needs a questdb:// URL"):
        warehouse.main(["--questdb", "duckdb:///tmp/x.duckdb", "--rows", "10"])


def test_main_when_questdb_is_down_then_the_warehouse_error_names_the_server() -> None:
    port = free_port()

    with pytest.raises(Exception, match=f"QuestDB PG wire at 127.0.0.1:{port} cannot be reached"):
        warehouse.main(["--questdb", f"questdb://127.0.0.1:{free_port()}?pg_port={port}"])


def test_main_when_rows_is_zero_then_argparse_refuses() -> None:
    with pytest.raises(SystemExit):
        warehouse.main(["--rows", "0"])


def test_main_when_run_tiny_then_last_line_is_json_with_the_duckdb_figures(
    capsys: pytest.CaptureFixture[str],
) -> None:
    result = warehouse.main(["--rows", "2000"])

    assert capsys.readouterr().out.strip().splitlines()[-1].startswith('{"benchmark": "warehouse"')
    assert result["duckdb_rows"] == 2_033  # each fill lands in orders and in fills
    assert result["duckdb_rows_per_s"] > 0
