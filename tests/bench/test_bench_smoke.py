"""Each benchmark runs end to end at a tiny size and reports the keys BENCHMARKS.md relies on."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from bench import engine_submit, replay, risk_check, tca, tick_files

CASES: list[tuple[str, Callable[[list[str] | None], dict[str, Any]], list[str], set[str]]] = [
    (
        "risk_check",
        risk_check.main,
        [
            "--iterations",
            "2000",
            "--warmup",
            "200",
            "--symbols",
            "5",
            "--open-orders",
            "20",
            "--positions",
            "3",
        ],
        {"p50_us", "p99_us", "evaluate_p50_us", "evaluate_p99_us", "checks_per_s"},
    ),
    (
        "engine_submit",
        engine_submit.main,
        [
            "--single",
            "200",
            "--callers",
            "4",
            "--per-caller",
            "25",
            "--warmup",
            "10",
            "--symbols",
            "5",
        ],
        {"p50_us", "p99_us", "orders_per_s", "concurrent_p50_us", "concurrent_p99_us", "commits"},
    ),
    (
        "replay",
        replay.main,
        ["--events", "3000", "--snapshot-tail", "100", "--symbols", "5", "--accounts", "3"],
        {"events", "seconds", "events_per_s", "build_seconds"},
    ),
    (
        "tca",
        tca.main,
        ["--orders", "500", "--quotes", "20000", "--symbols", "10"],
        {"orders", "fills", "quotes", "trades", "seconds"},
    ),
    (
        "tick_files",
        tick_files.main,
        ["--rows", "2000", "--repeat", "1"],
        {"csv_epoch_rows_per_s", "csv_iso_rows_per_s", "parquet_rows_per_s", "replay_ticks_per_s"},
    ),
]


@pytest.mark.parametrize(("name", "main", "argv", "keys"), CASES, ids=[case[0] for case in CASES])
def test_benchmark_when_run_tiny_then_last_line_is_json_with_required_keys(
    name: str,
    main: Callable[[list[str] | None], dict[str, Any]],
    argv: list[str],
    keys: set[str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    result = main(argv)

    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) > 1, "human-readable lines come before the JSON line"
    last = json.loads(lines[-1])
    assert last == result
    assert last["benchmark"] == name
    assert keys <= last.keys(), keys - last.keys()
    for key in keys:
        assert isinstance(last[key], int | float) and last[key] > 0, (key, last[key])


def test_engine_submit_when_run_tiny_then_no_order_is_rejected(
    capsys: pytest.CaptureFixture[str],
) -> None:
    result = engine_submit.main(
        [
            "--single",
            "50",
            "--callers",
            "2",
            "--per-caller",
            "10",
            "--warmup",
            "0",
            "--symbols",
            "3",
        ]
    )

    assert result["rejected"] == 0
    assert result["durability"] == "PROCESS"


def test_replay_when_events_are_generated_then_every_lifecycle_is_legal(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # 20k events reach the live-order cap, so retirement paths (cancel, fill) all run.
    result = replay.main(["--events", "20000", "--snapshot-tail", "500", "--symbols", "5"])

    assert result["events"] == 20000
    mix = result["mix"]
    for kind in (
        "OrderAccepted",
        "OrderAcknowledged",
        "OrderFilled",
        "OrderCanceled",
        "PriceSampled",
        "TradePrinted",
    ):
        assert mix.get(kind, 0) > 0, kind
