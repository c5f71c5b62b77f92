"""The `validation` group: one asset per suite, whose checks carry the severity of
config/validation.toml, and `validation_verdict` over every suite's latest results.

A suite asset runs its suite against the running platform, stores the results
(`ValidationFolder.save_suite`) and reports each as an asset check (WARN or ERROR
when it fails). The verdict reads each suite's latest results, so the five-minute
health run and the hourly full run share one verdict; it writes the run's report and
a row of the `validation_verdicts` warehouse table.

The assets that write the DuckDB file (data_pipeline creates missing tables,
resilience re-ships, the verdict appends history) are in the warehouse pool, so
Dagster runs them one at a time with shipping. The integration probe is not: it waits
for shipping to carry its order into the warehouse.
"""

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import dagster as dg
import pandas as pd
from dagster import AssetExecutionContext

from assets.catalogue import ALL_TABLES, WAREHOUSE_POOL
from assets.resources import JournalSource, Warehouse
from assets.validation import queries
from assets.validation.catalogue import CHECKS, Suite, checks_of
from assets.validation.config import Severity, ValidationConfig
from assets.validation.platform import Platform
from assets.validation.report import (
    SCORE,
    VERDICT_HISTORY,
    SuiteRun,
    history_chart,
    history_row,
)
from assets.validation.resource import ValidationTarget
from assets.validation.results import (
    CheckResult,
    failure_summary,
    outcome,
    skipped_summary,
    verdict,
)
from assets.validation.suites.data import data_pipeline, expectation_check_name
from assets.validation.suites.errors import error_handling
from assets.validation.suites.health import service_health
from assets.validation.suites.integration import integration
from assets.validation.suites.performance import performance
from assets.validation.suites.resilience import resilience

GROUP = "validation"
VERDICT = "validation_verdict"
_SEVERITY = {Severity.WARN: dg.AssetCheckSeverity.WARN, Severity.ERROR: dg.AssetCheckSeverity.ERROR}


def check_names(suite: Suite) -> list[str]:
    """The asset checks of a suite: the catalogue's, the GE one once per table."""
    names = []
    for check in checks_of(suite):
        if check.name == "data_pipeline_expectations":
            names += [expectation_check_name(t.name) for t in ALL_TABLES]
        else:
            names.append(check.name)
    return names


def _description(name: str) -> str:
    for check in CHECKS:
        if name == check.name or name.startswith(f"{check.name}_"):
            return check.description
    return name


Run = Callable[[AssetExecutionContext, Platform, ValidationTarget], list[CheckResult]]


def _run_suite(
    context: AssetExecutionContext,
    suite: Suite,
    run: Run,
    target: ValidationTarget,
    journal: JournalSource,
    warehouse: Warehouse,
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    config = target.config()
    platform = target.platform(journal, warehouse)
    try:
        results = run(context, platform, target)
    except Exception as exc:  # a suite's bug must still answer every check, as failed
        context.log.exception(f"suite {suite} raised")
        reason = f"the suite raised {type(exc).__name__}: {exc}"
        base = {c.name: c for c in checks_of(suite)}
        results = [
            outcome(
                config[name] if name in base else config["data_pipeline_expectations"],
                False,
                reason,
                name=name,
            )
            for name in check_names(suite)
        ]
    finally:
        platform.close()
    results = _complete(suite, results, config)
    finished = pd.Timestamp.now(tz="UTC").isoformat()
    path = target.folder().save_suite(SuiteRun(suite, context.run.run_id, finished, results))
    failed = [r for r in results if not r.passed]
    yield dg.MaterializeResult(
        asset_key=str(suite),
        metadata={
            "checks": len(results),
            "failed": len(failed),
            "failed_checks": dg.MetadataValue.md(failure_summary(results)),
            "results_file": dg.MetadataValue.path(str(path)),
            **_figures(results),
        },
    )
    for r in results:
        yield dg.AssetCheckResult(
            asset_key=str(suite),
            check_name=r.name,
            passed=r.passed,
            severity=_SEVERITY[r.severity],
            description=r.detail[:2000],
            metadata=_check_metadata(r),
        )


def _complete(
    suite: Suite, results: list[CheckResult], config: ValidationConfig
) -> list[CheckResult]:
    """Every declared check answers once: one the suite did not report is failed."""
    by_name = {r.name: r for r in results}
    out = []
    for name in check_names(suite):
        if name in by_name:
            out.append(by_name[name])
        else:
            base = name if name in config.checks else "data_pipeline_expectations"
            out.append(outcome(config[base], False, "the suite reported nothing", name=name))
    return out


def _figures(results: Sequence[CheckResult]) -> dict[str, float]:
    # numeric metadata: the Dagster UI plots each over the asset's materialisations
    return {r.name: float(r.measured) for r in results if r.measured is not None}


def _check_metadata(r: CheckResult) -> dict[str, Any]:
    meta: dict[str, Any] = {"severity": str(r.severity), "exercised": r.exercised}
    if r.measured is not None:
        meta["measured"] = float(r.measured)
    if r.threshold is not None:
        meta["threshold"] = float(r.threshold)
    if r.unit:
        meta["unit"] = r.unit
    for key, value in r.extra.items():
        if key == "data_docs_page" and value:
            meta[key] = dg.MetadataValue.path(str(value))
        elif isinstance(value, (int, float, str)):
            meta[key] = value
        else:
            meta[key] = dg.MetadataValue.json(value)
    return meta


def _suite_asset(
    suite: Suite, run: Run, *, pool: str | None, description: str
) -> dg.AssetsDefinition:
    names = check_names(suite)

    @dg.asset(
        name=str(suite),
        group_name=GROUP,
        pool=pool,
        description=description,
        check_specs=[
            dg.AssetCheckSpec(name, asset=str(suite), description=_description(name))
            for name in names
        ],
    )
    def _asset(
        context: AssetExecutionContext,
        validation: ValidationTarget,
        journal: JournalSource,
        warehouse: Warehouse,
    ) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
        yield from _run_suite(context, suite, run, validation, journal, warehouse)

    return _asset


def _health(
    context: AssetExecutionContext, platform: Platform, target: ValidationTarget
) -> list[CheckResult]:
    return service_health(platform, target.config(), context.instance, target.should_run)


def _data(
    context: AssetExecutionContext, platform: Platform, target: ValidationTarget
) -> list[CheckResult]:
    folder = target.folder()
    results, index = data_pipeline(
        platform,
        target.config(),
        ALL_TABLES,
        folder.data_docs,
        pd.Timestamp.now(tz="UTC").tz_localize(None),
    )
    if index:
        context.log.info(f"data docs: {index}")
    return results


def _performance(
    _: AssetExecutionContext, platform: Platform, target: ValidationTarget
) -> list[CheckResult]:
    return performance(platform, target.config())


def _integration(
    _: AssetExecutionContext, platform: Platform, target: ValidationTarget
) -> list[CheckResult]:
    return integration(platform, target.config())


def _resilience(
    _: AssetExecutionContext, platform: Platform, target: ValidationTarget
) -> list[CheckResult]:
    return resilience(platform, target.config())


def _errors(
    _: AssetExecutionContext, platform: Platform, target: ValidationTarget
) -> list[CheckResult]:
    return error_handling(platform, target.config())


SUITE_ASSETS = [
    _suite_asset(Suite.SERVICE_HEALTH, _health, pool=None, description=(
        "The realtime service's /health, /ready and /metrics, its feed lag, venue queue "
        "depth and journal commit latency, and Dagster's daemons and schedules.")),
    _suite_asset(Suite.DATA_PIPELINE, _data, pool=WAREHOUSE_POOL, description=(
        "Great Expectations suites over every warehouse table (data docs linked from each "
        "check), row counts reconciled against the journal, shipping lag, quote freshness "
        "and the online features' freshness (Feast).")),
    _suite_asset(Suite.PERFORMANCE, _performance, pool=None, description=(
        "A short, bounded open-loop load on loopback (probe account only): submit-to-ack "
        "and /tickers P50 and P99 against the SLAs.")),
    _suite_asset(Suite.INTEGRATION, _integration, pool=None, description=(
        "One probe order end to end: API, venue fill, journal, warehouse, positions and "
        "P&L, TCA; ids matching at every step.")),
    _suite_asset(Suite.RESILIENCE, _resilience, pool=WAREHOUSE_POOL, description=(
        "Re-shipping the journal's newest events adds no rows; a full venue queue answers 429 "
        "and recovers (a bounded probe burst; not exercised on a queue larger than it). "
        "A restart recovers from the journal: the launcher restarts the service (elsewhere "
        "a WARN-level skip, not applicable: not started by the launcher).")),
    _suite_asset(Suite.ERROR_HANDLING, _errors, pool=None, description=(
        "A catalogue of bad requests, each with its documented status and code, and none "
        "changing orders, positions or the journal.")),
]  # fmt: skip


@dg.asset(
    name=VERDICT,
    group_name=GROUP,
    pool=WAREHOUSE_POOL,
    deps=[str(s) for s in Suite],
    description=(
        "PASS when every check of the suites' latest runs passed, CONDITIONAL when only WARN "
        "checks failed, FAIL when an ERROR check failed; the run's report (Markdown and HTML) "
        "and the verdict history (warehouse table validation_verdicts, and a chart)."
    ),
)
def validation_verdict(
    context: AssetExecutionContext, validation: ValidationTarget, warehouse: Warehouse
) -> dg.MaterializeResult:
    folder = validation.folder()
    runs = folder.latest_suites()
    results = [r for run in runs for r in run.results]
    found = verdict(results)
    now = pd.Timestamp.now(tz="UTC")
    report = folder.write_report(context.run.run_id, now, found, runs)
    suites = [str(r.suite) for r in runs]
    warehouse.write_frame(
        VERDICT_HISTORY, history_row(context.run.run_id, now, found, results, suites, report)
    )
    history = warehouse.query(queries.verdict_history(VERDICT_HISTORY, 200)).sort_values("ts")
    summary = failure_summary(results)
    if found != "PASS":
        context.log.warning(f"validation verdict {found}:\n{summary}")
    return dg.MaterializeResult(
        metadata={
            "verdict": dg.MetadataValue.text(str(found)),
            "verdict_score": SCORE[found],
            "failed_checks": dg.MetadataValue.md(summary),
            "skipped": dg.MetadataValue.md(skipped_summary(results) or "none"),
            "report": dg.MetadataValue.path(str(report)),
            "latest_report": dg.MetadataValue.path(str(folder.root / "reports" / "latest.html")),
            "data_docs": dg.MetadataValue.path(str(folder.data_docs / "index.html")),
            "suites": dg.MetadataValue.text(", ".join(suites)),
            "history": dg.MetadataValue.md(
                f"![verdicts](data:image/png;base64,{history_chart(history)})"
            ),
        }
    )


VALIDATION_ASSETS = [*SUITE_ASSETS, validation_verdict]
