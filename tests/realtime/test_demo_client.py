"""The demo desk behaves like a sensible small desk against a real service."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from realtime.demo_client import Summary, run
from tests.realtime.api.support import copy_config, running_server

# Demo seconds are actions / rate: this many actions are DEMO_MINUTES of the desk at its
# default 5 actions a second, sent as fast as the service answers, against a feed sped up
# to match (the market moves about as far per action as it would in real time).
DEMO_MINUTES = float(os.environ.get("TRADEPIPE_DEMO_TEST_MINUTES", "10"))
ACTIONS = int(DEMO_MINUTES * 60 * 5)


@pytest.mark.slow
def test_demo_desk_when_run_for_its_minutes_then_few_conflicts_and_few_risk_rejections(
    tmp_path: Path,
) -> None:
    config = copy_config(tmp_path / "config")
    extra = {"TRADEPIPE_FEED_RATE": "2000"}
    with running_server(tmp_path / "data", config, tmp_path / "server.log", extra) as server:
        outcomes = asyncio.run(run(server.base_url, 0, 5.0, seed=7, actions=ACTIONS, paced=False))

    summary = Summary.of(outcomes)
    print(dict(outcomes.most_common()), summary)
    assert summary.requests > ACTIONS // 2  # most actions send a request (tickers aside)
    assert summary.conflicts / summary.requests < 0.05, outcomes
    assert summary.risk_rejections / summary.requests < 0.10, outcomes
    # The deliberate ones are there, so the risk views have something to show.
    assert any(key.startswith("deliberate 422") for key in outcomes), outcomes
    assert not [key for key in outcomes if key.startswith("transport")], outcomes
