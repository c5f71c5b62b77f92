"""What an in-process Dagster run's asset checks said, for the asset tests."""

from __future__ import annotations

import dagster as dg


def check_results(result: dg.ExecuteInProcessResult) -> dict[str, bool]:
    """Each evaluated check's name and whether it passed."""
    return {e.check_name: e.passed for e in result.get_asset_check_evaluations()}


def failed_checks(result: dg.ExecuteInProcessResult) -> list[str]:
    return [e.check_name for e in result.get_asset_check_evaluations() if not e.passed]
