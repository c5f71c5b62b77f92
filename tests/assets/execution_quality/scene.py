"""The scene of the hand-computed TCA tests (the values are worked out in the tests).

The scene (AAPL unless said; T = 2026-11-26 14:30:00 UTC; seconds after T):

AAPL quotes    0 s: 99.98 / 100.02 (mid 100.00)     10 s: 100.08 / 100.12 (100.10)
               15 s: 100.03 / 100.07 (100.05)         20 s: 100.18 / 100.22 (100.20)
               70 s: 100.28 / 100.32 (100.30)
MSFT quotes    0.5 s: 199.90 / 200.10 (200.00)       29 s: 200.10 / 200.30 (200.20)
               31 s: 200.90 / 201.10 (201.00)
NEWCO quote    1.000001 s: 49.90 / 50.10 (50.00)
AAPL trades    4 s 500 @ 99.90, 5 s 100 @ 100.00, 8 s 200 @ 100.05, 12 s 100 @ 100.10,
               13 s 999 @ 101.00, 15 s 300 @ 100.05, 25 s 100 @ 100.20, 26 s 50 @ 100.30

A  BUY 100 AAPL MARKET at 5 s, no decision price; fills 60 @ 100.12 at 10 s (a quote
   at exactly that time) and 40 @ 100.10 at 12 s; FILLED.
B  SELL 200 AAPL LIMIT, decided at 100.50 (stale), submitted at 15 s - 1 us (the
   15 s quote is 1 us after it); fills 50 @ 100.06 at 16 s (fee 0.50) and
   30 @ 100.04 at 18 s (fee 0.30); the remainder cancelled at 25 s.
C  BUY 50 MSFT LIMIT decided at 199.80, rejected at 30 s: no fills.
D  BUY 10 NEWCO at 1 s (its first quote is 1 us later); 5 @ 50.00 at 2 s; expired at 3 s.
E  SELL 10 AAPL at 60 s, still open at the cutoff (80 s).
"""

from __future__ import annotations

import pandas as pd

T = pd.Timestamp("2026-11-26 14:30:00")
US = pd.Timedelta(microseconds=1)


def at(seconds: float) -> pd.Timestamp:
    return T + pd.Timedelta(seconds=seconds)


def quotes() -> pd.DataFrame:
    rows = [
        ("AAPL", at(0), 99.98, 100.02),
        ("MSFT", at(0.5), 199.90, 200.10),
        ("NEWCO", at(1) + US, 49.90, 50.10),
        ("AAPL", at(10), 100.08, 100.12),
        ("AAPL", at(15), 100.03, 100.07),
        ("AAPL", at(20), 100.18, 100.22),
        ("MSFT", at(29), 200.10, 200.30),
        ("MSFT", at(31), 200.90, 201.10),
        ("AAPL", at(70), 100.28, 100.32),
    ]
    return pd.DataFrame(rows, columns=["symbol", "time", "bid", "ask"])


def trades() -> pd.DataFrame:
    rows = [
        ("AAPL", at(4), 99.90, 500),
        ("AAPL", at(5), 100.00, 100),
        ("AAPL", at(8), 100.05, 200),
        ("AAPL", at(12), 100.10, 100),
        ("AAPL", at(13), 101.00, 999),
        ("AAPL", at(15), 100.05, 300),
        ("AAPL", at(25), 100.20, 100),
        ("AAPL", at(26), 100.30, 50),
    ]
    return pd.DataFrame(rows, columns=["symbol", "time", "price", "quantity"])


def orders() -> pd.DataFrame:
    rows = [
        ("A", "alice", "AAPL", "BUY", 100, "MARKET", None, at(5), at(12), "FILLED"),
        ("B", "bob", "AAPL", "SELL", 200, "LIMIT", 100.50, at(15) - US, at(25), "CANCELED"),
        ("C", "alice", "MSFT", "BUY", 50, "LIMIT", 199.80, at(30), at(30), "REJECTED"),
        ("D", "alice", "NEWCO", "BUY", 10, "MARKET", None, at(1), at(3), "EXPIRED"),
        ("E", "bob", "AAPL", "SELL", 10, "LIMIT", None, at(60), pd.NaT, "OPEN"),
    ]
    columns = ["order_id", "account", "symbol", "side", "quantity", "order_type"]
    columns += ["decision_price", "submit_time", "end_time", "end_status"]
    return pd.DataFrame(rows, columns=columns)


def fills(with_fees: bool = True) -> pd.DataFrame:
    rows = [
        ("a1", "A", at(10), 100.12, 60, None),
        ("a2", "A", at(12), 100.10, 40, None),
        ("b1", "B", at(16), 100.06, 50, 0.50),
        ("b2", "B", at(18), 100.04, 30, 0.30),
        ("d1", "D", at(2), 50.00, 5, None),
    ]
    frame = pd.DataFrame(rows, columns=["fill_id", "order_id", "time", "price", "quantity", "fee"])
    return frame if with_fees else frame.drop(columns=["fee"])
