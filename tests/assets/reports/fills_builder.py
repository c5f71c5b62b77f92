"""Hand-made fills for the report tests: one line per fill, in the order given."""

from __future__ import annotations

import pandas as pd

from assets.reports.fills import canonical_fills


def fills(
    *rows: tuple[str, str, str, str, int, float] | tuple[str, str, str, str, int, float, float],
) -> pd.DataFrame:
    """Rows (id, time, account/symbol as "A/XYZ", side, quantity, price[, fee])."""
    records = []
    for seq, row in enumerate(rows, start=1):
        fill_id, time, book, side, quantity, price, *fee = row
        account, symbol = book.split("/")
        records.append(
            {
                "seq": seq,
                "ts": pd.Timestamp(time),
                "fill_id": fill_id,
                "order_id": f"O-{fill_id}",
                "account": account,
                "symbol": symbol,
                "side": side,
                "quantity": quantity,
                "price": price,
                "fee": fee[0] if fee else 0.0,
            }
        )
    return canonical_fills(pd.DataFrame(records))
