"""bench.hot_cache runs end to end at a tiny size (it starts its own redis-server)."""

from __future__ import annotations

import json
import shutil

import pytest

from bench import hot_cache


@pytest.mark.redis
@pytest.mark.skipif(shutil.which("redis-server") is None, reason="no redis-server binary")
def test_hot_cache_bench_when_run_tiny_then_every_update_reaches_the_reader(
    capsys: pytest.CaptureFixture[str],
) -> None:
    result = hot_cache.main(["--calls", "500", "--updates", "50", "--rate", "2000"])

    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert last == result
    assert result["benchmark"] == "hot_cache"
    assert result["received"] == 50
    for key in ("live_offer_p50_ns", "outage_offer_p50_ns", "reader_p50_ms", "reader_max_ms"):
        assert result[key] > 0
