"""Tick files dropped in the tick inbox, read with the one tick file parser.

The format (columns, layouts, the rule on time zones, the reason codes) is
`realtime.tick_file`'s, which the live replay feed uses too: a file the service
can replay loads here, and the other way round. This module only maps what the
parser gives to the warehouse tables: good quotes to `replay_quotes`, good
trades to `replay_trades`, each refused row (or a refused whole file, line 0)
to the quarantine with its line and reason code.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from assets.sinks.files import InboxFile, ParsedFile
from assets.sinks.tables import REPLAY_QUOTES, REPLAY_TRADES
from realtime.tick_file import read_tick_file


def parse_tick_file(file: InboxFile) -> ParsedFile:
    parsed = ParsedFile()
    quotes: list[pd.DataFrame] = []
    trades: list[pd.DataFrame] = []
    for batch in read_tick_file(file.read(), file.path.suffix):
        for refused in batch.refused:
            parsed.refuse(refused.line_no, refused.code, refused.reason, refused.record)
        quotes.append(batch.quotes)
        trades.append(batch.trades)
    for table, frames in ((REPLAY_QUOTES, quotes), (REPLAY_TRADES, trades)):
        frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        if len(frame):
            parsed.rows[table.name] = _for_warehouse(frame, file)[list(table.column_names)]
    return parsed


def _for_warehouse(frame: pd.DataFrame, file: InboxFile) -> pd.DataFrame:
    """The parser's columns as the table's: UTC-naive datetime64[ns] times, the file's
    hash and mtime beside each row (the dedup key is file_sha256 + line_no)."""
    out = frame.drop(columns=["ts_ns"])
    out.insert(0, "ts", pd.to_datetime(frame["ts_ns"].to_numpy(), unit="ns"))
    out["file_sha256"] = file.sha256
    out["received_at"] = np.full(len(out), file.received_at.to_datetime64(), "datetime64[ns]")
    return out
