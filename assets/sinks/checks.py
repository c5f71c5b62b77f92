"""Checks of each inbox table; the asset that loads the table runs them in its step."""

from __future__ import annotations

from assets.checks import monotonic_ts_check, non_negative_check, unique_keys_check
from assets.sinks.tables import ALT_SIGNALS, REPLAY_QUOTES, REPLAY_TRADES

SINK_CHECKS = [
    unique_keys_check(REPLAY_QUOTES.name, REPLAY_QUOTES, ("file_sha256", "line_no")),
    unique_keys_check(REPLAY_TRADES.name, REPLAY_TRADES, ("file_sha256", "line_no")),
    unique_keys_check(ALT_SIGNALS.name, ALT_SIGNALS, ALT_SIGNALS.upsert_keys),
    # A replay file is in time order per symbol; files are independent of each other.
    monotonic_ts_check(REPLAY_QUOTES.name, REPLAY_QUOTES, ("file_sha256", "symbol"), "line_no"),
    monotonic_ts_check(REPLAY_TRADES.name, REPLAY_TRADES, ("file_sha256", "symbol"), "line_no"),
    non_negative_check(REPLAY_QUOTES.name, REPLAY_QUOTES, ("bid", "ask", "bid_size", "ask_size")),
    non_negative_check(REPLAY_TRADES.name, REPLAY_TRADES, ("price", "size")),
]
