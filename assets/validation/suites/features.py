"""Feature freshness: how old the newest risk_features_v1 row in the online store is.

Read through the Feast store exactly as the realtime service reads it
(`realtime.online_features.FeastReader`: one batched read of every instrument), so the
check sees what risk sees. Before the first features_job run there is no registry: the
check fails (WARN by default) saying so, rather than passing on an empty store.
"""

from __future__ import annotations

from collections.abc import Sequence

from assets.validation.config import ValidationConfig
from assets.validation.platform import Platform
from assets.validation.results import CheckResult, judged, outcome
from realtime.feature_schema import RISK_FEATURES
from realtime.instruments import load_universe
from realtime.layout import ConfigFiles
from realtime.online_features import FeastReader

NAME = "data_pipeline_feature_freshness"


def instrument_symbols() -> list[str]:
    """The symbols the service trades (its instruments file), whose features risk reads."""
    return sorted(load_universe(ConfigFiles.from_env().instruments).instruments)


def feature_freshness(
    platform: Platform, config: ValidationConfig, now_ns: int, symbols: Sequence[str]
) -> CheckResult:
    check = config[NAME]
    location = platform.features
    if location is None:
        return outcome(check, False, "no feature store location was given to this run")
    try:
        readings = FeastReader(location).read(list(symbols))
    except FileNotFoundError as exc:
        return outcome(check, False, f"not measured: {exc}")
    except Exception as exc:  # a broken store is the finding, not a crash of the suite
        return outcome(
            check, False, f"the online store could not be read: {type(exc).__name__}: {exc}"
        )
    stamps = {s: r.ts_ns for s, r in readings.items() if r.ts_ns is not None}
    missing = sorted(set(symbols) - set(stamps))
    if not stamps:
        return outcome(
            check,
            False,
            f"the online store has no {RISK_FEATURES.name} row for any of {len(symbols)} "
            "symbols (never materialised, or every row older than the view's TTL)",
            extra={"missing": missing},
        )
    newest = max(stamps, key=lambda s: stamps[s])
    stalest = min(stamps, key=lambda s: stamps[s])
    age = max(0.0, (now_ns - stamps[newest]) / 1e9)
    return judged(
        check,
        age,
        f"age of the newest {RISK_FEATURES.name} row ({newest}); "
        f"{len(stamps)} of {len(symbols)} symbols have one",
        extra={
            "stalest_symbol": stalest,
            "stalest_age_s": round(max(0.0, (now_ns - stamps[stalest]) / 1e9), 3),
            "missing": missing,
            "online_store": location.online_kind,
        },
    )
