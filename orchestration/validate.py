"""`python -m orchestration.validate` (`make validate`): every validation suite against
the running platform, in this process, recorded in the platform's Dagster instance
(DAGSTER_HOME, the launcher's by default) like a scheduled run; for cron and CI.

Exit status (`ValidateExit`): 0 PASS, 3 CONDITIONAL (only WARN checks failed), 1 FAIL
(an ERROR check failed), 78 bad settings or config/validation.toml, 70 the run itself
broke (see its log). `--suites` runs some suites only (the verdict still counts every
suite's latest results).
"""

from __future__ import annotations

import argparse
import sys
from enum import IntEnum
from pathlib import Path
from typing import Any

from assets.validation.catalogue import Suite
from realtime.config_errors import ConfigError


class ValidateExit(IntEnum):
    PASS = 0
    FAIL = 1
    USAGE = 2
    CONDITIONAL = 3
    RUN_FAILED = 70
    BAD_CONFIG = 78


BY_VERDICT = {"PASS": ValidateExit.PASS, "CONDITIONAL": ValidateExit.CONDITIONAL,
              "FAIL": ValidateExit.FAIL}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orchestration.validate", description=__doc__)
    parser.add_argument(
        "--suites",
        default=",".join(Suite),
        help=f"comma-separated, from: {', '.join(Suite)} (default: all)",
    )
    args = parser.parse_args(argv)
    wanted = [s.strip() for s in args.suites.split(",") if s.strip()]
    unknown = sorted(set(wanted) - set(Suite))
    if unknown:
        parser.error(f"unknown suites {unknown}")
    try:
        return run(wanted)
    except ConfigError as exc:
        for line in exc.lines():
            print(f"validate: {line}", file=sys.stderr)
        return ValidateExit.BAD_CONFIG


def run(suites: list[str]) -> int:
    import dagster as dg

    from assets.validation.assets import VERDICT
    from orchestration.definitions import build_definitions
    from orchestration.launcher import dagster_home
    from orchestration.settings import Settings
    from orchestration.validation_settings import ValidationSettings
    from realtime.layout import DataLayout

    settings = Settings.from_env()
    validation = ValidationSettings.from_env()
    definitions = build_definitions(settings, validation)
    resources = definitions.resources or {}
    resources["validation"].config()  # refuses a bad config file before any probe
    home = dagster_home(DataLayout.from_env())
    instance = dg.DagsterInstance.from_config(str(home))
    assets: list[Any] = list(definitions.assets or [])
    selection = dg.AssetSelection.assets(*suites, VERDICT)
    result = dg.materialize(
        assets,
        selection=selection,
        resources=resources,
        instance=instance,
        tags={"tradepipe/job": "validate_command"},
        raise_on_error=False,
    )
    if not result.success:
        print("validate: the validation run failed; see the Dagster UI, run "
              f"{result.run_id}", file=sys.stderr)  # fmt: skip
        return ValidateExit.RUN_FAILED
    materialization = next(m for m in result.asset_materializations_for_node(VERDICT))
    metadata = materialization.metadata
    verdict = str(getattr(metadata["verdict"], "value", metadata["verdict"]))
    failed = str(getattr(metadata["failed_checks"], "value", ""))
    report = str(getattr(metadata["report"], "value", ""))
    print(f"validation verdict: {verdict}")
    if verdict != "PASS":
        print(failed)
    skipped = str(getattr(metadata["skipped"], "value", ""))
    if skipped and skipped != "none":
        print(f"skipped (counted by no verdict):\n{skipped}")
    print(f"report: {report}")
    print(f"data docs: {Path(settings.data_dir) / 'validation' / 'data_docs' / 'index.html'}")
    return BY_VERDICT[verdict]


if __name__ == "__main__":
    sys.exit(main())
