"""The fill frame every report library takes, and how it is made canonical.

Columns: `seq` (journal sequence, the order fills happened in), `ts` (naive
UTC), `fill_id`, `order_id`, `account`, `symbol`, `side` (BUY or SELL),
`quantity` (> 0), `price`, `fee` (currency; 0 where a fill has none: the
warehouse's `fills.fee` column is read when it exists, and a null fee is 0).
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd

FILL_COLUMNS: Final = (
    "seq",
    "ts",
    "fill_id",
    "order_id",
    "account",
    "symbol",
    "side",
    "quantity",
    "price",
    "fee",
)
SIDE_SIGN: Final = {"BUY": 1, "SELL": -1}


class FillsError(ValueError):
    """Fills the reports cannot use; `code` is stable, the message names the rows."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


def canonical_fills(fills: pd.DataFrame) -> pd.DataFrame:
    """The fills in seq order with the library's columns and dtypes (fee 0 where
    missing). Raises FillsError on a side other than BUY/SELL, a quantity that is
    not positive, or a price that is not a positive finite number."""
    frame = fills.reset_index(drop=True)
    if "fee" not in frame.columns:
        frame = frame.assign(fee=0.0)
    for column in ("fill_id", "order_id"):
        if column not in frame.columns:
            frame = frame.assign(**{column: frame["seq"].astype(str)})
    missing = [c for c in FILL_COLUMNS if c not in frame.columns]
    if missing:
        raise FillsError("FILLS_MISSING_COLUMNS", f"fills lack columns {missing}")
    out = pd.DataFrame(
        {
            "seq": frame["seq"].to_numpy(dtype=np.int64),
            "ts": pd.to_datetime(frame["ts"]).to_numpy(dtype="datetime64[ns]"),
            "fill_id": frame["fill_id"].astype(str).to_numpy(dtype=object),
            "order_id": frame["order_id"].astype(str).to_numpy(dtype=object),
            "account": frame["account"].astype(str).to_numpy(dtype=object),
            "symbol": frame["symbol"].astype(str).to_numpy(dtype=object),
            "side": frame["side"].astype(str).to_numpy(dtype=object),
            "quantity": frame["quantity"].to_numpy(dtype=np.int64),
            "price": frame["price"].to_numpy(dtype=np.float64),
            "fee": pd.to_numeric(frame["fee"], errors="coerce").fillna(0.0).to_numpy(np.float64),
        }
    )
    bad_side = ~out["side"].isin(list(SIDE_SIGN))
    if bad_side.any():
        raise FillsError("FILL_BAD_SIDE", f"fills {_ids(out, bad_side)} have no BUY/SELL side")
    bad_qty = out["quantity"] <= 0
    if bad_qty.any():
        raise FillsError("FILL_BAD_QUANTITY", f"fills {_ids(out, bad_qty)} have quantity <= 0")
    price = out["price"].to_numpy()
    bad_price = ~(np.isfinite(price) & (price > 0))
    if bad_price.any():
        raise FillsError("FILL_BAD_PRICE", f"fills {_ids(out, pd.Series(bad_price))} bad price")
    return out.sort_values("seq", kind="stable").reset_index(drop=True)


def empty_fills() -> pd.DataFrame:
    return canonical_fills(
        pd.DataFrame({c: pd.Series(dtype=object) for c in FILL_COLUMNS}).astype(
            {"seq": np.int64, "quantity": np.int64, "price": np.float64, "fee": np.float64}
        )
    )


def _ids(frame: pd.DataFrame, mask: pd.Series) -> list[str]:
    return list(frame.loc[mask.to_numpy(), "fill_id"].head(5))
