"""The tax-lot engine against its earlier, slower form (`reference_tax_lots`) on
seeded random fill sequences: every frame equal, value for value.

The sequences are small books traded both ways with fees, days spread so that some
losses find replacements before the close, some after and some none, position flips,
a 50x contract, each relief method, washed shorts, a local time zone, a cutoff and
a checkpoint; and fills whose times go back (seq order is not time order), which
the engine handles on its slower path. With `since` (a reported day's rows only:
`lots_of_day`, what the asset calls), the rows equal the reference's full output
filtered to the slices closed and the wash sales determined at or after it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from assets.reports.fills import canonical_fills
from assets.reports.tax_lots import (
    LotResult,
    LotRules,
    ReliefMethod,
    compute_lots,
    lots_of_day,
)
from tests.assets.reports.reference_tax_lots import reference_lots

T0 = pd.Timestamp("2026-01-05 14:30")
MULTIPLIERS = {"ESZ6": 50.0}


def random_fills(seed: int, *, count: int = 400, shuffled_times: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    books = [("A", "XYZ"), ("A", "ESZ6"), ("B", "XYZ"), ("B", "QQQ")]
    pick = rng.integers(0, len(books), size=count)
    # Days 0..120: windows of 30 days overlap some trades and miss others.
    minutes = np.sort(rng.integers(0, 120 * 24 * 60, size=count))
    if shuffled_times:
        swap = rng.random(count) < 0.2
        minutes = np.where(swap, minutes - rng.integers(0, 40 * 24 * 60, size=count), minutes)
    walk = 50.0 * np.exp(np.cumsum(rng.normal(0.0, 0.03, size=count)))
    quantity = rng.integers(1, 60, size=count)
    return canonical_fills(
        pd.DataFrame(
            {
                "seq": np.arange(1, count + 1),
                "ts": T0 + pd.to_timedelta(minutes, unit="min"),
                "fill_id": [f"F{i}" for i in range(count)],
                "order_id": [f"O{i}" for i in range(count)],
                "account": [books[p][0] for p in pick],
                "symbol": [books[p][1] for p in pick],
                "side": np.where(rng.random(count) < 0.5, "BUY", "SELL"),
                "quantity": quantity,
                "price": np.round(walk, 2),
                "fee": np.where(rng.random(count) < 0.7, np.round(quantity * 0.01, 4), 0.0),
            }
        )
    )


def assert_same(new: LotResult, old: LotResult) -> None:
    pd.testing.assert_frame_equal(new.slices, old.slices, check_exact=True)
    pd.testing.assert_frame_equal(new.open_lots, old.open_lots, check_exact=True)
    pd.testing.assert_frame_equal(new.wash_sales, old.wash_sales, check_exact=True)
    if old.open_lots_at_checkpoint is None:
        assert new.open_lots_at_checkpoint is None
    else:
        assert new.open_lots_at_checkpoint is not None
        pd.testing.assert_frame_equal(
            new.open_lots_at_checkpoint, old.open_lots_at_checkpoint, check_exact=True
        )


def since_rows(full: LotResult, since: pd.Timestamp) -> LotResult:
    """The reference's full output kept to the rows at or after `since`, renumbered."""
    slices = full.slices[full.slices["close_time"] >= since].reset_index(drop=True)
    washes = full.wash_sales[full.wash_sales["determined_time"] >= since]
    return LotResult(
        slices=slices,
        open_lots=full.open_lots,
        wash_sales=washes.reset_index(drop=True),
        open_lots_at_checkpoint=full.open_lots_at_checkpoint,
    )


RULES = [
    LotRules(),
    LotRules(method=ReliefMethod.LIFO),
    LotRules(method=ReliefMethod.HIGHEST_COST),
    LotRules(wash_sale_shorts=True),
    LotRules(method=ReliefMethod.HIGHEST_COST, wash_sale_shorts=True, wash_window_days=10),
    LotRules(method=ReliefMethod.LIFO, timezone="America/New_York", long_term_days=40),
]


@pytest.mark.parametrize("rules", RULES, ids=lambda r: f"{r.method}-{r.wash_sale_shorts}")
@pytest.mark.parametrize("seed", range(8))
def test_engine_when_run_on_random_fills_then_it_gives_the_reference_engines_rows(
    seed: int, rules: LotRules
) -> None:
    fills = random_fills(seed)
    cutoff, checkpoint = T0 + pd.Timedelta(days=100), T0 + pd.Timedelta(days=70)

    new = compute_lots(fills, rules, cutoff=cutoff, checkpoint=checkpoint, multipliers=MULTIPLIERS)
    old = reference_lots(
        fills, rules, cutoff=cutoff, checkpoint=checkpoint, multipliers=MULTIPLIERS
    )

    assert len(old.wash_sales) > 0 and len(old.slices) > 0  # the rule is exercised
    assert_same(new, old)


@pytest.mark.parametrize("rules", RULES, ids=lambda r: f"{r.method}-{r.wash_sale_shorts}")
@pytest.mark.parametrize("seed", range(8))
def test_engine_when_only_a_days_rows_are_asked_then_they_are_the_references_filtered(
    seed: int, rules: LotRules
) -> None:
    fills = random_fills(seed)
    # Days on which a wash sale is determined for a loss closed on an earlier day (a
    # row naming a slice the day does not show), and a few others.
    washes = reference_lots(fills, rules, multipliers=MULTIPLIERS).wash_sales
    determined = washes["determined_time"].dt.normalize()
    later = determined[washes["loss_close_time"] < determined].unique()
    assert len(later) > 0
    fixed = [T0.normalize() + pd.Timedelta(days=days) for days in (0, 60, 90, 100)]
    earlier_losses = 0
    for start in [*later[:3], *fixed]:
        end = start + pd.Timedelta(days=1)
        old = reference_lots(fills, rules, cutoff=end, checkpoint=start, multipliers=MULTIPLIERS)

        new = lots_of_day(fills, rules, start, end, MULTIPLIERS)

        assert_same(new, since_rows(old, start))
        earlier_losses += int((new.wash_sales["loss_close_time"] < start).sum())
    # Wash sales of a day whose loss closed on an earlier day are among the rows.
    assert earlier_losses > 0


@pytest.mark.parametrize("rules", RULES[:4], ids=lambda r: f"{r.method}-{r.wash_sale_shorts}")
@pytest.mark.parametrize("seed", range(4))
def test_engine_when_fill_times_go_back_and_rows_start_at_a_day_then_they_are_filtered(
    seed: int, rules: LotRules
) -> None:
    fills = random_fills(100 + seed, shuffled_times=True)
    since = T0 + pd.Timedelta(days=80)

    new = compute_lots(fills, rules, checkpoint=T0 + pd.Timedelta(days=50), since=since)
    old = reference_lots(fills, rules, checkpoint=T0 + pd.Timedelta(days=50))

    assert_same(new, since_rows(old, since))


@pytest.mark.parametrize("rules", RULES[:4], ids=lambda r: f"{r.method}-{r.wash_sale_shorts}")
@pytest.mark.parametrize("seed", range(4))
def test_engine_when_fill_times_go_back_then_it_still_gives_the_reference_engines_rows(
    seed: int, rules: LotRules
) -> None:
    fills = random_fills(100 + seed, shuffled_times=True)

    new = compute_lots(fills, rules, checkpoint=T0 + pd.Timedelta(days=50))
    old = reference_lots(fills, rules, checkpoint=T0 + pd.Timedelta(days=50))

    assert_same(new, old)


def test_engine_when_there_are_no_fills_or_no_cutoff_then_it_matches_the_reference() -> None:
    fills = random_fills(7, count=0)
    assert_same(compute_lots(fills), reference_lots(fills, LotRules()))
    fills = random_fills(7, count=50)
    assert_same(compute_lots(fills), reference_lots(fills, LotRules()))
