from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from assets.reports.config import ReportsConfigError, load_reports_config
from assets.reports.pnl import daily_pnl
from assets.reports.relief import relief_reconciliation, relief_violations
from assets.reports.tax_lots import LotRules, ReliefMethod, compute_lots
from tests.assets.reports.fills_builder import fills

DAY, END = pd.Timestamp("2026-03-02"), pd.Timestamp("2026-03-03")
# A/AAPL ends the day short (methods differ); B/MSFT is a closed round trip.
SCENE = fills(
    ("a1", "2026-03-01 15:00", "A/AAPL", "BUY", 100, 10.00),
    ("a2", "2026-03-02 14:30", "A/AAPL", "BUY", 100, 12.00),
    ("a3", "2026-03-02 15:00", "A/AAPL", "SELL", 150, 11.00),
    ("m1", "2026-03-02 15:10", "B/MSFT", "BUY", 10, 100.00),
    ("m2", "2026-03-02 15:20", "B/MSFT", "BUY", 10, 102.00),
    ("m3", "2026-03-02 15:30", "B/MSFT", "SELL", 20, 101.50),
)


@pytest.mark.parametrize("method", list(ReliefMethod))
def test_relief_when_methods_differ_then_open_basis_explains_the_difference_to_the_cent(
    method: ReliefMethod,
) -> None:
    pnl = daily_pnl(SCENE, DAY, END, {}, {"AAPL": 11.0, "MSFT": 101.0})
    lots = compute_lots(SCENE, LotRules(method=method), cutoff=END, checkpoint=DAY)
    assert lots.open_lots_at_checkpoint is not None

    relief = relief_reconciliation(
        pnl,
        lots.slices[lots.slices["close_time"] >= DAY],
        lots.open_lots_at_checkpoint,
        lots.open_lots,
    )

    assert relief_violations(relief, 0.01).empty
    rows = relief.set_index("symbol")
    assert rows.loc["MSFT", "round_trip"]
    assert rows.loc["MSFT", "difference"] == pytest.approx(0.0)
    # Average cost realizes (11 - 11) * 150 = 0. FIFO sells 100 @ 10 and 50 @ 12 (+100 - 50);
    # LIFO and highest cost 100 @ 12 and 50 @ 10 (-100 + 50).
    expected = {
        ReliefMethod.FIFO: 50.0,
        ReliefMethod.LIFO: -50.0,
        ReliefMethod.HIGHEST_COST: -50.0,
    }
    assert rows.loc["AAPL", "lot_gross_gain"] == pytest.approx(expected[method])


def test_relief_when_a_slice_is_lost_then_the_book_is_unexplained() -> None:
    pnl = daily_pnl(SCENE, DAY, END, {}, {})
    lots = compute_lots(SCENE, cutoff=END, checkpoint=DAY)
    assert lots.open_lots_at_checkpoint is not None
    missing_one = lots.slices[lots.slices["slice_id"] != "m2:m3"]

    relief = relief_reconciliation(pnl, missing_one, lots.open_lots_at_checkpoint, lots.open_lots)

    assert relief_violations(relief, 0.01)["symbol"].tolist() == ["MSFT"]


def test_config_when_the_shipped_file_loads_then_defaults_are_the_issues() -> None:
    config = load_reports_config()

    assert (config.timezone, config.lots.method, config.lots.long_term_days) == ("UTC", "FIFO", 365)
    assert config.lots.wash_window_days == 30
    assert config.pnl.reconcile_tolerance == 0.01
    assert config.compliance.restricted_for("bob") == frozenset({"TSLA"})


def test_config_when_fields_are_bad_then_every_problem_is_named(tmp_path: Path) -> None:
    path = tmp_path / "reports.toml"
    path.write_text(
        'timezone = "Mars/Olympus"\n[tax_lots]\nrelief_method = "RANDOM"\n'
        "[exposure]\nequity_sample_seconds = 0\n[compliance]\nbogus = 1\n"
    )

    with pytest.raises(ReportsConfigError) as error:
        load_reports_config(path)

    assert error.value.code == "INVALID_CONFIG"
    text = "\n".join(error.value.lines())
    assert "timezone" in text and "relief_method" in text
    assert "[exposure] equity_sample_seconds: must be > 0" in text
    assert "[compliance] bogus: unknown field" in text
