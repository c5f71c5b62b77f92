"""What a risk person looks at first: how many orders risk refused, and why.

The summary is read back from the `risk_rejections` table after each shipping run
that wrote to it, so it counts every rejection the table holds, not only the run's.
"""

from __future__ import annotations

from typing import Any

import dagster as dg

from assets.metadata import bar_chart
from assets.resources import Warehouse
from assets.warehouse.tables import RISK_REJECTIONS


def rejection_summary(warehouse: Warehouse) -> dict[str, Any]:
    """Metadata: rejections by reason (a chart, and one number per reason, which the
    UI plots across materialisations), and by account."""
    table = RISK_REJECTIONS.name
    by_reason = warehouse.query(
        f"SELECT reason, count(*) AS rejections FROM {table} GROUP BY reason "
        "ORDER BY rejections DESC, reason"
    )
    by_account = warehouse.query(
        f"SELECT coalesce(account, '(a replace)') AS account, reason, count(*) AS rejections "
        f"FROM {table} GROUP BY account, reason ORDER BY rejections DESC, account, reason"
    )
    metadata: dict[str, Any] = {
        "rejections_by_reason": dg.MetadataValue.md(
            bar_chart(by_reason, "reason", "rejections", empty="_no rejections yet_")
        ),
        "rejections_by_account": dg.MetadataValue.md(
            by_account.to_markdown(index=False) if len(by_account) else "_no rejections yet_"
        ),
    }
    for reason, count in zip(by_reason["reason"], by_reason["rejections"], strict=True):
        metadata[f"rejections_{reason}"] = dg.MetadataValue.int(int(count))
    return metadata
