"""The `service` resource: the running realtime service's own positions and P&L.

`daily_pnl`'s reconciliation asks it first (GET /positions and GET /pnl, per
account, with that account's API key: the service shows an account only its
own book) and falls back to replaying the journal when no URL is configured or
the service does not answer. What it answers is the service's book *now*, so
the check uses it only for a day after which nothing has been filled.

/positions and /pnl are two requests, and the service re-marks its book to a new
sampled mid about once a second (realtime.engine's price_sample_interval_ns), so
a re-mark between them makes /pnl's unrealized total disagree with the sum of
/positions' (about 1 read in 100 against a live synthetic feed). An account's
book is therefore read as /positions, /pnl, /positions and kept only when both
/positions answers are the same: /pnl then saw that book.
"""

from __future__ import annotations

from typing import Any

import dagster as dg
import httpx
import pandas as pd
import pydantic

from realtime.pnl import BOOK_COLUMNS


class ServiceBook(dg.ConfigurableResource):
    """GET /positions and /pnl of the service at `url` for each account in `api_keys`."""

    url: str | None = pydantic.Field(default=None, description="e.g. http://127.0.0.1:8000")
    api_keys: dict[str, str] = pydantic.Field(
        default_factory=dict, description="account -> API key (never logged)"
    )
    timeout_s: float = 5.0
    snapshot_attempts: int = pydantic.Field(
        default=5, ge=1, description="reads of an account's book before giving up on a still one"
    )

    @property
    def configured(self) -> bool:
        return bool(self.url) and bool(self.api_keys)

    def positions(self) -> tuple[pd.DataFrame, pd.DataFrame] | None:
        """(per account and symbol: BOOK_COLUMNS; per account: account,
        realized_pnl, unrealized_pnl) from the service, or None when it is not
        configured or does not answer (the caller then replays the journal)."""
        if not self.configured:
            return None
        rows: list[tuple[Any, ...]] = []
        accounts: list[tuple[str, float, float]] = []
        try:
            with httpx.Client(base_url=str(self.url), timeout=self.timeout_s) as client:
                for account, key in sorted(self.api_keys.items()):
                    listed, body = self._snapshot(client, account, key)
                    rows.extend(
                        (
                            account,
                            p["symbol"],
                            int(p["quantity"]),
                            float(p["average_cost"]),
                            float(p["realized_pnl"]),
                            float("nan") if p["mark"] is None else float(p["mark"]),
                            float(p["unrealized_pnl"]),
                        )
                        for p in listed
                    )
                    accounts.append(
                        (account, float(body["realized_pnl"]), float(body["unrealized_pnl"]))
                    )
        except (httpx.HTTPError, KeyError, ValueError, BookMoving) as exc:
            dg.get_dagster_logger().warning(
                f"the realtime service at {self.url} gave no usable GET /positions and /pnl "
                f"({type(exc).__name__}: {exc}); reconciling against the journal instead"
            )
            return None
        return (
            pd.DataFrame(rows, columns=list(BOOK_COLUMNS)),
            pd.DataFrame(accounts, columns=["account", "realized_pnl", "unrealized_pnl"]),
        )

    def _snapshot(
        self, client: httpx.Client, account: str, key: str
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """One account's /positions and the /pnl computed from that same book."""
        headers = {"X-API-Key": key}

        def listed() -> list[dict[str, Any]]:
            response = client.get("/positions", headers=headers)
            response.raise_for_status()
            positions: list[dict[str, Any]] = response.json()["positions"]
            return positions

        before = listed()
        for _ in range(self.snapshot_attempts):
            pnl = client.get("/pnl", headers=headers)
            pnl.raise_for_status()
            after = listed()
            if after == before:
                body: dict[str, Any] = pnl.json()
                return after, body
            before = after
        raise BookMoving(
            f"{account}'s book changed between every GET /positions and /pnl "
            f"({self.snapshot_attempts} attempts)"
        )


class BookMoving(RuntimeError):
    """The service's book never held still across one /positions, /pnl, /positions read."""
