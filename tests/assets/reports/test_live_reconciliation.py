"""daily_pnl's reconciliation against a LIVE realtime service (issue 11), end to end.

The service runs as its own process on 127.0.0.1 (port 0) on a data folder whose
journal holds a past trading day the real engine traded (fake clock, simulated
venue, fees): a completed day is the only kind Dagster materialises (a daily
partition exists once its day has ended) and the check asks the service only for
a day after which the warehouse holds no fill, so a day traded through the
service's HTTP API today could not be reconciled against it until tomorrow. The
service recovers that day's book from its journal; the journal is shipped by the
code location's own `warehouse_job`; `reports_job` materialises the day with
TRADEPIPE_SERVICE_URL / TRADEPIPE_SERVICE_KEYS read by `Settings.from_env`, so the
resources are the ones `orchestration.definitions` wires. Then one more order
fills through the API and is not shipped: the service's book no longer matches
the warehouse's, and the check must fail naming that account and symbol.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import httpx
import pytest

from assets.resources import ServiceBook
from orchestration.definitions import build_definitions
from orchestration.settings import Settings
from realtime.domain import Side
from tests.assets.execution_quality.journal import FEES
from tests.realtime.api.support import (
    ALICE,
    HTTP_TIMEOUT,
    KEYS,
    Server,
    copy_config,
    market_order,
    place,
    running_server,
    wait_for_status,
)
from tests.realtime.harness import Harness, market, open_engine

pytestmark = pytest.mark.slow

DAY = "2026-11-26"  # tests.realtime.harness.T0 is 14:30 UTC on it
SECOND = 1_000_000_000
CHECK = "daily_pnl_reconciles_with_service"
# What the past day leaves open: alice long AAPL and (partly sold) MSFT, bob short AAPL.
OPEN_AT_DAY_END = {("alice", "AAPL"): 100, ("alice", "MSFT"): 30, ("bob", "AAPL"): -40}


def _quote(h: Harness, symbol: str, mid: float) -> None:
    h.quote(symbol, round(mid - 0.01, 2), round(mid + 0.01, 2))


def write_past_day(path: Path) -> None:
    """Fills on two symbols and two accounts, with realized P&L, fees and open positions;
    no order is left working (the live service would otherwise fill it today)."""

    async def session() -> None:
        async with open_engine(path, fees=FEES) as h:
            _quote(h, "AAPL", 190.00)
            _quote(h, "MSFT", 415.00)
            await h.submit(market("a-aapl", Side.BUY, 100))
            await h.submit(market("a-msft", Side.BUY, 50, symbol="MSFT"))
            await h.settle()
            h.advance(60 * SECOND)
            _quote(h, "MSFT", 416.37)  # the sale realizes 20 * 1.37 before fees
            _quote(h, "AAPL", 189.50)
            await h.submit(market("a-msft-out", Side.SELL, 20, symbol="MSFT"))
            await h.submit(market("b-aapl", Side.SELL, 40), account="bob")
            await h.settle()
            h.advance(60 * SECOND)
            _quote(h, "AAPL", 190.25)  # the day's last mids
            _quote(h, "MSFT", 416.10)
            h.advance(SECOND)
            await h.engine.journal.flush()

    asyncio.run(session())


def service_book(client: httpx.Client) -> dict[tuple[str, str], int]:
    book: dict[tuple[str, str], int] = {}
    for account, headers in KEYS.items():
        response = client.get("/positions", headers=headers)
        assert response.status_code == 200, response.text
        for position in response.json()["positions"]:
            if position["quantity"] != 0:
                book[(account, position["symbol"])] = int(position["quantity"])
    return book


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[Server, Path]]:
    """The service, started on a data folder holding the past day's journal, and
    stopped (SIGTERM, then SIGKILL) when the test ends."""
    config_dir = copy_config(tmp_path / "config")
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    write_past_day(data_dir / "journal.db")
    with running_server(data_dir, config_dir, tmp_path / "service.log") as server:
        yield server, config_dir


def code_location(server: Server, config_dir: Path) -> dg.Definitions:
    env = {
        "TRADEPIPE_DATA_DIR": str(server.data_dir),
        "TRADEPIPE_CONFIG_DIR": str(config_dir),
        "TRADEPIPE_SERVICE_URL": server.base_url,
        "TRADEPIPE_SERVICE_KEYS": ",".join(
            f"{account}={headers['X-API-Key']}" for account, headers in KEYS.items()
        ),
    }
    return build_definitions(Settings.from_env(env))


def reconciliation(defs: dg.Definitions) -> tuple[dg.AssetCheckEvaluation, dict[str, Any]]:
    """The check's evaluation and daily_pnl's headline figures for DAY."""
    result = defs.resolve_job_def("reports_job").execute_in_process(partition_key=DAY)
    assert result.success
    evaluation = next(e for e in result.get_asset_check_evaluations() if e.check_name == CHECK)
    figures = next(
        m.metadata
        for m in result.asset_materializations_for_node("daily_pnl")
        if m.partition == DAY
    )
    return evaluation, {k: v.value for k, v in figures.items()}


def text(evaluation: dg.AssetCheckEvaluation, key: str) -> Any:
    return evaluation.metadata[key].value


def test_live_service_when_books_agree_then_passes_and_when_it_trades_on_then_names_the_pair(
    live: tuple[Server, Path],
) -> None:
    server, config_dir = live
    defs = code_location(server, config_dir)
    with httpx.Client(base_url=server.base_url, timeout=HTTP_TIMEOUT) as client:
        # The service recovered the past day's book from its journal.
        assert service_book(client) == OPEN_AT_DAY_END

        shipped = defs.resolve_job_def("warehouse_job").execute_in_process()
        assert shipped.success

        agreed, figures = reconciliation(defs)
        # What was compared has realized P&L and fees in it, not only positions.
        assert figures["fills_today"] == 4
        assert figures["fees"] > 0
        assert abs(figures["realized_pnl"]) > 1
        assert agreed.passed, agreed.description
        assert text(agreed, "source") == f"the service at {server.base_url}"
        assert text(agreed, "service_positions") >= len(OPEN_AT_DAY_END)
        assert text(agreed, "rows_checked") == 3
        assert text(agreed, "trading_day") == DAY

        # One more fill the warehouse has not been sent: the service's book moves on.
        order = place(client, ALICE, market_order("BUY", 7, "MSFT"))
        filled = wait_for_status(client, ALICE, order["order_id"], {"FILLED"}, timeout=10.0)
        assert filled["filled_quantity"] == 7
        assert service_book(client)[("alice", "MSFT")] == 37

    differed, _ = reconciliation(defs)

    assert not differed.passed
    assert text(differed, "source") == f"the service at {server.base_url}"
    assert "alice/MSFT" in (differed.description or "")
    assert "bob/AAPL" not in (differed.description or "")
    assert "alice/AAPL" not in (differed.description or "")
    assert "quantity" in text(differed, "differences")


READS = 400  # a re-mark fell between /positions and /pnl in ~1 read of 100 before the fix


def test_live_service_when_it_re_marks_between_requests_then_each_read_is_one_book(
    live: tuple[Server, Path],
) -> None:
    server, _ = live
    book = ServiceBook(url=server.base_url, api_keys={a: h["X-API-Key"] for a, h in KEYS.items()})

    for _ in range(READS):
        read = book.positions()
        assert read is not None
        positions, accounts = read
        summed = positions.groupby("account")["unrealized_pnl"].sum()
        for account, unrealized in zip(
            accounts["account"], accounts["unrealized_pnl"], strict=True
        ):
            assert abs(summed[account] - unrealized) <= 0.01, (account, positions, accounts)
