"""bench.online_features and bench.risk_check --volatility-scaling at a tiny size: they
run end to end and report the keys BENCHMARKS.md relies on."""

from __future__ import annotations

import json

import pytest

from bench import online_features, risk_check

pytestmark = pytest.mark.slow


def test_online_features_bench_when_run_small_without_redis_then_reports_its_keys(
    capsys: pytest.CaptureFixture[str],
) -> None:
    result = online_features.main(
        ["--iterations", "20", "--symbols", "50", "--refreshes", "2", "--no-redis"]
    )

    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert last == result
    assert {"sqlite_p50_ms", "sqlite_p99_ms", "redis_p50_ms", "redis_p99_ms"} <= set(result)
    assert result["sqlite_p50_ms"] > 0 and result["refresh_2000_ms"] > 0
    assert result["redis_p50_ms"] is None


def test_risk_check_bench_when_scaling_on_then_every_check_still_passes() -> None:
    result = risk_check.main(
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
            "--volatility-scaling",
        ]
    )

    assert result["volatility_scaling"] is True
    assert result["p50_us"] > 0
